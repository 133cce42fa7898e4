"""Batch prediction: page inputs in, one result record per page out, in input order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from storyline.classifier.model import StoryModel
from storyline.classifier.reading import ReadError
from storyline.classifier.segment import segment
from storyline.classifier.sources import PageInput


def predict_record(
    model: StoryModel, item: PageInput, threshold: float | None = None, with_lines: bool = False
) -> dict[str, Any]:
    """The result record of one input: ``{"source", "text"}`` (plus ``lines``) or ``{"source", "error"}``."""
    if item.error is not None or item.content is None:
        return {"source": item.source, "error": item.error or "no content"}
    try:
        page = segment(item.content, item.kind, item.source)
        lines = model.predict_lines(page, threshold=threshold)
    except (ReadError, ValueError, RecursionError, MemoryError) as error:
        return {"source": item.source, "error": f"{type(error).__name__}: {error}"}
    record: dict[str, Any] = {"source": item.source, "text": "\n".join(l.text for l in lines if l.story)}
    if with_lines:
        record["lines"] = [{"text": l.text, "p_story": round(l.p_story, 4), "story": l.story} for l in lines]
    return record


def predict_records(
    model: StoryModel,
    items: Iterable[PageInput],
    threshold: float | None = None,
    with_lines: bool = False,
) -> Iterator[dict[str, Any]]:
    """Result records of ``items``, one each, in order."""
    for item in items:
        yield predict_record(model, item, threshold, with_lines)
