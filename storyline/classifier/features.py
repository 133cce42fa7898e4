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
from collections.abc import Callable, Sequence
from itertools import chain

import numpy as np

from storyline.classifier.lines_text import line_blocks
from storyline.classifier.page import Line, Page

SCHEMA_VERSION = 7
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

#: class/id tokens of a reader-comment section (besides every token starting with ``comment``).
COMMENT_MARKERS = frozenset(
    "reply replies respond disqus dsq discussion discussions talkback kommentar kommentare".split()
)
#: class/id tokens of forum software (a thread's posts are the page's text) and of article templates
#: (microformats, blog and news themes: comments below an article are not its text).
FORUM_MARKERS = frozenset("forum forums topic postbit username avatar messages replies signature".split())
ARTICLE_MARKERS = frozenset("article hentry entry headline story single byline news".split())
# A short line that opens a comment section: "12 Comments", "Leave a Reply", "Kommentare (3)".
_COMMENT_HEADING = re.compile(
    r"^\W*(?:\d+\s+)?(?:comments?|responses?|replies|reader comments|leave a (?:reply|comment)|post a comment|"
    r"add (?:a |your )?comment|join the (?:discussion|conversation)|discussion|what do you think\??|"
    r"\d+ thoughts? on .*|kommentare?|commentaires?|comentarios?|commenti|reacties|komentarze|"
    r"комментарии|评论|留言|コメント)(?:\s*[(\[]?\d+[)\]]?)?\s*[:.]?\W*$",
    re.IGNORECASE,
)

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
    "after_comment_heading",
)
BOX_LEVELS = (1, 2, 3, 4)
"""Containers judged for each line: its own block (1), the block around that (2), and so on."""
CONTAINER_FEATURES = tuple(
    f"box{k}_{name}" for k in BOX_LEVELS for name in ("prose_share", "link_density", "log_lines")
) + (
    "in_main_box50",
    "in_main_box80",
    "before_main_box",
    "after_main_box",
    "in_clean_box50",
    "in_clean_box80",
    "before_clean_box",
    "after_clean_box",
    "clean_prose_share",
    "in_clean_box50_share",
)
TEXT_CONTAINER_FEATURES = CONTAINER_FEATURES[: 3 * len(BOX_LEVELS) + 4]
"""Without markup (plain text: sections and paragraphs) containers have no class names to clean by."""
COMMENT_FEATURES = (  # the page-wide forum/article template cues tell a thread from an article's comments
    "comment_zone",
    "comment_zone_prose_share",
    "comment_zone_minor",
    "comment_zone_other_prose",
    "forum_page",
    "article_page",
    "comment_zone_forum_page",
    "comment_zone_article_page",
)
"""Reader comments: kept by some gold standards (forums, CleanEval) and dropped by others (news pages).
Whether a comment-marked line is the page's main text or an appendix to an article elsewhere is told by
how much of the page's prose sits in comment-marked containers."""
PLAIN_FEATURES = ("ends_read_more", "after_comment_signatures")
"""Plain text's stand-ins for two markup cues: a teaser's "Read more" (a link in HTML, which link density
sees) and the dated signature lines of a reader-comment thread below an article (a comment-marked
container in HTML). Only a head without markup has them."""
DROPPABLE = ("paragraph", "position", "containers", "plain")
MARKUP_FEATURES = (
    tuple(f"tag_{name}" for name, _ in TAG_GROUPS)
    + tuple(f"in_{name}" for name, _ in ANCESTOR_FLAGS)
    + ("log_depth", "title_overlap")
    + tuple(f"marker_{m}" for m in MARKERS)
    + COMMENT_FEATURES
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


# -- the text features of a whole page at once --------------------------------------------------------
# Each character's properties come from a table indexed by code point, filled lazily from the very
# predicates ``_text_row`` uses (str methods and the regexes), so the numpy path agrees with it exactly.

_F_WORD, _F_DIGIT, _F_PUNCT, _F_UPPER, _F_NOT_UPPERCASE_WORD, _F_CURRENCY, _F_SEPARATOR, _F_KNOWN = (
    1 << i for i in range(8)
)
_char_table: np.ndarray | None = None
_JOIN = "\x00"
"""Joins a page's lines for whole-page regex scans: no line feature pattern can match it."""
_SENTENCES_JOINED = re.compile(r"[.!?。！？]+(?:\s|\x00|$)")
_SENTENCE_END_JOINED = re.compile(r"[.!?。！？][\"'”’»)\]]*(?=\n?(?:\x00|\Z))")  # "$": end, or before a final \n
_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF))
_COMMAS = (ord(","), ord("，"), ord("、"))


