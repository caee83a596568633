"""Synthetic benchmark functions: known optima, boxes, use as tunelab objectives."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tunelab as tl
from tunelab.errors import ConfigError
from tunelab.tasks.functions import FUNCTIONS, branin, make_function


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_optimum_is_reached_at_the_minimiser_and_nowhere_lower(name):
    fn = make_function(name)
    assert fn(fn.minimiser) == pytest.approx(fn.optimum, abs=1e-8)
    lo, hi = np.array(fn.bounds).T
    assert np.all(lo <= fn.minimiser) and np.all(np.array(fn.minimiser) <= hi)
    rng = np.random.default_rng(0)
    points = lo + rng.random((2000, fn.dims)) * (hi - lo)
    values = np.array([fn(p) for p in points])
    assert np.all(values >= fn.optimum - 1e-9)
    assert np.all(np.isfinite(values))


def test_published_values():
    assert make_function("hartmann6").optimum == pytest.approx(-3.32237, abs=1e-5)
    b = branin()
    for x in ([-math.pi, 12.275], [math.pi, 2.275], [9.42478, 2.475]):
        assert b(x) == pytest.approx(0.397887, abs=1e-6)
    assert make_function("rosenbrock4")([0.0, 0.0, 0.0, 0.0]) == pytest.approx(3.0)
    ackley = make_function("ackley5")
    assert ackley.bounds == ((-32.768, 20.0),) * 5  # the shifted box: optimum off-centre
    assert ackley([1.0] * 5) == pytest.approx(3.6253849, abs=1e-6)
    assert make_function("levy8").dims == 8


def test_usable_as_a_tunelab_objective():
    fn = make_function("hartmann6")
    study = tl.create_study(searcher="sobol", space=fn.space(), storage=":memory:", seed=0)
    study.optimize(fn.objective, max_trials=8, quiet=True)
    assert len(study.trials) == 8
    best = study.best_trial
    assert set(best.params) == {f"x{i}" for i in range(6)}
    assert best.value == pytest.approx(fn([best.params[f"x{i}"] for i in range(6)]))
    assert fn.regret(study.best_value) >= 0


def test_define_by_run_without_declared_space():
    fn = branin()
    study = tl.create_study(searcher="random", storage=":memory:", seed=1)
    study.optimize(fn.objective, max_trials=3, quiet=True)
    assert study.space.names == ["x0", "x1"]


def test_bad_names_and_shapes():
    with pytest.raises(ConfigError, match="unknown synthetic function 'brannin'; available"):
        make_function("brannin")
    with pytest.raises(ValueError, match="branin takes 2 coordinates"):
        branin()([1.0, 2.0, 3.0])
