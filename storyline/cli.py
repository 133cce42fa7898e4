"""The ``storyline`` command line: predict, train and evaluate, with the same data formats in and out.

Results go to standard output (or ``-o``), so they pipe; progress and summaries go to standard error.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from storyline import __version__

KIND = click.Choice(["html", "text"])
MODEL_OPTION = click.option(
    "--model", "model_path", default=None, help="A model file (default: the model shipped inside storyline)."
)
PAGE_KIND_OPTION = click.option(
    "--input-type", type=KIND, default=None, help="Read the page as HTML or as plain text (default: sniff)."
)


def _fail(message: str) -> click.ClickException:
    return click.ClickException(message)


def _load(model_path: str | None) -> Any:
    from storyline.classifier.model import ModelError, load_model

    try:
        return load_model(model_path)
    except ModelError as error:
        raise _fail(str(error)) from None


def _progress_enabled() -> bool:
    return sys.stderr.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="storyline")
@click.option("-v", "--verbose", is_flag=True, help="Log details (skipped pages, timings) to stderr.")
def main(verbose: bool) -> None:
    """Separate a web page's story text from its chrome, line by line.

    \b
    storyline predict page.html              # the story text of a page
    storyline predict pages/ --format jsonl  # one JSON record per page
    storyline train ../shared/data/wcxb -o my-model.json
    storyline evaluate ../shared/data/cleaneval --model my-model.json
    storyline show page.html -o view.html    # what it kept, and why, in a browser
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="storyline: %(message)s")


class ByteSize(click.ParamType):
    """A size in bytes: ``5000000``, ``500K``, ``5M`` or ``1G`` (powers of 1024)."""

    name = "size"
    _UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}

    def convert(self, value: Any, param: Any, ctx: Any) -> int | None:
        if isinstance(value, int):
            return value or None
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        unit = text[-1:] if text[-1:] in "KMG" else ""
        try:
            size = int(float(text[: len(text) - len(unit)]) * self._UNITS[unit])
        except ValueError:
            self.fail(f"{value!r} is not a size (e.g. 5000000, 500K, 5M)", param, ctx)
        if size < 0:
            self.fail(f"{value!r} is not a size (e.g. 5000000, 500K, 5M)", param, ctx)
        return size or None  # 0: no limit


def _several(inputs: tuple[str, ...], input_lists: tuple[str, ...]) -> bool:
    """Whether the text output may hold several pages, and so heads each with its source."""
    from storyline.classifier.sources import is_container, is_glob

    if input_lists or len(inputs) > 1:
        return True
    return any(Path(s).is_dir() or is_container(s) or (is_glob(s) and not Path(s).exists()) for s in inputs)


def _check_predict_options(
    fmt: str,
    output: str | None,
    output_dir: str | None,
    resume: bool,
    scheduler: str | None,
    timeout: float | None,
    sources: list[str],
) -> None:
    if output_dir is not None and output is not None:
        raise click.UsageError("give either -o/--output or --output-dir, not both")
    if output_dir is not None and fmt != "text":
        raise click.UsageError("--output-dir writes one .txt file per page: leave out --format")
    if fmt == "parquet" and (output is None or output == "-"):
        raise click.UsageError("--format parquet writes a file: give it with -o FILE")
    if resume and output_dir is None and (output is None or output == "-" or fmt == "text"):
        raise click.UsageError(
            "--resume needs an output to resume: -o FILE with --format jsonl or parquet, or --output-dir"
        )
    if scheduler is not None:
        if "-" in sources:
            raise click.UsageError("with --scheduler the inputs are paths the Dask workers read: not standard input")
        if timeout is not None:
            raise click.UsageError("--timeout cannot be enforced on a Dask cluster (its tasks run in threads)")


