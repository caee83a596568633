"""Hyperband: Li et al.'s brackets, rung sizes and promotions, on synthetic curves."""

from __future__ import annotations

import pytest

from tests.schedulers.helpers import check_bracket_run, no_epoch_twice, paper_brackets
from tunelab.errors import ConfigError
from tunelab.schedulers.hyperband import HyperbandScheduler, hyperband_shapes


@pytest.mark.parametrize(
    ("max_epochs", "eta", "min_epochs"),
    [
        (9, 3, 1),
        (27, 3, 1),
        (81, 3, 1),
        (16, 2, 1),
        (64, 4, 1),
        (100, 3, 1),
        (10, 3, 1),
        (81, 3, 3),
    ],
)
def test_brackets_follow_the_paper(max_epochs, eta, min_epochs):
    shapes = hyperband_shapes(min_epochs, max_epochs, eta)
    expected = paper_brackets(max_epochs, eta, min_epochs)
    assert [sh.s for sh in shapes] == list(range(len(expected) - 1, -1, -1))
    for shape, rungs in zip(shapes, expected, strict=True):
        assert [n for n, _ in shape.rungs] == [n for n, _ in rungs]
        assert [r for _, r in shape.rungs] == [max(1, int(r + 0.5)) for _, r in rungs]
        assert shape.rungs[-1][1] == max_epochs


def test_known_bracket_table_for_r81_eta3():
    # The table in Li et al. (2018), Section 3.3, for R = 81, eta = 3.
    table = [[(n, r) for n, r in sh.rungs] for sh in hyperband_shapes(1, 81, 3)]
    assert table == [
        [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        [(34, 3), (11, 9), (3, 27), (1, 81)],
        [(15, 9), (5, 27), (1, 81)],
        [(8, 27), (2, 81)],
        [(5, 81)],
    ]


@pytest.mark.parametrize(("max_epochs", "eta"), [(9, 3), (27, 3), (16, 2), (64, 4), (10, 3)])
def test_one_iteration_runs_the_planned_rungs_and_promotes_the_best(run_curves, max_epochs, eta):
    scheduler = {"name": "hyperband", "max_epochs": max_epochs, "eta": eta}
    iteration = sum(sh.epochs for sh in hyperband_shapes(1, max_epochs, eta))
    run = run_curves(scheduler, max_epochs=iteration)
    shapes = hyperband_shapes(1, max_epochs, eta)
    check_bracket_run(run.study, {i: list(sh.rungs) for i, sh in enumerate(shapes)})
    assert no_epoch_twice(run.task.trained)
    assert len(run.task.trained) == run.usage.epochs == iteration
    assert len(run.study.trials) == sum(sh.trials for sh in shapes)


def test_a_second_iteration_repeats_the_brackets(run_curves):
    shapes = hyperband_shapes(1, 9, 3)
    iteration = sum(sh.epochs for sh in shapes)
    run = run_curves({"name": "hyperband", "max_epochs": 9}, max_epochs=2 * iteration)
    check_bracket_run(run.study, {i: list(shapes[i % 3].rungs) for i in range(6)})
    assert run.usage.epochs == 2 * iteration and no_epoch_twice(run.task.trained)


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="eta must be an integer >= 2"):
        HyperbandScheduler(max_epochs=9, eta=1)
    with pytest.raises(ConfigError, match="max_epochs must be an integer >= 1"):
        HyperbandScheduler(max_epochs=0)
    with pytest.raises(ConfigError, match=r"min_epochs \(9\) must not exceed max_epochs"):
        HyperbandScheduler(max_epochs=3, min_epochs=9)
