"""How ``tunelab show`` prints: fitted to a terminal's width, plain text, CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from rich.cells import cell_len
from rich.console import Console

import tunelab as tl
from tunelab.cli_show import ShowFormat, ShowOptions, cells, fit, show_study, widths
from tunelab.table import available_columns, default_columns

LONG = "a-very-long-categorical-value-" * 8


def objective(trial: tl.Trial) -> float:
    total = sum(trial.hp.Float(f"rate_{i}", 1e-4, 1.0, sampling="log") for i in range(12))
    trial.hp.Choice("label", ["short", LONG])
    trial.report(1, {"score": total})
    return total


@pytest.fixture(scope="module")
def study() -> tl.Study:
    study = tl.create_study("s", metric="score", mode="max", storage=":memory:", seed=1)
    study.optimize(objective, max_trials=8, quiet=True)
    return study


def shown(study: tl.Study, width: int, **options) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=True, color_system=None)
    show_study(study, ShowOptions(**options), console)
    return buffer.getvalue()


@pytest.mark.parametrize("width", [50, 80, 100, 160])
def test_the_columns_chosen_fill_the_terminal_width(study, width):
    text = shown(study, width)
    table = [line for line in text.splitlines() if not line.startswith(("study", "best", "  "))]
    assert max(cell_len(line) for line in table) <= width
    assert "…" not in text
    columns = default_columns(available_columns(study.metric, study.space.names, study.trials))
    natural = widths(columns, cells(columns, study.trials))
    keep = fit(columns, natural, width)
    header = next(line for line in text.splitlines() if line.split()[:2] == ["#", "state"])
    assert header.split() == [columns[i].header for i in keep]
    used = sum(natural[i] for i in keep) + 2 * (len(keep) - 1)
    assert "─" * used in table  # the rule under the header spans the columns shown
    left_out = [natural[i] for i in range(len(columns)) if i not in keep]
    assert all(used + 2 + w > width for w in left_out)  # none of those would have fit


def test_plain_text_keeps_a_long_cell_and_every_column(study):
    text = shown(study, 40, fmt=ShowFormat.plain)
    assert "…" not in text and "\x1b" not in text
    rows = [line for line in text.splitlines()[2:] if re.match(r"\d+ ", line)]
    assert len(rows) == 8
    assert any(LONG in row for row in rows) and all(len(row.split()) == 5 + 13 for row in rows)


def test_csv_top_of_a_max_study_is_its_largest_values(study):
    text = shown(study, 80, fmt=ShowFormat.csv, top=3)
    rows = list(csv.reader(text.splitlines()))
    expected = sorted((t.value for t in study.trials if t.value is not None), reverse=True)[:3]
    assert [float(r[2]) for r in rows[1:]] == expected
    assert rows[0][:5] == ["number", "state", "value", "epochs", "duration"]


def test_named_columns_keep_their_full_width_in_a_narrow_terminal(study):
    text = shown(study, 40, columns="number,label,score")
    assert LONG in text and "…" not in text
    assert "more parameter" not in text