@main.command()
@click.argument("inputs", nargs=-1)
@click.option(
    "--input-list",
    "input_lists",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    help="A file of inputs, one path (or folder, or glob) a line; - reads the list from standard input.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "jsonl", "parquet"]),
    default="text",
    show_default=True,
    help="text: the story text of each page; jsonl: one JSON object per page; parquet: a table (needs -o).",
)
@click.option("-o", "--output", "output", default=None, help="Write here instead of standard output.")
@click.option(
    "--output-dir",
    default=None,
    help="Write one NAME.txt per page here, mirroring the inputs' tree (NAME.error for a page that failed).",
)
@click.option("--resume", is_flag=True, help="Skip the pages whose results the output (-o or --output-dir) holds.")
@MODEL_OPTION
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Story probability a line needs to be kept (default: the model's own threshold); pages whose markup "
    "is a forum's need the model's forum offset less.",
)
@click.option(
    "--input-type",
    type=KIND,
    default=None,
    help="Read every input as HTML or as plain text (default: sniff).",
)
@click.option("--with-lines", is_flag=True, help="jsonl, parquet: add every line with its probability and label.")
@click.option(
    "--explain",
    is_flag=True,
    help="jsonl: add every line (as --with-lines) with its largest feature contributions to the score.",
)
@click.option(
    "-j",
    "--jobs",
    type=int,
    default=None,
    help="Worker processes (default: every core, for batches of 64 pages or more; -1 = every core).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.0, min_open=True),
    default=None,
    help="Seconds a page may take; a page over it becomes an error record (default: no limit).",
)
@click.option(
    "--max-bytes",
    type=ByteSize(),
    default="10M",
    help="Largest page read, e.g. 5M; a larger page becomes an error record (default: 10M; 0 = no limit).",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run on the Dask cluster of this scheduler (tcp://host:8786); its workers read the input paths.",
)
def predict(
    inputs: tuple[str, ...],
    input_lists: tuple[str, ...],
    fmt: str,
    output: str | None,
    output_dir: str | None,
    resume: bool,
    model_path: str | None,
    threshold: float | None,
    input_type: str | None,
    with_lines: bool,
    explain: bool,
    jobs: int | None,
    timeout: float | None,
    max_bytes: int | None,
    scheduler: str | None,
) -> None:
    """Print the story text of pages.

    INPUTS are page files (.html, .htm, .xhtml, .txt, optionally .gz), folders (walked recursively in
    sorted order), globs (quoted globs are expanded too), JSONL files of page records ({"id", "html"} or
    {"id", "text"}), WARC archives (.warc, .warc.gz: their HTML responses), or - for standard input (the
    default). Every page gives one result; a page that cannot be read gets an error record and the run
    goes on. Exit status 0 when the run completed, 1 when every page failed.

    \b
    Examples:
      storyline predict data/examples/news-page.html
      storyline predict pages/ --format jsonl -o stories.jsonl
      storyline predict 'crawl/*.warc.gz' --format jsonl -o stories.jsonl --resume --timeout 10
      storyline predict --input-list paths.txt --output-dir stories/ --jobs 4
      curl -s https://example.org | storyline predict -
    """
    from storyline.classifier.batch import Interrupted, Tally, run_batch, skip_done
    from storyline.classifier.pool import PoolError
    from storyline.classifier.prediction import Options, predict_results
    from storyline.classifier.sinks import SinkError, open_sink
    from storyline.classifier.sources import iter_inputs

    sources = list(inputs) or ([] if input_lists else ["-"])
    _check_predict_options(fmt, output, output_dir, resume, scheduler, timeout, sources)
    if jobs == 0:
        raise click.UsageError("--jobs must be a number of processes (or -1 for every core)")
    if explain and fmt != "jsonl":
        raise click.UsageError("--explain adds the contributions to each line record: use --format jsonl")
    model = _load(model_path)
    options = Options(threshold, (with_lines or explain) and fmt in ("jsonl", "parquet"), max_bytes, timeout, explain)
    try:
        sink = open_sink(fmt, output, output_dir, _several(inputs, input_lists), options.with_lines, resume)
    except (SinkError, OSError) as error:
        raise _fail(str(error) if isinstance(error, SinkError) else f"cannot write the output ({error})") from None
    tally = Tally()
    if scheduler is not None:
        results = _on_cluster(scheduler, model, sources, input_lists, input_type, options, sink, resume, tally)
    else:
        items = iter_inputs(sources, input_type, max_bytes, input_lists, defer=True)
        results = predict_results(model, skip_done(items, sink, tally) if resume else items, options, jobs)
    say = lambda message: click.echo(f"storyline: {message}", err=True)  # noqa: E731
    try:
        run_batch(results, sink, tally, say, progress=_progress_enabled())
    except Interrupted as stop:
        say(str(stop))
        sys.exit(130)
    except PoolError as error:
        raise _fail(str(error)) from None
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except OSError as error:  # the output disk filled up...
        raise _fail(f"cannot write the output ({error.strerror or error})") from None
    if tally.pages != 1 or tally.failed or tally.skipped:
        say(tally.summary())
    if tally.pages and tally.failed == tally.pages:
        sys.exit(1)


def _on_cluster(
    scheduler: str,
    model: Any,
    sources: list[str],
    input_lists: tuple[str, ...],
    input_type: str | None,
    options: Any,
    sink: Any,
    resume: bool,
    tally: Any,
) -> Iterator[Any]:
    """Results from a Dask cluster: paths are listed here, and read and predicted by the workers.

    When resuming, page files already done are not sent; the records of a JSONL or WARC file are only
    known once a worker has read it, so those already done are dropped as they come back.
    """
    from storyline.classifier.sources import PageInput, iter_units

    try:
        from storyline.dask import connect, predict_units
    except ImportError:
        raise _fail("--scheduler needs dask.distributed: pip install 'storyline[dask]'") from None
    try:
        client = connect(scheduler)
    except (OSError, TimeoutError, ValueError) as error:
        raise _fail(f"cannot reach the Dask scheduler at {scheduler} ({error})") from None

    def pending() -> Iterator[Any]:
        for unit in iter_units(sources, input_type, options.max_bytes, input_lists):
            if resume and isinstance(unit, PageInput) and sink.done(unit):
                tally.skipped += 1
            else:
                yield unit

    def results() -> Iterator[Any]:
        try:
            for result in predict_units(client, pending(), model, options):
                if resume and sink.done(PageInput(result.source, name=result.name)):
                    tally.skipped += 1
                else:
                    yield result
        finally:
            client.close()

    return results()


def _in_split(page: Any, split: str | None) -> bool:
    return not split or page.split is None or page.split == split or split in str(page.split).split("+")


def _datasets(paths: tuple[str, ...], split: str | None) -> list[tuple[str, list[Any]]]:
    from storyline.training.datasets import DatasetError

    out = []
    for path, (name, pages) in zip(paths, _lazy_datasets(paths, split), strict=True):
        try:
            items = list(pages)
        except DatasetError as error:
            raise _fail(str(error)) from None
        if not items:
            raise _fail(f"{path}: no labelled pages" + (f" in split {split!r}" if split else ""))
        out.append((name, items))
    return out


def _lazy_datasets(paths: tuple[str, ...], split: str | None) -> list[tuple[str, Iterator[Any]]]:
    """``_datasets`` read as they are used (training reads each page once and keeps only its rows)."""
    from storyline.training.datasets import DatasetError, dataset_name, read_pages

    out: list[tuple[str, Iterator[Any]]] = []
    for path in paths:
        try:
            pages = read_pages(path)  # checks the path now, reads the pages later
        except DatasetError as error:
            raise _fail(str(error)) from None
        out.append((dataset_name(Path(path)), (p for p in pages if _in_split(p, split))))
    return out


@main.command()
@click.argument("data", nargs=-1, required=True)
@click.option("-o", "--output", "output", required=True, help="Where to write the model (JSON; .gz to compress).")
@click.option("--split", default=None, help="Use only the pages of this split (e.g. train) where a set has splits.")
@click.option(
    "--cv",
    "--folds",
    "folds",
    default=5,
    show_default=True,
    type=click.IntRange(2, 20),
    help="Cross-validation folds (grouped by site).",
)
@click.option(
    "--C",
    "c_values",
    multiple=True,
    type=float,
    help="Regularisation strengths to try (default 0.1 and 1).",
)
@click.option(
    "--class-weight",
    "class_weights",
    multiple=True,
    type=click.Choice(["none", "balanced"]),
    help="Class weights to try (default both).",
)
@click.option(
    "--switch-cost",
    "switch_costs",
    multiple=True,
    type=click.FloatRange(min=0.0),
    help="Costs of switching between story and chrome from one line to the next to try with the threshold "
    "(default 0, 0.25, 0.5 and 1; 0 alone: the plain threshold).",
)
@click.option("--no-sequence", is_flag=True, help="Leave out the sequence pass over neighbouring lines' scores.")
@click.option(
    "--no-forum-offset",
    is_flag=True,
    help="Judge pages whose markup is a forum's at the threshold of every other page (by default they get a "
    "lower one when that scores better on them out of fold).",
)
@click.option(
    "--comment-threads",
    default=0.1,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="Synthetic article pages with a reader-comment thread (the comments not story), built from the "
    "golds, added to the html head's training per full-gold html page; 0 for none, as when your gold keeps "
    "reader comments.",
)
@click.option("--head", "heads", multiple=True, type=KIND, help="Train only these heads (default html and text).")
@click.option("--jobs", default=-1, show_default=True, help="Processes for featurising (-1 = all cores).")
@click.option("--seed", default=0, show_default=True, help="Seed for row sampling during the search.")
@click.option(
    "--features",
    "feature_groups",
    default=None,
    help="Feature groups to use, comma-separated, from text, paragraph, position, markup, containers, plain "
    "(the text head's stand-ins for markup cues), context, windows (default: all).",
)
@click.option(
    "--target-precision",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Pick the threshold that reaches this out-of-fold page-level precision (default: best F1).",
)
@click.option(
    "--target-recall",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Pick the threshold that reaches this out-of-fold page-level recall (default: best F1).",
)
def train(
    data: tuple[str, ...],
    output: str,
    split: str | None,
    folds: int,
    c_values: tuple[float, ...],
    class_weights: tuple[str, ...],
    switch_costs: tuple[float, ...],
    no_sequence: bool,
    no_forum_offset: bool,
    comment_threads: float,
    heads: tuple[str, ...],
    jobs: int,
    seed: int,
    target_precision: float | None,
    target_recall: float | None,
    feature_groups: str | None,
) -> None:
    """Train a model on labelled pages.

    DATA are shared-data sets (a folder holding pages.jsonl.gz, or the file itself: records with html and
    gold) or folders of pages with their gold text beside each (NAME.html + NAME.txt, or NAME.gold.txt).
    Prints a summary of the data, the cross-validation search and the out-of-fold scores.
    The threshold maximises the out-of-fold page-level F1, or meets --target-precision / --target-recall;
    with it, a switch cost reads each page's lines as runs of story and chrome when that scores better.

    \b
    Example:
      storyline train ../shared/data/wcxb ../shared/data/readability -o my-model.json
      storyline train my-pages/ -o precise.json --target-precision 0.95
    """
    if target_precision is not None and target_recall is not None:
        raise _fail("give --target-precision or --target-recall, not both")
    from storyline.training.train import (
        C_GRID,
        FEATURE_GROUPS,
        FORUM_OFFSETS,
        SWITCH_COSTS,
        config_for_groups,
        train_model,
    )

    groups = [g.strip() for g in feature_groups.split(",") if g.strip()] if feature_groups else FEATURE_GROUPS
    sets = _lazy_datasets(data, split)
    try:
        config = config_for_groups(
            groups,
            folds=folds,
            c_grid=c_values or C_GRID,
            class_weights=tuple(None if w == "none" else w for w in class_weights) or (None, "balanced"),
            switch_costs=switch_costs or SWITCH_COSTS,
            sequence=not no_sequence,
            forum_offsets=(0.0,) if no_forum_offset else FORUM_OFFSETS,
            comment_threads=comment_threads,
            seed=seed,
            target_precision=target_precision,
            target_recall=target_recall,
        )
    except ValueError as error:
        raise _fail(str(error)) from None
    say = lambda message: click.echo(message, err=True)  # noqa: E731
    try:
        model, metadata = train_model(
            sets, config, heads or ("html", "text"), jobs=jobs, progress=_progress_enabled(), say=say
        )
    except ValueError as error:
        raise _fail(str(error)) from None
    model.metadata["training"]["sources"] = list(data)
    model.save(output)
    for kind, report in metadata["cv"].items():
        sh, ln = report["cv_shingle"], report["cv_line"]
        say(
            f"{kind} head: C={report['C']:g} class_weight={report['class_weight']} "
            f"threshold={report['threshold']:.2f} switch_cost={report.get('switch_cost', 0.0):g} "
            f"forum_offset={report.get('forum_offset', 0.0):g}; "
            f"out-of-fold shingle F1 {sh['f1']:.3f} (P {sh['precision']:.3f}, R {sh['recall']:.3f}); "
            f"line F1 {ln['f1']:.3f}"
        )
        for number, fold in enumerate(report["cv_folds"], 1):
            say(
                f"  fold {number}: {fold['pages']} pages from {fold['sites']} sites held out; "
                f"shingle F1 {fold['shingle_f1']:.3f}, line F1 {fold['line_f1']:.3f}"
            )
        for name, s in report["cv_by_dataset"].items():
            if "f1" not in s:
                say(f"  {name}: line F1 {s['line_f1']:.3f} on the snippet-labelled lines of {s['pages']} pages")
                continue
            say(
                f"  {name}: shingle F1 {s['f1']:.3f} (P {s['precision']:.3f}, R {s['recall']:.3f}) "
                f"on {s['pages']} pages"
            )
    say(f"model written to {output}")


@main.command()
@click.argument("data", nargs=-1, required=True)
@click.option(
    "--model",
    "model_paths",
    multiple=True,
    help="A model file (default: the shipped model). Give it twice to compare two models.",
)
@click.option("--split", default=None, help="Only pages of this split (e.g. test for dragnet).")
@click.option("--input-type", type=KIND, default=None, help="Feed the pages as HTML or as their plain-text rendering.")
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Override the model's threshold (forum pages: less its forum offset).",
)
@click.option(
    "--by",
    type=click.Choice(["page_type", "domain"]),
    default=None,
    help="Also break the page-level scores down by this field, where the data has it.",
)
@click.option(
    "--worst",
    default=5,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="List this many pages with the lowest shingle F1.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--jobs", default=-1, show_default=True, help="Processes (-1 = all cores).")
