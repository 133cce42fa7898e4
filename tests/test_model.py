from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import storyline
from storyline.classifier.features import page_blocks
from storyline.classifier.model import ModelError, StoryModel, _checksum, default_model_path, line_words, load_model
from storyline.classifier.segment import segment
from storyline.classifier.sequence import OLDER_WIDTHS, sequence_feature_names, sequence_features
from storyline.training.datasets import read_pages
from storyline.training.train import TrainingConfig, _folds, _search_C, train_model

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "news-page.html"


def test_small_model_learns_story_from_chrome(small_model_path: Path) -> None:
    from pagegen import make_page

    model = StoryModel.load(small_model_path)
    html, gold = make_page(1000, "unseen-site")
    text = model.extract(html)
    first_paragraph = gold.split("\n\n")[1]
    assert first_paragraph in text
    assert "Privacy policy" not in text and "per annum" not in text


def test_save_load_round_trip_predicts_identically(small_model_path: Path, tmp_path: Path) -> None:
    from pagegen import make_page

    model = StoryModel.load(small_model_path)
    copy = tmp_path / "copy.json.gz"
    model.save(copy)
    again = StoryModel.load(copy)
    for seed in range(2000, 2005):
        html, _ = make_page(seed)
        a = [l.p_story for l in model.predict_lines(html)]
        b = [l.p_story for l in again.predict_lines(html)]
        assert np.array_equal(a, b)
    assert again.metadata["storyline_version"] == storyline.__version__
    assert set(again.heads) == {"html", "text"}


def test_training_report_and_metadata(small_model_path: Path) -> None:
    meta = StoryModel.load(small_model_path).metadata
    assert meta["training"]["datasets"]["synthetic"]["used"] == 12
    cv = meta["cv"]["html"]
    assert cv["cv_shingle"]["f1"] > 0.8
    assert 0.0 < cv["threshold"] < 1.0


def test_grouped_folds_never_split_a_site() -> None:
    site = np.array(["a", "a", "b", "c", "c", "c", "d", "e", "e", "f"])
    for train, val in _folds(site, 3):
        assert not set(site[train]) & set(site[val])


def test_training_refuses_one_class(labelled_folder: Path) -> None:
    pages = list(read_pages(labelled_folder))
    for page in pages:
        page.gold = ""
    with pytest.raises(ValueError, match="one class"):
        train_model([("x", pages)], TrainingConfig(folds=2, c_grid=(1.0,), class_weights=(None,)), kinds=("html",))


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_corrupt_tampered_and_foreign_files_are_refused(small_model_path: Path, tmp_path: Path) -> None:
    good = json.loads(small_model_path.read_text())
    truncated = tmp_path / "truncated.json"
    truncated.write_text(small_model_path.read_text()[:500])
    with pytest.raises(ModelError, match="not a valid model file"):
        StoryModel.load(truncated)
    tampered = json.loads(json.dumps(good))
    tampered["heads"]["html"]["threshold"] = 0.01
    with pytest.raises(ModelError, match="checksum"):
        StoryModel.load(_write(tmp_path / "tampered.json", tampered))
    other = dict(good, schema_version=999)
    with pytest.raises(ModelError, match="schema version 999"):
        StoryModel.load(_write(tmp_path / "other.json", other))
    with pytest.raises(ModelError, match="not a storyline model"):
        StoryModel.load(_write(tmp_path / "list.json", [1, 2, 3]))
    with pytest.raises(ModelError, match="cannot read"):
        StoryModel.load(tmp_path / "missing.json")


OLD_SEQUENCE_NAMES = (
    "z",
    "z_prev1",
    "z_next1",
    "z_prev2",
    "z_next2",
    "z_prev3",
    "z_next3",
    "z_win2",
    "z_win5",
    "z_win15",
    "z_win40",
    "p_win2",
    "p_win5",
    "p_win15",
    "p_win40",
    "z_minus_page_max",
    "z_page_mean",
    "story_before",
    "story_after",
    "inside_story_span",
    "box1_mean_p",
    "box1_story_share",
    "box2_mean_p",
    "box2_story_share",
    "box3_mean_p",
    "box3_story_share",
    "box4_mean_p",
    "box4_story_share",
    "in_story_box50",
    "in_story_box80",
)
"""The sequence features of model files written before 2026-12-02, in their order."""


