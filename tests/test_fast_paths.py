"""The fast prediction paths agree with the straightforward ones they replace."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from storyline.classifier.features import (
    _F_DIGIT,
    _F_PUNCT,
    _F_UPPER,
    _F_WORD,
    Containers,
    LineFeaturizer,
    _log1p_halves,
    _markup_row,
    _text_row,
    char_flags,
    text_matrix,
)
from storyline.classifier.lines_html import _with_markers, marker_tokens
from storyline.classifier.model import Head, StoryModel, make_pipeline, make_sequence_pipeline
from storyline.classifier.page import Line, Page

PIECES = [
    "The",
    "council",
    "said",
    "ÉTÉ",
    "Straße",
    "İstanbul",
    "ǅemal",
    "ﬁne",
    "Ⅻ",
    "½",
    "²",
    "٣",
    "x_y",
    "a1b",
    "per annum",
    "p.a.",
    "salary",
    "USD",
    "12k",
    "5 K",
    "price",
    "add to cart",
    "12/03/2024",
    "2024-03-12",
    "Jan. 5",
    "5 march",
    "©",
    "(c)",
    "Copyright",
    "all rights reserved",
    "privacy policy",
    "terms of use",
    "...",
    "…",
    ":",
    "!",
    "?",
    "。",
    "，",
    "、",
    "这是中文",
    "日本語",
    "한국어",
    "$",
    "€",
    "£",
    "|",
    "»",
    "/",
    ">",
    '"',
    "”",
    ")",
    "]",
    "and",
    "the",
    "AND",
    "Die",
    "und",
    "ı",
    "K",
    "ſ",
    "\ufffd",
    "\ufeff",
    "\u00ad",
    "Ω",
    "ω",
    "ﬀ",
    "ß",
    "Σ",
    "ς",
    "1,000",
    "3.5",
    "NASA",
    "I",
    "A",
    "Hello.",
    'end."',
    "end.)",
    "end]",
]


def random_line(rng: random.Random) -> str:
    words = [rng.choice(PIECES) for _ in range(rng.randint(1, 12))]
    joiners = [" ", "", " ", "-", ", ", ". "]
    text = words[0]
    for word in words[1:]:
        text += rng.choice(joiners) + word
    return text.strip() or "x"


def test_text_matrix_equals_text_row_exactly() -> None:
    rng = random.Random(7)
    for _ in range(60):
        texts = [random_line(rng) for _ in range(rng.randint(1, 40))]
        texts += texts[: rng.randint(0, 3)]  # repeated lines
        links = [rng.randint(0, len(t)) for t in texts]
        counts = Counter(texts)
        expected = np.array([_text_row(t, k, counts) for t, k in zip(texts, links, strict=True)])
        got = text_matrix(texts, links)
        assert got.shape == expected.shape
        assert np.array_equal(got, expected), np.argwhere(got != expected)[:5]


def test_text_matrix_line_holding_the_joiner_takes_the_row_path() -> None:
    texts = ["a\x00b", "Hello world."]
    counts = Counter(texts)
    expected = np.array([_text_row(t, 0, counts) for t in texts])
    assert np.array_equal(text_matrix(texts, [0, 0]), expected)


def test_text_matrix_on_lines_no_segmenter_makes() -> None:
    # a caller's Page may hold newlines, tabs, other spaces: "$" also matches before a final newline
    texts = ["Hi.\n", 'ok "yes.")\n', "x\n\n", "a.\tb", "tab\tend!", "\u2003wide. ", "end"]
    counts = Counter(texts)
    expected = np.array([_text_row(t, 1, counts) for t in texts])
    assert np.array_equal(text_matrix(texts, [1] * len(texts)), expected)
    with pytest.raises(IndexError):  # as _text_row: a line has text
        text_matrix(["a", ""], [0, 0])


def test_char_flags_match_the_str_predicates() -> None:
    chars = "aZ0_ ,.€£$|»ÉßǅⅫ½²٣中한\u00a0\u3000\ufffd"
    flags = char_flags(np.array([ord(c) for c in chars], dtype=np.uint32))
    for c, f in zip(chars, flags.tolist(), strict=True):
        assert bool(f & _F_DIGIT) == c.isdigit()
        assert bool(f & _F_UPPER) == c.isupper()
        assert bool(f & _F_PUNCT) == (not c.isalnum() and not c.isspace())
        assert bool(f & _F_WORD) == (c.isalnum() and not c.isdecimal() and c != "_")


def test_log1p_halves_is_math_log1p() -> None:
    import math

    values = np.array([0, 0.5, 1, 7.5, 1234, 99999.5, 300000])
    assert np.array_equal(_log1p_halves(values), [math.log1p(v) for v in values.tolist()])


def test_marker_union_memo() -> None:
    base = frozenset({"page"})
    first = _with_markers(base, "mainNav post-footer_2 ")
    assert first == base | marker_tokens("mainNav post-footer_2 ")
    assert _with_markers(base, "mainNav post-footer_2 ") is first


def test_containers_levels() -> None:
    blocks = [(1, 2, 5), (1, 2), (1,), (1, 3, 4, 6, 7)]
    boxes = Containers(blocks)
    for k in (1, 2, 3, 4):
        ids = [b[-k] if len(b) >= k else b[0] for b in blocks]
        assert boxes.ids[boxes.level(k)].tolist() == ids
    assert boxes.depth[np.searchsorted(boxes.ids, [1, 2, 5, 7])].tolist() == [0, 1, 2, 4]


def test_markup_rows_shared_per_context() -> None:
    lines = [
        Line("Home", 4, "li", ("nav", "ul", "li"), frozenset({"nav"}), 0, (1, 2)),
        Line("News", 4, "li", ("nav", "ul", "li"), frozenset({"nav"}), 1, (1, 3)),
        Line("The big story", 0, "p", ("article", "p"), frozenset({"story"}), 2, (4, 5)),
    ]
    page = Page(lines, title="The big story | Site")
    X = LineFeaturizer().page_features(page)
    names = list(LineFeaturizer().get_feature_names_out())
    title_words = {"the", "big", "story", "site"}
    for i, line in enumerate(lines):
        row = _markup_row(line.tag, line.ancestors, line.markers, title_words, line.text)
        start = names.index("tag_h1")
        assert X[i, start : start + len(row)].tolist() == row


def _fitted_head() -> Head:
    rng = np.random.default_rng(3)
    featurizer = LineFeaturizer(markup=False)
    width = len(featurizer.get_feature_names_out())
    X = rng.normal(size=(200, width)) * rng.uniform(0.1, 5, size=width)
    y = X[:, 0] + rng.normal(size=200) > 0
    pipeline = make_pipeline(featurizer, C=0.5)
    pipeline.named_steps["features"].fit([])
    from sklearn.pipeline import Pipeline

    Pipeline(pipeline.steps[1:]).fit(X, y)
    from storyline.classifier.sequence import sequence_feature_names

    S = rng.normal(size=(200, len(sequence_feature_names())))
    sequence = make_sequence_pipeline().fit(S, y)
    return Head(pipeline, sequence, 0.4)


def test_numpy_head_equals_sklearn_pipelines(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    head = _fitted_head()
    model = StoryModel({"text": head})
    path = tmp_path / "m.json"
    model.save(path)
    loaded = StoryModel.load(path)
    numpy_head = loaded.heads["text"]
    assert numpy_head._pipeline is None  # nothing from scikit-learn built at load
    rng = np.random.default_rng(4)
    width = len(head.featurizer.get_feature_names_out())
    for dtype in (np.float64, np.float32):
        X = rng.normal(size=(50, width)).astype(dtype)
        assert np.array_equal(numpy_head.first_stage_logits(X), head.first_stage_logits(X))
    S = rng.normal(size=(30, head.sequence.n_features_in_))  # type: ignore[union-attr]
    assert np.array_equal(numpy_head.sequence_logits(S), head.sequence.decision_function(S))  # type: ignore[union-attr]
    text = "Headline\n\nA paragraph of the story, with words and a comma.\nMore of it.\n\nMenu | Home"
    assert np.array_equal(loaded.probabilities(loaded_page(text)), model.probabilities(loaded_page(text)))
    # the scikit-learn objects, built on demand, give the same numbers and the same file
    built = numpy_head.pipeline.named_steps["classify"].coef_
    assert np.array_equal(built, head.pipeline.named_steps["classify"].coef_)
    assert loaded.to_dict() == model.to_dict()


def loaded_page(text: str) -> Page:
    from storyline.classifier.segment import segment

    return segment(text, "text")


def test_featurizer_is_a_scikit_learn_step() -> None:
    pytest.importorskip("sklearn")
    from sklearn.base import clone

    pipeline = make_pipeline(LineFeaturizer(markup=False, context=2), C=2.0)
    copy = clone(pipeline)
    assert copy.get_params()["features__context"] == 2
    copy.set_params(features__windows=(3,))
    assert copy.named_steps["features"].windows == (3,)
    assert "LineFeaturizer(markup=False, context=2)" in repr(pipeline)
    with pytest.raises(ValueError):
        LineFeaturizer().set_params(nope=1)


def test_import_does_not_load_scikit_learn() -> None:
    code = "import sys, storyline; print(any(m.split('.')[0] in ('sklearn', 'scipy') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