@click.option(
    "--report",
    "report_path",
    default=None,
    metavar="FILE.html",
    help="Also write an HTML report (curves, bars, the worst pages with their views); needs matplotlib.",
)
def evaluate(
    data: tuple[str, ...],
    model_paths: tuple[str, ...],
    split: str | None,
    input_type: str | None,
    threshold: float | None,
    by: str | None,
    worst: int,
    as_json: bool,
    jobs: int,
    report_path: str | None,
) -> None:
    """Score a model on labelled pages, per dataset.

    Line level: precision, recall, F1 and accuracy of the story class, and the confusion matrix. Page
    level: the shingle F1 of ../shared/data/README.md (4-token shingles, averaged over pages), per page
    type where the data has one, and the worst pages. Snippet-only sets report the share of must-have
    snippets found and must-not snippets absent. With two --model options, both models are scored on the
    same pages and their F1 difference gets a 95% bootstrap confidence interval.

    \b
    Example:
      storyline evaluate ../shared/data/cleaneval ../shared/data/l3s-gn1
      storyline evaluate ../shared/data/dragnet --split test --json
      storyline evaluate ../shared/data/wcxb --by domain --worst 10
      storyline evaluate ../shared/data/cleaneval --model old.json --model new.json
      storyline evaluate ../shared/data/cleaneval --report report.html   # views in report_files/
    """
    from storyline.training.evaluate import compare, evaluate_pages, summarise

    if len(model_paths) > 2:
        raise _fail("give at most two --model options (to compare two models)")
    if report_path is not None:
        if len(model_paths) > 1:
            raise _fail("--report describes one model: give one --model")
        if not Path(report_path).resolve().parent.is_dir():
            raise _fail(f"--report {report_path}: the folder {Path(report_path).parent} does not exist")
        from storyline.training.report_html import require_matplotlib

        try:
            require_matplotlib()
        except ImportError as error:
            raise _fail(str(error)) from None
    models = [_load(path) for path in model_paths] or [_load(None)]
    report: dict[str, Any] = {}
    report_sets: list[Any] = []
    for name, pages in _datasets(data, split):
        runs = [
            evaluate_pages(model, pages, input_type, threshold, jobs=jobs, progress=_progress_enabled())
            for model in models
        ]
        report[name] = summarise(runs[0], by, worst)
        if report_path is not None:
            from storyline.training.report_html import ReportSet

            report_sets.append(ReportSet(name, pages, runs[0], report[name]))
        if len(runs) == 2:
            report[name]["model_b"] = summarise(runs[1], by, worst)
            if any(r.gold is not None for r in runs[0]):
                report[name]["comparison"] = compare(runs[0], runs[1])
    if report_path is not None:
        _write_report(report_path, report_sets, models[0], model_paths, input_type, threshold, worst)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    labels = list(model_paths) or ["default model"]
    for i, label in enumerate(labels):
        if len(labels) > 1:
            click.echo(f"model {'AB'[i]}: {label}")
        _print_scores({name: s if i == 0 else s["model_b"] for name, s in report.items()}, by)
        click.echo("")
    for name, s in report.items():
        c = s.get("comparison")
        if c:
            click.echo(
                f"{name}: shingle F1 A {c['f1_a']:.3f}, B {c['f1_b']:.3f}; B - A = {c['difference']:+.3f} "
                f"(95% bootstrap interval {c['ci95_low']:+.3f} to {c['ci95_high']:+.3f}, {c['pages']} pages "
                f"from {c['sites']} sites resampled)"
            )


