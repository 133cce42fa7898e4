from __future__ import annotations

import numpy as np
from sklearn.base import clone

from storyline.classifier.features import LineFeaturizer
from storyline.classifier.segment import segment

PAGE = """<html><head><title>Library reopens</title></head><body><nav><a href="/">Home</a></nav>
<h1>Library reopens</h1><p>The old library opened again on Saturday, after the storm.</p>
<p>Jobs: £28,000 per annum</p><p>ALL CAPS LINE HERE</p></body></html>"""


def test_names_match_columns_and_values_are_finite() -> None:
    for markup in (True, False):
        featurizer = LineFeaturizer(markup=markup).fit([])
        page = segment(PAGE)
        X = featurizer.transform([page, page])
        names = featurizer.get_feature_names_out()
        assert X.shape == (2 * len(page.lines), len(names))
        assert len(set(names)) == len(names)
        assert np.isfinite(X).all()


def test_features_say_what_they_name() -> None:
    featurizer = LineFeaturizer()
    page = segment(PAGE)
    X = featurizer.page_features(page)
    col = {n: i for i, n in enumerate(featurizer.get_feature_names_out())}
    texts = page.texts
    home, head, story, jobs, caps = (
        texts.index(t)
        for t in (
            "Home",
            "Library reopens",
            "The old library opened again on Saturday, after the storm.",
            "Jobs: £28,000 per annum",
            "ALL CAPS LINE HERE",
        )
    )
    assert X[home, col["link_density"]] == 1.0 and X[home, col["in_nav"]] == 1.0
    assert X[story, col["ends_sentence"]] == 1.0 and X[story, col["stop_share"]] > 0.2
    assert X[jobs, col["currency_symbol"]] == 1.0 and X[jobs, col["money_terms"]] == 1.0
    assert X[caps, col["allcaps_share"]] == 1.0
    assert X[head, col["tag_h1"]] == 1.0 and X[head, col["title_overlap"]] == 1.0
    # neighbours: the headline's next line is the story line
    assert X[head, col["next1_log_chars"]] == X[story, col["log_chars"]]
    assert X[story, col["prev1_log_chars"]] == X[head, col["log_chars"]]
    assert X[home, col["prev1_log_chars"]] == 0.0


def test_wrapped_paragraph_lines_share_paragraph_features() -> None:
    page = segment("Title\n\nA long paragraph that was\nhard wrapped over\nthree lines.\n\nMenu", kind="text")
    featurizer = LineFeaturizer(markup=False)
    X = featurizer.page_features(page)
    col = {n: i for i, n in enumerate(featurizer.get_feature_names_out())}
    para = X[1:4, col["para_log_chars"]]
    assert np.all(para == para[0]) and para[0] > X[1, col["log_chars"]]
    assert np.all(X[1:4, col["para_ends_sentence"]] == 1.0)


def test_is_a_clonable_transformer() -> None:
    featurizer = LineFeaturizer(markup=False, context=1, windows=(3,))
    twin = clone(featurizer)
    assert twin.get_params() == featurizer.get_params()
    assert featurizer.transform([]).shape == (0, len(featurizer.get_feature_names_out()))
