"""Score the cached peer outputs: shingle P/R/F1 per set and peer, the snippet score on trafilatura-eval,
wcxb per page type, and each peer's speed; print the tables and write ``benchmarks/results/peers.json``.

It only reads ``benchmarks/.cache/peers`` (fill it first with ``peer_cache.py``), so it runs in seconds
and storyline's own numbers can be put beside these with the very same metric and pages::

    python benchmarks/peer_scores.py [--sets ...] [--peers ...] [--output benchmarks/results/peers.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_sets import ALL_SETS, FULL_GOLD_SETS, SCORED_SPLITS, SNIPPET_SETS, LabelledPage, benchmark_pages
from peer_cache import load_cache
from peers import PEERS, cache_key, peer_versions

from storyline.training.metrics import PageScore, aggregate, score_page, snippet_scores

RESULTS = Path(__file__).resolve().parent / "results" / "peers.json"
_NOT_LATIN1 = re.compile(r"[^\x00-\xff]")


def _l3s_comparable(text: str) -> str:
    """l3s-gn1's annotation tool turned every character outside Latin-1 into '?': do the same to the
    extraction, so that e.g. a Polish name is not counted as a miss for a reason outside the extractor."""
    return _NOT_LATIN1.sub("?", text)


#: Per-set normalisation of the extraction before it is compared with the gold.
PREPARE: dict[str, Callable[[str], str]] = {"l3s-gn1": _l3s_comparable}


def _run_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Failures and speed of one peer's cached run (timeouts count their full timeout as time)."""
    seconds = sum(float(r.get("seconds") or 0.0) for r in records)
    errors = [r["error"] for r in records if r.get("error") and r["error"] != "returned None"]
    return {
        "errors": len(errors),
        "timeouts": sum(e.startswith("timeout") for e in errors),
        "empty": sum(not r.get("text") for r in records),
        "seconds": round(seconds, 3),
        "pages_per_second": round(len(records) / seconds, 2) if seconds else None,
    }


def score_set(set_name: str, pages: list[LabelledPage], peer: str, version: str | None) -> dict[str, Any] | None:
    """All scores of one peer on one set, or None when nothing is cached for it."""
    cache = load_cache(set_name, peer, version)
    found = [(page, cache[page.id]) for page in pages if page.id in cache]
    if not found:
        return None
    result: dict[str, Any] = {"pages": len(found), "missing": len(pages) - len(found)}
    result.update(_run_stats([record for _, record in found]))
    if set_name in SNIPPET_SETS:
        snippets = snippet_scores((r["text"], p.with_snippets, p.without_snippets) for p, r in found)
        result["snippets"] = snippets.as_dict()
        return result
    prepare = PREPARE.get(set_name, lambda text: text)
    page_scores: list[tuple[LabelledPage, PageScore]] = [
        (page, score_page(prepare(record["text"]), page.gold or "")) for page, record in found
    ]
    result.update(_shingle_dict(score for _, score in page_scores))
    by_type: dict[str, list[PageScore]] = defaultdict(list)
    for page, score in page_scores:
        if page.page_type:
            by_type[page.page_type].append(score)
    if by_type:
        result["by_page_type"] = {kind: _shingle_dict(scores) for kind, scores in sorted(by_type.items())}
    return result


def _shingle_dict(scores: Any) -> dict[str, Any]:
    total = aggregate(scores)
    return {
        "precision": round(total.precision, 4),
        "recall": round(total.recall, 4),
        "f1": round(total.f1, 4),
        "scored_pages": total.pages,
    }


# --- printing --------------------------------------------------------------------------------------------


def _table(title: str, rows: dict[str, dict[str, str]], columns: list[str], first: str = "set") -> str:
    width = max([len(first), *map(len, rows)]) + 2
    cells = [max(len(c), 6) + 2 for c in columns]
    lines = [title, first.ljust(width) + "".join(c.rjust(w) for c, w in zip(columns, cells, strict=True))]
    for name, row in rows.items():
        values = (row.get(c, "-").rjust(w) for c, w in zip(columns, cells, strict=True))
        lines.append(name.ljust(width) + "".join(values))
    return "\n".join(lines)


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


_SNIPPET_ROWS = (("with found", "with_found"), ("without absent", "without_absent"), ("F1", "f1"))