def _write_report(
    path: str,
    sets: list[Any],
    model: Any,
    model_paths: tuple[str, ...],
    input_type: str | None,
    threshold: float | None,
    worst: int,
) -> None:
    from storyline.training.report_html import write_report

    try:
        written = write_report(
            path,
            sets,
            model,
            model_label=model_paths[0] if model_paths else "default model",
            kind=input_type,
            threshold=threshold,
            worst=worst,
        )
    except OSError as error:
        raise _fail(f"cannot write the report {path} ({error.strerror or error})") from None
    views = f" and {len(written) - 1} page views in {written[1].parent}" if len(written) > 1 else ""
    click.echo(f"storyline: report written to {path}{views}", err=True)


def _print_scores(report: dict[str, Any], by: str | None) -> None:
    """The per-dataset table of ``evaluate``, with breakdowns, confusion matrices and worst pages."""
    click.echo(
        f"{'dataset':<22}{'pages':>6}  {'line P':>7}{'line R':>7}{'line F1':>8}{'acc':>6}  "
        f"{'shingle P':>9}{'R':>7}{'F1':>7}"
    )
    for name, s in report.items():
        line = s.get("line", {})
        sh = s.get("shingle")
        cells = f"{name:<22}{s['pages']:>6}  "
        cells += (
            f"{line['precision']:>7.3f}{line['recall']:>7.3f}{line['f1']:>8.3f}{line['accuracy']:>6.3f}  "
            if line
            else f"{'':>28}  "
        )
        if sh:
            cells += f"{sh['precision']:>9.3f}{sh['recall']:>7.3f}{sh['f1']:>7.3f}"
        elif "snippets" in s:
            sn = s["snippets"]
            cells += f"snippets: with found {sn['with_found']:.3f}, without absent {sn['without_absent']:.3f}"
        click.echo(cells)
        for field in ["by_page_type"] + ([f"by_{by}"] if by and by != "page_type" else []):
            for key, t in s.get(field, {}).items():
                scores = f"{t['precision']:>9.3f}{t['recall']:>7.3f}{t['f1']:>7.3f}"
                click.echo(f"  {key[:20]:<20}{t['pages']:>6}  {'':>28}  {scores}")
    for name, s in report.items():
        c = s.get("confusion")
        if c:
            click.echo(
                f"{name} lines: story kept {c['story_kept']}, story dropped {c['story_dropped']}, "
                f"chrome kept {c['chrome_kept']}, chrome dropped {c['chrome_dropped']}"
            )
        for page in s.get("worst", []):
            p = "-" if page["precision"] is None else f"{page['precision']:.2f}"
            r = "-" if page["recall"] is None else f"{page['recall']:.2f}"
            click.echo(f"  worst: {page['id']}  F1 {page['f1']:.3f} (P {p}, R {r})")


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output-dir", "output_dir", required=True, help="Folder for the labelled-lines files.")
@click.option("--model", "model_path", default=None, help="The model that pre-labels (default: the shipped one).")
@click.option(
    "--input-type", type=KIND, default=None, help="Read every input as HTML or as plain text (default: sniff)."
)
@click.option(
    "--doubt",
    default=0.15,
    show_default=True,
    type=click.FloatRange(0.0, 0.5),
    help="Lines this close to the threshold are marked ? (unsure) for a person to decide.",
)
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Write the JSONL form (.labels.jsonl) instead of text.")
def label(
    inputs: tuple[str, ...],
    output_dir: str,
    model_path: str | None,
    input_type: str | None,
    doubt: float,
    as_jsonl: bool,
) -> None:
    """Pre-label pages for a person to correct, one labelled-lines file per page.

    Each line gets a mark (S story, C chrome, ? unsure) from the model, with its probability. Lines the
    model is unsure about are marked ?: search for them first (grep -n '^?'), set S or C, fix any other
    mark that is wrong, then train and evaluate on the folder. The format is described in README.

    \b
    Example:
      storyline label pages/ -o labels/
      storyline train labels/ -o my-model.json
    """
    from storyline.classifier.reading import ReadError
    from storyline.classifier.segment import segment
    from storyline.classifier.sources import iter_inputs, load_content, safe_name
    from storyline.training.labelfile import JSONL_SUFFIX, TEXT_SUFFIX, LabelledLines, write_labels

    model = _load(model_path)
    target = Path(output_dir)
    target.mkdir(parents=True, exist_ok=True)
    pages = unsure = failed = 0
    used: set[str] = set()
    for item in iter_inputs(inputs, input_type):
        try:
            if item.error:
                raise ReadError(item.error)
            page = segment(load_content(item), item.kind, item.source)
        except (ReadError, ValueError) as error:
            failed += 1
            click.echo(f"storyline: {item.source}: {error}", err=True)
            continue
        scores = model.probabilities(page)
        probs: list[float | None] = [float(p) for p in scores]
        head = model.head_for(page)
        story = head.story(page, scores).tolist()
        cut = head.page_threshold(page)
        marks = ["?" if abs(p - cut) < doubt else ("S" if s else "C") for p, s in zip(scores, story, strict=True)]
        name = safe_name(item.source) or "page"
        while name in used:
            name += "_"
        used.add(name)
        write_labels([LabelledLines(page, marks, probs)], target / (name + (JSONL_SUFFIX if as_jsonl else TEXT_SUFFIX)))
        pages += 1
        unsure += marks.count("?")
    click.echo(
        f"storyline: {pages} page{'' if pages == 1 else 's'} labelled in {target}, "
        f"{unsure} line{'' if unsure == 1 else 's'} marked ? to check" + (f", {failed} failed" if failed else ""),
        err=True,
    )
    if failed and not pages:
        sys.exit(1)