def _char_flags(c: str) -> int:
    """The property bits of one character, by the predicates of ``_text_row``."""
    flags = _F_KNOWN
    if _WORD.fullmatch(c):
        flags |= _F_WORD
    if c.isdigit():
        flags |= _F_DIGIT
    if not c.isalnum() and not c.isspace():
        flags |= _F_PUNCT
    if c.isupper():
        flags |= _F_UPPER
    if not ("A" + c).isupper():  # lower- or title-case: a word holding it is not all capitals
        flags |= _F_NOT_UPPERCASE_WORD
    if _CURRENCY_SYMBOL.fullmatch(c):
        flags |= _F_CURRENCY
    if _SEPARATORS.fullmatch(c):
        flags |= _F_SEPARATOR
    return flags


def char_flags(codes: np.ndarray) -> np.ndarray:
    """Property bits (``_F_*``) of each code point in ``codes``, from a table filled as characters appear."""
    global _char_table
    if _char_table is None:
        _char_table = np.zeros(0x110000, dtype=np.uint8)
        _char_table[:128] = [_char_flags(chr(i)) for i in range(128)]
    flags = _char_table[codes]
    unknown = (flags & _F_KNOWN) == 0
    if unknown.any():
        new = np.unique(codes[unknown])
        _char_table[new] = [_char_flags(chr(int(c))) for c in new]
        flags = _char_table[codes]
    return flags


class _Memo(dict[str, bool]):
    """``key -> predicate(key)``, filled on demand (bounded: cleared when it grows large). Pages repeat
    their words and class names a lot; the lookups stay C-level through ``__getitem__``."""

    def __init__(self, predicate: Callable[[str], bool]) -> None:
        super().__init__()
        self.predicate = predicate

    def __missing__(self, key: str) -> bool:
        if len(self) > 200_000:
            self.clear()
        value = self[key] = self.predicate(key)
        return value


_stop_words = _Memo(lambda word: word.lower() in STOP_WORDS)
"""``word -> word.lower() in STOP_WORDS``."""


_COPYRIGHT_LITERALS = ("(c)", "copyright", "all rights reserved", "privacy policy", "terms of use", "terms of service")
"""``_COPYRIGHT`` as lower-case literals: equivalent on ASCII text, where ignoring case is lower-casing."""
_MONEY_HINTS = re.compile(
    r"p\.?a|per|sal|USD|EUR|GBP|JPY|CHF|CNY|INR|AUD|CAD|price|discount|shipping|checkout|cart|buy now|add to cart"
)
"""A literal every ``_MONEY`` match holds, but for its digits-and-k alternative (found apart): a line
without one cannot match, so ``_MONEY`` only runs over the lines with one. Literal alternatives let the
regex engine skip ahead to their first letters, which ``_MONEY`` (starting with ``\b``) cannot."""


def _literal_lines(low: str, literals: Sequence[str], starts: np.ndarray) -> np.ndarray:
    """Line indices holding any of ``literals`` in ``low`` (the joined page text, lower-cased, same offsets)."""
    positions: list[int] = []
    for literal in literals:
        at = low.find(literal)
        while at >= 0:
            positions.append(at)
            at = low.find(literal, at + 1)
    return np.searchsorted(starts, np.array(positions, dtype=np.int64), side="right") - 1


def _match_lines(pattern: re.Pattern[str], joined: str, starts: np.ndarray) -> np.ndarray:
    """The line index of each match of ``pattern`` in the page's joined text (by where it starts)."""
    positions = np.array([m.start() for m in pattern.finditer(joined)], dtype=np.int64)
    return np.searchsorted(starts, positions, side="right") - 1


