"""Which shared labelled sets the benchmarks use, where they live, and which of their pages are scored.

Kept in one place so that the peer cache, the peer scores and storyline's own quality benchmark all
score the very same pages (e.g. only dragnet's test split) and read the data from the same folder.
The data stays in ``../shared/data`` beside the repository; it is never copied into the repository.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

try:
    from storyline.training.datasets import LabelledPage, read_pages
except ModuleNotFoundError:  # run from a checkout without PYTHONPATH: the package sits beside benchmarks/
    sys.path.insert(0, str(REPO))
    from storyline.training.datasets import LabelledPage, read_pages

#: Sets with a full gold text per page, scored with the shingle F1.
FULL_GOLD_SETS = [
    "cleaneval",
    "l3s-gn1",
    "dragnet",
    "cleanportaleval",
    "htmltotext-benchmark",
    "chinese-wce",
    "readability",
    "wcxb",
]
#: Sets with only must-have / must-not-have snippets, scored with the snippet score.
SNIPPET_SETS = ["trafilatura-eval"]
ALL_SETS = FULL_GOLD_SETS + SNIPPET_SETS

#: Sets of which only some splits are scored (dragnet: the test split of the dragnet paper).
SCORED_SPLITS = {"dragnet": frozenset({"test"})}


def data_root() -> Path:
    """The shared data folder: ``$STORYLINE_DATA`` if set, else ``../shared/data`` beside the repo."""
    override = os.environ.get("STORYLINE_DATA")
    return Path(override) if override else REPO.parent / "shared" / "data"


def set_path(name: str, root: Path | None = None) -> Path:
    return (root or data_root()) / name


def benchmark_pages(name: str, root: Path | None = None, all_splits: bool = False) -> list[LabelledPage]:
    """The pages of a set that the benchmarks score (all of them with ``all_splits``)."""
    pages = read_pages(set_path(name, root))
    splits = SCORED_SPLITS.get(name)
    if splits is None or all_splits:
        return list(pages)
    return [page for page in pages if page.split in splits]


def page_languages(name: str, root: Path | None = None) -> dict[str, str]:
    """Page id -> ``lang`` for sets that record it ({} otherwise): LabelledPage does not carry it.

    A set either gives ``lang`` on every record or on none, so the first record decides whether the
    whole file is read.
    """
    languages: dict[str, str] = {}
    with gzip.open(set_path(name, root) / "pages.jsonl.gz", "rt", encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if number == 1 and "lang" not in record:
                return {}
            if record.get("lang"):
                languages[str(record.get("id", number))] = str(record["lang"])
    return languages
