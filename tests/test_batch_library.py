"""``StoryModel.predict_many`` and the worker pool behind it: order, streaming, crashes, time limits."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pagegen import make_page

import storyline
from storyline.classifier.pool import PagePool
from storyline.classifier.prediction import Options, PageResult, predict_page
from storyline.classifier.sources import PageInput, iter_inputs


class ExitOnArrival:
    """Content that kills the process that unpickles it: a worker dying on a page, without a bug."""

    def __reduce__(self) -> tuple:
        return (os._exit, (3,))


def test_predict_many_matches_one_by_one_in_order_with_two_jobs() -> None:
    model = storyline.load_model()
    pages: list = [make_page(i)[0] for i in range(20)]
    pages[3] = pages[3].encode("utf-8")
    pages[5] = storyline.segment(make_page(5)[0])
    pages[8] = 42  # not a page: an error result, not an exception
    pages[11] = PageInput("named", make_page(11)[0], "html", url="https://x.org/11")
    expected = [model.extract(p) if not isinstance(p, (int, PageInput)) else None for p in pages]
    expected[11] = model.extract(make_page(11)[0])
    results = list(model.predict_many(pages, jobs=2))
    assert [r.source for r in results] == [str(i) if i != 11 else "named" for i in range(20)]
    assert [r.text for r in results] == expected
    assert "not int" in (results[8].error or "") and results[11].url == "https://x.org/11"
    assert results[0].record() == {"source": "0", "text": expected[0]}


def test_predict_many_streams_an_endless_input() -> None:
    model = storyline.load_model()
    endless = (make_page(i % 7)[0] for i in itertools.count())
    first = list(itertools.islice(model.predict_many(endless, jobs=2), 12))
    assert [r.source for r in first] == [str(i) for i in range(12)] and all(r.ok for r in first)


def test_a_worker_dying_costs_one_page() -> None:
    model = storyline.load_model()
    items = [PageInput(f"p{i}", make_page(i)[0], "html") for i in range(6)]
    items[2] = PageInput("boom", ExitOnArrival(), "html")  # type: ignore[arg-type]
    with PagePool(model, Options(), jobs=2) as pool:
        results = list(pool.imap(items))
        assert pool.restarts == 1
    assert [r.source for r in results] == ["p0", "p1", "boom", "p3", "p4", "p5"]
    assert "worker process died on this page (exit code 3)" in (results[2].error or "")
    assert all(r.ok for i, r in enumerate(results) if i != 2)


def _slow_then_fast() -> Iterator[str]:
    yield make_page(1)[0]
    yield "<html><body>" + "<p>a few words on a line</p>" * 300_000 + "</body></html>"
    yield make_page(2)[0]


@pytest.mark.parametrize("jobs", [1, 2])
def test_timeout_and_max_bytes_give_error_results(jobs: int) -> None:
    model = storyline.load_model()
    results = list(model.predict_many(_slow_then_fast(), jobs=jobs, timeout=0.5))
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error == "timeout: took more than 0.5 s"
    sized = list(model.predict_many(_slow_then_fast(), jobs=jobs, max_bytes=100_000))
    assert [r.ok for r in sized] == [True, False, True] and "larger than 100000 bytes" in (sized[1].error or "")


def test_a_bug_costs_one_page(monkeypatch: pytest.MonkeyPatch) -> None:
    model = storyline.load_model()

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr(model, "predict_lines", broken)
    result = predict_page(model, PageInput("x", make_page(1)[0]))
    assert isinstance(result, PageResult) and result.error == "internal error KeyError: 'oops'"


def test_a_deferred_record_that_overruns_is_an_error_under_its_own_name(tmp_path: Path) -> None:
    """A JSONL record the pool hands out unparsed (an offset) still gets its own id in a timeout's record."""
    pages = tmp_path / "pages.jsonl"
    slow = "<html><body>" + "<p>a few words on a line</p>" * 300_000 + "</body></html>"
    rows = [{"id": "fast", "url": "http://example.org/", "html": make_page(1)[0]}, {"id": "slow", "html": slow}]
    pages.write_text("".join(json.dumps(row) + "\n" for row in rows + rows[:1]), encoding="utf-8")
    items = list(iter_inputs([str(pages)], defer=True))
    assert all(item.record is not None and item.content is None for item in items)
    with PagePool(storyline.load_model(), Options(timeout=0.5), jobs=2) as pool:
        results = list(pool.imap(items))
    assert [r.source for r in results] == ["fast", "slow", "fast"] and results[0].url == "http://example.org/"
    assert results[1].error == "timeout: took more than 0.5 s" and results[0].ok and results[2].ok
