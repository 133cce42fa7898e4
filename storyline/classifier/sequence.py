"""The sequence pass: a line's first-stage score read together with its neighbours' scores.

A second logistic regression over these features lets a short line inside a story keep its
paragraph's label and a long teaser among chrome lose it; it also sees where the page's story
starts and ends.
"""

from __future__ import annotations

import math

import numpy as np

from storyline.classifier.features import Containers, _shift, _window_mean

OFFSETS = (1, 2, 3)
WINDOWS = (2, 5, 15, 40)
BOX_LEVELS = (1, 2, 3, 4)
OLDER_WIDTHS = (30,)
"""Sequence stages of earlier model files read the first this many features (before the confident-story
features were added, 2026-12-02): they still load and predict as they did."""


def sequence_feature_names() -> list[str]:
    names = ["z"]
    for offset in OFFSETS:
        names += [f"z_prev{offset}", f"z_next{offset}"]
    names += [f"z_win{r}" for r in WINDOWS]
    names += [f"p_win{r}" for r in WINDOWS]
    names += ["z_minus_page_max", "z_page_mean", "story_before", "story_after", "inside_story_span"]
    for k in BOX_LEVELS:
        names += [f"box{k}_mean_p", f"box{k}_story_share"]
    names += ["in_story_box50", "in_story_box80"]
    names += ["log_confident_words", "z_minus_page_max_by_confident", "line_mass_minus_confident"]
    return names


def sequence_features(z: np.ndarray, weights: np.ndarray, blocks: list[tuple[int, ...]]) -> np.ndarray:
    """Features of one page's lines from their first-stage logits ``z``, sizes ``weights`` (words) and
    containers ``blocks``: a line in a container of story lines is likely story, and the deepest container
    holding most of the page's story is where a reader would look for it."""
    n = len(z)
    if n == 0:
        return np.zeros((0, len(sequence_feature_names())))
    p = 1.0 / (1.0 + np.exp(-z))
    cols = [z]
    for offset in OFFSETS:
        cols += [_shift(z, offset), _shift(z, -offset)]
    cols += [_window_mean(z, r) for r in WINDOWS]
    cols += [_window_mean(p, r) for r in WINDOWS]
    story_mass = p * weights
    total = story_mass.sum() or 1.0
    before = (np.cumsum(story_mass) - story_mass) / total
    after = 1.0 - before - story_mass / total
    confident = np.nonzero(p >= 0.8)[0]
    inside = np.zeros(n)
    if len(confident):
        inside[confident.min() : confident.max() + 1] = 1.0
    below_best = z - z.max()
    cols += [below_best, np.full(n, z.mean()), before, after, inside]
    boxes = Containers(blocks)
    box_mass, box_weight = boxes.total(story_mass), boxes.total(weights)
    for k in BOX_LEVELS:
        box = boxes.level(k)
        cols += [box_mass[box] / np.maximum(box_weight[box], 1e-9), box_mass[box] / total]
    for share in (0.5, 0.8):
        main = boxes.main(story_mass, share)
        cols.append(boxes.inside(main) if main is not None else np.zeros(n))
    # How much of the page is confidently story: a page with a sure story of its own needs no lift for
    # its near-best lines, a page whose best lines are unsure may.
    sure = math.log1p(float(weights[confident].sum()))
    cols += [np.full(n, sure), below_best * sure / 8.0, np.log1p(story_mass) - sure]
    return np.column_stack(cols)
