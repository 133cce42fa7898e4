from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storyline.classifier.segment import segment
from storyline.training.labels import align
from storyline.training.metrics import (
    PageScore,
    PageShingler,
    aggregate,
    columns_f1,
    compare_columns,
    line_scores,
    paired_differences,
    resample_weights,
    resampled_f1,
    score_columns,
    score_page,
    score_shingles,
    shingle_f1,
    shingles,
    snippet_columns,
    snippet_scores,
)

PAGE = """<html><body><ul><li><a href="/">Home</a></li><li><a href="/n">News</a></li></ul>
<h1>Floods close the harbour road</h1>
<p>Heavy rain closed the harbour road on Monday, the council said.</p>
<p>Repairs are expected to take three weeks and will cost about two million pounds.</p>
<p>Related: the council budget explained in five charts</p></body></html>"""


def labels(gold: str) -> dict[str, bool]:
    page = segment(PAGE)
    result = align(page, gold)
    return dict(zip(page.texts, result.labels.tolist(), strict=True))


def test_alignment_tolerates_case_punctuation_and_whitespace() -> None:
    gold = (
        "FLOODS close the harbour road\n\nheavy rain   closed the harbour road on monday -- the council said\n\n"
        "Repairs are expected to take three weeks, and will cost about two million pounds!"
    )
    got = labels(gold)
    assert got["Floods close the harbour road"]
    assert got["Heavy rain closed the harbour road on Monday, the council said."]
    assert got["Repairs are expected to take three weeks and will cost about two million pounds."]
    assert not got["Home"] and not got["News"]
    assert not got["Related: the council budget explained in five charts"]


def test_alignment_tolerates_reordering_and_reports_coverage() -> None:
    gold = (
        "Repairs are expected to take three weeks and will cost about two million pounds.\n\n"
        "Heavy rain closed the harbour road on Monday, the council said."
    )
    page = segment(PAGE)
    result = align(page, gold)
    assert result.gold_coverage == pytest.approx(1.0)
    assert sum(result.labels) == 2


def test_alignment_coverage_is_low_when_gold_is_elsewhere() -> None:
    result = align(segment(PAGE), "A completely different text about mountains and their goats in winter.")
    assert result.gold_coverage < 0.2 and not result.labels.any()


def test_empty_gold_labels_everything_chrome() -> None:
    result = align(segment(PAGE), "")
    assert not result.labels.any() and result.gold_coverage == 1.0


def test_shingle_f1_matches_definition() -> None:
    assert score_page("a b c d e", "a b c d e").f1 == 1.0
    s = score_page("a b c d e f", "a b c d e")  # pred shingles abcd bcde cdef; gold abcd bcde
    assert (s.tp, s.fp, s.fn) == pytest.approx((2 / 3, 1 / 3, 0.0))
    total = shingle_f1([("a b c d e f", "a b c d e"), ("", "")])
    assert total.precision == pytest.approx((2 / 3 + 1) / 2)
    assert total.recall == pytest.approx(1.0)
    # a page with empty extraction counts for recall only
    assert shingle_f1([("", "a b c d")]).recall == 0.0


def test_line_and_snippet_scores() -> None:
    s = line_scores([True, True, False, False], [True, False, True, False])
    assert (s.precision, s.recall, s.accuracy) == (0.5, 0.5, 0.5)
    sn = snippet_scores([("Hello  World. Bye", ["hello world"], ["bye", "menu"])])
    assert sn.with_found == 1.0 and sn.without_absent == 0.5


def test_alignment_folds_question_marks_for_non_latin1_characters() -> None:
    page = segment("<p>The council’s “flood plan” costs €2m — said Łukasz Nowak, the engineer.</p><p>Menu</p>")
    gold = "The council?s ?flood plan? costs ?2m ? said ?ukasz Nowak, the engineer."
    result = align(page, gold)
    assert result.labels.tolist() == [True, False] and result.gold_coverage == pytest.approx(1.0)