def test_a_model_file_of_an_earlier_sequence_pass_still_loads_and_predicts_as_it_did(tmp_path: Path) -> None:
    # a sequence stage over the 30 features that model files written before 2026-12-02 hold
    width = OLDER_WIDTHS[0]
    assert tuple(sequence_feature_names()[:width]) == OLD_SEQUENCE_NAMES
    data = json.loads(default_model_path().read_text(encoding="utf-8"))
    for head in data["heads"].values():
        sequence = head["sequence"]
        sequence["feature_names"] = sequence["feature_names"][:width]
        sequence["scaler"] = {k: v[:width] for k, v in sequence["scaler"].items()}
        sequence["classifier"]["coef"] = sequence["classifier"]["coef"][:width]
    data["checksum"] = _checksum(data["heads"])
    old = StoryModel.load(_write(tmp_path / "old.json", data))
    page = segment(EXAMPLE.read_bytes())
    head = old.head_for(page)
    z = head.first_stage_logits(head.featurizer.page_features(page))
    S = sequence_features(z, line_words(page), page_blocks(page))
    spec = data["heads"]["html"]["sequence"]
    mean, scale = np.array(spec["scaler"]["mean"]), np.array(spec["scaler"]["scale"])
    expected = ((S[:, :width] - mean) / scale) @ np.array(spec["classifier"]["coef"]) + spec["classifier"]["intercept"]
    assert np.allclose(np.log(old.probabilities(page) / (1 - old.probabilities(page))), expected)
    assert len(sequence_feature_names()) > width
    old.save(tmp_path / "again.json")  # saved again, it keeps its own features
    assert (
        json.loads((tmp_path / "again.json").read_text())["heads"]["html"]["sequence"]["feature_names"]
        == (sequence_feature_names()[:width])
    )
    data["heads"]["html"]["sequence"]["feature_names"][3] = "something_else"
    data["checksum"] = _checksum(data["heads"])
    with pytest.raises(ModelError, match="sequence feature names differ"):
        StoryModel.load(_write(tmp_path / "foreign.json", data))


def test_default_model_ships_small_and_extracts_the_example() -> None:
    assert default_model_path().stat().st_size < 1_000_000
    model = load_model()
    assert model.metadata["training"]["datasets"]
    text = storyline.extract(EXAMPLE.read_bytes())
    assert "Harbour town library reopens after three-year restoration" in text
    assert "The old granary library on Quay Street opened its doors again" in text
    assert '"It is the heart of the town," said Penhallow.' in text
    for chrome in ("Subscribe", "Related stories", "per annum", "All rights reserved", "Ten coastal walks"):
        assert chrome not in text


def test_predict_lines_api() -> None:
    lines = load_model().predict_lines("<p>One paragraph of text that reads like a story, with a full stop.</p>")
    assert len(lines) == 1 and 0.0 <= lines[0].p_story <= 1.0 and isinstance(lines[0].story, bool)
    assert load_model().extract("") == ""


