"""Why the model scored a line as it did: each feature's share of the score, exactly.

A stage is a standard scaler then a logistic regression, so its logit is a sum: for feature j,
``coef_j * (x_j - mean_j) / scale_j``, plus the intercept. Those terms are the contributions shown here;
they add up to the logit the model computed (to rounding), so an explanation is the model, not a guess
about it. When the head has a sequence stage, the final probability comes from that stage, whose inputs
are the first-stage scores of the line, its neighbours and its containers: both stages are explained.

Pure numpy: used by ``explain``, ``show`` and ``predict --explain`` without importing scikit-learn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from storyline.classifier.features import (
    ANCESTOR_FLAGS,
    TAG_GROUPS,
)
from storyline.classifier.model import Head, Linear, StoryModel, _head_to_dict
from storyline.classifier.page import Page

TOP = 12
"""Contributions listed per stage and line by default; the others are summed into ``rest``."""


@dataclass(frozen=True)
class StageExplanation:
    """One stage's logits for a page's lines, split into per-feature contributions.

    ``values`` are the raw feature values (lines x features), ``contributions`` the terms
    ``coef * (value - mean) / scale``; ``intercept + contributions.sum(axis=1)`` is ``logits``.
    """

    name: str
    """``stage1`` (the line's own features) or ``sequence`` (first-stage scores in context)."""
    features: list[str]
    values: np.ndarray
    contributions: np.ndarray
    intercept: float
    logits: np.ndarray

    def top(self, line: int, k: int = TOP) -> tuple[list[int], float]:
        """The ``k`` features of ``line`` with the largest |contribution|, largest first, and the sum of
        the others' contributions (so intercept + top + rest is the logit)."""
        row = self.contributions[line]
        k = max(0, min(k, len(row)))
        order = np.argsort(-np.abs(row), kind="stable")[:k]
        rest = float(row.sum() - row[order].sum())
        return [int(j) for j in order], rest

    def line_dict(self, line: int, k: int = TOP) -> dict[str, Any]:
        """The JSON form of one line's explanation: logit, intercept, top features, the rest summed."""
        order, rest = self.top(line, k)
        return {
            "logit": float(self.logits[line]),
            "intercept": self.intercept,
            "features": [
                {
                    "name": self.features[j],
                    "value": float(self.values[line, j]),
                    "contribution": float(self.contributions[line, j]),
                }
                for j in order
            ],
            "rest": rest,
        }


@dataclass(frozen=True)
class PageExplanation:
    """A page's lines with their probabilities and the stages that produced them."""

    page: Page
    head: str
    """The model head that judged the page (``html`` or ``text``)."""
    threshold: float
    """The threshold this page is judged at (a forum page's is lower, see ``Head.page_threshold``)."""
    probabilities: np.ndarray
    stage1: StageExplanation
    sequence: StageExplanation | None
    story: np.ndarray
    """Which lines are kept: those reaching the threshold, read as runs when the head has a switch cost."""
    switch_cost: float = 0.0
    """The head's cost of switching between story and chrome from one line to the next (see ``runs``)."""

    @property
    def final(self) -> StageExplanation:
        """The stage whose logit is the line's final score."""
        return self.sequence if self.sequence is not None else self.stage1

    def line_dict(self, line: int, k: int = TOP) -> dict[str, Any]:
        """The explanation of one line (0-based) as JSON: ``{"stage1": ..., "sequence": ... or None}``."""
        return {
            "stage1": self.stage1.line_dict(line, k),
            "sequence": None if self.sequence is None else self.sequence.line_dict(line, k),
        }


def _stages(head: Head) -> tuple[Linear, Linear | None]:
    """A head's stages as plain arrays, whether it came from a file or from training (through the model
    file's form: about 0.1 ms, so it is not cached, and never goes stale)."""
    spec = _head_to_dict(head)
    sequence = None if spec["sequence"] is None else Linear.from_spec(spec["sequence"])
    return Linear.from_spec(spec["stage1"]), sequence


def _stage(name: str, linear: Linear, values: np.ndarray, logits: np.ndarray) -> StageExplanation:
    contributions = (values - linear.mean) / linear.scale * linear.coef
    return StageExplanation(name, linear.names, values, contributions, linear.intercept, logits)


def explain_page(model: StoryModel, page: Page, threshold: float | None = None) -> PageExplanation:
    """Contributions of every feature to every line's score, for both stages of the page's head.

    The logits are the model's own (``Head.first_stage_logits``/``sequence_logits``), so the
    probabilities are exactly what ``predict`` gives; the contributions add up to them.
    """
    head = model.head_for(page)
    kind = next((k for k, h in model.heads.items() if h is head), page.kind)
    linear1, linear2 = _stages(head)
    values1 = np.asarray(head.featurizer.page_features(page), dtype=np.float64)
    z = head.first_stage_logits(values1) if page.lines else np.zeros(0)
    stage1 = _stage("stage1", linear1, values1, z)
    sequence = None
    final = z
    if linear2 is not None and head.has_sequence:
        if page.lines:
            values2 = head.sequence_input(page, z)
            final = head.sequence_logits(values2)
        else:
            values2 = np.zeros((0, len(linear2.names)))
        sequence = _stage("sequence", linear2, values2, final)
    probabilities = 1.0 / (1.0 + np.exp(-final))
    story = head.story(page, probabilities, threshold)
    cut = head.page_threshold(page, threshold)
    return PageExplanation(page, kind, float(cut), probabilities, stage1, sequence, story, head.switch_cost)


# -- plain words for feature names --------------------------------------------------------------------

_TEXT = {
    "log_chars": "length in characters (log)",
    "log_words": "length in words (log)",
    "words_le3": "3 words or fewer",
    "words_4_10": "4 to 10 words",
    "words_gt40": "more than 40 words",
    "link_density": "share of its characters inside links",
    "all_link": "entirely a link",
    "currency_symbol": "holds a currency symbol",
    "money_terms": "money or shop words (salary, per annum, price, cart...)",
    "cap_share": "share of words starting with a capital",
    "allcaps_share": "share of words in capitals",
    "title_case": "Title Case",
    "starts_upper": "starts with a capital",
    "ends_sentence": "ends like a sentence (. ! ?)",
    "ends_colon": "ends with a colon",
    "ends_ellipsis": "ends with an ellipsis",
    "log_sentences": "number of sentences (log)",
    "comma_rate": "commas per word",
    "punct_share": "share of punctuation",
    "digit_share": "share of digits",
    "stop_share": "share of common words (the, and, of...)",
    "mean_word_len": "mean word length",
    "cjk_share": "share of Chinese/Japanese/Korean characters",
    "date": "holds a date",
    "separators": "holds separators (| / > ...)",
    "copyright": "copyright, privacy or terms wording",
    "repeated": "same text appears elsewhere on the page",
}
_POSITION = {
    "rel_index": "position on the page (0 top, 1 bottom)",
    "rel_chars_before": "share of the page's text above it",
    "log_page_lines": "lines on the page (log)",
    "dense_offset": "offset from the page's densest prose",
    "dense_distance": "distance from the page's densest prose (log lines)",
    "in_main_span": "inside the span of dense prose",
    "after_comment_heading": 'below a comment-section heading ("12 Comments")',
}
_COMMENTS = {
    "comment_zone": "inside a comment-marked block (class/id)",
    "comment_zone_prose_share": "share of the page's prose in comment-marked blocks",
    "comment_zone_minor": "comment-marked, where comments are a minor part of the page's prose",
    "comment_zone_other_prose": "comment-marked, with prose (log words) outside the comments",
    "forum_page": "the page's class/ids name forum parts (forum, topic, username, avatar...)",
    "article_page": "the page's class/ids name article parts (article, hentry, entry, byline...)",
    "comment_zone_forum_page": "comment-marked, on a page with forum class/ids",
    "comment_zone_article_page": "comment-marked, on a page with article class/ids",
}
_TAGS = {name: "/".join(f"<{t}>" for t in tags) for name, tags in TAG_GROUPS}
_FLAGS = {name: "/".join(f"<{t}>" for t in tags) for name, tags in ANCESTOR_FLAGS}
_LEVEL = {1: "its own block", 2: "the block around it", 3: "the block 2 levels up", 4: "the block 3 levels up"}
_SEQUENCE = {
    "z": "this line's first-stage score",
    "z_minus_page_max": "its first-stage score below the page's best",
    "z_page_mean": "mean first-stage score of the page",
    "story_before": "share of the page's likely story above it",
    "story_after": "share of the page's likely story below it",
    "inside_story_span": "between the first and last confident story lines",
    "log_confident_words": "words of the page's confident story lines (log)",
    "z_minus_page_max_by_confident": "its score below the page's best, times the confident words (log, /8)",
    "line_mass_minus_confident": "its likely-story words against the page's confident words (log ratio)",
    "in_story_box50": "inside the block holding half of the likely story",
    "in_story_box80": "inside the block holding 80% of the likely story",
}
_CONTAINER = {
    "prose_share": "share of the page's prose in {}",
    "link_density": "link density of {}",
    "log_lines": "lines in {} (log)",
    "mean_p": "mean first-stage probability of {}",
    "story_share": "share of the page's likely story in {}",
}


def _base(name: str) -> str | None:
    if name in _TEXT:
        return _TEXT[name]
    if name.startswith("para_") and name[5:] in _TEXT:
        return "its paragraph: " + _TEXT[name[5:]]
    if name.startswith("para_") and name[5:] == "log_lines":
        return "its paragraph: lines (log)"
    return None


def describe(name: str) -> str:
    """A feature name in plain words (the name itself when it has no description)."""
    base = _base(name)
    if base is not None:
        return base
    if name in _POSITION:
        return _POSITION[name]
    if name in _SEQUENCE:
        return _SEQUENCE[name]
    if name in _COMMENTS:
        return _COMMENTS[name]
    if name.startswith("tag_") and name[4:] in _TAGS:
        return f"its block is {_TAGS[name[4:]]}"
    if name.startswith("in_") and name[3:] in _FLAGS:
        return f"inside {_FLAGS[name[3:]]}"
    if name == "log_depth":
        return "markup nesting depth (log)"
    if name == "title_overlap":
        return "share of its words in the page <title>"
    if name.startswith("marker_"):
        return f'a class/id holds "{name[7:]}"'
    if match := re.fullmatch(r"in_main_box(50|80)", name):
        return f"inside the block holding {'half' if match[1] == '50' else '80%'} of the page's prose"
    if name in ("before_main_box", "after_main_box"):
        return f"{name.split('_')[0]} the block holding half of the page's prose"
    if match := re.fullmatch(r"in_clean_box(50|80)", name):
        share = "half" if match[1] == "50" else "80%"
        return f"inside the block holding {share} of the prose outside sidebars, widgets and comments"
    if name in ("before_clean_box", "after_clean_box"):
        return f"{name.split('_')[0]} the block holding half of the prose outside sidebars, widgets and comments"
    if name == "clean_prose_share":
        return "share of the page's prose outside sidebars, widgets and comments"
    if name == "in_clean_box50_share":
        return "inside the block holding half of the clean prose, times the clean prose's share"
    if match := re.fullmatch(r"box(\d)_(\w+)", name):
        level, what = int(match[1]), match[2]
        if what in _CONTAINER and level in _LEVEL:
            return _CONTAINER[what].format(_LEVEL[level])
    if match := re.fullmatch(r"(prev|next)(\d+)_(\w+)", name):
        where = f"line {match[2]} {'before' if match[1] == 'prev' else 'after'}"
        inner = _base(match[3])
        return f"{where}: {inner or match[3]}"
    if match := re.fullmatch(r"win(\d+)_(\w+)", name):
        inner = _base(match[2])
        return f"mean over the lines within {match[1]}: {inner or match[2]}"
    if match := re.fullmatch(r"z_(prev|next)(\d+)", name):
        return f"first-stage score of the line {match[2]} {'before' if match[1] == 'prev' else 'after'}"
    if match := re.fullmatch(r"([zp])_win(\d+)", name):
        what = "score" if match[1] == "z" else "probability"
        return f"mean first-stage {what} of the lines within {match[2]}"
    return name


# -- the terminal form ----------------------------------------------------------------------------------


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def _stage_lines(stage: StageExplanation, line: int, k: int, title: str) -> list[str]:
    order, rest = stage.top(line, k)
    out = [
        title,
        f"  score (log-odds of story) {stage.logits[line]:+.3f} = intercept {stage.intercept:+.3f} "
        "+ the contributions below",
        f"  {'contribution':>12}  {'value':>8}  feature",
    ]
    for j in order:
        name = stage.features[j]
        out.append(
            f"  {stage.contributions[line, j]:>+12.3f}  {_number(float(stage.values[line, j])):>8}  "
            f"{describe(name)} [{name}]"
        )
    others = len(stage.features) - len(order)
    if others:
        out.append(f"  {rest:>+12.3f}  {'':>8}  the other {others} features together")
    return out


def format_line(explanation: PageExplanation, line: int, k: int = TOP) -> str:
    """One line's explanation (0-based ``line``) for a terminal: the verdict, then each stage's largest
    contributions, positive pushing towards story and negative towards chrome."""
    text = explanation.page.lines[line].text
    p = float(explanation.probabilities[line])
    kept = "story (kept)" if explanation.story[line] else "chrome (dropped)"
    shown = text if len(text) <= 200 else text[:197] + "..."
    out = [
        f"line {line + 1} of {len(explanation.page.lines)}: {shown}",
        f"p_story {p:.3f}, threshold {explanation.threshold:.3f}: {kept}; {explanation.head} head",
    ]
    if explanation.switch_cost > 0 and explanation.story[line] != (p >= explanation.threshold):
        out.append(
            "(kept with its neighbours: the page is read as runs of story and chrome)"
            if explanation.story[line]
            else "(dropped with its neighbours: the page is read as runs of story and chrome)"
        )
    out.append("")
    if explanation.sequence is not None:
        out += _stage_lines(
            explanation.sequence,
            line,
            k,
            "Final score, from the sequence stage (the first-stage scores of this line, its neighbours "
            "and its containers):",
        )
        out.append("")
        out += _stage_lines(explanation.stage1, line, k, "First stage (the line's own features and its context):")
    else:
        out += _stage_lines(explanation.stage1, line, k, "Score (the line's own features and its context):")
    return "\n".join(out)
