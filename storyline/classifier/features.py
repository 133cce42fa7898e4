"""Lines to numbers: the featuriser, a scikit-learn transformer from pages to a line-by-feature matrix.

Each line gets features of its own text (length, link density, currency, capitalisation, punctuation,
digits, stop words), of its paragraph, of its position, of its markup (block tag, landmark ancestors,
class/id tokens; HTML only) and of its neighbours (the same features a few lines before and after, and
means over wider windows), so a line is judged in context. Strings are read once per line; everything
after that is numpy.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from storyline.classifier.page import Page

SCHEMA_VERSION = 2
"""Bumped whenever a feature changes meaning: a model trained on another schema is refused."""

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_TOKEN = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_CURRENCY_SYMBOL = re.compile(r"[$€£¥₹₽₩₪₫₱₦₴₺฿¢]")
_MONEY = re.compile(
    r"\b(?:per\s+(?:annum|hour|month|year|week)|p\.?a\.?|salary|USD|EUR|GBP|JPY|CHF|CNY|INR|AUD|CAD|"
    r"\d[\d,.]*\s?(?:k|K)\b|(?:price|sale|discount|shipping|checkout|cart|buy now|add to cart))",
)
_SENTENCE_END = re.compile(r"[.!?。！？](?:[\"'”’»)\]]*)$")
_SENTENCES = re.compile(r"[.!?。！？]+(?:\s|$)")
_DATE = re.compile(
    r"\b(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"[a-z]*\.?\s+\d{1,2}|\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)\b",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"[|•·»›«‹/\\>]")
_COPYRIGHT = re.compile(r"©|\(c\)|copyright|all rights reserved|privacy policy|terms of (?:use|service)", re.I)

STOP_WORDS = frozenset(
    # English, German, French, Spanish, Italian, Dutch, Portuguese, Polish, Russian: the commonest words.
    """a about after all also an and any are as at be because been but by can could did do does for from
    had has have he her him his how i if in into is it its just more most my no not of on one only or other
    our out over said she so some such than that the their them then there these they this those to up
    us was we were what when where which while who will with would you your
    aber als am an auch auf aus bei bis das dass dem den der des die doch du ein eine einem einen einer er
    es für hat hatte ich ihr im in ist ja kann mit nach nicht noch nur oder sich sie sind so um und uns
    von vor war wie wir wird zu zum zur über
    au aux avec ce ces dans de des du elle en est et il ils je la le les leur mais ne nous on ou par pas
    pour qu que qui sa se ses son sont sur un une vous été
    al como con del el en es las lo los más no para pero por que se su sus una y
    che di gli il la le nel non per più sono un uno
    het een van en dat die niet zijn voor met op ook als maar bij
    não uma com os dos das ao pelo pela
    i w na z się nie do to że jest jak po co od za
    и в не на что с по как это он она они из но за то же
    """.split()
)

# class/id tokens worth a feature each: chrome-leaning and story-leaning, after dragnet's odds ratios.
MARKERS = tuple(
    """nav menu navbar navigation footer header sidebar side widget aside related share social sharing ad ads
    advert advertisement banner promo sponsor sponsored breadcrumb breadcrumbs cookie consent subscribe
    newsletter login signup search tag tags meta byline author date time caption copyright skip modal popup
    dropdown toolbar pagination pager more recommended popular trending teaser card list item
    article content post entry body story text main blog title headline summary lead intro
    comment comments reply thread forum message avatar user product price description review
    doc docs documentation markdown prose rich""".split()
)
_MARKER_INDEX = {m: i for i, m in enumerate(MARKERS)}

TAG_GROUPS = (
    ("h1", ("h1",)),
    ("h2_h3", ("h2", "h3")),
    ("h4_h6", ("h4", "h5", "h6")),
    ("p", ("p",)),
    ("li", ("li",)),
    ("cell", ("td", "th")),
    ("div", ("div", "section", "article", "main", "center")),
    ("pre", ("pre",)),
    ("quote", ("blockquote",)),
    ("definition", ("dd", "dt")),
    ("caption", ("figcaption", "caption", "legend", "summary")),
    ("control", ("option", "button", "optgroup")),
    ("landmark", ("nav", "header", "footer", "aside", "form")),
)
_TAG_INDEX = {tag: i for i, (_, tags) in enumerate(TAG_GROUPS) for tag in tags}

ANCESTOR_FLAGS = (
    ("nav", ("nav",)),
    ("header", ("header",)),
    ("footer", ("footer",)),
    ("aside", ("aside",)),
    ("form", ("form", "button", "label", "select")),
    ("li", ("li",)),
    ("link", ("a",)),
    ("table", ("table",)),
    ("article", ("article",)),
    ("main", ("main",)),
    ("list", ("ul", "ol", "dl", "menu")),
    ("figure", ("figure", "figcaption")),
    ("heading", ("h1", "h2", "h3", "h4", "h5", "h6")),
    ("quote", ("blockquote", "q")),
    ("small", ("small", "time", "sup", "sub", "cite")),
    ("emphasis", ("strong", "b", "em", "i")),
)
_FLAG_INDEX: dict[str, list[int]] = {}
for _i, (_, _tags) in enumerate(ANCESTOR_FLAGS):
    for _t in _tags:
        _FLAG_INDEX.setdefault(_t, []).append(_i)

TEXT_FEATURES = (
    "log_chars",
    "log_words",
    "words_le3",
    "words_4_10",
    "words_gt40",
    "link_density",
    "all_link",
    "currency_symbol",
    "money_terms",
    "cap_share",
    "allcaps_share",
    "title_case",
    "starts_upper",
    "ends_sentence",
    "ends_colon",
    "ends_ellipsis",
    "log_sentences",
    "comma_rate",
    "punct_share",
    "digit_share",
    "stop_share",
    "mean_word_len",
    "cjk_share",
    "date",
    "separators",
    "copyright",
    "repeated",
)
PARAGRAPH_FEATURES = (
    "para_log_chars",
    "para_log_lines",
    "para_ends_sentence",
    "para_stop_share",
    "para_link_density",
)
POSITION_FEATURES = (
    "rel_index",
    "rel_chars_before",
    "log_page_lines",
    "dense_offset",
    "dense_distance",
    "in_main_span",
)
BOX_LEVELS = (1, 2, 3, 4)
"""Containers judged for each line: its own block (1), the block around that (2), and so on."""
CONTAINER_FEATURES = tuple(
    f"box{k}_{name}" for k in BOX_LEVELS for name in ("prose_share", "link_density", "log_lines")
) + ("in_main_box50", "in_main_box80", "before_main_box", "after_main_box")
MARKUP_FEATURES = (
    tuple(f"tag_{name}" for name, _ in TAG_GROUPS)
    + tuple(f"in_{name}" for name, _ in ANCESTOR_FLAGS)
    + ("log_depth", "title_overlap")
    + tuple(f"marker_{m}" for m in MARKERS)
    + CONTAINER_FEATURES
)
# Neighbour features: these base features of lines before and after, and window means.
CONTEXT_BASE = (
    "log_chars",
    "link_density",
    "ends_sentence",
    "stop_share",
    "cap_share",
    "para_log_chars",
    "digit_share",
)
WINDOW_BASE = ("log_chars", "link_density", "ends_sentence", "stop_share")


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _text_row(text: str, link_chars: int, counts: Counter[str]) -> list[float]:
    chars = len(text)
    nonspace = chars - text.count(" ")
    words = _WORD.findall(text)
    n_words = len(words)
    cjk = len(_CJK.findall(text)) if not text.isascii() else 0
    # CJK has no spaces: count characters as half-words so lengths compare across scripts.
    eff_words = n_words + cjk / 2.0
    caps = sum(1 for w in words if w[0].isupper())
    allcaps = sum(1 for w in words if len(w) > 1 and w.isupper())
    long_words = [w for w in words if len(w) > 3]
    title_case = float(len(long_words) >= 2 and all(w[0].isupper() for w in long_words))
    digits = sum(c.isdigit() for c in text)
    punct = sum(1 for c in text if not c.isalnum() and not c.isspace())
    stops = sum(1 for w in words if w.lower() in STOP_WORDS)
    last = text[-1]
    return [
        math.log1p(chars),
        math.log1p(eff_words),
        float(eff_words <= 3),
        float(3 < eff_words <= 10),
        float(eff_words > 40),
        _ratio(link_chars, nonspace),
        float(link_chars >= nonspace * 0.95),
        float(_CURRENCY_SYMBOL.search(text) is not None),
        float(_MONEY.search(text) is not None),
        _ratio(caps, n_words),
        _ratio(allcaps, n_words),
        title_case,
        float(text[0].isupper()),
        float(_SENTENCE_END.search(text) is not None),
        float(last == ":"),
        float(text.endswith(("...", "…"))),
        math.log1p(len(_SENTENCES.findall(text))),
        _ratio(text.count(",") + text.count("，") + text.count("、"), eff_words),
        _ratio(punct, nonspace),
        _ratio(digits, nonspace),
        _ratio(stops, n_words),
        _ratio(sum(map(len, words)), n_words),
        _ratio(cjk, nonspace),
        float(_DATE.search(text) is not None),
        float(_SEPARATORS.search(text) is not None),
        float(_COPYRIGHT.search(text) is not None),
        float(counts[text] > 1),
    ]


def _markup_row(
    tag: str, ancestors: tuple[str, ...], markers: frozenset[str], title_words: set[str], text: str
) -> list[float]:
    row = [0.0] * (len(MARKUP_FEATURES) - len(CONTAINER_FEATURES))
    index = _TAG_INDEX.get(tag)
    if index is not None:
        row[index] = 1.0
    base = len(TAG_GROUPS)
    for ancestor in ancestors:
        for flag in _FLAG_INDEX.get(ancestor, ()):
            row[base + flag] = 1.0
    base += len(ANCESTOR_FLAGS)
    row[base] = math.log1p(len(ancestors))
    if title_words:
        words = {w.lower() for w in _TOKEN.findall(text)}
        row[base + 1] = _ratio(len(words & title_words), len(words))
    base += 2
    for marker in markers:
        i = _MARKER_INDEX.get(marker)
        if i is not None:
            row[base + i] = 1.0
    return row


class Containers:
    """The block containers of a page's lines, indexed once for numpy sums over containers.

    Every line lists the ids of its blocks, outermost first. ``owner``/``box`` pair each line with each
    of its containers (compacted to 0..size-1), ``depth`` is a container's nesting depth, and
    ``level(k)`` gives each line's k-th innermost container (its outermost when it has fewer).
    """

    def __init__(self, blocks: list[tuple[int, ...]]) -> None:
        self.n = n = len(blocks)
        self.blocks = blocks
        counts = np.fromiter((len(b) for b in blocks), dtype=np.int64, count=n)
        flat = np.fromiter((i for b in blocks for i in b), dtype=np.int64, count=int(counts.sum()))
        self.owner = np.repeat(np.arange(n), counts)
        level = np.concatenate([np.arange(c) for c in counts]) if n else np.zeros(0, dtype=np.int64)
        self.ids, self.box = np.unique(flat, return_inverse=True)
        self.size = len(self.ids)
        self.depth = np.zeros(self.size, dtype=np.int64)
        self.depth[self.box] = level
        self.starts = np.concatenate([[0], np.cumsum(counts)])[:-1]

    def total(self, values: np.ndarray) -> np.ndarray:
        """Per container: the sum of ``values`` over the lines it contains."""
        return np.bincount(self.box, weights=values[self.owner], minlength=self.size)

    def level(self, k: int) -> np.ndarray:
        ids = np.array([b[-k] if len(b) >= k else b[0] for b in self.blocks], dtype=np.int64)
        return np.searchsorted(self.ids, ids)

    def inside(self, container: int) -> np.ndarray:
        """Whether each line sits in ``container``."""
        if not self.n:
            return np.zeros(0)
        hit = self.box == container
        return np.logical_or.reduceat(hit, self.starts).astype(np.float64)

    def main(self, mass: np.ndarray, share: float) -> int | None:
        """The deepest container holding at least ``share`` of the page's ``mass``, if any mass."""
        totals = self.total(mass)
        whole = mass.sum()
        if whole <= 0:
            return None
        candidates = np.nonzero(totals >= share * whole)[0]
        return int(candidates[np.argmax(self.depth[candidates])])


