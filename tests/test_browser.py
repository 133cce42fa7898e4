"""The page view in a real browser: headless Chromium renders it, shades and marks the right lines, and the
threshold slider re-marks them. Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them) and Python ``selenium``; skips cleanly without them. Nothing is downloaded: the driver is given by
path, so Selenium Manager never goes to the network."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from pagegen import make_page

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
DRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None, reason="Chromium and chromium-driver are not installed"
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Any:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    except Exception as error:  # a broken browser install is an environment problem, not a failure here
        pytest.skip(
            f"cannot start Chromium: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        )
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def _state(driver: Any) -> list[dict[str, Any]]:
    script = """return Array.prototype.map.call(document.querySelectorAll('#lines .line'), function(el){
        return {p: parseFloat(el.getAttribute('data-p')), kept: el.classList.contains('kept'),
                bg: getComputedStyle(el).backgroundColor, edge: getComputedStyle(el).borderLeftColor,
                text: el.querySelector('.t').textContent};
    });"""
    return driver.execute_script(script)


def _slide(driver: Any, value: float) -> None:
    driver.execute_script(
        "var s = document.getElementById('threshold'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('input', {bubbles: true}));",
        str(value),
    )


def _rgba(css: str) -> tuple[float, ...]:
    return tuple(float(x) for x in re.findall(r"[\d.]+", css))


def test_view_in_chromium(browser: Any, tmp_path: Path) -> None:
    import storyline
    from storyline.classifier.page_view import render_page_view
    from storyline.classifier.segment import segment

    html, gold = make_page(3)
    html = html.replace("<h1>", "<h1><script>alert(1)</script>&lt;/script&gt;", 1)  # hostile text stays text
    model = storyline.load_model()
    page = segment(html)
    scored = model.predict_lines(page)
    threshold = model.head_for(page).threshold
    view = tmp_path / "view.html"
    view.write_text(render_page_view(model, page, title="browser test"), encoding="utf-8")

    browser.get(view.as_uri())
    lines = _state(browser)
    assert len(lines) == len(scored)
    # The kept lines are the model's story lines: the article's paragraphs, not the navigation.
    assert [l["kept"] for l in lines] == [s.story for s in scored]
    paragraphs = [p for p in gold.split("\n\n")[1:]]
    for text in paragraphs:
        assert any(l["kept"] and l["text"] == text for l in lines)
    assert not any(l["kept"] for l in lines if l["text"] in ("Home", "Privacy policy", "Subscribe"))
    # Shaded by probability: story lines green, chrome lines red, and kept lines carry a coloured edge.
    for line in lines:
        r, g, b, *alpha = _rgba(line["bg"])
        assert alpha and 0 < alpha[0] < 1
        assert (g > r) == (line["p"] >= 0.5)
    kept_edge = {line["edge"] for line in lines if line["kept"]}
    dropped_edge = {line["edge"] for line in lines if not line["kept"]}
    assert kept_edge and dropped_edge and not kept_edge & dropped_edge
    assert browser.execute_script("return document.getElementById('kept-count').textContent") == str(
        sum(s.story for s in scored)
    )

    shot = tmp_path / "view.png"
    assert browser.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000

    # The slider re-marks the kept set: lower keeps more, higher keeps fewer, each exactly the lines the
    # model keeps at that threshold (p >= t, read as runs when the head has a switch cost).
    head = model.head_for(page)
    probabilities = model.probabilities(page)
    probs = sorted({l["p"] for l in lines})
    middle = (probs[len(probs) // 3] + probs[len(probs) // 3 + 1]) / 2  # between two lines' probabilities
    counts = []
    for value in (0.0, middle, threshold, 0.999, 1.0):
        _slide(browser, value)
        now = _state(browser)
        expected = head.story(page, probabilities, value).tolist()
        assert [l["kept"] for l in now] == expected, value
        counts.append(int(browser.execute_script("return document.getElementById('kept-count').textContent")))
        assert counts[-1] == sum(expected)
    assert counts == sorted(counts, reverse=True) and counts[0] == len(lines) > counts[1] > counts[2] > counts[-1]
    _slide(browser, 0.0)
    assert all(l["kept"] for l in _state(browser))

    # Clicking a line explains it: the panel lists contributions for both stages.
    browser.execute_script("document.querySelectorAll('#lines .line')[arguments[0]].click();", 5)
    panel = browser.execute_script("return document.getElementById('explain').textContent")
    assert "Line 6" in panel and "intercept" in panel and "features together" in panel
    assert browser.execute_script("return document.querySelectorAll('#explain table').length") == (
        2 if model.head_for(page).has_sequence else 1
    )
    # The hostile line was rendered as text, not run.
    assert browser.execute_script("return document.querySelectorAll('#lines script').length") == 0


def test_the_slider_reads_the_page_as_runs_as_the_model_does(browser: Any, tmp_path: Path) -> None:
    from storyline.classifier.model import StoryModel, default_model_path
    from storyline.classifier.page_view import render_page_view
    from storyline.classifier.segment import segment

    model = StoryModel.load(default_model_path())  # a copy: the shared default model stays as it is
    page = segment(make_page(5)[0])
    head = model.head_for(page)
    head.switch_cost = 1.5  # the page's verdicts are decided as runs (storyline.classifier.runs)
    probabilities = model.probabilities(page)
    view = tmp_path / "runs.html"
    view.write_text(render_page_view(model, page, title="runs"), encoding="utf-8")
    browser.get(view.as_uri())
    assert [l["kept"] for l in _state(browser)] == head.story(page, probabilities).tolist()
    differs = 0
    for value in (0.05, 0.3, 0.5, 0.7, 0.9, 0.97):
        _slide(browser, value)
        expected = head.story(page, probabilities, value).tolist()
        assert [l["kept"] for l in _state(browser)] == expected, value
        differs += expected != (probabilities >= value).tolist()
    assert differs  # the runs did change some verdicts: the JavaScript decoding was exercised
