"""Hyperband (Li et al. 2018): successive halving brackets from aggressive to none.

With ``R = max_epochs`` (in units of ``min_epochs``) and ``s_max = floor(log_eta R)``,
one Hyperband iteration runs the brackets ``s = s_max .. 0``; bracket ``s`` starts
``n = ceil((s_max + 1) / (s + 1) * eta^s)`` trials at ``R * eta^-s`` epochs and keeps
the best ``1/eta`` at every rung (Algorithm 1 of the paper, with ``B = (s_max + 1) R``).
Promoted trials continue from their checkpoints, so bracket ``s`` trains
``sum_i n_i (r_i - r_{i-1})`` epochs. Iterations repeat; under a total epoch (or trial)
budget the next bracket of the cycle that fits opens, then brackets cut to what is left
(see :mod:`tunelab.schedulers.halving`), so the run spends the budget without exceeding
it and :meth:`plan` lists exactly the brackets that run.
"""

from __future__ import annotations

from functools import lru_cache

from tunelab.schedulers.halving import (
    BracketScheduler,
    BracketShape,
    bracket_rungs,
    check_epochs,
    max_bracket_index,
)


@lru_cache(maxsize=64)
def hyperband_shapes(min_epochs: int, max_epochs: int, eta: int) -> tuple[BracketShape, ...]:
    """The brackets of one Hyperband iteration, most exploratory (``s = s_max``) first."""
    s_max = max_bracket_index(min_epochs, max_epochs, eta)
    shapes = []
    for s in range(s_max, -1, -1):
        n = -(-(s_max + 1) * eta**s // (s + 1))  # ceil((s_max + 1) eta^s / (s + 1))
        shapes.append(BracketShape(s, bracket_rungs(s, n, max_epochs, eta)))
    return tuple(shapes)


class HyperbandScheduler(BracketScheduler):
    """Hyperband: ``max_epochs`` per trial at most, reduction factor ``eta`` (default 3),
    smallest budget ``min_epochs`` (default 1)."""

    name = "hyperband"

    def __init__(self, *, max_epochs: int, min_epochs: int = 1, eta: int = 3) -> None:
        check_epochs(self.name, min_epochs, max_epochs, eta)
        self.max_epochs = max_epochs
        self.min_epochs = min_epochs
        self.eta = eta
        super().__init__()

    def shapes(self) -> tuple[BracketShape, ...]:
        return hyperband_shapes(self.min_epochs, self.max_epochs, self.eta)

    def describe(self) -> str:
        shapes = self.shapes()
        return (
            f"R={self.max_epochs} epochs, eta={self.eta}, min_epochs={self.min_epochs}; "
            f"{len(shapes)} brackets per iteration (s={shapes[0].s}..0): "
            f"{sum(s.trials for s in shapes)} trials, {sum(s.epochs for s in shapes)} epochs"
        )
