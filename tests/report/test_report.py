"""Reports of real comparisons: every section, self-contained HTML, CSV behind every plot,
made from storage alone."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.compare.synthetic import TASK_FILE, calls
from tunelab.compare import compare, load_comparison
from tunelab.report import write_report
from tunelab.report.document import GAN_HEADING
from tunelab.storage import make_storage

PNG = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """Collects what a self-contained page may and may not hold."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.images: list[str] = []
        self.references: list[str] = []
        self.scripts = 0
        self._in_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("h1", "h2", "h3"):
            self._in_heading = True
            self.headings.append("")
        if tag == "img":
            self.images.append(values.get("src") or "")
        if tag in ("link", "iframe", "object", "embed"):
            self.references.append(tag)
        if tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3"):
            self._in_heading = False

    def handle_data(self, data: str) -> None:
        if self._in_heading:
            self.headings[-1] += data


def run_comparison(tmp_path: Path, task: str, **task_options: object) -> Path:
    db = tmp_path / "cmp.db"
    compare(
        task,
        [
            "random",
            "sobol",
            "quantum",
            {"name": "short", "searcher": "random", "scheduler": {"name": "fifo", "max_epochs": 2}},
        ],
        budget={"epochs": 12},
        repeats=3,
        name="cmp",
        storage=make_storage(db),
        task_options={"epochs": 4, "fail_budget": 2, **task_options},
        max_consecutive_failures=2,
        quiet=True,
    )
    return db


def test_report_sections_images_and_data_files(tmp_path):
    db = run_comparison(tmp_path, f"{TASK_FILE}:CurveTask")
    files = write_report(load_comparison("cmp", make_storage(db)), tmp_path / "out")

    html = files.html.read_text()
    page = Page()
    page.feed(html)
    assert page.headings == [
        "Comparison 'cmp'",
        "Conclusion",
        "Summary",
        "Best validation score so far",
        "Final scores across repeats",
        "Pairwise statistics",
        "Test score: test score (test_score, retrained on train+validation)",
        "Validation score: best validation val_score",
        "Best configuration of each strategy",
        "Unavailable strategies and failed runs",
        "Every run",
    ]
    # self-contained: four embedded PNGs, nothing fetched, no scripts
    assert len(page.images) == 4
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
    assert page.references == [] and page.scripts == 0
    assert not re.search(r"(src|href)=\"(https?:)?//", html)

    # every plot has its data beside it, and the tables are CSV files
    pngs = sorted(p.stem for p in (files.directory / "figures").glob("*.png"))
    assert pngs == ["best_vs_epochs", "best_vs_seconds", "test_box", "validation_box"]
    for stem in pngs:
        assert not pd.read_csv(files.directory / "figures" / f"{stem}.csv").empty
    epochs = pd.read_csv(files.directory / "figures" / "best_vs_epochs.csv")
    assert set(epochs["strategy"]) == {"random", "sobol"} and epochs["epochs"].max() == 12
    assert (epochs["q1"] <= epochs["median"]).all() and (epochs["median"] <= epochs["q3"]).all()
    runs = pd.read_csv(files.directory / "tables" / "runs.csv")
    assert len(runs) == 9 and set(runs["status"]) == {"finished", "failed"}
    traces = pd.read_csv(files.directory / "tables" / "traces.csv")
    assert (traces.groupby(["strategy", "repeat"])["epochs"].max()[["random", "sobol"]] == 12).all()
    summary = pd.read_csv(files.directory / "tables" / "summary.csv")
    assert list(summary["strategy"])[:2] in (["random", "sobol"], ["sobol", "random"])
    assert set(summary["status"]) == {"ok", "failed", "unavailable"}

    # the unavailable and the failing strategy are shown with their reasons
    assert "quantum (quantum + fifo) is unavailable: searcher &#x27;quantum&#x27; is not in" in html
    assert "short failed in every repeat." in html
    assert "simulated out of memory at budget 2" in html
    assert "Traceback" in html and "ConsecutiveFailuresError" in html
    assert files.conclusion and files.conclusion in files.markdown.read_text()

    # the Markdown links point at files that exist
    markdown = files.markdown.read_text()
    for target in re.findall(r"\]\(([^)]+)\)", markdown):
        assert (files.directory / target).is_file(), target
    assert "| strategy | searcher | scheduler | status |" in markdown


def test_a_strategy_line_ends_where_its_longest_run_ended(tmp_path):
    """Equal trials, unequal epochs: the 2-epoch strategy's curve is not drawn flat to 12."""
    db = tmp_path / "cmp.db"
    compare(
        f"{TASK_FILE}:CurveTask",
        [
            "random",
            {"name": "short", "searcher": "random", "scheduler": {"name": "fifo", "max_epochs": 2}},
        ],
        budget={"trials": 3},
        repeats=2,
        name="cmp",
        storage=make_storage(db),
        task_options={"epochs": 4},
        quiet=True,
    )
    files = write_report(load_comparison("cmp", make_storage(db)), tmp_path / "out")
    epochs = pd.read_csv(files.directory / "figures" / "best_vs_epochs.csv")
    drawn = epochs.dropna(subset=["median"]).groupby("strategy")["epochs"].max()
    assert drawn["random"] == 12 and drawn["short"] == 6
    assert epochs[(epochs["strategy"] == "short") & (epochs["epochs"] > 6)]["median"].isna().all()