def _container_features(boxes: Containers, words: np.ndarray, links: np.ndarray, prose: np.ndarray) -> np.ndarray:
    """How much of the page's prose each line's containers hold, and whether it sits in the main one.

    ``words`` and ``links`` are word counts (all, in links) per line; ``prose`` is each line's prose mass.
    The main container is the deepest block holding at least half (or 80%) of the page's prose, the
    readability idea of a best candidate, given to the model as features rather than applied as a rule.
    """
    n = boxes.n
    box_words, box_links, box_prose = boxes.total(words), boxes.total(links), boxes.total(prose)
    box_lines = boxes.total(np.ones(n))
    total = prose.sum()
    cols = []
    for k in BOX_LEVELS:
        box = boxes.level(k)
        cols += [
            box_prose[box] / total if total > 0 else np.zeros(n),
            box_links[box] / np.maximum(box_words[box], 1.0),
            np.log1p(box_lines[box]),
        ]
    for share in (0.5, 0.8):
        main = boxes.main(prose, share)
        cols.append(boxes.inside(main) if main is not None else np.zeros(n))
    in_main = np.nonzero(cols[-2])[0]
    index = np.arange(n)
    cols.append((index < in_main.min()).astype(np.float64) if len(in_main) else np.zeros(n))
    cols.append((index > in_main.max()).astype(np.float64) if len(in_main) else np.zeros(n))
    return np.column_stack(cols)


