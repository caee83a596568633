"""Synthetic test functions for black-box optimisation, usable as tunelab objectives.

Each :class:`SyntheticFunction` knows its box, its global minimum value (so a run's
*simple regret*, best value found minus the optimum, can be reported) and one point
where the minimum is reached. ``fn.space()`` is the declared search space (floats
``x0 .. x{d-1}``) and ``fn.objective`` the define-by-run objective (``mode="min"``)::

    study = tl.create_study(searcher="bayes", space=fn.space(), storage=":memory:")
    study.optimize(fn.objective, max_trials=60)
    regret = study.best_value - fn.optimum

The definitions follow the usual references (Surjanovic & Bingham's Virtual Library of
Simulation Experiments; BoTorch's test functions), with one deliberate change: Ackley
is searched on the shifted box [-32.768, 20]^d rather than the symmetric one, so that
its optimum (the origin) is not the centre of the box, which a design that samples
the centre would otherwise find for free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from tunelab.errors import ConfigError

if TYPE_CHECKING:
    from tunelab.space import Space
    from tunelab.trial import Trial


@dataclass(frozen=True)
class SyntheticFunction:
    """A function to minimise on a box, with its known minimum."""

    name: str
    bounds: tuple[tuple[float, float], ...]
    optimum: float
    minimiser: tuple[float, ...]
    formula: Callable[[np.ndarray], float]

    metric = "value"
    mode: Literal["min", "max"] = "min"

    @property
    def dims(self) -> int:
        return len(self.bounds)

    def __call__(self, x: Sequence[float] | np.ndarray) -> float:
        point = np.asarray(x, dtype=float)
        if point.shape != (self.dims,):
            raise ValueError(f"{self.name} takes {self.dims} coordinates, got shape {point.shape}")
        return float(self.formula(point))

    def space(self) -> Space:
        """Floats ``x0 .. x{d-1}`` on the function's box."""
        from tunelab.space import Float, Space

        return Space(Float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(self.bounds))

    def objective(self, trial: Trial) -> float:
        """The define-by-run objective: reads ``x0 .. x{d-1}`` and returns the value."""
        x = [trial.hp.Float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(self.bounds)]
        return self(x)

    def regret(self, value: float) -> float:
        """Simple regret of a best-found ``value``."""
        return value - self.optimum


def _branin(x: np.ndarray) -> float:
    x1, x2 = x
    b = 5.1 / (4.0 * math.pi**2)
    c = 5.0 / math.pi
    t = 1.0 / (8.0 * math.pi)
    return float((x2 - b * x1**2 + c * x1 - 6.0) ** 2 + 10.0 * (1.0 - t) * math.cos(x1) + 10.0)


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def _hartmann6(x: np.ndarray) -> float:
    inner = np.sum(_H6_A * (x[None, :] - _H6_P) ** 2, axis=1)
    return float(-np.sum(_H6_ALPHA * np.exp(-inner)))


def _rosenbrock(x: np.ndarray) -> float:
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (x[:-1] - 1.0) ** 2))


def _ackley(x: np.ndarray) -> float:
    d = len(x)
    a = -20.0 * math.exp(-0.2 * math.sqrt(float(np.sum(x * x)) / d))
    b = -math.exp(float(np.sum(np.cos(2.0 * math.pi * x))) / d)
    return a + b + 20.0 + math.e


def _levy(x: np.ndarray) -> float:
    w = 1.0 + (x - 1.0) / 4.0
    head = math.sin(math.pi * w[0]) ** 2
    body = np.sum((w[:-1] - 1.0) ** 2 * (1.0 + 10.0 * np.sin(math.pi * w[:-1] + 1.0) ** 2))
    tail = (w[-1] - 1.0) ** 2 * (1.0 + math.sin(2.0 * math.pi * w[-1]) ** 2)
    return float(head + body + tail)


def branin() -> SyntheticFunction:
    """Branin-Hoo on [-5, 10] x [0, 15]; three global minima of 0.397887."""
    return SyntheticFunction(
        "branin", ((-5.0, 10.0), (0.0, 15.0)), 0.39788735772973816, (math.pi, 2.275), _branin
    )


def hartmann6() -> SyntheticFunction:
    """Hartmann 6-D on [0, 1]^6; minimum -3.32237."""
    return SyntheticFunction(
        "hartmann6",
        ((0.0, 1.0),) * 6,
        -3.322368011415515,
        (0.20168952, 0.15001069, 0.47687398, 0.27533243, 0.31165162, 0.65730054),
        _hartmann6,
    )


def rosenbrock(dims: int = 4) -> SyntheticFunction:
    """Rosenbrock on [-5, 10]^d; minimum 0 at (1, ..., 1)."""
    return SyntheticFunction(
        f"rosenbrock{dims}", ((-5.0, 10.0),) * dims, 0.0, (1.0,) * dims, _rosenbrock
    )


def ackley(dims: int = 5) -> SyntheticFunction:
    """Ackley on the shifted box [-32.768, 20]^d; minimum 0 at the origin."""
    return SyntheticFunction(
        f"ackley{dims}", ((-32.768, 20.0),) * dims, 0.0, (0.0,) * dims, _ackley
    )


def levy(dims: int = 8) -> SyntheticFunction:
    """Levy on [-10, 10]^d; minimum 0 at (1, ..., 1)."""
    return SyntheticFunction(f"levy{dims}", ((-10.0, 10.0),) * dims, 0.0, (1.0,) * dims, _levy)


FUNCTIONS: dict[str, Callable[[], SyntheticFunction]] = {
    "branin": branin,
    "hartmann6": hartmann6,
    "rosenbrock4": lambda: rosenbrock(4),
    "ackley5": lambda: ackley(5),
    "levy8": lambda: levy(8),
}
"""The benchmark problems by name."""


def make_function(name: str) -> SyntheticFunction:
    """The synthetic function ``name`` (one of :data:`FUNCTIONS`)."""
    if name not in FUNCTIONS:
        raise ConfigError(f"unknown synthetic function {name!r}; available: {', '.join(FUNCTIONS)}")
    return FUNCTIONS[name]()
