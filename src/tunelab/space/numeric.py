"""Numeric parameters: :class:`Int` and :class:`Float`, with linear, log and reverse-log
sampling and optional steps. Discrete levels each get an equal share of the unit
interval, which makes rounding unbiased."""

from __future__ import annotations

import math
from abc import ABC
from dataclasses import dataclass
from typing import Any, ClassVar

from tunelab.errors import SpaceError
from tunelab.space.params import _REL_TOL, Param, Sampling, Value, _is_number


@dataclass(frozen=True)
class _Numeric(Param, ABC):
    """Shared logic of Int and Float: range, linear/log sampling and optional step.

    With ``sampling="linear"`` a step is the distance between values; with
    ``sampling="log"`` it is the factor between them (Keras Tuner's meaning).
    ``sampling="reverse_log"`` (unstepped Float only) is log sampling mirrored about the
    range's midpoint, so values are denser near ``max_value`` (Keras Tuner's meaning).
    """

    min_value: float = 0
    max_value: float = 1
    step: float | None = None
    sampling: Sampling = "linear"
    default_value: Value | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        label = f"hp.{type(self).__name__}({self.name!r})"
        lo, hi = self.min_value, self.max_value
        if not _is_number(lo) or not _is_number(hi):
            raise SpaceError(
                f"{label}: min_value and max_value must be numbers, got {lo!r}, {hi!r}"
            )
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise SpaceError(f"{label}: min_value and max_value must be finite, got {lo}, {hi}")
        if lo > hi:
            raise SpaceError(f"{label}: min_value {lo} is greater than max_value {hi}")
        if self.sampling not in ("linear", "log", "reverse_log"):
            raise SpaceError(
                f"{label}: sampling must be 'linear', 'log' or 'reverse_log', got {self.sampling!r}"
            )
        if self.sampling != "linear" and lo <= 0:
            raise SpaceError(f"{label}: {self.sampling} sampling needs min_value > 0, got {lo}")
        if self.sampling == "reverse_log" and (self.kind != "float" or self.step is not None):
            raise SpaceError(f"{label}: reverse_log sampling is for unstepped Floats only")
        if self.step is not None:
            self._check_step(label)
        if self.default_value is not None and not self.contains(self.default_value):
            raise SpaceError(f"{label}: default {self.default_value!r} is not one of its values")

    def _check_step(self, label: str) -> None:
        step, lo, hi = self.step, self.min_value, self.max_value
        if not _is_number(step) or not math.isfinite(step):  # type: ignore[arg-type]
            raise SpaceError(f"{label}: step must be a number, got {step!r}")
        assert step is not None
        if self.sampling == "linear":
            if step <= 0:
                raise SpaceError(f"{label}: step must be positive, got {step}")
            if hi > lo and step > hi - lo:
                raise SpaceError(
                    f"{label}: step {step} does not fit the range [{lo}, {hi}] (wider than it)"
                )
            n = (hi - lo) / step
            if abs(n - round(n)) > _REL_TOL * max(1.0, abs(n)):
                raise SpaceError(
                    f"{label}: step {step} does not fit the range [{lo}, {hi}]: "
                    f"{hi} - {lo} is not a multiple of {step}"
                )
        else:
            if step <= 1:
                raise SpaceError(
                    f"{label}: with log sampling, step is the factor between values and must be "
                    f"> 1, got {step}"
                )
            n = math.log(hi / lo) / math.log(step)
            if abs(n - round(n)) > 1e-6:
                raise SpaceError(
                    f"{label}: step {step} does not fit the range [{lo}, {hi}]: "
                    f"{hi} / {lo} is not a power of {step}"
                )

    # -- discrete levels --------------------------------------------------------------
    @property
    def _n_levels(self) -> int | None:
        """Number of values when they are an explicit grid (stepped), else None."""
        if self.step is None:
            return None
        if self.sampling == "linear":
            return round((self.max_value - self.min_value) / self.step) + 1
        return round(math.log(self.max_value / self.min_value) / math.log(self.step)) + 1

    def _level_value(self, i: int) -> float:
        assert self.step is not None
        if self.sampling == "linear":
            return self.min_value + i * self.step
        return self.min_value * self.step**i

    def _level_index(self, value: float) -> float:
        assert self.step is not None
        if self.sampling == "linear":
            return (value - self.min_value) / self.step
        return math.log(value / self.min_value) / math.log(self.step)

    @property
    def cardinality(self) -> int | None:
        return self._n_levels

    def _definition(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "min": self.min_value, "max": self.max_value}
        if self.step is not None:
            out["step"] = self.step
        if self.sampling != "linear":
            out["sampling"] = self.sampling
        return out


