"""`python -m sweatpants.desktop` starts the desktop app (what start-at-login runs)."""

from sweatpants.desktop.launcher import main

if __name__ == "__main__":
    raise SystemExit(main())