def test_alignment_tolerates_a_gold_that_drops_small_pieces() -> None:
    gold = "Heavy rain closed the harbour road on Monday.\n\nRepairs are expected to take three weeks."
    got = labels(gold)
    assert got["Heavy rain closed the harbour road on Monday, the council said."]
    assert got["Repairs are expected to take three weeks and will cost about two million pounds."]


def test_snippet_labels_mark_only_the_lines_they_name() -> None:
    from storyline.training.labels import snippet_labels

    page = segment(PAGE)
    labels, labelled = snippet_labels(
        page,
        [
            "heavy rain closed the  HARBOUR road",
            "Repairs are expected to take three weeks and will cost about two "
            "million pounds. And a sentence the page does not have.",
        ],
        ["Related: the council budget"],
    )
    got = {t: (bool(l), bool(m)) for t, l, m in zip(page.texts, labels, labelled, strict=True)}
    assert got["Heavy rain closed the harbour road on Monday, the council said."] == (True, True)
    assert got["Repairs are expected to take three weeks and will cost about two million pounds."] == (True, True)
    assert got["Related: the council budget explained in five charts"] == (False, True)
    assert got["Home"] == (False, False) and got["Floods close the harbour road"] == (False, False)


_WORDS = ["a", "b", "the", "road", "é", "东京", "x1", "_", "Straße", "ab"]
_LINE = st.lists(st.sampled_from([*_WORDS, " ", "  ", ", ", ".", "—", "\n", "\t", "!?"]), max_size=12).map("".join)


def _counter_score(texts: list[str], gold: str, keep: list[bool], size: int = 4) -> PageScore:
    text = "\n".join(t for t, k in zip(texts, keep, strict=True) if k)
    return score_shingles(shingles(text, size), shingles(gold, size))


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(st.one_of(_LINE, _LINE, st.text(max_size=8)), max_size=12),
    extra=st.lists(st.one_of(_LINE, st.text(max_size=10)), max_size=3),
    size=st.sampled_from([4, 4, 4, 1, 2, 3, 5]),
    data=st.data(),
)
def test_page_shingler_equals_the_counter_path(
    texts: list[str], extra: list[str], size: int, data: st.DataObject
) -> None:
    # golds mostly made of the page's own lines, so that shingles match, bridge lines and repeat
    picks = data.draw(st.lists(st.sampled_from(texts), max_size=8)) if texts else []
    gold = data.draw(st.sampled_from(["\n", " ", ""])).join(picks + extra)
    shingler = PageShingler(texts, gold, size)
    assert shingler.fast == (size < 5)
    for _ in range(4):
        keep = data.draw(st.lists(st.booleans(), min_size=len(texts), max_size=len(texts)))
        assert shingler.score(np.array(keep, dtype=bool)) == _counter_score(texts, gold, keep, size)


def test_page_shingler_short_texts_match_only_the_same_short_gold() -> None:
    texts = ["the road", "", "...", "closed today now"]
    for gold, keep in [
        ("the road", [True, False, True, False]),
        ("the road closed", [True, False, False, False]),
        ("road", [True, False, False, False]),
        ("", [False, True, True, False]),
        ("the road closed today", [True, True, True, True]),
        ("", [True, False, False, False]),
    ]:
        assert PageShingler(texts, gold).score(np.array(keep)) == _counter_score(texts, gold, keep)


