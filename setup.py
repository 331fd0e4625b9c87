"""Packages for the wheel; all other metadata lives in pyproject.toml.

The dashboard (`ui/`) and the icons (`assets/`) sit at the top of the repository so the
people working on them need no Python layout, yet the app needs them at run time: they ship
inside the package as `sweatpants.ui` and `sweatpants.assets` (data only, no `__init__.py`).
`sweatpants.paths` finds them in a wheel, a checkout or a PyInstaller bundle.
"""

from setuptools import find_namespace_packages, setup

DATA_PACKAGES = {"sweatpants.ui": "ui", "sweatpants.assets": "assets"}

# Namespace discovery: a subpackage that lacks an `__init__.py` must still ship.
PACKAGES = find_namespace_packages(
    include=["sweatpants", "sweatpants.*"], exclude=["*.__pycache__", "*.__pycache__.*"]
)

setup(
    packages=[*PACKAGES, *DATA_PACKAGES],
    package_dir=DATA_PACKAGES,
)