@main.command()
@click.argument("model_path", required=False)
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 100), help="How many weights to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def inspect(model_path: str | None, top: int, as_json: bool) -> None:
    """Describe a model: metadata, training data, cross-validation scores, threshold, strongest weights.

    MODEL_PATH is a model file (default: the model shipped inside storyline). Weights are per standard
    deviation of the feature: the change in log-odds of story.

    \b
    Example:
      storyline inspect my-model.json
      storyline inspect --json | jq .heads.html.threshold
    """
    from storyline.training.reports import format_model_report, model_report

    report = model_report(_load(model_path), top)
    click.echo(json.dumps(report, indent=2) if as_json else format_model_report(report))


def _one_page(source: str, input_type: str | None) -> Any:
    """The one page ``show``/``explain`` look at, segmented; a clear message when there is not one."""
    from storyline.classifier.reading import ReadError
    from storyline.classifier.segment import segment
    from storyline.classifier.sources import iter_inputs, load_content

    items = iter_inputs([source], input_type)
    item = next(items, None)
    if item is None:
        raise _fail(f"{source}: no page found")
    if next(items, None) is not None:
        raise _fail(f"{source} holds several pages: give one page file")
    try:
        if item.error:
            raise ReadError(item.error)
        return segment(load_content(item), item.kind, item.source)
    except (ReadError, ValueError) as error:
        raise _fail(str(error)) from None