def test_threshold_meets_precision_and_recall_targets(labelled_folder: Path) -> None:
    from storyline.classifier.features import LineFeaturizer
    from storyline.training.examples import build_examples
    from storyline.training.train import F1_TIE, choose_threshold, threshold_curve

    pages = list(read_pages(labelled_folder))
    examples, _ = build_examples(pages, "html", LineFeaturizer())
    golds = [p.gold or "" for p in pages]
    rng = np.random.default_rng(0)
    # noisy probabilities: story lines high, chrome lines spread, so the threshold trades P for R
    probs = np.concatenate(
        [np.where(e.labels, rng.uniform(0.3, 1.0, len(e.labels)), rng.uniform(0, 0.7, len(e.labels))) for e in examples]
    )
    curve = threshold_curve(examples, probs, golds)
    cut_p, precision = choose_threshold(examples, probs, golds, target_precision=0.9)
    cut_r, recall = choose_threshold(examples, probs, golds, target_recall=0.9)
    cut_f, f1 = choose_threshold(examples, probs, golds)
    name = next(iter(curve))
    assert precision >= 0.9 and curve[name][cut_p].precision == pytest.approx(precision)
    assert recall >= 0.9 and curve[name][cut_r].recall == pytest.approx(recall)
    # the lowest threshold reaching the precision target, the highest reaching the recall target
    assert all(curve[name][c].precision < 0.9 for c in curve[name] if c < cut_p)
    assert all(curve[name][c].recall < 0.9 for c in curve[name] if c > cut_r)
    # best F1 within the tie tolerance, in the middle of the thresholds that reach it
    best = max(s.f1 for s in curve[name].values())
    assert best - F1_TIE <= f1 <= best
    ties = [c for c in curve[name] if curve[name][c].f1 >= best - F1_TIE]
    assert len([c for c in ties if c < cut_f]) == len(ties) // 2


def test_snippet_sets_count_in_the_threshold_curve_by_their_labelled_lines() -> None:
    from storyline.training.examples import PageExamples
    from storyline.training.train import SnippetLineScore, choose_threshold, threshold_curve

    def page(dataset: str, labels: list[int], labelled: list[bool] | None) -> PageExamples:
        n = len(labels)
        texts = [f"line number {i} of a page about the harbour road" for i in range(n)]
        return PageExamples(
            id=f"{dataset}{n}",
            dataset=dataset,
            group=dataset,
            features=np.zeros((n, 1)),
            labels=np.array(labels, dtype=bool),
            words=np.full(n, 9),
            coverage=1.0,
            texts=texts,
            labelled=None if labelled is None else np.array(labelled),
        )

    full = page("full", [1, 1, 0, 0], None)
    snippets = page("snips", [1, 1, 0, 0, 0], [True, True, True, True, False])
    probs = np.array([0.9, 0.8, 0.1, 0.2] + [0.9, 0.7, 0.6, 0.1, 0.99])
    golds = [" ".join(full.texts[:2]), ""]
    curve = threshold_curve([full, snippets], probs, golds)
    assert set(curve) == {"full", "snips"}
    # at 0.5 the snippet page keeps both its story lines and drops 1 of its 2 labelled chrome lines
    assert curve["snips"][0.5] == SnippetLineScore(precision=0.5, recall=1.0)
    # at 0.65 both sets are at their best: story kept, labelled chrome dropped (the unlabelled line is ignored)
    assert curve["snips"][0.65].f1 == 1.0 == curve["full"][0.65].f1
    # both sets are perfect from 0.625 to 0.7: the threshold is the middle of that plateau
    assert choose_threshold([full, snippets], probs, golds) == (0.675, 1.0)


def test_a_search_on_a_sample_regularises_as_the_full_fit_does() -> None:
    # C weighs the summed loss: every row twice with C is the rows once with twice C. A search fit on a
    # half sample must therefore use 2C to judge the C the final fit on all rows will use.
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    full = LogisticRegression(C=0.05, tol=1e-10).fit(np.vstack([X, X]), np.concatenate([y, y]))
    half = LogisticRegression(C=_search_C(0.05, 400, 200), tol=1e-10).fit(X, y)
    unscaled = LogisticRegression(C=0.05, tol=1e-10).fit(X, y)
    assert np.allclose(half.coef_, full.coef_, atol=1e-4)
    assert not np.allclose(unscaled.coef_, full.coef_, atol=1e-2)
    assert _search_C(1.0, 500, 500) == 1.0


