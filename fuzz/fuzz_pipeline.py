"""Coverage-guided fuzzing (atheris) of a page's whole path: bytes -> text -> lines -> features -> story.

Each input is one of: page bytes (gunzip, binary sniffing, decoding, kind sniffing), HTML text, plain
text, or a gzip stream, and is run through ``segment``, ``LineFeaturizer.page_features`` and the default
model. A crash is any exception other than the one-line ``ReadError`` that refuses an input, a broken
invariant (a feature matrix that is not one finite row per line, a story line that is not a page line,
an output that differs on a second run), or, through libFuzzer's own limits, a slow or memory-hungry input.

    python fuzz/fuzz_pipeline.py CORPUS/ -max_total_time=150 -timeout=10 -rss_limit_mb=3072 -max_len=4096

Long runs go in chunks of a few minutes over one corpus folder: atheris's instrumentation makes the
fuzzing process grow by some 60 KB an execution (the same loop uninstrumented levels off at 84 MB), so a
single long run ends on libFuzzer's memory limit without storyline being at fault.
``tests/test_fuzz.py`` runs it for 15 s in CI; every crash found becomes a regression test.
"""

from __future__ import annotations

import sys

import atheris
import numpy as np

# Only storyline is instrumented: instrumenting numpy too makes the fuzzing process grow without end.
with atheris.instrument_imports(include=["storyline"]):
    from storyline.classifier.model import load_model
    from storyline.classifier.reading import ReadError, decode_page, gunzip, sniff_kind
    from storyline.classifier.segment import segment

MODEL = load_model()
#: Largest gzip inflation tried: a gzip bomb must be refused, not inflated.
INFLATE_LIMIT = 1 << 20


def check(content: str | bytes, kind: str | None) -> None:
    """Run one page through segmenting, featurising and prediction, and check the invariants."""
    try:
        page = segment(content, kind, "fuzz.html")
    except ReadError as error:
        assert "\n" not in str(error), "a read error is one line"
        return
    features = MODEL.head_for(page).featurizer.page_features(page)
    assert features.shape[0] == len(page.lines), "one feature row per line"
    assert np.isfinite(features).all(), "features are finite"
    lines = MODEL.predict_lines(page)
    texts = page.texts
    assert [line.text for line in lines] == texts
    assert all(0.0 <= line.p_story <= 1.0 for line in lines)
    remaining = iter(texts)
    story = [line.text for line in lines if line.story]
    assert all(any(text == other for other in remaining) for text in story), "story lines are page lines"
    assert [line.text for line in MODEL.predict_lines(segment(content, kind, "fuzz.html")) if line.story] == story


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    mode = provider.ConsumeIntInRange(0, 4)
    if mode == 0:  # page bytes, as read from a file: binary refusal, BOMs, charsets, detection
        raw = provider.ConsumeBytes(provider.remaining_bytes())
        try:
            text = decode_page(raw, "fuzz.html")
        except ReadError:
            return
        assert isinstance(text, str)
        sniff_kind(text, "fuzz.html")
        check(raw, None)
    elif mode == 1:
        check(provider.ConsumeUnicodeNoSurrogates(provider.remaining_bytes()), "html")
    elif mode == 2:
        check(provider.ConsumeUnicodeNoSurrogates(provider.remaining_bytes()), "text")
    elif mode == 3:  # text of either kind, the kind sniffed
        check(provider.ConsumeUnicode(provider.remaining_bytes()), None)
    else:  # a (possibly corrupt) gzip stream, as a .gz page file
        raw = b"\x1f\x8b" + provider.ConsumeBytes(provider.remaining_bytes())
        try:
            inflated = gunzip(raw, INFLATE_LIMIT)
        except ReadError as error:
            assert "\n" not in str(error)
            return
        check(inflated, None)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
