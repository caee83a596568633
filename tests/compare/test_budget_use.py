"""Comparisons at equal budget: Hyperband and BOHB spend the whole epoch budget, and a
strategy that used under 95% of it is named instead of the budgets being called equal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import tunelab
from tests.compare.synthetic import QUIT_EARLY, TASK
from tunelab.compare import compare
from tunelab.compare.results import FULL_BUDGET
from tunelab.report import write_report
from tunelab.storage import make_storage

HYPERBAND = {
    "name": "hyperband",
    "searcher": "random",
    "scheduler": {"name": "hyperband", "max_epochs": 27},
}
BOHB = {
    "name": "bohb",
    "searcher": "tpe",
    "scheduler": {"name": "bohb", "max_epochs": 27, "seed": 0},
}


@pytest.mark.parametrize("epochs", [150, 300])
def test_hyperband_and_bohb_runs_use_the_whole_epoch_budget(tmp_path: Path, epochs: int):
    results = compare(
        "synthetic_curves",
        ["random", HYPERBAND, BOHB],
        budget={"epochs": epochs},
        repeats=2,
        name="full",
        storage=make_storage(tmp_path / "full.db"),
        task_options={"epochs": 27},
        final_evaluation=False,
        quiet=True,
    )
    for name in ("hyperband", "bohb"):
        for run in results.strategy(name).runs:
            assert run.status == "finished"
            assert FULL_BUDGET * epochs <= run.epochs <= epochs
    assert results.under_budget() == []
    use = {u.strategy: u for u in results.budget_use()}
    assert use["hyperband"].describe() == f"{epochs}/{epochs} epochs (100%)"
    assert "the same for every strategy" in results.budget_statement()


def test_tunelab_compare_prints_and_the_report_shows_the_budget_used(tmp_path: Path):
    config = tmp_path / "full.yaml"
    config.write_text(
        f"""
name: full
task: synthetic_curves
task_options: {{epochs: 27}}
repeats: 1
budget: {{epochs: 150}}
final_evaluation: false
storage: sqlite:///{tmp_path / "full.db"}
strategies:
  - {{name: hyperband, searcher: random, scheduler: {{name: hyperband, max_epochs: 27}}}}
  - {{name: bohb, searcher: tpe, scheduler: {{name: bohb, max_epochs: 27, seed: 0}}}}
"""
    )
    result = tunelab("compare", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hyperband: used 150/150 epochs (100%)" in result.stdout
    assert "bohb: used 150/150 epochs (100%)" in result.stdout
    assert "the same for every strategy (each used at least 95% of it)" in result.stdout
    report = tunelab("report", str(config), "-o", "out", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "budget used" in summary and "150/150 epochs (100%)" in summary


def test_a_strategy_under_95_percent_is_named_and_budgets_are_not_called_equal(tmp_path: Path):
    results = compare(
        TASK,
        ["random", {"name": "short", "searcher": "random", "scheduler": QUIT_EARLY}],
        budget={"epochs": 12},
        repeats=2,
        name="short",
        storage=make_storage(tmp_path / "short.db"),
        task_options={"epochs": 4},
        final_evaluation=False,
        quiet=True,
    )
    assert [r.epochs for r in results.strategy("short").runs] == [4, 4]
    assert results.under_budget() == ["short"]
    statement = results.budget_statement()
    assert "NOT equal: short used 4/12 epochs (33%)" in statement
    assert "random" not in statement
    files = write_report(results, tmp_path / "out")
    summary = files.markdown.read_text()
    assert statement in summary and "the same for every strategy" not in summary
    assert "12/12 epochs (100%)" in summary  # random's row in the summary table
