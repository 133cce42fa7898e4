"""The evaluation report as one HTML file: curves, bars, and the worst pages to look at.

``evaluate --report`` writes it. The plots are made with matplotlib (an optional extra, imported only
here and only when a report is asked for) and embedded as base64 PNG, so the file stands alone. The worst
pages link to ``show`` views written beside it (``NAME_files/page-N.html``), with their gold labels,
so a reader goes from a bad score to the lines that caused it in one click.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np

from storyline import __version__
from storyline.classifier.model import StoryModel, now_iso
from storyline.training.datasets import LabelledPage
from storyline.training.evaluate import PageResult
from storyline.training.examples import as_kind
from storyline.training.metrics import aggregate, score_page

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def require_matplotlib() -> None:
    """Raise ``ImportError`` with the install hint when matplotlib is missing (before any work is done)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("the report's plots need matplotlib: pip install 'storyline[report]'") from None


@dataclass
class ReportSet:
    """One dataset's pages, their evaluation results (same order) and ``summarise``'s scores."""

    name: str
    pages: Sequence[LabelledPage]
    results: Sequence[PageResult]
    summary: dict[str, Any]


# -- numbers behind the plots ---------------------------------------------------------------------------


def labelled_lines(results: Sequence[PageResult]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gold labels, probabilities and decisions of every labelled line of ``results`` (pages with
    probabilities and labels; unsure lines left out)."""
    truth, probs, story = [], [], []
    for r in results:
        if r.labels is None or r.probabilities is None or len(r.probabilities) != len(r.labels):
            continue
        keep = slice(None) if r.mask is None else r.mask
        truth.append(np.asarray(r.labels, dtype=bool)[keep])
        probs.append(np.asarray(r.probabilities, dtype=np.float64)[keep])
        story.append(np.asarray(r.story, dtype=bool)[keep])
    if not truth:
        return np.zeros(0, dtype=bool), np.zeros(0), np.zeros(0, dtype=bool)
    return np.concatenate(truth), np.concatenate(probs), np.concatenate(story)


def pr_curve(truth: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision of keeping the lines at or over each distinct probability, high to low."""
    if not len(truth) or not truth.any():
        return np.zeros(0), np.zeros(0)
    order = np.argsort(-probs, kind="stable")
    y = truth[order]
    tp = np.cumsum(y)
    kept = np.arange(1, len(y) + 1)
    last = np.r_[np.nonzero(np.diff(probs[order]))[0], len(y) - 1]
    return tp[last] / y.sum(), tp[last] / kept[last]


def calibration(truth: np.ndarray, probs: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    """Per probability bin with lines in it: mean predicted probability, observed story share, count."""
    which = np.minimum((probs * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        inside = which == b
        count = int(inside.sum())
        if count:
            out.append((float(probs[inside].mean()), float(truth[inside].mean()), count))
    return out


def operating_point(truth: np.ndarray, story: np.ndarray) -> tuple[float, float] | None:
    """Recall and precision of the model's own decisions (at its threshold)."""
    if not truth.any() or not story.any():
        return None
    tp = float((truth & story).sum())
    return tp / float(truth.sum()), tp / float(story.sum())


# -- plots ----------------------------------------------------------------------------------------------


def _figure(width: float = 5.6, height: float = 4.0) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _threshold_text(sets: Sequence[ReportSet], model: StoryModel, threshold: float | None) -> str:
    if threshold is not None:
        return f"{threshold:.2f}"
    return ", ".join(f"{kind} {head.threshold:.2f}" for kind, head in model.heads.items())


def pr_plot(sets: Sequence[ReportSet], threshold_text: str) -> str | None:
    fig = _figure()
    ax = fig.add_subplot()
    drawn = False
    for s in sets:
        truth, probs, story = labelled_lines(s.results)
        recall, precision = pr_curve(truth, probs)
        if not len(recall):
            continue
        (curve,) = ax.plot(recall, precision, lw=1.6, label=f"{s.name} ({len(truth):,} lines)")
        point = operating_point(truth, story)
        if point is not None:
            ax.plot(*point, "o", ms=8, color=curve.get_color(), mec="black", zorder=3)
        drawn = True
    if not drawn:
        return None
    ax.plot([], [], "o", ms=8, color="white", mec="black", label=f"model threshold ({threshold_text})")
    ax.set(xlabel="recall (story lines kept)", ylabel="precision (kept lines that are story)", xlim=(0, 1.01))
    ax.set_ylim(bottom=0, top=1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title("Line-level precision-recall", fontsize=11)
    return _png(fig)


def calibration_plot(sets: Sequence[ReportSet]) -> str | None:
    truth, probs, _ = labelled_lines([r for s in sets for r in s.results])
    if not len(truth):
        return None
    points = calibration(truth, probs)
    fig = _figure()
    ax = fig.add_subplot()
    counts = ax.twinx()
    centres = [(b + 0.5) / 10 for b in range(10)]
    hist = np.bincount(np.minimum((probs * 10).astype(int), 9), minlength=10)
    counts.bar(centres, hist, width=0.09, color="#d0d7de", alpha=0.6, zorder=0)
    counts.set_ylabel("lines", color="#6e7781")
    counts.tick_params(axis="y", colors="#6e7781")
    ax.set_zorder(counts.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.plot([0, 1], [0, 1], "--", color="#8c959f", lw=1, label="perfect calibration")
    ax.plot([p for p, _, _ in points], [o for _, o, _ in points], "o-", color="#0969da", label="model")
    ax.set(xlabel="predicted story probability (bin mean)", ylabel="observed share of story lines")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"Calibration ({len(truth):,} labelled lines, 10 bins)", fontsize=11)
    return _png(fig)


def _bars(labels: list[str], series: dict[str, list[float]], title: str, ylabel: str) -> str:
    fig = _figure(min(11.0, max(4.5, 1.5 + 0.45 * len(labels) * max(1, len(series)))), 3.6)
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        heights = [0.0 if math.isnan(v) else v for v in values]
        bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, heights, width, label=name)
        ax.bar_label(bars, labels=[("-" if math.isnan(v) else f"{v:.2f}") for v in values], fontsize=7, padding=2)
    ax.set_xticks(x, labels, rotation=20 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center")
    ax.set_ylim(0, 1.2 if len(series) > 1 else 1.08)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8, loc="upper center", ncols=len(series), frameon=False)
    ax.set_title(title, fontsize=11)
    return _png(fig)


def set_bars(sets: Sequence[ReportSet]) -> str | None:
    names = [s.name for s in sets if "shingle" in s.summary or "line" in s.summary]
    if not names:
        return None
    scored = [s for s in sets if s.name in names]
    series = {
        "shingle F1 (page level)": [s.summary.get("shingle", {}).get("f1", float("nan")) for s in scored],
        "line F1": [s.summary.get("line", {}).get("f1", float("nan")) for s in scored],
    }
    return _bars(names, series, "Scores per dataset", "F1")


def page_type_scores(sets: Sequence[ReportSet]) -> dict[str, dict[str, float]]:
    """Shingle scores per page type over every set's pages that have a gold text and a page type."""
    by_type: dict[str, list[PageResult]] = {}
    for s in sets:
        for r in s.results:
            if r.gold is not None and r.page_type:
                by_type.setdefault(r.page_type, []).append(r)
    return {
        key: {**aggregate(score_page(r.predicted, r.gold or "") for r in rs).as_dict(), "pages": len(rs)}
        for key, rs in sorted(by_type.items())
    }


def page_type_bars(scores: dict[str, dict[str, float]]) -> str | None:
    if not scores:
        return None
    labels = [f"{key} ({int(s['pages'])})" for key, s in scores.items()]
    series = {
        "F1": [s["f1"] for s in scores.values()],
        "precision": [s["precision"] for s in scores.values()],
        "recall": [s["recall"] for s in scores.values()],
    }
    return _bars(labels, series, "Shingle scores per page type", "score")


# -- worst pages ----------------------------------------------------------------------------------------


def _view_labels(result: PageResult, n: int) -> list[bool | None] | None:
    if result.labels is None or len(result.labels) != n:
        return None
    labelled = np.ones(n, dtype=bool) if result.mask is None else np.asarray(result.mask, dtype=bool)
    return [
        bool(label) if keep else None for label, keep in zip(result.labels.tolist(), labelled.tolist(), strict=True)
    ]


def worst_pages(s: ReportSet, count: int) -> list[tuple[LabelledPage, PageResult, Any]]:
    """The ``count`` pages of a set with the lowest shingle F1 (as ``summarise`` ranks them)."""
    scored = [(item, r, score_page(r.predicted, r.gold)) for item, r in zip(s.pages, s.results, strict=True) if r.gold]
    scored.sort(key=lambda t: t[2].f1)
    return scored[:count]


# -- the document ---------------------------------------------------------------------------------------


def _cell(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _scores_table(sets: Sequence[ReportSet]) -> str:
    head = (
        "<tr><th>dataset</th><th>pages</th><th>line P</th><th>line R</th><th>line F1</th><th>accuracy</th>"
        "<th>shingle P</th><th>shingle R</th><th>shingle F1</th></tr>"
    )
    rows = []
    for s in sets:
        line = s.summary.get("line", {})
        sh = s.summary.get("shingle", {})
        cells = [html.escape(s.name), str(s.summary.get("pages", len(s.results)))]
        cells += [_cell(line.get(k)) for k in ("precision", "recall", "f1", "accuracy")]
        if sh:
            cells += [_cell(sh.get(k)) for k in ("precision", "recall", "f1")]
        elif "snippets" in s.summary:
            sn = s.summary["snippets"]
            found, absent = _cell(sn.get("with_found")), _cell(sn.get("without_absent"))
            cells.append(f'<td colspan="3">snippets: with found {found}, without absent {absent}</td>')
        else:
            cells += ["-", "-", "-"]
        rows.append("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _figure_html(src: str | None, alt: str, note: str) -> str:
    if src is None:
        return ""
    return f'<figure><img src="{src}" alt="{html.escape(alt)}"><figcaption>{note}</figcaption></figure>'


def write_report(
    path: str | Path,
    sets: Sequence[ReportSet],
    model: StoryModel,
    *,
    model_label: str = "default model",
    kind: str | None = None,
    threshold: float | None = None,
    worst: int = 5,
) -> list[Path]:
    """Write the report to ``path`` and the ``show`` views of the worst pages to ``STEM_files/``.

    Returns the files written, the report first.
    """
    from storyline.classifier.page_view import render_page_view

    require_matplotlib()
    path = Path(path)
    folder = path.with_name(path.stem + "_files")
    written: list[Path] = []
    threshold_text = _threshold_text(sets, model, threshold)
    worst_rows = []
    number = 0
    for stale in folder.glob("page-*.html") if folder.is_dir() else ():  # an earlier report's views
        stale.unlink()
    for s in sets:
        for item, result, score in worst_pages(s, worst):
            number += 1
            page = as_kind(item, kind or item.kind)
            view = render_page_view(
                model, page, threshold, title=f"{s.name}: {item.id}", labels=_view_labels(result, len(page.lines))
            )
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"page-{number}.html"
            target.write_bytes(view.encode("utf-8", "replace"))
            written.append(target)
            href = quote(f"{folder.name}/{target.name}")
            worst_rows.append(
                f'<tr><td>{html.escape(s.name)}</td><td><a href="{href}">{html.escape(item.id)}</a></td>'
                f"<td>{_cell(result.page_type or '')}</td><td>{score.f1:.3f}</td><td>{_cell(score.precision)}</td>"
                f"<td>{_cell(score.recall)}</td></tr>"
            )
    figures = [
        _figure_html(
            pr_plot(sets, threshold_text),
            "precision-recall curve",
            "Lines ranked by story probability; a dot marks where the model's threshold puts each set.",
        ),
        _figure_html(
            calibration_plot(sets),
            "calibration plot",
            "Of the lines given a probability near x, the share that is story; grey bars: how many lines.",
        ),
        _figure_html(set_bars(sets), "scores per dataset", "Page-level shingle F1 and line-level F1 per dataset."),
        _figure_html(
            page_type_bars(page_type_scores(sets)),
            "scores per page type",
            "Page-level shingle scores per page type, where the data gives one.",
        ),
    ]
    worst_html = (
        "<h2>Worst pages</h2><p>The pages with the lowest shingle F1; each links to its view (lines shaded by "
        "probability, kept lines marked, gold labels beside them, contributions on click).</p>"
        '<table class="worst"><tr><th>dataset</th><th>page</th><th>page type</th><th>F1</th><th>P</th><th>R</th></tr>'
        + "".join(worst_rows)
        + "</table>"
        if worst_rows
        else ""
    )
    document = _TEMPLATE.format(
        title=html.escape(f"storyline evaluation: {', '.join(s.name for s in sets)}"),
        meta=html.escape(
            f"{model_label}; threshold {threshold_text}; "
            f"{'input as ' + kind + '; ' if kind else ''}storyline {__version__}; {now_iso()}"
        ),
        table=_scores_table(sets),
        figures="".join(figures),
        worst=worst_html,
    )
    path.write_bytes(document.encode("utf-8", "replace"))
    return [path, *written]


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{margin:0 auto;max-width:1200px;padding:16px 24px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
sans-serif;color:#1f2328}}
h1{{font-size:20px;margin:0 0 4px}} h2{{font-size:17px;margin:22px 0 6px}}
.meta{{color:#57606a;margin:0 0 12px}}
table{{border-collapse:collapse;font-size:14px}}
th,td{{padding:3px 10px;border-bottom:1px solid #d0d7de;text-align:right}}
th:first-child,td:first-child,.worst td:nth-child(-n+3),.worst th:nth-child(-n+3){{text-align:left}}
.figures{{display:flex;flex-wrap:wrap;gap:12px}}
figure{{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:6px;max-width:100%}}
figure img{{max-width:100%;height:auto;display:block}}
figcaption{{font-size:13px;color:#57606a;max-width:540px}}
</style></head><body>
<h1>{title}</h1>
<p class="meta">{meta}</p>
<h2>Scores</h2>
{table}
<h2>Plots</h2>
<div class="figures">{figures}</div>
{worst}
</body></html>
"""