@dataclass(frozen=True)
class Int(_Numeric):
    """An integer in [min_value, max_value], optionally on a step grid or log-sampled."""

    kind: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        label = f"hp.Int({self.name!r})"
        for attr in ("min_value", "max_value"):
            v = getattr(self, attr)
            if not _is_number(v) or float(v) != int(v):
                raise SpaceError(f"{label}: {attr} must be an integer, got {v!r}")
            object.__setattr__(self, attr, int(v))
        if self.step is not None:
            if not _is_number(self.step) or float(self.step) != int(self.step):
                raise SpaceError(f"{label}: step must be an integer, got {self.step!r}")
            object.__setattr__(self, "step", int(self.step))
        super().__post_init__()

    @property
    def cardinality(self) -> int:
        k = self._n_levels
        return k if k is not None else int(self.max_value - self.min_value) + 1

    @property
    def default(self) -> int:
        return int(self.default_value) if self.default_value is not None else int(self.min_value)

    def contains(self, value: object) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        if not math.isfinite(value) or float(value) != int(value):
            return False
        v = int(value)
        if not self.min_value <= v <= self.max_value:
            return False
        if self.step is None:
            return True
        idx = self._level_index(v)
        return abs(idx - round(idx)) < 1e-6

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        lo, hi = int(self.min_value), int(self.max_value)
        k = self._n_levels
        if k is not None:
            return round(self._level_value(min(int(u * k), k - 1)))
        if self.sampling == "log" and hi > lo:
            a, b = math.log(lo - 0.5) if lo > 0.5 else math.log(0.5), math.log(hi + 0.5)
            v = round(math.exp(a + u * (b - a)))
            return min(max(int(v), lo), hi)
        return min(lo + int(u * (hi - lo + 1)), hi)

    def to_unit(self, value: Value) -> float:
        v = int(value)
        lo, hi = int(self.min_value), int(self.max_value)
        k = self._n_levels
        if k is not None:
            return (round(self._level_index(v)) + 0.5) / k
        if self.sampling == "log" and hi > lo:
            a, b = math.log(lo - 0.5) if lo > 0.5 else math.log(0.5), math.log(hi + 0.5)
            centre = 0.5 * (math.log(max(v - 0.5, 0.5)) + math.log(v + 0.5))
            return min(max((centre - a) / (b - a), 0.0), 1.0)
        return (v - lo + 0.5) / (hi - lo + 1)


@dataclass(frozen=True)
class Float(_Numeric):
    """A real number in [min_value, max_value], linear or log, optionally stepped."""

    kind: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        for attr in ("min_value", "max_value"):
            v = getattr(self, attr)
            if _is_number(v):
                object.__setattr__(self, attr, float(v))
        super().__post_init__()

    @property
    def default(self) -> float:
        return float(self.default_value) if self.default_value is not None else self.min_value

    def contains(self, value: object) -> bool:
        if not _is_number(value) or not math.isfinite(value):  # type: ignore[arg-type]
            return False
        v = float(value)  # type: ignore[arg-type]
        tol = _REL_TOL * max(1.0, abs(self.min_value), abs(self.max_value))
        if not self.min_value - tol <= v <= self.max_value + tol:
            return False
        if self.step is None:
            return True
        idx = self._level_index(v)
        return abs(idx - round(idx)) < 1e-6

    def _clean(self, v: float) -> float:
        # lo + i*step accumulates binary noise (0.1*3 = 0.30000000000000004)
        return min(max(float(f"{v:.12g}"), self.min_value), self.max_value)

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        lo, hi = self.min_value, self.max_value
        k = self._n_levels
        if k is not None:
            return self._clean(self._level_value(min(int(u * k), k - 1)))
        if self.sampling == "log":
            return min(max(math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))), lo), hi)
        if self.sampling == "reverse_log":
            # the log map run from the top: lo + hi - lo * (hi/lo)**(1-u)
            return min(max(lo + hi - math.exp(math.log(lo) + (1 - u) * math.log(hi / lo)), lo), hi)
        return lo + u * (hi - lo)

    def to_unit(self, value: Value) -> float:
        v = float(value)
        lo, hi = self.min_value, self.max_value
        k = self._n_levels
        if k is not None:
            return (round(self._level_index(v)) + 0.5) / k
        if hi == lo:
            return 0.5
        if self.sampling == "log":
            return min(max((math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)), 0.0), 1.0)
        if self.sampling == "reverse_log":
            mirrored = max(lo + hi - v, lo)
            return min(max(1 - math.log(mirrored / lo) / math.log(hi / lo), 0.0), 1.0)
        return min(max((v - lo) / (hi - lo), 0.0), 1.0)
