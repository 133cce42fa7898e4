"""Whether the storyline a benchmark imports is this checkout's.

``pip install .`` copies the package: after an edit or a retrain, a benchmark run from ``benchmarks/``
would measure the copy (its code, its default model) until the next install, and nothing would say so.
The benchmarks that score or time the default model refuse such a copy unless told to measure it.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent / "storyline"
SUFFIXES = (".py", ".json")
"""The files that make the package's behaviour: its code and its default model."""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def differing_files(checkout: Path, installed: Path) -> list[str]:
    """Package files (relative paths) that differ between two copies, or exist in only one."""

    def files(root: Path) -> set[str]:
        return {
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.suffix in SUFFIXES and p.is_file() and "__pycache__" not in p.parts
        }

    ours, theirs = files(checkout), files(installed)
    differ = ours ^ theirs
    differ |= {name for name in ours & theirs if _digest(checkout / name) != _digest(installed / name)}
    return sorted(differ)


def stale_install(installed: Path, checkout: Path = CHECKOUT) -> str | None:
    """Why the package at ``installed`` is not ``checkout``'s, or None when it is (or there is no checkout)."""
    if not checkout.is_dir() or installed.resolve() == checkout.resolve():
        return None
    differ = differing_files(checkout, installed)
    if not differ:
        return None
    shown = ", ".join(differ[:3]) + (f" and {len(differ) - 3} more" if len(differ) > 3 else "")
    return (
        f"the storyline imported from {installed} is not this checkout's ({shown} differ): "
        f"run `python3 -m pip install --no-deps {checkout.parent}` first, or pass --installed to measure it as it is"
    )


def add_installed_option(parser: argparse.ArgumentParser) -> None:
    """The ``--installed`` flag: measure the installed storyline even where it is not this checkout's."""
    parser.add_argument(
        "--installed", action="store_true", help="measure the installed storyline even where it is not this checkout's"
    )


def refuse_stale_install(allowed: bool) -> bool:
    """Whether to stop: the imported storyline is not this checkout's and ``--installed`` was not given
    (the reason is printed on stderr)."""
    import storyline

    stale = None if allowed else stale_install(Path(storyline.__file__).parent)
    if stale:
        print(f"error: {stale}", file=sys.stderr)
    return stale is not None
