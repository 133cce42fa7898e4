"""The benchmarks' check that they measure this checkout's storyline, not an older installed copy."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_checkout", ROOT / "benchmarks" / "checkout.py")
assert _spec and _spec.loader
checkout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checkout)


def _package(root: Path) -> Path:
    package = root / "storyline"
    (package / "classifier").mkdir(parents=True)
    (package / "__init__.py").write_text("VERSION = 1\n")
    (package / "classifier" / "default_model.json").write_text('{"checksum": "a"}')
    return package


def test_an_identical_copy_or_the_checkout_itself_is_not_stale(tmp_path: Path) -> None:
    ours = _package(tmp_path / "repo")
    copy = tmp_path / "site" / "storyline"
    shutil.copytree(ours, copy)
    (copy / "__pycache__").mkdir()
    (copy / "__pycache__" / "x.py").write_text("cached")  # byte-code caches do not count
    assert checkout.differing_files(ours, copy) == []
    assert checkout.stale_install(copy, ours) is None
    assert checkout.stale_install(ours, ours) is None
    assert checkout.stale_install(copy, tmp_path / "no-checkout") is None


def test_a_copy_with_another_model_or_code_is_stale_and_says_how_to_mend_it(tmp_path: Path) -> None:
    ours = _package(tmp_path / "repo")
    copy = tmp_path / "site" / "storyline"
    shutil.copytree(ours, copy)
    (copy / "classifier" / "default_model.json").write_text('{"checksum": "b"}')  # installed before a retrain
    (ours / "classifier" / "runs.py").write_text("")  # a module the install lacks
    assert checkout.differing_files(ours, copy) == ["classifier/default_model.json", "classifier/runs.py"]
    message = checkout.stale_install(copy, ours)
    assert message and "classifier/default_model.json" in message
    assert "pip install --no-deps" in message and "--installed" in message
