"""Untrusted model files: tampered, truncated, oversized, inflating, wrong-version or hostile files are
refused with a one-line message, and loading one never runs code (a model is JSON, never a pickle)."""

from __future__ import annotations

import gzip
import json
import os
import pickle
from pathlib import Path

import pytest

from storyline.classifier.model import MAX_MODEL_BYTES, ModelError, StoryModel, _checksum, default_model_path


class Exploit:
    """A pickle that would create a file if it were ever unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def _refused(path: Path, message: str) -> None:
    with pytest.raises(ModelError, match=message) as caught:
        StoryModel.load(path)
    assert "\n" not in str(caught.value)


def test_hostile_model_files_are_refused_with_one_line(tmp_path: Path) -> None:
    good = json.loads(default_model_path().read_text(encoding="utf-8"))
    marker = tmp_path / "ran"
    cases: dict[str, tuple[bytes, str]] = {
        "pickle.json": (pickle.dumps(Exploit(marker)), "not a valid model file"),
        "pickle.json.gz": (gzip.compress(pickle.dumps(Exploit(marker))), "not a valid model file"),
        "truncated.json.gz": (gzip.compress(json.dumps(good).encode())[:1000], "truncated gzip data"),
        "bomb.json.gz": (gzip.compress(b" " * (MAX_MODEL_BYTES + 10)), "inflates to more than"),
        "deep.json": (b"[" * 100_000 + b"]" * 100_000, "not a valid model file"),
        "binary.json": (bytes(range(256)), "not a valid model file"),
    }
    tampered = json.loads(json.dumps(good))
    tampered["heads"]["html"]["stage1"]["classifier"]["intercept"] += 1.0
    cases["tampered.json"] = (json.dumps(tampered).encode(), "checksum mismatch")
    for name, heads in {"list-head.json": {"html": []}, "dict-featurizer.json": {"html": {"featurizer": []}}}.items():
        forged = dict(good, heads=heads, checksum=_checksum(heads))  # a valid checksum does not make it valid
        cases[name] = (json.dumps(forged).encode(), "malformed model parameters")
    cases["old.json"] = (json.dumps(dict(good, schema_version=1)).encode(), "retrain the model")
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        _refused(path, message)
    oversized = tmp_path / "oversized.json"
    with open(oversized, "wb") as stream:
        stream.truncate(MAX_MODEL_BYTES + 1)  # sparse: no need to write 20 MB
    _refused(oversized, "too large for a model file")
    assert not marker.exists(), "no model file runs code"


def test_the_checksum_covers_every_parameter() -> None:
    good = json.loads(default_model_path().read_text(encoding="utf-8"))
    assert good["checksum"] == _checksum(good["heads"])
    edited = json.loads(json.dumps(good["heads"]))
    edited["text"]["threshold"] = round(edited["text"]["threshold"] + 0.01, 6)
    assert _checksum(edited) != good["checksum"]
