from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pagegen import write_folder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def labelled_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_folder(tmp_path_factory.mktemp("labelled"))


@pytest.fixture(scope="session")
def small_model_path(labelled_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on the synthetic folder (fast: one C, a 3-fold search)."""
    from storyline.training.datasets import read_pages
    from storyline.training.train import TrainingConfig, train_model

    pages = list(read_pages(labelled_folder))
    model, _ = train_model([("synthetic", pages)], TrainingConfig(folds=3, c_grid=(1.0,), class_weights=(None,)))
    path = tmp_path_factory.mktemp("model") / "model.json"
    model.save(path)
    return path