def _write_text(path: str, text: str) -> None:
    """Write a UTF-8 file (an unpaired surrogate from a page becomes U+FFFD), with a message on failure."""
    try:
        Path(path).write_bytes(text.encode("utf-8", "replace"))
    except OSError as error:
        raise _fail(f"cannot write {path} ({error.strerror or error})") from None


@main.command()
@click.argument("page_path", metavar="PAGE")
@click.option("-o", "--output", "output", required=True, help="The HTML file to write.")
@MODEL_OPTION
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="The slider's starting threshold (default: the model's own).",
)
@PAGE_KIND_OPTION
def show(page_path: str, output: str, model_path: str | None, threshold: float | None, input_type: str | None) -> None:
    """Write a self-contained HTML view of what the model kept from PAGE, and why.

    Every line in order, shaded by its story probability, the kept lines marked; click or hover a line to
    see each feature's contribution (weight x scaled value) to its score. A threshold slider re-marks the
    kept lines. The file has no external assets: it works offline.

    \b
    Example:
      storyline show data/examples/news-page.html -o view.html
    """
    from storyline.classifier.page_view import render_page_view

    model = _load(model_path)
    page = _one_page(page_path, input_type)
    try:
        view = render_page_view(model, page, threshold, title=page_path)
    except ValueError as error:  # a non-finite score from a pathological page, say
        raise _fail(f"{page_path}: cannot draw the view ({error})") from None
    _write_text(output, view)
    click.echo(f"storyline: view of {len(page.lines)} lines written to {output}", err=True)