def test_a_report_reads_storage_only_the_task_cannot_run_any_more(tmp_path):
    """The task's file is gone and every call is counted: the report runs nothing."""
    task_copy = tmp_path / "gone_task.py"
    shutil.copy(TASK_FILE, task_copy)
    log = tmp_path / "calls.txt"
    run_comparison(tmp_path, f"{task_copy}:CurveTask", calls_file=str(log))
    before = calls(log)
    assert before.count("final_evaluation") == 6
    task_copy.unlink()

    result = subprocess.run(
        [sys.executable, "-m", "tunelab.cli", "report", "--storage", "cmp.db", "-o", "rep"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert calls(log) == before
    assert "reached the best median" in result.stdout
    assert (tmp_path / "rep" / "report.html").is_file()


def test_a_comparison_whose_every_strategy_failed_still_renders(tmp_path):
    db = tmp_path / "cmp.db"
    compare(
        f"{TASK_FILE}:CurveTask",
        [{"name": "short", "searcher": "random", "scheduler": {"name": "fifo", "max_epochs": 2}}],
        budget={"epochs": 12},
        repeats=2,
        name="cmp",
        storage=make_storage(db),
        task_options={"epochs": 4, "fail_budget": 2},
        max_consecutive_failures=2,
        quiet=True,
    )
    files = write_report(load_comparison("cmp", make_storage(db)), tmp_path / "out")
    html = files.html.read_text()
    assert files.conclusion.startswith("No strategy finished a run")
    assert "short failed in every repeat." in html
    assert "failed in every run (see below)" in html
    assert "simulated out of memory at budget 2" in html


def test_gan_pictures_of_the_best_trials(tmp_path):
    grids = tmp_path / "grids"
    grids.mkdir()
    db = run_comparison(tmp_path, f"{TASK_FILE}:CurveTask", gan=True, grid_dir=str(grids))
    files = write_report(load_comparison("cmp", make_storage(db)), tmp_path / "out")
    html = files.html.read_text()
    page = Page()
    page.feed(html)
    assert GAN_HEADING in page.headings
    assert "Execution time" in page.headings  # the trials report g_loss/d_loss
    assert "Best Inception Score and FID of each run" not in page.headings  # neither reported
    figures = sorted(p.name for p in (files.directory / "figures").glob("gan_*"))
    for strategy in ("random", "sobol"):
        for name in ("losses.png", "losses.csv", "confusion.png", "confusion.csv"):
            assert f"gan_{strategy}_{name}" in figures
        assert f"gan_{strategy}_epoch1.png" in figures and f"gan_{strategy}_epoch4.png" in figures
    confusion = pd.read_csv(files.directory / "figures" / "gan_random_confusion.csv")
    assert list(confusion["value"]) == [90, 10, 30, 70]
    losses = pd.read_csv(files.directory / "figures" / "gan_random_losses.csv")
    assert set(losses["metric"]) == {"g_loss", "d_loss"}
    # 4 plots + 2 strategies x (losses, confusion, 2 grids)
    assert len(page.images) == 4 + 2 * 4


def test_gan_section_of_a_comparison_in_memory_shows_the_best_trials(tmp_path):
    """Memory storage cannot be reopened to read every trial: each run's best trial
    stands in for it, and the report says so."""
    results = compare(
        f"{TASK_FILE}:CurveTask",
        ["random"],
        budget={"epochs": 8},
        repeats=2,
        name="cmp",
        storage=make_storage(":memory:"),
        task_options={"epochs": 4, "gan": True},
        quiet=True,
    )
    files = write_report(results, tmp_path / "out")
    html = files.html.read_text()
    assert "memory storage, which cannot be reopened" in html
    assert (files.directory / "figures" / "gan_random_losses.png").is_file()
    times = pd.read_csv(files.directory / "tables" / "gan_execution_time.csv")
    assert times["epochs_total"].tolist() == [16]


@pytest.mark.skipif(
    not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")),
    reason="no headless Chromium on this machine",
)
def test_the_html_renders_in_headless_chromium(tmp_path):
    db = run_comparison(tmp_path, f"{TASK_FILE}:CurveTask")
    files = write_report(load_comparison("cmp", make_storage(db)), tmp_path / "out")
    browser = next(b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b))
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--window-size=1200,3000",
            f"--screenshot={shot}",
            files.html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.shape == (3000, 1200)
    # text, tables and the embedded plots put ink on a good part of the page
    assert (pixels < 128).any(axis=1).mean() > 0.3
