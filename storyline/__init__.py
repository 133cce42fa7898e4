"""storyline: separate a web page's story text from its chrome, line by line."""

from __future__ import annotations

__version__ = "0.1.0"

from storyline.classifier.model import ModelError, ScoredLine, StoryModel, load_model
from storyline.classifier.page import Line, Page
from storyline.classifier.reading import ReadError
from storyline.classifier.segment import segment


def extract(page: str | bytes | Page, kind: str | None = None) -> str:
    """The story text of ``page`` (HTML or plain text, ``str`` or ``bytes``) by the default model."""
    return load_model().extract(page, kind)


__all__ = [
    "Line",
    "ModelError",
    "Page",
    "ReadError",
    "ScoredLine",
    "StoryModel",
    "__version__",
    "extract",
    "load_model",
    "segment",
]
