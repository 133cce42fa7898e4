"""The model: per page kind, a featuriser + scaler + logistic regression, a sequence pass, a threshold.

A ``StoryModel`` has one head per page kind (``html`` pages have markup features, ``text`` pages do
not). Each head is a scikit-learn ``Pipeline`` ending in ``LogisticRegression``, optionally followed by
a second logistic regression over the first one's scores of neighbouring lines (see ``sequence``).

Model files are JSON: the feature schema version, featuriser parameters, feature names, scaler
statistics, coefficients, intercepts, threshold and metadata, with a SHA-256 checksum of the parameters.
Nothing is unpickled, so loading never runs code and survives scikit-learn upgrades.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import json
import math
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from storyline.classifier.features import SCHEMA_VERSION, LineFeaturizer, forum_template, page_blocks
from storyline.classifier.page import Page
from storyline.classifier.runs import line_weights, probability_logits, shared_containers, story_lines
from storyline.classifier.sequence import OLDER_WIDTHS, sequence_feature_names, sequence_features

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

FORMAT = "storyline-model"
MAX_MODEL_BYTES = 20_000_000


class ModelError(ValueError):
    """A model file that cannot be used: missing, corrupt, tampered with, or of another schema."""


def line_words(page: Page) -> np.ndarray:
    """Each line's words (at least 1): what weighs a line in the sequence pass, the runs and training."""
    return np.array([max(1, len(line.text.split())) for line in page.lines], dtype=np.float64)


def make_classifier(C: float = 1.0, class_weight: Any = None, warm_start: bool = False, tol: float = 1e-4) -> Any:
    """The logistic regression of either stage."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight=class_weight, max_iter=2000, warm_start=warm_start, tol=tol)


def make_pipeline(featurizer: LineFeaturizer, C: float = 1.0, class_weight: Any = None) -> Pipeline:
    """The first stage: features -> standard scaling -> logistic regression."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [("features", featurizer), ("scale", StandardScaler()), ("classify", make_classifier(C, class_weight))]
    )


def make_sequence_pipeline(C: float = 1.0, class_weight: Any = None) -> Pipeline:
    """The second stage: sequence features of first-stage scores -> scaling -> logistic regression."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("classify", make_classifier(C, class_weight))])


class Linear:
    """A fitted standard scaler + logistic regression as plain arrays, applied with numpy.

    ``decision(X)`` is ``StandardScaler.transform`` then ``LogisticRegression.decision_function`` with
    the same operations in the same order, so it gives scikit-learn's values without importing it.
    """

    __slots__ = ("names", "mean", "scale", "coef", "intercept", "C", "class_weight", "_coef_column", "_intercept")

    def __init__(
        self,
        names: list[str],
        mean: np.ndarray,
        scale: np.ndarray,
        coef: np.ndarray,
        intercept: float,
        C: float = 1.0,
        class_weight: Any = None,
    ) -> None:
        self.names = names
        self.mean = mean
        self.scale = scale
        self.coef = coef
        self.intercept = intercept
        self.C = C
        self.class_weight = class_weight
        self._coef_column = coef.reshape(1, -1).T
        self._intercept = np.array([intercept])

    def decision(self, features: np.ndarray) -> np.ndarray:
        """Decision values of a float64 feature matrix (other inputs: use the scikit-learn ``pipeline``)."""
        X = np.array(features, dtype=np.float64)
        X -= self.mean
        X /= self.scale
        return (X @ self._coef_column + self._intercept).ravel()

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Linear:
        names = spec["feature_names"]
        n = len(names)
        mean = np.asarray(spec["scaler"]["mean"], dtype=np.float64)
        scale = np.asarray(spec["scaler"]["scale"], dtype=np.float64)
        coef = np.asarray(spec["classifier"]["coef"], dtype=np.float64)
        intercept = float(spec["classifier"]["intercept"])
        if not (len(mean) == len(scale) == len(coef) == n):
            raise ValueError(f"parameter lengths differ from the {n} feature names")
        finite = np.isfinite(mean).all() and np.isfinite(scale).all() and np.isfinite(coef).all()
        if not finite or not math.isfinite(intercept):
            raise ValueError("non-finite parameters")
        if (scale <= 0).any():
            raise ValueError("non-positive scale")
        C = float(spec["classifier"].get("C", 1.0))
        return cls(list(names), mean, scale, coef, intercept, C, spec["classifier"].get("class_weight"))

    def pipeline(self, steps_before: list[tuple[str, Any]]) -> Pipeline:
        """The scikit-learn ``Pipeline`` these parameters describe (imports scikit-learn)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        n = len(self.names)
        scaler = StandardScaler()
        scaler.mean_, scaler.scale_, scaler.var_ = self.mean, self.scale, self.scale**2
        scaler.n_features_in_ = n
        scaler.n_samples_seen_ = 1
        lr = LogisticRegression(C=self.C, class_weight=self.class_weight)
        lr.coef_ = self.coef.reshape(1, -1)
        lr.intercept_ = np.array([self.intercept])
        lr.classes_ = np.array([False, True])
        lr.n_features_in_ = n
        lr.n_iter_ = np.array([0])
        return Pipeline([*steps_before, ("scale", scaler), ("classify", lr)])