def test_a_fixed_seed_gives_identical_models(labelled_folder: Path) -> None:
    pages = list(read_pages(labelled_folder))
    config = TrainingConfig(folds=2, c_grid=(1.0,), class_weights=(None,), seed=7, max_lines_for_search=200)
    first, _ = train_model([("x", pages)], config, kinds=("html",))
    second, _ = train_model([("x", pages)], config, kinds=("html",))
    assert first.to_dict()["checksum"] == second.to_dict()["checksum"]


def test_the_fits_run_on_one_blas_thread_whatever_the_caller_allows(
    labelled_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A BLAS spread over several threads sums in another order: the model would depend on the cores."""
    import storyline.training.train as train

    threads: list[int] = []
    real = train.make_classifier

    def recording(*args: object, **kwargs: object) -> object:
        threads.append(max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=1))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(train, "make_classifier", recording)
    config = TrainingConfig(folds=2, c_grid=(1.0,), class_weights=(None,), max_lines_for_search=200)
    with threadpool_limits(limits=2, user_api="blas"):
        train_model([("x", list(read_pages(labelled_folder)))], config, kinds=("html", "text"), jobs=2)
    assert threads and set(threads) == {1}


@pytest.mark.parametrize(("first_stage", "with_sequence", "kept"), [(0.9, 0.8, False), (0.8, 0.8, True)])
def test_the_sequence_pass_stays_only_when_the_first_stage_does_not_score_better(
    labelled_folder: Path, monkeypatch: pytest.MonkeyPatch, first_stage: float, with_sequence: float, kept: bool
) -> None:
    # the decision on the first stage's scores comes first, then the one on the sequence pass's: whichever
    # scores better (a tie: the sequence pass) decides the head
    from storyline.training import train

    scores = iter([first_stage, with_sequence])
    monkeypatch.setattr(train, "choose_decision", lambda *args, **kwargs: (0.5, 0.0, next(scores)))
    said: list[str] = []
    config = TrainingConfig(folds=2, c_grid=(1.0,), class_weights=(None,))
    model, _ = train_model([("x", list(read_pages(labelled_folder)))], config, kinds=("html",), say=said.append)
    assert (model.heads["html"].sequence is not None) is kept
    assert any("no sequence pass" in line for line in said) is not kept


@pytest.mark.parametrize(
    ("word_f1", "chosen", "tie_broken"),
    [
        ((0.9, 0.9, 0.9, 0.9), (0.1, "balanced"), True),  # all within F1_TIE: the best page score of the four
        ((0.9, 0.9004, 0.8, 0.8), (0.1, "balanced"), True),  # two tied, the other two out of it
        ((0.9, 0.95, 0.91, 0.99), (1.0, "balanced"), False),  # a clear winner by word F1: no tie-break
    ],
)
def test_settings_tied_on_word_f1_are_told_apart_by_their_page_score(
    labelled_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    word_f1: tuple[float, ...],
    chosen: tuple[float, str],
    tie_broken: bool,
) -> None:
    from storyline.training import train

    words = iter(word_f1)
    monkeypatch.setattr(train, "_best_weighted_f1", lambda *args, **kwargs: next(words, 0.5))
    page_scores = iter([0.5, 0.7, 0.6, 0.4] if word_f1[2] > 0.85 else [0.5, 0.7])
    monkeypatch.setattr(train, "choose_decision", lambda *args, **kwargs: (0.5, 0.0, next(page_scores, 0.8)))
    said: list[str] = []
    config = TrainingConfig(folds=3, search_folds=2, c_grid=(0.1, 1.0), class_weights=(None, "balanced"))
    _, metadata = train_model([("x", list(read_pages(labelled_folder)))], config, kinds=("html",), say=said.append)
    report = metadata["cv"]["html"]
    assert (report["C"], report["class_weight"]) == chosen
    assert any("tied on word F1" in line for line in said) is tie_broken
    if tie_broken:
        scored = [(entry["C"], entry["class_weight"]) for entry in report["search"] if "cv_page_f1" in entry]
        assert len(scored) == (4 if word_f1[2] > 0.85 else 2)