@main.command()
@click.argument("page_path", metavar="PAGE")
@click.option("--line", "line_number", required=True, type=int, help="The line to explain (1-based, as shown by show).")
@MODEL_OPTION
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Threshold for the verdict (default: the model's own).",
)
@PAGE_KIND_OPTION
@click.option(
    "--top", default=12, show_default=True, type=click.IntRange(1, 1000), help="Contributions listed per stage."
)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def explain(
    page_path: str,
    line_number: int,
    model_path: str | None,
    threshold: float | None,
    input_type: str | None,
    top: int,
    as_json: bool,
) -> None:
    """Explain the model's score of one line of PAGE: each feature's contribution to it.

    A contribution is the feature's weight times its scaled value; with the intercept they add up to the
    line's score (log-odds of story). Positive pushes towards story, negative towards chrome. When the
    model has a sequence stage, the final score comes from it (its inputs are the first-stage scores of
    the line, its neighbours and its containers), so both stages are listed.

    \b
    Example:
      storyline explain data/examples/news-page.html --line 12
    """
    from storyline.classifier.explain import explain_page, format_line

    model = _load(model_path)
    page = _one_page(page_path, input_type)
    n = len(page.lines)
    if n == 0:
        raise _fail(f"{page_path}: the page has no lines")
    if not 1 <= line_number <= n:
        raise _fail(f"--line {line_number}: {page_path} has {n} lines, numbered 1 to {n}")
    explanation = explain_page(model, page, threshold)
    index = line_number - 1
    if as_json:
        p = float(explanation.probabilities[index])
        record = {
            "source": page_path,
            "line": line_number,
            "text": page.lines[index].text,
            "p_story": p,
            "story": bool(explanation.story[index]),
            "threshold": explanation.threshold,
            "head": explanation.head,
            "contributions": explanation.line_dict(index, top),
        }
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
        return
    click.echo(format_line(explanation, index, top))


if __name__ == "__main__":  # pragma: no cover
    main()