def _is_float64(features: np.ndarray) -> bool:
    """A float64 matrix: what the numpy path computes exactly as scikit-learn does (float32 it does not)."""
    return isinstance(features, np.ndarray) and features.dtype == np.float64 and features.ndim == 2


class Head:
    """The classifier for one page kind: first stage, optional sequence stage, decision threshold, the
    cost of switching between story and chrome from one line to the next (``runs``; 0: none), and how
    much lower the threshold is on pages whose markup is forum software's (``forum_offset``; 0: none).

    Built from scikit-learn pipelines (training: ``Head(pipeline, sequence, threshold)``), or from a model
    file's parameters, which predict with numpy alone and build the ``pipeline``/``sequence`` objects
    only when they are asked for.
    """

    def __init__(
        self,
        pipeline: Pipeline | None = None,
        sequence: Pipeline | None = None,
        threshold: float = 0.5,
        *,
        switch_cost: float = 0.0,
        forum_offset: float = 0.0,
        featurizer: LineFeaturizer | None = None,
        stage1: Linear | None = None,
        sequence_stage: Linear | None = None,
    ) -> None:
        if pipeline is None and (featurizer is None or stage1 is None):
            raise TypeError("a Head needs a pipeline, or a featurizer and stage1 parameters")
        self._pipeline = pipeline
        self._sequence = sequence
        self.threshold = threshold
        self.switch_cost = switch_cost
        self.forum_offset = forum_offset
        self._featurizer = featurizer
        self._stage1 = stage1
        self._sequence_stage = sequence_stage

    def __repr__(self) -> str:
        return (
            f"Head(pipeline={self.pipeline!r}, sequence={self.sequence!r}, threshold={self.threshold!r}, "
            f"switch_cost={self.switch_cost!r}, forum_offset={self.forum_offset!r})"
        )

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            assert self._stage1 is not None
            self._pipeline = self._stage1.pipeline([("features", self.featurizer)])
        return self._pipeline

    @pipeline.setter
    def pipeline(self, value: Pipeline) -> None:
        self._pipeline, self._stage1, self._featurizer = value, None, None

    @property
    def sequence(self) -> Pipeline | None:
        if self._sequence is None and self._sequence_stage is not None:
            self._sequence = self._sequence_stage.pipeline([])
        return self._sequence

    @sequence.setter
    def sequence(self, value: Pipeline | None) -> None:
        self._sequence, self._sequence_stage = value, None

    @property
    def has_sequence(self) -> bool:
        return self._sequence is not None or self._sequence_stage is not None

    @property
    def featurizer(self) -> LineFeaturizer:
        if self._featurizer is not None:
            return self._featurizer
        featurizer: LineFeaturizer = self.pipeline.named_steps["features"]
        return featurizer

    def first_stage_logits(self, features: np.ndarray) -> np.ndarray:
        """Stage-one decision values for a page's feature matrix."""
        if self._stage1 is not None and _is_float64(features):
            return self._stage1.decision(features)
        scaled = self.pipeline.named_steps["scale"].transform(features)
        logits: np.ndarray = self.pipeline.named_steps["classify"].decision_function(scaled)
        return logits

    def sequence_logits(self, features: np.ndarray) -> np.ndarray:
        """Sequence-stage decision values for a page's sequence features (a head with a sequence stage)."""
        if self._sequence_stage is not None and _is_float64(features):
            return self._sequence_stage.decision(features)
        sequence = self.sequence
        assert sequence is not None
        logits: np.ndarray = sequence.decision_function(features)
        return logits

    def page_probabilities(self, page: Page) -> np.ndarray:
        """Story probability of each line of ``page``."""
        if not page.lines:
            return np.zeros(0)
        z = self.first_stage_logits(self.featurizer.page_features(page))
        if self.has_sequence:
            z = self.sequence_logits(self.sequence_input(page, z))
        return 1.0 / (1.0 + np.exp(-z))

    def sequence_input(self, page: Page, z: np.ndarray) -> np.ndarray:
        """The sequence stage's features of ``page``'s lines from their first-stage logits ``z``: those
        it was trained on (a model file of an earlier storyline reads the first of them, see
        ``sequence.OLDER_WIDTHS``)."""
        features = sequence_features(z, line_words(page), page_blocks(page))
        return features[:, : self.sequence_width]

    @property
    def sequence_width(self) -> int:
        """How many of ``sequence_feature_names()`` the sequence stage reads."""
        if self._sequence_stage is not None:
            return len(self._sequence_stage.names)
        fitted = getattr(self._sequence, "n_features_in_", None)  # a scikit-learn pipeline's
        return int(fitted) if fitted is not None else len(sequence_feature_names())

    def page_threshold(self, page: Page, threshold: float | None = None) -> float:
        """The threshold ``page`` is judged at: the head's (or ``threshold``), less ``forum_offset`` when
        the page's markup is a forum's (``features.forum_template``)."""
        cut = self.threshold if threshold is None else threshold
        if self.forum_offset > 0.0 and forum_template(page):
            cut = max(cut - self.forum_offset, 0.0)
        return cut

    def story(self, page: Page, probabilities: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Which lines of ``page`` are story, given their ``probabilities``: those reaching the page's
        threshold (``page_threshold``: the head's, or ``threshold``), read as runs when the head has a
        switch cost (see ``runs``)."""
        cut = self.page_threshold(page, threshold)
        if self.switch_cost <= 0.0 or len(probabilities) < 2:
            return np.asarray(probabilities) >= cut
        weights, shared = line_weights(line_words(page)), shared_containers(page_blocks(page))
        return story_lines(probability_logits(probabilities), cut, weights, shared, self.switch_cost)


@dataclass(frozen=True)
class ScoredLine:
    """A line with the model's verdict."""

    text: str
    p_story: float
    story: bool


@dataclass
class StoryModel:
    """Decides which lines of a page are story. ``heads`` maps a page kind to its ``Head``."""

    heads: dict[str, Head]
    metadata: dict[str, Any] = field(default_factory=dict)

    # -- prediction --------------------------------------------------------------------------------

    def head_for(self, page: Page) -> Head:
        head = self.heads.get(page.kind) or self.heads.get("html") or next(iter(self.heads.values()))
        return head

    def probabilities(self, page: Page) -> np.ndarray:
        """Story probability of each line of a segmented page."""
        return self.head_for(page).page_probabilities(page)

    def predict_lines(
        self, page: str | bytes | Page, kind: str | None = None, threshold: float | None = None
    ) -> list[ScoredLine]:
        """Every line of ``page`` with its story probability and label."""
        from storyline.classifier.segment import segment

        page = segment(page, kind)
        probs = self.probabilities(page)
        story = self.head_for(page).story(page, probs, threshold).tolist()
        return [ScoredLine(line.text, p, s) for line, p, s in zip(page.lines, probs.tolist(), story, strict=True)]

    def extract(self, page: str | bytes | Page, kind: str | None = None, threshold: float | None = None) -> str:
        """The story text of ``page``: its story lines joined by newlines."""
        from storyline.classifier.segment import segment

        page = segment(page, kind)
        probs = self.probabilities(page)
        story = self.head_for(page).story(page, probs, threshold).tolist()  # predict_lines' verdicts, unbuilt
        return "\n".join([line.text for line, s in zip(page.lines, story, strict=True) if s])

    # -- files ----------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        heads = {kind: _head_to_dict(head) for kind, head in self.heads.items()}
        return {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "metadata": self.metadata,
            "heads": heads,
            "checksum": _checksum(heads),
        }

    def save(self, path: str | Path) -> None:
        """Write the model as JSON (gzip-compressed when the name ends in ``.gz``)."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False)
        tmp = path.with_name(path.name + ".tmp")
        if path.name.endswith(".gz"):
            with gzip.open(tmp, "wt", encoding="utf-8") as stream:
                stream.write(text)
        else:
            tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def from_dict(cls, data: Any, source: str = "model") -> StoryModel:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"{source}: not a storyline model file")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ModelError(
                f"{source}: feature schema version {version} is not the one this storyline uses "
                f"({SCHEMA_VERSION}); retrain the model with this version"
            )
        heads = data.get("heads")
        if not isinstance(heads, dict) or not heads:
            raise ModelError(f"{source}: the model has no heads")
        if data.get("checksum") != _checksum(heads):
            raise ModelError(f"{source}: checksum mismatch: the parameters were changed or damaged")
        try:
            built = {str(kind): _head_from_dict(head) for kind, head in heads.items()}
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ModelError(f"{source}: malformed model parameters ({error})") from None
        metadata = data.get("metadata")
        return cls(built, metadata if isinstance(metadata, dict) else {})

    @classmethod
    def load(cls, path: str | Path) -> StoryModel:
        """Read a model file written by ``save``; raises ``ModelError`` with a clear message otherwise."""
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_MODEL_BYTES:
                raise ModelError(f"{path}: {size} bytes is too large for a model file")
            raw = path.read_bytes()
            if raw[:2] == b"\x1f\x8b":  # inflated within the same bound: a small file may inflate to gigabytes
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                raw = inflater.decompress(raw, MAX_MODEL_BYTES)
                if inflater.unconsumed_tail:
                    raise ModelError(f"{path}: inflates to more than {MAX_MODEL_BYTES} bytes: too large for a model")
                if not inflater.eof:
                    raise ModelError(f"{path}: not a valid model file (truncated gzip data)")
            data = json.loads(raw.decode("utf-8"))
        except ModelError:
            raise
        except OSError as error:
            raise ModelError(f"{path}: cannot read ({error.strerror or error})") from None
        except (ValueError, EOFError, UnicodeDecodeError, zlib.error, RecursionError) as error:
            raise ModelError(f"{path}: not a valid model file ({error})") from None
        return cls.from_dict(data, str(path))

    # -- batches (storyline.classifier.prediction) ----------------------------------------------------

    def predict_many(
        self,
        pages: Iterable[Any],
        jobs: int | None = 1,
        threshold: float | None = None,
        with_lines: bool = False,
        timeout: float | None = None,
        max_bytes: int | None = 10 << 20,
    ) -> Iterator[Any]:
        """A ``PageResult`` (``source``, ``text`` or ``error``) per page, in input order, lazily.

        ``pages`` are ``str``/``bytes``/``Page`` (named by position) or ``PageInput``; ``jobs`` > 1 uses
        that many worker processes (None or -1: every core), each building this model once. A page that
        fails, or passes ``timeout`` seconds or ``max_bytes`` (10 MiB by default; None: no limit), or has
        over 100,000 lines, gives an error result instead of raising.
        """
        from storyline.classifier.prediction import predict_many

        return predict_many(self, pages, jobs, threshold, with_lines, timeout, max_bytes)


def _checksum(heads: Any) -> str:
    canonical = json.dumps(heads, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _floats(values: Any) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def _linear_to_dict(stage: Pipeline | Linear, names: list[str]) -> dict[str, Any]:
    if isinstance(stage, Linear):
        mean, scale, coef, intercept, C, weight = (
            stage.mean,
            stage.scale,
            stage.coef,
            stage.intercept,
            stage.C,
            stage.class_weight,
        )
    else:
        scaler = stage.named_steps["scale"]
        lr = stage.named_steps["classify"]
        mean, scale, coef, intercept, C, weight = (
            scaler.mean_,
            scaler.scale_,
            lr.coef_,
            lr.intercept_[0],
            lr.C,
            lr.class_weight,
        )
    return {
        "feature_names": names,
        "scaler": {"mean": _floats(mean), "scale": _floats(scale)},
        "classifier": {
            "coef": _floats(coef),
            "intercept": float(intercept),
            "C": float(C),
            "class_weight": weight
            if isinstance(weight, (str, type(None)))
            else {str(k): float(v) for k, v in weight.items()},
        },
    }


def _head_to_dict(head: Head) -> dict[str, Any]:
    featurizer = head.featurizer
    stage1: Pipeline | Linear = head._stage1 if head._stage1 is not None else head.pipeline
    sequence: Pipeline | Linear | None = head._sequence_stage if head._sequence_stage is not None else head.sequence
    out = {
        "featurizer": {
            "markup": bool(featurizer.markup),
            "context": int(featurizer.context),
            "windows": [int(w) for w in featurizer.windows],
            **({"drop": list(featurizer.drop)} if featurizer.drop else {}),
        },
        "stage1": _linear_to_dict(stage1, [str(n) for n in featurizer.get_feature_names_out()]),
        "sequence": None
        if sequence is None
        else _linear_to_dict(sequence, sequence_feature_names()[: head.sequence_width]),
        "threshold": float(head.threshold),
        "switch_cost": float(head.switch_cost),
        "forum_offset": float(head.forum_offset),
    }
    return out


def _head_from_dict(spec: dict[str, Any]) -> Head:
    params = spec["featurizer"]
    featurizer = LineFeaturizer(
        markup=bool(params["markup"]),
        context=int(params["context"]),
        windows=tuple(int(w) for w in params["windows"]),
        drop=tuple(str(g) for g in params.get("drop", ())),
    )
    expected = [str(n) for n in featurizer.get_feature_names_out()]
    if spec["stage1"]["feature_names"] != expected:
        raise ValueError("feature names differ from this storyline's featuriser")
    featurizer.fit([])
    stage1 = Linear.from_spec(spec["stage1"])
    sequence = None
    if spec.get("sequence") is not None:
        names = spec["sequence"]["feature_names"]
        if (
            len(names) not in (len(sequence_feature_names()), *OLDER_WIDTHS)
            or names != sequence_feature_names()[: len(names)]
        ):
            raise ValueError("sequence feature names differ from this storyline's")
        sequence = Linear.from_spec(spec["sequence"])
    threshold = float(spec["threshold"])
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold {threshold} outside [0, 1]")
    switch_cost = float(spec.get("switch_cost", 0.0))  # absent from files written before it existed
    if not (math.isfinite(switch_cost) and switch_cost >= 0.0):
        raise ValueError(f"switch cost {switch_cost} is not a non-negative number")
    forum_offset = float(spec.get("forum_offset", 0.0))  # absent from files written before it existed
    if not 0.0 <= forum_offset <= 1.0:
        raise ValueError(f"forum offset {forum_offset} outside [0, 1]")
    return Head(
        threshold=threshold,
        switch_cost=switch_cost,
        forum_offset=forum_offset,
        featurizer=featurizer,
        stage1=stage1,
        sequence_stage=sequence,
    )


DEFAULT_MODEL = "default_model.json"
_default: StoryModel | None = None


def default_model_path() -> Path:
    return Path(str(resources.files("storyline.classifier").joinpath(DEFAULT_MODEL)))


def load_model(path: str | Path | None = None) -> StoryModel:
    """Load a model file, or the default model shipped inside the package when ``path`` is None."""
    global _default
    if path is not None:
        return StoryModel.load(path)
    if _default is None:
        target = default_model_path()
        if not target.is_file():
            raise ModelError(f"the default model is missing from the installation ({target})")
        _default = StoryModel.load(target)
    return _default


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