def _shift(values: np.ndarray, offset: int) -> np.ndarray:
    """``values`` moved by ``offset`` lines (positive = the line that many before), zero-padded."""
    out = np.zeros_like(values)
    n = len(values)
    if abs(offset) >= n:
        return out
    if offset > 0:
        out[offset:] = values[:-offset]
    elif offset < 0:
        out[:offset] = values[-offset:]
    else:
        out[:] = values
    return out


def _window_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean of ``values`` over the lines within ``radius`` of each line (clipped at the page ends)."""
    n = len(values)
    cumsum = np.concatenate([np.zeros((1,) + values.shape[1:]), np.cumsum(values, axis=0)])
    idx = np.arange(n)
    lo = np.clip(idx - radius, 0, n)
    hi = np.clip(idx + radius + 1, 0, n)
    counts = (hi - lo).reshape((-1,) + (1,) * (values.ndim - 1))
    return (cumsum[hi] - cumsum[lo]) / counts


class LineFeaturizer(TransformerMixin, BaseEstimator):
    """Pages to a (lines x features) matrix, one row per line, pages stacked in order.

    Parameters
    ----------
    markup : use the HTML markup features (tag, ancestry, class/id tokens, title). Plain-text pages have
        none, so the text head of a model is trained without them.
    context : how many lines before and after contribute their features to each line.
    windows : radii of the windows whose means each line also sees.
    """

    def __init__(self, markup: bool = True, context: int = 3, windows: tuple[int, ...] = (5, 15)) -> None:
        self.markup = markup
        self.context = context
        self.windows = windows

    def fit(self, pages: Sequence[Page], y: object = None) -> LineFeaturizer:
        """Nothing is learned: the features are fixed by the schema. Kept for the Pipeline contract."""
        self.n_features_out_ = len(self.get_feature_names_out())
        return self

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = list(TEXT_FEATURES + PARAGRAPH_FEATURES + POSITION_FEATURES)
        if self.markup:
            names += MARKUP_FEATURES
        for offset in range(1, self.context + 1):
            for label in ("prev", "next"):
                names += [f"{label}{offset}_{name}" for name in CONTEXT_BASE]
        for radius in self.windows:
            names += [f"win{radius}_{name}" for name in WINDOW_BASE]
        return np.asarray(names, dtype=object)

    def transform(self, pages: Sequence[Page]) -> np.ndarray:
        """Feature rows of every line of every page, in page then line order."""
        width = len(self.get_feature_names_out())
        blocks = [self.page_features(page) for page in pages]
        if not blocks:
            return np.zeros((0, width))
        return np.vstack(blocks)

    def page_features(self, page: Page) -> np.ndarray:
        """Feature rows of one page's lines."""
        lines = page.lines
        n = len(lines)
        width = len(self.get_feature_names_out())
        if n == 0:
            return np.zeros((0, width))
        counts = Counter(line.text for line in lines)
        text = np.array([_text_row(l.text, l.link_chars, counts) for l in lines], dtype=np.float64)
        col = {name: i for i, name in enumerate(TEXT_FEATURES)}
        chars = np.array([len(l.text) for l in lines], dtype=np.float64)

        # Paragraph features: sums over the lines of each paragraph, broadcast back to its lines.
        para = np.array([l.paragraph for l in lines])
        _, para_idx = np.unique(para, return_inverse=True)
        n_para = para_idx.max() + 1
        para_chars = np.bincount(para_idx, weights=chars, minlength=n_para)
        para_lines = np.bincount(para_idx, minlength=n_para).astype(np.float64)
        words = np.expm1(text[:, col["log_words"]])
        para_words = np.bincount(para_idx, weights=words, minlength=n_para)
        stop_words = text[:, col["stop_share"]] * words
        link = text[:, col["link_density"]] * chars
        last_line = np.zeros(n_para, dtype=np.int64)
        last_line[para_idx] = np.arange(n)  # the last assignment per paragraph wins
        paragraph = np.column_stack(
            [
                np.log1p(para_chars)[para_idx],
                np.log1p(para_lines)[para_idx],
                text[last_line, col["ends_sentence"]][para_idx],
                (np.bincount(para_idx, weights=stop_words, minlength=n_para) / np.maximum(para_words, 1))[para_idx],
                (np.bincount(para_idx, weights=link, minlength=n_para) / np.maximum(para_chars, 1))[para_idx],
            ]
        )

        # Position: where the line sits, and how far from the page's densest run of prose.
        index = np.arange(n, dtype=np.float64)
        before = np.cumsum(chars) - chars
        mass = words * (1.0 - text[:, col["link_density"]]) * (0.5 + text[:, col["ends_sentence"]])
        smooth = _window_mean(mass, 5)
        centre = int(np.argmax(smooth))
        heavy = np.nonzero(smooth >= 0.25 * smooth[centre])[0] if smooth[centre] > 0 else np.array([centre])
        position = np.column_stack(
            [
                index / max(n - 1, 1),
                before / max(chars.sum(), 1.0),
                np.full(n, math.log1p(n)),
                (index - centre) / max(n, 1),
                np.log1p(np.abs(index - centre)),
                ((index >= heavy.min()) & (index <= heavy.max())).astype(np.float64),
            ]
        )
        parts = [text, paragraph, position]
        link_words = words * text[:, col["link_density"]]
        prose = np.where(words >= 8, words - link_words, 0.0)
        if self.markup:
            title_words = {w.lower() for w in _TOKEN.findall(page.title)} if page.title else set()
            parts.append(
                np.array(
                    [_markup_row(l.tag, l.ancestors, l.markers, title_words, l.text) for l in lines],
                    dtype=np.float64,
                )
            )
            parts.append(_container_features(Containers([l.blocks or (0,) for l in lines]), words, link_words, prose))
        base = np.hstack([text, paragraph])
        base_col = {name: i for i, name in enumerate(TEXT_FEATURES + PARAGRAPH_FEATURES)}
        ctx = base[:, [base_col[name] for name in CONTEXT_BASE]]
        for offset in range(1, self.context + 1):
            parts.append(_shift(ctx, offset))
            parts.append(_shift(ctx, -offset))
        win = base[:, [base_col[name] for name in WINDOW_BASE]]
        for radius in self.windows:
            parts.append(_window_mean(win, radius))
        return np.hstack(parts)