def _span_sums(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sums of ``values[start:end]`` for each span."""
    cumsum = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=cumsum[1:])
    return cumsum[ends] - cumsum[starts]


_log1p_table = np.zeros(0)


def _log1p_halves(values: np.ndarray) -> np.ndarray:
    """``math.log1p`` of each value, all multiples of 0.5 (counts, half-counts): bit-equal to ``_text_row``."""
    global _log1p_table
    halves = np.rint(values * 2.0).astype(np.int64)
    top = int(halves.max()) + 1 if len(halves) else 0
    if top > 1 << 17:  # very long lines: no table that large
        return np.array([math.log1p(v) for v in values.tolist()])
    if top > len(_log1p_table):
        size = max(top, 2 * len(_log1p_table), 4096)
        _log1p_table = np.array([math.log1p(k / 2.0) for k in range(size)])
    return _log1p_table[halves]


def _safe_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b`` where ``b`` is non-zero, else 0 (``_ratio`` over arrays)."""
    return np.divide(a, b, out=np.zeros(len(a)), where=b != 0)


def text_matrix(texts: Sequence[str], link_chars: Sequence[int]) -> np.ndarray:
    """The ``TEXT_FEATURES`` rows of a page's lines, all lines at once: equal to ``_text_row`` for each.

    Lines must be non-empty; a page whose lines hold the joining character takes the line-by-line path.
    """
    n = len(texts)
    joined = _JOIN.join(texts)
    if n == 0 or joined.count(_JOIN) != n - 1 or "" in texts:  # (an empty line: _text_row raises)
        counts = Counter(texts)
        return np.array([_text_row(t, k, counts) for t, k in zip(texts, link_chars, strict=True)], dtype=np.float64)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    ends = starts + lengths
    flags = char_flags(codes)
    chars = lengths.astype(np.float64)

    nonspace = chars - _span_sums(codes == 32, starts, ends)
    digits = _span_sums((flags & _F_DIGIT) != 0, starts, ends)
    punct = _span_sums((flags & _F_PUNCT) != 0, starts, ends)
    commas = _span_sums(np.isin(codes, _COMMAS), starts, ends)
    if joined.isascii():
        cjk = np.zeros(n)
    else:
        is_cjk = np.zeros(len(codes), dtype=bool)
        for lo, hi in _CJK_RANGES:
            is_cjk |= (codes >= lo) & (codes <= hi)
        cjk = _span_sums(is_cjk, starts, ends).astype(np.float64)
    currency = _span_sums((flags & _F_CURRENCY) != 0, starts, ends) > 0
    separators = _span_sums((flags & _F_SEPARATOR) != 0, starts, ends) > 0

    # Words: the maximal runs of word characters, exactly what _WORD.findall gives.
    is_word = (flags & _F_WORD) != 0
    edges = np.diff(is_word.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    w_start = np.nonzero(edges == 1)[0]
    w_end = np.nonzero(edges == -1)[0]
    w_len = w_end - w_start
    w_line = np.searchsorted(starts, w_start, side="right") - 1
    upper = (flags & _F_UPPER) != 0
    w_cap = upper[w_start]
    w_allcaps = (
        (w_len > 1)
        & (_span_sums((flags & _F_NOT_UPPERCASE_WORD) != 0, w_start, w_end) == 0)
        & (_span_sums(upper, w_start, w_end) > 0)
    )
    words = _WORD.findall(joined)
    if len(words) != len(w_start):  # cannot happen: the table is built from _WORD itself
        raise AssertionError("word runs disagree with the word pattern")
    w_stop = np.fromiter(map(_stop_words.__getitem__, words), dtype=bool, count=len(words))
    w_long = w_len > 3
    n_words = np.bincount(w_line, minlength=n).astype(np.float64)
    caps = np.bincount(w_line, weights=w_cap, minlength=n)
    allcaps = np.bincount(w_line, weights=w_allcaps, minlength=n)
    stops = np.bincount(w_line, weights=w_stop, minlength=n)
    word_chars = np.bincount(w_line, weights=w_len, minlength=n)
    long_words = np.bincount(w_line, weights=w_long, minlength=n)
    long_caps = np.bincount(w_line, weights=w_long & w_cap, minlength=n)
    title_case = (long_words >= 2) & (long_caps == long_words)

    eff_words = n_words + cjk / 2.0
    links = np.asarray(link_chars, dtype=np.float64)
    last = codes[ends - 1]
    ellipsis = (last == ord("…")) | (
        (lengths >= 3) & (last == 46) & (codes[np.maximum(ends - 2, 0)] == 46) & (codes[np.maximum(ends - 3, 0)] == 46)
    )

    def flag_lines(pattern: re.Pattern[str], candidates: np.ndarray | None = None) -> np.ndarray:
        """1.0 for the lines ``pattern`` finds something in; only ``candidates`` can (all lines: None)."""
        hit = np.zeros(n)
        if candidates is None:
            hit[_match_lines(pattern, joined, starts)] = 1.0
        elif len(candidates):
            some = [texts[i] for i in candidates.tolist()]
            some_lengths = lengths[candidates]
            some_starts = np.zeros(len(some), dtype=np.int64)
            np.cumsum(some_lengths[:-1] + 1, out=some_starts[1:])
            hit[candidates[_match_lines(pattern, _JOIN.join(some), some_starts)]] = 1.0
        return hit

    # _MONEY: only lines with one of its literals, or with a digit and a k/K, can match.
    hinted = np.zeros(n, dtype=bool)
    hinted[_match_lines(_MONEY_HINTS, joined, starts)] = True
    k_chars = _span_sums((codes == ord("k")) | (codes == ord("K")), starts, ends)
    money_candidates = np.nonzero(hinted | ((digits > 0) & (k_chars > 0)))[0]
    # _COPYRIGHT: on ASCII lines, ignoring case is matching the lower-cased text against its literals.
    ascii_line = _span_sums(codes > 127, starts, ends) == 0
    if ascii_line.all():
        copyright_lines = np.zeros(n)
        copyright_lines[_literal_lines(joined.lower(), _COPYRIGHT_LITERALS, starts)] = 1.0
    else:
        copyright_lines = flag_lines(_COPYRIGHT, np.nonzero(~ascii_line)[0])
        ascii_idx = np.nonzero(ascii_line)[0]
        if len(ascii_idx):
            some = _JOIN.join([texts[i] for i in ascii_idx.tolist()]).lower()
            some_starts = np.zeros(len(ascii_idx), dtype=np.int64)
            np.cumsum(lengths[ascii_idx][:-1] + 1, out=some_starts[1:])
            copyright_lines[ascii_idx[_literal_lines(some, _COPYRIGHT_LITERALS, some_starts)]] = 1.0
    sentences = np.bincount(_match_lines(_SENTENCES_JOINED, joined, starts), minlength=n).astype(np.float64)
    counts = Counter(texts)
    repeated = np.fromiter(map(counts.__getitem__, texts), dtype=np.int64, count=n) > 1
    columns = [
        _log1p_halves(chars),
        _log1p_halves(eff_words),
        eff_words <= 3,
        (eff_words > 3) & (eff_words <= 10),
        eff_words > 40,
        _safe_ratio(links, nonspace),
        links >= nonspace * 0.95,
        currency,
        flag_lines(_MONEY, money_candidates),
        _safe_ratio(caps, n_words),
        _safe_ratio(allcaps, n_words),
        title_case,
        upper[starts],
        flag_lines(_SENTENCE_END_JOINED),
        last == ord(":"),
        ellipsis,
        _log1p_halves(sentences),
        _safe_ratio(commas.astype(np.float64), eff_words),
        _safe_ratio(punct.astype(np.float64), nonspace),
        _safe_ratio(digits.astype(np.float64), nonspace),
        _safe_ratio(stops, n_words),
        _safe_ratio(word_chars, n_words),
        _safe_ratio(cjk, nonspace),
        flag_lines(_DATE, np.nonzero(digits)[0]),  # every date holds a digit (re's \d implies str.isdigit)
        separators,
        copyright_lines,
        repeated,
    ]
    out = np.empty((n, len(columns)))
    for i, column in enumerate(columns):
        out[:, i] = column
    return out


def _markup_row(
    tag: str, ancestors: tuple[str, ...], markers: frozenset[str], title_words: set[str], text: str
) -> list[float]:
    row = [0.0] * (len(MARKUP_FEATURES) - len(CONTAINER_FEATURES) - len(COMMENT_FEATURES))
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


_TITLE_COLUMN = len(TAG_GROUPS) + len(ANCESTOR_FLAGS) + 1


def _markup_matrix(lines: Sequence[Line], title_words: set[str]) -> np.ndarray:
    """``_markup_row`` of every line; lines of one block share their context, so each is computed once."""
    index: dict[tuple[str, tuple[str, ...], frozenset[str]], int] = {}
    rows: list[list[float]] = []
    which: list[int] = []
    for line in lines:
        key = (line.tag, line.ancestors, line.markers)
        j = index.get(key)
        if j is None:
            j = index[key] = len(rows)
            rows.append(_markup_row(line.tag, line.ancestors, line.markers, set(), ""))
        which.append(j)
    out = np.array(rows, dtype=np.float64)[which]
    if title_words:
        lower, findall = str.lower, _TOKEN.findall
        overlap = []
        for line in lines:
            words = set(map(lower, findall(line.text)))
            overlap.append(_ratio(len(words & title_words), len(words)))
        out[:, _TITLE_COLUMN] = overlap
    return out


def page_blocks(page: Page) -> list[tuple[int, ...]]:
    """Each line's containers: its HTML blocks, or for plain text its paragraph in its section."""
    if page.kind == "html":
        return [line.blocks or (0,) for line in page.lines]
    return line_blocks(page.lines)


class Containers:
    """The block containers of a page's lines, indexed once for numpy sums over containers.

    Every line lists the ids of its blocks, outermost first. ``owner``/``box`` pair each line with each
    of its containers (compacted to 0..size-1), ``depth`` is a container's nesting depth, and
    ``level(k)`` gives each line's k-th innermost container (its outermost when it has fewer).
    """

    def __init__(self, blocks: list[tuple[int, ...]]) -> None:
        self.n = n = len(blocks)
        self.blocks = blocks
        counts = np.fromiter(map(len, blocks), dtype=np.int64, count=n)
        total = int(counts.sum())
        flat = np.fromiter(chain.from_iterable(blocks), dtype=np.int64, count=total)
        self.counts = counts
        self.owner = np.repeat(np.arange(n), counts)
        self.starts = np.zeros(n, dtype=np.int64)
        if n:
            np.cumsum(counts[:-1], out=self.starts[1:])
        level = np.arange(total) - np.repeat(self.starts, counts)
        self.ids, self.box = np.unique(flat, return_inverse=True)
        self.box = self.box.reshape(-1)
        self.size = len(self.ids)
        self.depth = np.zeros(self.size, dtype=np.int64)
        self.depth[self.box] = level

    def total(self, values: np.ndarray) -> np.ndarray:
        """Per container: the sum of ``values`` over the lines it contains."""
        return np.bincount(self.box, weights=values[self.owner], minlength=self.size)

    def level(self, k: int) -> np.ndarray:
        """Each line's k-th innermost container (its outermost when it has fewer), as a container index."""
        return self.box[self.starts + np.maximum(self.counts - k, 0)]

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


def _container_features(
    boxes: Containers, words: np.ndarray, links: np.ndarray, prose: np.ndarray, chrome: np.ndarray | None
) -> np.ndarray:
    """How much of the page's prose each line's containers hold, and whether it sits in the main one.

    ``words`` and ``links`` are word counts (all, in links) per line; ``prose`` is each line's prose mass.
    The main container is the deepest block holding at least half (or 80%) of the page's prose, the
    readability idea of a best candidate, given to the model as features rather than applied as a rule.
    The clean main container is the same over the prose of lines not ``chrome`` by their markup: where
    a sidebar or a comment thread outweighs a short article, it still finds the article. Without markup
    (``chrome`` None) there is no clean one: ``TEXT_CONTAINER_FEATURES``.
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
    index = np.arange(n)

    def around(inside: np.ndarray) -> list[np.ndarray]:
        lines = np.nonzero(inside)[0]
        if not len(lines):
            return [np.zeros(n), np.zeros(n)]
        return [(index < lines.min()).astype(np.float64), (index > lines.max()).astype(np.float64)]

    cols += around(cols[-2])
    if chrome is None:
        return np.column_stack(cols)
    # The same with the prose of chrome-marked lines (sidebars, widgets, comments...) left out, as
    # readability weighs candidates by their class names, unless that leaves too little.
    clean = prose * (1.0 - chrome)
    clean_share = clean.sum() / total if total > 0 else 0.0
    if clean.sum() < CLEAN_MIN_WORDS:
        clean = prose
    for share in (0.5, 0.8):
        main = boxes.main(clean, share)
        cols.append(boxes.inside(main) if main is not None else np.zeros(n))
    cols += around(cols[-2])
    cols += [np.full(n, clean_share), cols[-4] * clean_share]
    return np.column_stack(cols)


#: class/id tokens of chrome containers, left out of the "clean" prose mass (besides comment tokens).
CHROME_MARKERS = frozenset(
    """sidebar widget widgets aside footer nav navbar navigation menu related promo sponsor sponsored ad ads
    advert advertisement share sharing social popular recent trending breadcrumb breadcrumbs cookie banner
    subscribe newsletter""".split()
)
_CHROME_TAGS = frozenset(("nav", "aside", "footer"))
#: ... unless the line also sits in an article's container (Blogger's main post is a "widget Blog").
STORY_MARKERS = frozenset("article entry hentry post story articlebody".split())
#: Below this much clean prose (in words) the clean main block is the plain one: a forum thread's posts
#: are all comment-marked, and so is every line under a page-wide "comments-open" wrapper.
CLEAN_MIN_WORDS = 10


def chrome_marked(lines: Sequence[Line], zone: np.ndarray) -> np.ndarray:
    """1.0 for lines in chrome by their markup: in the comment ``zone``, or with a sidebar/widget/nav...
    token or a nav/aside/footer ancestor and no article token (readability's negative class names)."""
    seen: dict[tuple[frozenset[str], tuple[str, ...]], bool] = {}
    out = zone.copy()
    for i, line in enumerate(lines):
        if out[i]:
            continue
        key = (line.markers, line.ancestors)
        hit = seen.get(key)
        if hit is None:
            hit = seen[key] = not (line.markers & STORY_MARKERS) and (
                not CHROME_MARKERS.isdisjoint(line.markers) or not _CHROME_TAGS.isdisjoint(line.ancestors)
            )
        if hit:
            out[i] = 1.0
    return out


ARTICLE_WORDS = 150
"""Prose words above a comment-section heading that make it an article's comments, wherever the page's
densest prose is: a long comment thread holds the densest run of text, and its heading sits above it."""


def _below_article(centre: int, prose: np.ndarray) -> int:
    """The first line a comment section can start at: the page's densest prose, or the first line with
    ``ARTICLE_WORDS`` words of prose above it, whichever comes first."""
    above = np.cumsum(prose) - prose  # never decreases: the first line past the bound starts the search
    return min(centre, int(np.searchsorted(above, ARTICLE_WORDS)))


def _after_comment_heading(texts: Sequence[str], chars: np.ndarray, centre: int, prose: np.ndarray) -> np.ndarray:
    """1.0 from the first comment-section heading ("12 Comments", "Leave a Reply") below an article: at or
    below the page's densest prose, or below ``ARTICLE_WORDS`` words of prose. A heading above the prose
    (a menu's "Comments" link) does not count."""
    out = np.zeros(len(texts))
    start = _below_article(centre, prose)
    for i in np.nonzero(chars[start:] <= 60)[0].tolist():
        if _COMMENT_HEADING.match(texts[start + i]):
            out[start + i :] = 1.0
            break
    return out


_READ_MORE_ENDINGS = tuple(
    "read more|read full story|read the full story|read full article|read the full article|read the full post|"
    "continue reading|keep reading|weiterlesen|mehr lesen|lire la suite|leer más|leer mas|seguir leyendo|"
    "continua a leggere|leia mais|lees meer|czytaj dalej|czytaj więcej|(more|(mehr".split("|")
)
"""How a teaser's closing link ends, once trailing punctuation, arrows and brackets are stripped: "... Read
more", "[Continue reading →]", "Weiterlesen »"; "[...]" is checked before stripping."""
_ARROWS = "»›>→"
_TRAILING = " \t.:!…-–])" + _ARROWS
_TIME = re.compile(r"\b\d{1,2}:\d{2}\b|\bago\b", re.IGNORECASE)
SIGNATURE_CHARS = 100
"""Longest line read as a comment's signature ("Posted by: Sean | Jan 10, 2008 4:49 PM")."""


def _ends_read_more(texts: Sequence[str]) -> np.ndarray:
    """1.0 for a line that ends in a "Read more" link's words (or in "more »", "More >>")."""
    out = np.zeros(len(texts))
    for i, text in enumerate(texts):
        tail = text[-40:].lower()
        stripped = tail.rstrip(_TRAILING)
        if (
            stripped.endswith(_READ_MORE_ENDINGS)
            or (stripped.endswith("more") and any(a in tail[len(stripped) :] for a in _ARROWS))
            or tail.rstrip(" \t.").endswith(("[...]", "[…]"))
        ):
            out[i] = 1.0
    return out


def _after_comment_signatures(
    texts: Sequence[str], chars: np.ndarray, centre: int, prose: np.ndarray, dated: np.ndarray
) -> np.ndarray:
    """1.0 from the first of three or more short dated lines (a date, a clock time, "3 hours ago") below an
    article, bounded as for a comment heading: a thread's signature lines when the heading is missing or
    not recognised. A byline above the article does not count."""
    out = np.zeros(len(texts))
    start = _below_article(centre, prose)
    short = start + np.nonzero(chars[start:] <= SIGNATURE_CHARS)[0]
    signatures = [i for i in short.tolist() if dated[i] > 0 or _TIME.search(texts[i])]
    if len(signatures) >= 3:
        out[signatures[0] :] = 1.0
    return out


#: tokens starting with "comment" that name a genre or a person, not readers' comments: a newspaper's
#: opinion column (taz's ``sect_article news subjective commentary``) is the page's story. ("commentarea"
#: is a comment section's.)
NOT_COMMENT_TOKENS = frozenset(("commentary", "commentaries", "commentator", "commentators"))


def _marks_comments(token: str) -> bool:
    if token.startswith("comment"):
        return token not in NOT_COMMENT_TOKENS
    return token in COMMENT_MARKERS


_comment_tokens = _Memo(_marks_comments)
"""``token -> whether it marks reader comments``."""


def _is_comment_zone(markers: frozenset[str]) -> bool:
    """Whether a class/id token of the line's block or its ancestors marks reader comments."""
    return any(map(_comment_tokens.__getitem__, markers))


def comment_zone(lines: Sequence[Line]) -> np.ndarray:
    """1.0 for the lines in a comment-marked container (each distinct marker set judged once)."""
    zones: dict[frozenset[str], bool] = {}
    zone = np.zeros(len(lines))
    for i, line in enumerate(lines):
        hit = zones.get(line.markers)
        if hit is None:
            hit = zones[line.markers] = _is_comment_zone(line.markers)
        if hit:
            zone[i] = 1.0
    return zone


def template_tokens(lines: Sequence[Line]) -> tuple[int, int]:
    """How many of ``FORUM_MARKERS`` and of ``ARTICLE_MARKERS`` the page's class/id tokens hold: how much
    its template reads as forum software's and as an article's."""
    tokens: set[str] = set()
    for markers in {line.markers for line in lines}:
        tokens |= markers
    return len(tokens & FORUM_MARKERS), len(tokens & ARTICLE_MARKERS)


FORUM_TEMPLATE_TOKENS = 2
"""Forum tokens (``FORUM_MARKERS``) that make a page's template forum software's, if it has fewer
article tokens (``ARTICLE_MARKERS``): one alone (a "topic" tag, an "avatar" image) is on any kind of page."""


def forum_template(page: Page) -> bool:
    """Whether the page's markup is a forum's (at least ``FORUM_TEMPLATE_TOKENS`` forum tokens and fewer
    article tokens), where a thread's posts are the text: a head may judge such pages at a lower
    threshold (``Head.forum_offset``). Plain text has no markup: never."""
    if page.kind != "html" or not page.lines:
        return False
    forum, article = template_tokens(page.lines)
    return forum >= FORUM_TEMPLATE_TOKENS > article


def _comment_features(lines: Sequence[Line], prose: np.ndarray, zone: np.ndarray) -> np.ndarray:
    """``COMMENT_FEATURES``: whether a line sits in a comment-marked container (``zone``), the share of
    the page's prose that does, and the zone crossed with the rest of the page's prose, as a share and in
    log words (a comment zone that is a minor part of the page's prose is an article's comments; one
    holding most of it is a forum thread), and with the page's forum or article template cues."""
    total = prose.sum()
    inside = float((prose * zone).sum())
    share = inside / total if total > 0 else float(zone.mean())
    # An article above its comments has prose of its own outside them; a forum thread has little.
    other = math.log1p(total - inside)
    forum_tokens, article_tokens = template_tokens(lines)
    forum, article = min(forum_tokens, 3) / 3.0, min(article_tokens, 3) / 3.0
    n = len(lines)
    return np.column_stack(
        [
            zone,
            np.full(n, share),
            zone * (1.0 - share),
            zone * other,
            np.full(n, forum),
            np.full(n, article),
            zone * forum,
            zone * article,
        ]
    )


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


class LineFeaturizer:
    """Pages to a (lines x features) matrix, one row per line, pages stacked in order.

    A scikit-learn transformer by its methods (``fit``/``transform``/``get_params``/``set_params``), so it
    sits in a ``Pipeline``, without importing scikit-learn: prediction does not need it.

    Parameters
    ----------
    markup : use the HTML markup features (tag, ancestry, class/id tokens, title). Plain-text pages have
        none, so the text head of a model is trained without them.
    context : how many lines before and after contribute their features to each line.
    windows : radii of the windows whose means each line also sees.
    drop : feature groups left out: any of ``paragraph``, ``position``, ``containers``, ``plain`` (the
        text group is always there; markup, context and windows have their own parameters; ``plain``, the
        stand-ins for markup cues, is used only without markup).
    """

    def __init__(
        self, markup: bool = True, context: int = 3, windows: tuple[int, ...] = (5, 15), drop: tuple[str, ...] = ()
    ) -> None:
        self.markup = markup
        self.context = context
        self.windows = windows
        self.drop = drop

    def get_params(self, deep: bool = True) -> dict[str, object]:
        return {"markup": self.markup, "context": self.context, "windows": self.windows, "drop": self.drop}

    def set_params(self, **params: object) -> LineFeaturizer:
        for name, value in params.items():
            if name not in ("markup", "context", "windows", "drop"):
                raise ValueError(f"invalid parameter {name!r} for LineFeaturizer")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {"markup": True, "context": 3, "windows": (5, 15), "drop": ()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k]]
        return f"LineFeaturizer({', '.join(changed)})"

    def fit_transform(self, pages: Sequence[Page], y: object = None, **fit_params: object) -> np.ndarray:
        return self.fit(pages, y).transform(pages)

    def fit(self, pages: Sequence[Page], y: object = None) -> LineFeaturizer:
        """Nothing is learned: the features are fixed by the schema. Kept for the Pipeline contract."""
        self.n_features_out_ = len(self.get_feature_names_out())
        return self

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        unknown = set(self.drop) - set(DROPPABLE)
        if unknown:
            raise ValueError(f"unknown feature groups {sorted(unknown)}: droppable are {', '.join(DROPPABLE)}")
        names = list(TEXT_FEATURES)
        if "paragraph" not in self.drop:
            names += PARAGRAPH_FEATURES
        if "position" not in self.drop:
            names += POSITION_FEATURES
        if self.markup:
            names += MARKUP_FEATURES[: len(MARKUP_FEATURES) - len(CONTAINER_FEATURES)]
            if "containers" not in self.drop:
                names += CONTAINER_FEATURES
        elif "containers" not in self.drop:
            names += TEXT_CONTAINER_FEATURES
        if not self.markup and "plain" not in self.drop:
            names += PLAIN_FEATURES
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
        if n == 0:
            return np.zeros((0, len(self.get_feature_names_out())))
        texts = [line.text for line in lines]
        text = text_matrix(texts, [line.link_chars for line in lines])
        col = {name: i for i, name in enumerate(TEXT_FEATURES)}
        chars = np.fromiter(map(len, texts), dtype=np.float64, count=n)

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

        link_words = words * text[:, col["link_density"]]
        prose = np.where(words >= 8, words - link_words, 0.0)

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
                _after_comment_heading(texts, chars, centre, prose),
            ]
        )
        parts = [text]
        if "paragraph" not in self.drop:
            parts.append(paragraph)
        if "position" not in self.drop:
            parts.append(position)
        if self.markup:
            title_words = {w.lower() for w in _TOKEN.findall(page.title)} if page.title else set()
            parts.append(_markup_matrix(lines, title_words))
            zone = comment_zone(lines)
            parts.append(_comment_features(lines, prose, zone))
            if "containers" not in self.drop:
                boxes = Containers(page_blocks(page))
                parts.append(_container_features(boxes, words, link_words, prose, chrome_marked(lines, zone)))
        elif "containers" not in self.drop:
            parts.append(_container_features(Containers(page_blocks(page)), words, link_words, prose, None))
        if not self.markup and "plain" not in self.drop:
            dated = text[:, col["date"]]
            parts.append(_ends_read_more(texts)[:, None])
            parts.append(_after_comment_signatures(texts, chars, centre, prose, dated)[:, None])
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
