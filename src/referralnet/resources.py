"""Where the shipped files are: ``data/`` and ``migrations/``, packaged in the wheel or in a source checkout.

An installed wheel carries them inside the package (``referralnet/data``, ``referralnet/migrations``,
mapped there by hatch's ``force-include``), found through :mod:`importlib.resources`. A source checkout
(an editable install, or ``src`` on the path) has them at its top level, next to ``pyproject.toml``.
The packaged copy wins when both exist.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


class MissingResource(RuntimeError):
    """Neither the installed package nor a source checkout holds a shipped folder."""


def _checkout_root() -> Path | None:
    """The source checkout this package is imported from, if any (the folder holding pyproject.toml and src/)."""
    package = Path(str(resources.files("referralnet")))
    for parent in package.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "referralnet").is_dir():
            return parent
    return None


@cache
def shipped(name: str) -> Path:
    """The folder ``name`` (``data`` or ``migrations``): the packaged copy, else the checkout's."""
    packaged = resources.files("referralnet").joinpath(name)
    if packaged.is_dir():
        # A wheel installs as plain files, so the traversable is a real folder (piccolo imports migrations by path).
        return Path(str(packaged))
    root = _checkout_root()
    if root is not None and (root / name).is_dir():
        return root / name
    raise MissingResource(f"referralnet's {name}/ folder is neither in the installed package nor in a source checkout; reinstall the package")


def data_dir() -> Path:
    """The shipped ``data`` folder (geography, organisations, institutions, demo, HSDS schemas, examples)."""
    return shipped("data")


def migrations_dir() -> Path:
    """The shipped Piccolo migrations of the ``referralnet`` app."""
    return shipped("migrations")
