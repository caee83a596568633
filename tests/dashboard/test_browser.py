"""The dashboard in a real browser: Debian's chromium driven by Playwright (the browser
build Playwright would download is never used), against a study that another process
runs while the pages are open.

Screenshots of every page are saved in $TUNELAB_TEST_ARTIFACTS/dashboard (default
/tmp/tunelab-test-artifacts/dashboard).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.server import Process, artifacts_dir, chromium, dashboard, request
from tests.dashboard.studies import (
    COMPARISON,
    LIVE_STUDY,
    PICTURES_PER_TRIAL,
    run_comparison,
    start_live_study,
    wait_for_finished_trials,
)
from tunelab.storage import make_storage
from tunelab.trial import TrialRecord

pytestmark = pytest.mark.timeout(900)

UI_TIMEOUT_MS = 60_000  # generous: the machine may be loaded by twice its core count
NEW_TRIAL_SECONDS = 10.0
"""How soon a trial the storage shows must be on the page. The pages poll every 2 s
(the issue asks for 5 s); the margin absorbs a loaded machine."""


@dataclass
class Site:
    url: str
    db: Path
    browser: str
    study: Process

    def trials(self, name: str = LIVE_STUDY) -> list[TrialRecord]:
        storage = make_storage(self.db, read_only=True)
        try:
            return storage.get_trials(storage.get_study(name).study_id)
        finally:
            storage.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    browser = chromium()
    folder = tmp_path_factory.mktemp("dashboard")
    db = folder / "dash.db"
    run_comparison(db)
    study = start_live_study(folder, db)
    try:
        wait_for_finished_trials(db, LIVE_STUDY, 2, timeout=300)
        with dashboard(db) as (url, _):
            yield Site(url, db, browser, study)
    finally:
        study.stop()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=site.browser)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(UI_TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def screenshot(page: Any, name: str) -> Path:
    path = artifacts_dir() / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def plot_ready(page: Any, element_id: str) -> None:
    """Wait until plotly drew at least one trace with points into the element."""
    page.wait_for_function(
        """id => {
            const div = document.getElementById(id);
            return div && div.data && div.data.some(t => (t.x || t.dimensions || []).length > 0);
        }""",
        arg=element_id,
    )


def test_the_studies_page_lists_the_running_study_and_the_comparison(site, page):
    from playwright.sync_api import expect

    page.goto(site.url)
    row = page.locator(f'#studies tr[data-study="{LIVE_STUDY}"]')
    expect(row).to_be_visible()
    expect(row.locator(".badge")).to_have_text("running")
    # the comparison's runs are listed under it, not as studies of their own
    expect(page.locator('#studies tr[data-study^="cmp/"]')).to_have_count(0)
    expect(page.locator("#comparisons tbody tr")).to_have_count(1)
    expect(page.locator("#comparisons tbody tr").first).to_contain_text(COMPARISON)
    screenshot(page, "studies.png")


def test_a_new_trial_appears_on_the_study_page_without_a_reload(site, page):
    page.goto(f"{site.url}study?name={LIVE_STUDY}")
    page.wait_for_selector("#trials tbody tr[data-number]")
    page.evaluate("window.__sameDocument = true")
    shown = page.locator("#trials tbody tr").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.number))"
    )
    newest = max(shown)

    deadline = time.monotonic() + 120
    while max(t.number for t in site.trials()) <= newest:
        assert time.monotonic() < deadline, "the study started no new trial in 120 s"
        time.sleep(0.1)
    stored_at = time.monotonic()
    page.wait_for_function(
        """newest => Array.from(document.querySelectorAll('#trials tbody tr'))
            .some(r => Number(r.dataset.number) > newest)""",
        arg=newest,
        timeout=NEW_TRIAL_SECONDS * 1000,
    )
    assert time.monotonic() - stored_at < NEW_TRIAL_SECONDS
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    # once it completes, its point joins the optimisation history, still without a reload
    page.wait_for_function(
        """newest => document.getElementById('plot-history').data
            .some(t => (t.customdata || []).some(n => n > newest))""",
        arg=newest,
    )
    assert page.evaluate("window.__sameDocument === true")


def test_the_study_page_draws_every_plot_with_hover_zoom_and_a_state_filter(site, page):
    page.goto(f"{site.url}study?name={LIVE_STUDY}")
    for element in ("plot-history", "plot-intermediate", "plot-parallel", "plot-contour"):
        plot_ready(page, element)
    page.wait_for_function(
        "document.querySelectorAll('#plot-slices .js-plotly-plot').length >= 4"
    )  # x, lr, kind and the conditional depth
    plot_ready(page, "plot-importances")
    names = page.evaluate("document.getElementById('plot-importances').data[0].y")
    assert set(names) >= {"x", "lr", "kind"}

    # hover shows the trial's configuration
    page.evaluate("Plotly.Fx.hover('plot-history', [{curveNumber: 0, pointNumber: 0}])")
    hover = page.locator("#plot-history .hovertext").first
    hover.wait_for()
    text = hover.text_content() or ""
    assert "trial #" in text and "x = " in text and "kind = " in text, text
    screenshot(page, "study.png")

    # a zoom survives the refreshes the running study causes
    page.evaluate("Plotly.relayout('plot-history', {'xaxis.range': [0, 3]})")
    count = page.evaluate("document.getElementById('plot-history').data[0].x.length")
    page.wait_for_function(
        "n => document.getElementById('plot-history').data[0].x.length > n", arg=count
    )
    assert page.evaluate("document.getElementById('plot-history').layout.xaxis.range") == [0, 3]

    # filtering by state: without completed trials neither plots nor table show them
    page.locator('#filters input[data-state="completed"]').uncheck()
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('#trials tbody tr'))
            .every(r => r.dataset.state !== 'completed')"""
    )
    traces = page.evaluate("document.getElementById('plot-history').data.map(t => t.name)")
    assert "completed" not in traces