def render(report: dict[str, Any], peers: list[str]) -> str:
    """The human-readable tables of a report."""
    sets = report["sets"]
    full = [s for s in sets if s in FULL_GOLD_SETS]
    blocks = []
    for key in ("f1", "precision", "recall"):
        title = f"shingle {key}"
        rows = {s: {p: _number(sets[s][p][key]) for p in sets[s]} for s in full}
        means = report["mean_over_full_gold_sets"]
        rows["mean (sets)"] = {p: _number(means[p][key]) for p in means}
        blocks.append(_table(f"== {title} (dragnet: test split)", rows, peers))
    wcxb = report.get("wcxb_by_page_type", {})
    if wcxb:
        rows = {kind: {p: _number(v["f1"]) for p, v in by_peer.items()} for kind, by_peer in wcxb.items()}
        blocks.append(_table("== wcxb shingle F1 by page type", rows, peers, first="page type"))
    for s in (s for s in sets if s in SNIPPET_SETS):
        rows = {label: {p: _number(v["snippets"][key]) for p, v in sets[s].items()} for label, key in _SNIPPET_ROWS}
        blocks.append(_table(f"== {s} snippet score", rows, peers, first="score"))
    speed = {s: {p: _number(v["pages_per_second"], 1) for p, v in by_peer.items()} for s, by_peer in sets.items()}
    speed["all pages"] = {p: _number(v["pages_per_second"], 1) for p, v in report["speed"].items()}
    blocks.append(_table("== pages/s (one process, time inside the peer call)", speed, peers))
    failures = {s: {p: f"{v['errors']}/{v['empty']}" for p, v in by_peer.items()} for s, by_peer in sets.items()}
    blocks.append(_table("== errors (exception or timeout) / empty outputs", failures, peers))
    return "\n\n".join(blocks)


# --- main ------------------------------------------------------------------------------------------------


def build_report(set_names: list[str], peers: list[str]) -> dict[str, Any]:
    versions = peer_versions()
    report: dict[str, Any] = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {p: versions.get(p) for p in peers},
        "scored_splits": {s: sorted(v) for s, v in SCORED_SPLITS.items()},
        "metric": "shingle P/R/F1 of storyline.training.metrics (4-token \\w+ shingles, F1 of mean P and R)",
        "sets": {},
    }
    for set_name in set_names:
        pages = benchmark_pages(set_name)
        by_peer = {}
        for peer in peers:
            version = cache_key(peer, versions[peer]) if peer in versions else None
            scores = score_set(set_name, pages, peer, version)
            if scores is None:
                print(f"{set_name}/{peer}: nothing cached, skipped", file=sys.stderr)
                continue
            if scores["missing"]:
                print(f"{set_name}/{peer}: {scores['missing']} pages not cached yet", file=sys.stderr)
            by_peer[peer] = scores
        if by_peer:
            report["sets"][set_name] = by_peer
    sets = report["sets"]
    full = [s for s in sets if s in FULL_GOLD_SETS]
    report["mean_over_full_gold_sets"] = {
        p: {key: round(sum(sets[s][p][key] for s in full) / len(full), 4) for key in ("precision", "recall", "f1")}
        for p in peers
        if full and all(p in sets[s] for s in full)
    }
    if "wcxb" in sets:
        kinds = sorted({k for v in sets["wcxb"].values() for k in v.get("by_page_type", {})})
        report["wcxb_by_page_type"] = {
            k: {p: v["by_page_type"][k] for p, v in sets["wcxb"].items() if k in v.get("by_page_type", {})}
            for k in kinds
        }
    speed: dict[str, Any] = {}
    for peer in peers:
        runs = [by_peer[peer] for by_peer in sets.values() if peer in by_peer]
        pages = sum(r["pages"] for r in runs)
        seconds = sum(r["seconds"] for r in runs)
        if runs:
            speed[peer] = {
                "pages": pages,
                "seconds": round(seconds, 2),
                "pages_per_second": round(pages / seconds, 2) if seconds else None,
            }
    report["speed"] = speed
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=ALL_SETS, choices=ALL_SETS, metavar="SET")
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=list(PEERS), metavar="PEER")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON report ('-' for none)")
    args = parser.parse_args(argv)

    report = build_report(args.sets, args.peers)
    print(render(report, [p for p in args.peers if p in report["speed"]]))
    if str(args.output) != "-":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        temporary = args.output.with_suffix(".tmp")
        temporary.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        temporary.replace(args.output)
        print(f"\nwritten: {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
