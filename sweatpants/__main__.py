"""`python -m sweatpants` is the `sweatpants` command."""

from sweatpants.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