def test_page_shingler_falls_back_for_a_huge_gold_vocabulary() -> None:
    gold = " ".join(f"w{i}" for i in range(40_000))
    texts = [" ".join(f"w{i}" for i in range(j, j + 50)) for j in range(0, 40_000, 7_000)] + ["zz w1 w2 w3"]
    shingler = PageShingler(texts, gold)
    assert not shingler.fast
    keep = [True, False] * (len(texts) // 2) + [True] * (len(texts) % 2)
    assert shingler.score(np.array(keep)) == _counter_score(texts, gold, keep)


def test_page_shingler_on_real_pages() -> None:
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "wcxb" / "pages.jsonl.gz"
    if not path.exists():
        pytest.skip("no shared wcxb pages")
    rng = np.random.default_rng(0)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in itertools.islice(f, 0, 800, 20):
            record = json.loads(line)
            texts, gold = segment(record["html"]).texts, record.get("gold") or ""
            shingler = PageShingler(texts, gold)
            probs = rng.random(len(texts))
            for cut in (0.0, 0.3, 0.7, 0.95):
                keep = probs >= cut
                assert shingler.score(keep) == _counter_score(texts, gold, keep.tolist())


PAIRS = [
    ("the council closed the harbour road on monday", "the council closed the harbour road on monday"),
    ("the council closed the road", "the council closed the harbour road on monday after the rain"),
    ("", "a gold nobody extracted at all"),
    ("an extraction of a page with no gold", ""),
    ("", ""),
    ("menu home news sport weather", "the harbour road reopens in three weeks"),
]


def test_score_columns_give_the_set_score_of_aggregate() -> None:
    scores = [score_page(pred, gold) for pred, gold in PAIRS]
    assert columns_f1(score_columns(scores)) == pytest.approx(aggregate(scores).f1)
    for k in range(1, len(PAIRS)):  # and of any subset, as a resample weighs pages
        weights = np.zeros((1, len(PAIRS)))
        weights[0, :k] = 1.0
        assert resampled_f1(score_columns(scores), weights)[0] == pytest.approx(aggregate(scores[:k]).f1)


def test_snippet_columns_give_the_set_score_of_snippet_scores() -> None:
    items = [
        ("Floods close the harbour road. Repairs take three weeks.", ["harbour road", "three weeks"], ["Related:"]),
        ("Related: five charts", ["the budget"], ["related: five", "Share"]),
        ("Nothing at all", [], []),
    ]
    assert columns_f1(snippet_columns(items)) == pytest.approx(snippet_scores(items).f1)


def test_resample_weights_draw_whole_sites() -> None:
    groups = ["a", "a", "b", "c", "c", "c"]
    weights = resample_weights(groups, resamples=300, seed=1)
    assert weights.shape == (300, 6)
    assert (weights[:, 0] == weights[:, 1]).all() and (weights[:, 3] == weights[:, 5]).all()
    # three sites drawn per resample: the draws of a, b and c add up to three
    assert (weights[:, 0] + weights[:, 2] + weights[:, 3] == 3).all()
    assert (resample_weights(groups, 50, seed=1) == resample_weights(groups, 50, seed=1)).all()


def test_compare_columns_brackets_a_difference_the_pages_agree_on() -> None:
    gold = [f"story number {i} about the harbour road and the council budget" for i in range(40)]
    good = score_columns(score_page(g, g) for g in gold)
    half = score_columns(score_page(" ".join(g.split()[:5]), g) for g in gold)
    groups = [f"site{i % 10}" for i in range(40)]
    ahead = compare_columns(good, half, groups, resamples=500)
    assert ahead.delta > 0 and 0 < ahead.low <= ahead.delta <= ahead.high and ahead.ahead == 1.0
    assert ahead.groups == 10 and ahead.resamples == 500
    same = compare_columns(half, half, groups, resamples=100)
    assert same.delta == same.low == same.high == 0.0 and same.ahead == 1.0


def test_compare_columns_spans_zero_for_a_split_verdict() -> None:
    gold = [f"story number {i} about the harbour road and the council budget" for i in range(40)]
    cut = [" ".join(g.split()[:5]) for g in gold]
    pairs = list(enumerate(zip(gold, cut, strict=True)))
    one = score_columns(score_page(g if i % 2 else c, g) for i, (g, c) in pairs)
    other = score_columns(score_page(c if i % 2 else g, g) for i, (g, c) in pairs)
    found = compare_columns(one, other, [f"site{i}" for i in range(40)], resamples=500)
    assert found.low < 0 < found.high and 0.2 < found.ahead < 0.8


def test_paired_differences_refuse_columns_of_other_pages() -> None:
    columns = score_columns([score_page("a b c d", "a b c d")] * 3)
    with pytest.raises(ValueError, match="do not match"):
        paired_differences(columns, columns[:2], resample_weights(["a", "b", "c"], 10))