def test_a_trial_page_shows_its_curve_and_its_gan_pictures(site, page):
    trial = site.trials()[0]
    assert trial.status.is_finished
    page.goto(f"{site.url}trial?study={LIVE_STUDY}&number={trial.number}")
    page.wait_for_function(
        "() => { const d = document.querySelector('[data-metric=\"loss\"]'); "
        "return d && d.data && d.data[0].y.length > 0; }"
    )
    drawn = page.evaluate("document.querySelector('[data-metric=\"loss\"]').data[0]")
    assert drawn["x"] == [r.step for r in trial.reports]
    assert drawn["y"] == pytest.approx([r.metrics["loss"] for r in trial.reports])
    assert page.locator("#config tbody tr").count() == len(trial.params)

    pictures = page.locator("#pictures img")
    pictures.first.wait_for()
    assert pictures.count() == PICTURES_PER_TRIAL
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('#pictures img'))
            .every(img => img.complete && img.naturalWidth > 0)"""
    )
    # the picture shown is the grid the trial stored, byte for byte
    src = pictures.first.get_attribute("src")
    status, headers, body = request(site.url.rstrip("/") + src)
    assert status == 200 and headers["content-type"] == "image/png"
    assert body == Path(trial.user_attrs["image_grids"]["1"]).read_bytes()
    screenshot(page, "trial.png")


def test_the_comparison_page_shows_its_runs_and_its_report_live(site, page):
    from playwright.sync_api import expect

    page.goto(f"{site.url}comparison?name={COMPARISON}")
    expect(page.locator("#runs tbody tr")).to_have_count(2)
    report = page.frame_locator("#report")
    expect(report.locator("h1")).to_contain_text(COMPARISON, timeout=180_000)
    expect(report.locator("img").first).to_be_visible()
    screenshot(page, "comparison.png")


def test_the_pages_fetch_nothing_from_the_internet(site, page):
    outside: list[str] = []
    page.on(
        "request",
        lambda req: outside.append(req.url) if not req.url.startswith(site.url) else None,
    )
    page.goto(f"{site.url}study?name={LIVE_STUDY}")
    plot_ready(page, "plot-history")
    page.goto(f"{site.url}trial?study={LIVE_STUDY}&number=0")
    page.locator("#pictures img").first.wait_for()
    assert [u for u in outside if not u.startswith("data:")] == []
    status, _, body = request(site.url + "assets/plotly.min.js")
    assert status == 200 and b"plotly" in body[:2000].lower()
    assert json.loads(request(site.url + "api/studies")[2])["storage"].endswith("dash.db")
