"""The one place the version lives; the wheel, `--version`, `/status` and About read it here."""

__version__ = "0.1.0"
