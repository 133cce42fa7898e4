"""Gold text to line labels: a line is story when most of its tokens align with the gold.

Alignment is by token shingles over the whole page, so it tolerates differences of whitespace,
punctuation and case, gold texts that reorder paragraphs, and short lines (a heading, a one-word
paragraph) that only match together with their neighbours. Characters outside Latin-1 are folded
away when the gold has none (one shared set replaced them with ``?``), and CJK text is tokenised by
character.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from storyline.classifier.page import Page
from storyline.training.metrics import squash

SHINGLE = 4
STORY_SHARE = 0.5
"""A line is story when at least this share of its tokens lie in shingles found in the gold."""

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|[^\W_]+")
_NON_LATIN1 = re.compile(r"[^\x00-\xff]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def tokens(text: str, fold_non_latin1: bool = False) -> list[str]:
    """Lower-cased word tokens (CJK characters one token each) of ``text``."""
    if fold_non_latin1:
        text = _NON_LATIN1.sub(" ", text)
    return _TOKEN.findall(text.lower())


def _shingles(toks: Sequence[str], k: int) -> zip:  # type: ignore[type-arg]
    """The ``k``-token tuples of ``toks`` in order (zip of shifted views: no slicing per position)."""
    return zip(*(toks[i:] for i in range(k)), strict=False)


def _grams(toks: Sequence[str], k: int) -> set[tuple[str, ...]]:
    return set(_shingles(toks, k))


@dataclass(frozen=True)
class Alignment:
    """Line labels of one page and how much of its gold they cover."""

    labels: np.ndarray
    """Boolean story label per line."""
    gold_coverage: float
    """Share of the gold's shingles that the story lines hold (1.0 for an empty gold)."""


def align(page: Page, gold: str, shingle: int = SHINGLE, story_share: float = STORY_SHARE) -> Alignment:
    """Label each line of ``page`` story or chrome by aligning it with the ``gold`` text."""
    fold = not _NON_LATIN1.search(gold)
    gold_tokens = tokens(gold, fold)
    n = len(page.lines)
    if not gold_tokens:
        return Alignment(np.zeros(n, dtype=bool), 1.0)
    k = min(shingle, len(gold_tokens))
    match_grams = _grams(gold_tokens, k)  # across paragraph breaks too: they match wrapped lines
    # Coverage counts only the shingles inside gold paragraphs, so a reordered gold still covers fully;
    # a paragraph shorter than a shingle (a short heading) is matched as a whole line.
    gold_grams: set[tuple[str, ...]] = set()
    short: set[tuple[str, ...]] = set()
    for block in _PARAGRAPH_BREAK.split(gold):
        block_tokens = tokens(block, fold)
        if len(block_tokens) >= k:
            gold_grams |= _grams(block_tokens, k)
        elif block_tokens:
            short.add(tuple(block_tokens))

    line_tokens = [tokens(line.text, fold) for line in page.lines]
    stream = [t for toks in line_tokens for t in toks]
    covered = np.zeros(len(stream) + 1, dtype=np.int32)  # difference array over token positions
    starts = [i for i, gram in enumerate(_shingles(stream, k)) if gram in match_grams]
    if starts:
        np.add.at(covered, starts, 1)
        np.add.at(covered, np.asarray(starts) + k, -1)
    hit = np.cumsum(covered)[: len(stream)] > 0

    labels = np.zeros(n, dtype=bool)
    start = 0
    for j, toks in enumerate(line_tokens):
        if toks:
            labels[j] = hit[start : start + len(toks)].mean() >= story_share or tuple(toks) in short
        start += len(toks)

    story_stream = [t for j, toks in enumerate(line_tokens) if labels[j] for t in toks]
    found = _grams(story_stream, k) & gold_grams
    if not gold_grams:
        return Alignment(labels, 1.0 if labels.any() else 0.0)
    return Alignment(labels, len(found) / len(gold_grams))


def snippet_labels(
    page: Page, with_snippets: Sequence[str], without_snippets: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Partial labels from must-have / must-not snippets: ``(labels, labelled)`` per line.

    A line holding a must-have snippet, or held by one (a long snippet spans lines), is story; likewise
    must-not snippets mark chrome. Every other line is unlabelled: training and evaluation ignore it.
    """
    n = len(page.lines)
    labels = np.zeros(n, dtype=bool)
    labelled = np.zeros(n, dtype=bool)
    wanted = [squash(s) for s in with_snippets if s.strip()]
    unwanted = [squash(s) for s in without_snippets if s.strip()]
    for i, line in enumerate(page.lines):
        text = squash(line.text)
        if not text:
            continue
        inside_long = len(text) >= 12
        if any(s in text or (inside_long and text in s) for s in wanted):
            labels[i] = labelled[i] = True
        elif any(s in text or (inside_long and text in s) for s in unwanted):
            labelled[i] = True
    return labels, labelled
