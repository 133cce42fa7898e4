"""Probabilities to story lines: a page's story comes in runs, so its lines are judged together.

A line's evidence is its log-odds of story beyond the threshold's, weighted by ``log(1 + words)``: a
long line speaks louder than a short one. Turning from story to chrome, or back, between two
neighbouring lines costs ``switch_cost`` times the share of their containers they have in common:
nothing between unrelated blocks, the full cost inside one. The lines kept are the best labelling under
these costs (a two-state Viterbi pass over the page), so a short line inside a story stays with it and
a stray line among chrome that merely reads like prose goes with the chrome. A ``switch_cost`` of 0 is
the plain threshold: each line is kept when its probability reaches it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

LOGIT_LIMIT = 50.0
"""Log-odds beyond this are certain enough (thresholds of 0 and 1, probabilities of exactly 0 or 1)."""


def logit(p: float) -> float:
    """The log-odds of ``p``, within ``±LOGIT_LIMIT``."""
    if p <= 0.0:
        return -LOGIT_LIMIT
    if p >= 1.0:
        return LOGIT_LIMIT
    return max(-LOGIT_LIMIT, min(LOGIT_LIMIT, math.log(p / (1.0 - p))))


def shared_containers(blocks: Sequence[Sequence[int]]) -> np.ndarray:
    """For each line, the share of containers it has in common with the line before (0 for the first
    line): the length of their common outermost run of container ids over the longer of the two."""
    shared = np.zeros(len(blocks))
    for i in range(1, len(blocks)):
        before, here = blocks[i - 1], blocks[i]
        common = 0
        for a, b in zip(before, here, strict=False):
            if a != b:
                break
            common += 1
        longest = max(len(before), len(here))
        shared[i] = common / longest if longest else 0.0
    return shared


def line_weights(words: np.ndarray) -> np.ndarray:
    """How loudly each line's evidence speaks: ``log(1 + words)``."""
    return np.log1p(np.asarray(words, dtype=np.float64))


def best_runs(gains: Sequence[float], costs: Sequence[float]) -> list[bool]:
    """The labelling (True = story) maximising the gains of the story lines minus the cost of every
    switch: ``costs[i]`` is paid when line ``i`` is labelled unlike line ``i - 1``. Ties keep a line's
    own verdict (story when its gain is positive), as the threshold does."""
    n = len(gains)
    if n == 0:
        return []
    # chrome / story: the best total of the lines so far ending in that state, and where it came from
    chrome, story = 0.0, float(gains[0])
    from_story_to_chrome: list[bool] = [False] * n  # whether the best chrome ending at i follows a story line
    from_story_to_story: list[bool] = [True] * n
    for i in range(1, n):
        cost, gain = costs[i], gains[i]
        stay, switch = chrome, story - cost
        new_chrome = stay if stay >= switch else switch
        from_story_to_chrome[i] = stay < switch
        stay, switch = story, chrome - cost
        new_story = (stay if stay >= switch else switch) + gain
        from_story_to_story[i] = stay >= switch
        chrome, story = new_chrome, new_story
    labels = [False] * n
    state = story > chrome or (story == chrome and gains[n - 1] > 0)
    for i in range(n - 1, -1, -1):
        labels[i] = state
        state = from_story_to_story[i] if state else from_story_to_chrome[i]
    return labels


def story_lines(
    logits: np.ndarray,
    threshold: float,
    weights: np.ndarray,
    shared: np.ndarray,
    switch_cost: float = 0.0,
) -> np.ndarray:
    """Which lines are story, from their final log-odds ``logits`` and the decision ``threshold`` (a
    probability), given each line's ``line_weights`` and ``shared_containers`` (see the module docstring)."""
    z = np.clip(np.asarray(logits, dtype=np.float64), -LOGIT_LIMIT, LOGIT_LIMIT)
    evidence = z - logit(threshold)
    if switch_cost <= 0.0 or len(z) < 2:
        return evidence >= 0.0
    gains = (evidence * weights).tolist()
    costs = (switch_cost * shared).tolist()
    return np.array(best_runs(gains, costs), dtype=bool)


def probability_logits(probabilities: np.ndarray) -> np.ndarray:
    """The log-odds of probabilities (``±inf`` at exactly 0 and 1: ``story_lines`` clips them)."""
    with np.errstate(divide="ignore"):
        return np.log(probabilities) - np.log1p(-probabilities)


def story_lines_of_pages(
    logits: np.ndarray,
    thresholds: Sequence[float],
    weights: np.ndarray,
    shared: np.ndarray,
    lengths: Sequence[int],
    switch_cost: float,
) -> np.ndarray:
    """``story_lines`` for many pages and thresholds in one pass: the pages' lines laid end to end
    (``lengths`` lines each), a row of verdicts per threshold. Training weighs every threshold and
    switch cost on thousands of pages; this walks the pages side by side, line position by line
    position, each step one array operation over every page still that long.
    """
    z = np.clip(np.asarray(logits, dtype=np.float64), -LOGIT_LIMIT, LOGIT_LIMIT)
    cuts = np.array([logit(t) for t in thresholds])[:, None]
    sizes = np.asarray(lengths, dtype=np.int64)
    plain = z[None, :] >= cuts
    order = np.argsort(-sizes, kind="stable")
    order = order[sizes[order] > 1]  # a page of one line keeps the plain threshold, as story_lines does
    if switch_cost <= 0.0 or len(order) == 0:
        return plain
    # Lay the lines out position by position, the longest page first, so that the pages longer than i
    # lines are the first ones at position i.
    longest = int(sizes[order[0]])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    alive = np.searchsorted(-sizes[order], -np.arange(longest), side="left")  # pages longer than i
    offsets = np.concatenate([[0], np.cumsum(alive)])
    at = np.empty(int(offsets[-1]), dtype=np.int64)  # the line-major index of each position-major slot
    for i in range(longest):
        at[offsets[i] : offsets[i + 1]] = starts[order[: alive[i]]] + i
    gains = (z[at][None, :] - cuts) * np.asarray(weights, dtype=np.float64)[at][None, :]
    costs = switch_cost * np.asarray(shared, dtype=np.float64)[at]
    rows = len(cuts)
    chrome = np.zeros((rows, len(order)))
    story = gains[:, offsets[0] : offsets[1]].copy()
    from_story_to_chrome = np.zeros(gains.shape, dtype=bool)
    from_story_to_story = np.ones(gains.shape, dtype=bool)
    for i in range(1, longest):
        k, here = alive[i], slice(offsets[i], offsets[i + 1])
        cost = costs[here]
        before_chrome, before_story = chrome[:, :k], story[:, :k]
        switch = before_story - cost
        to_chrome = before_chrome < switch
        new_chrome = np.where(to_chrome, switch, before_chrome)
        switch = before_chrome - cost
        stay = before_story >= switch
        story[:, :k] = np.where(stay, before_story, switch) + gains[:, here]
        chrome[:, :k] = new_chrome
        from_story_to_chrome[:, here], from_story_to_story[:, here] = to_chrome, stay
    last = offsets[sizes[order] - 1] + np.arange(len(order))  # each page's last slot
    state = (story > chrome) | ((story == chrome) & (gains[:, last] > 0))
    labels = np.empty(gains.shape, dtype=bool)
    for i in range(longest - 1, -1, -1):
        k, here = alive[i], slice(offsets[i], offsets[i + 1])
        labels[:, here] = state[:, :k]
        state[:, :k] = np.where(state[:, :k], from_story_to_story[:, here], from_story_to_chrome[:, here])
    plain[:, at] = labels
    return plain
