"""One trial of a Keras tuner: build the model, continue from its checkpoint, fit, report.

:class:`KerasObjective` is the tunelab objective a tuner optimises. Per trial it builds
the model from the trial's hyperparameters, restores the checkpoint of a trial that
is resumed (weights, optimizer state, epoch), and calls ``HyperModel.fit`` with
``search``'s arguments plus a callback that reports every epoch's logs to the trial.
The scheduler's answer to a report stops training: a pruned trial raises out of
``model.fit``; a paused one (a Hyperband rung) saves its state first and later trains
only its remaining epochs.

The last epoch of a ``fit`` call is reported after ``fit`` returns, together with the
value a custom ``HyperModel.fit`` returned (a number or a dict), so a scheduler ranks
trials at a rung by the objective the user defined, even when no epoch log holds it.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunelab.errors import ConfigError
from tunelab.keras.backend import import_keras
from tunelab.keras.errors import FailedTrialError
from tunelab.keras.hyperparameters import EntryPolicy, HyperParameters
from tunelab.keras.models import (
    capture_state,
    count_params,
    model_folder,
    restore_state,
    save_weights,
)
from tunelab.keras.objective import MultiObjective, Objective, is_finite
from tunelab.trial import Trial

Sink = Callable[[int, dict[str, float], Any], None]


def numeric_logs(logs: Mapping[str, Any]) -> dict[str, float]:
    """The entries of an epoch's logs that are numbers, as floats."""
    out: dict[str, float] = {}
    for key, value in logs.items():
        if isinstance(value, bool | str | bytes):
            continue
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            continue
    return out


class BestTracker:
    """The best epoch of a trial by the objective; saves the model's weights there
    (Keras Tuner's SaveBestEpoch) when given a folder."""

    def __init__(self, objective: Objective, folder: Path | None = None) -> None:
        self.objective = objective
        self.folder = folder
        self.value: float | None = None
        self.step: int | None = None
        self.metrics: dict[str, float] = {}

    def update(self, step: int, metrics: dict[str, float], model: Any) -> None:
        if self.objective.has_value(metrics):
            value = self.objective.get_value(metrics)
            if not is_finite(value):
                return
            if self.value is None or self.objective.better_than(value, self.value):
                self.value, self.step, self.metrics = value, step, dict(metrics)
                self._save(model)
        elif self.value is None:
            self._save(model)  # no objective value yet: keep the latest weights

    def _save(self, model: Any) -> None:
        # An unbuilt model (build() without keras.Input, fit() that never trained it)
        # has no weights to save; get_best_models says so.
        if self.folder is not None and model is not None and getattr(model, "built", True):
            save_weights(model, self.folder)

    def state(self) -> dict[str, Any]:
        return {"value": self.value, "step": self.step, "metrics": dict(self.metrics)}

    def load(self, state: Mapping[str, Any] | None) -> None:
        if state:
            self.value, self.step = state.get("value"), state.get("step")
            self.metrics = dict(state.get("metrics") or {})


class EpochFeed:
    """Epoch logs from the Keras callback to ``sink``; the epoch that ends the ``fit``
    call (``final_epoch``) is held back until :meth:`close` adds the value ``fit``
    returned to it."""

    def __init__(self, final_epoch: int, sink: Sink) -> None:
        self.final_epoch = final_epoch
        self.sink = sink
        self.pending: tuple[int, dict[str, float], Any] | None = None
        self.seen = 0

    def on_epoch(self, step: int, logs: dict[str, Any], model: Any) -> None:
        self._flush({})
        self.seen += 1
        metrics = numeric_logs(logs)
        if step >= self.final_epoch:
            self.pending = (step, metrics, model)
        else:
            self.sink(step, metrics, model)

    def _flush(self, extra: Mapping[str, float]) -> None:
        if self.pending is not None:
            step, metrics, model = self.pending
            self.pending = None
            self.sink(step, {**metrics, **extra}, model)

    def close(self, extra: Mapping[str, float], model: Any) -> None:
        """``fit`` returned ``extra`` (its own objective, if any): report what is held
        back; if ``fit`` never let the callback see an epoch, report ``extra`` as its
        last one."""
        if self.pending is not None:
            self._flush(extra)
        elif self.seen == 0 and extra:
            warnings.warn(
                "HyperModel.fit did not pass the tuner's callbacks to model.fit: tunelab saw "
                "no epoch, so it cannot stop, pause or checkpoint this model",
                stacklevel=2,
            )
            self.sink(self.final_epoch, dict(extra), model)


def returned_metrics(result: Any, objective: Objective) -> dict[str, float]:
    """The metrics a ``fit`` result carries besides the epoch logs: a number is the
    objective itself, a dict its numeric entries; a History carries none."""
    if _is_number(result):
        return {objective.name: float(result)}
    if isinstance(result, Mapping):
        return numeric_logs(result)
    return {}


def final_result(result: Any, best: BestTracker, objective: Objective) -> Any:
    """The trial's result for tunelab, from what ``fit`` returned (Keras Tuner's rules):
    a number is the objective value, a dict must hold the objective, a History gives
    the metrics of the trial's best epoch."""
    if result is None:
        raise ConfigError(
            "HyperModel.fit() returned None: return the History of model.fit(), the "
            f"objective value, or a dict holding {objective.name!r}"
        )
    if _is_number(result):
        return float(result)
    if isinstance(result, Mapping):
        metrics = numeric_logs(result)
        if not objective.has_value(metrics):
            raise ConfigError(
                f"HyperModel.fit() returned a dict without the objective {objective.name!r} "
                f"(keys: {sorted(map(str, result))})"
            )
        metrics[objective.name] = objective.get_value(metrics)
        return metrics
    if hasattr(result, "history") or isinstance(result, list):
        if best.value is None:
            raise ConfigError(_missing_objective(objective, best))
        return dict(best.metrics)
    raise ConfigError(
        "HyperModel.fit() must return a keras History, a number or a dict of metrics, got "
        f"{type(result).__name__}"
    )


def _missing_objective(objective: Objective, best: BestTracker) -> str:
    hint = (
        "; pass validation_data= or validation_split= to search()"
        if objective.name.startswith("val_")
        else "; compile the model with that metric"
    )
    if objective.name == "default_objective":
        hint = "; with no objective given, HyperModel.fit() must return the value to minimise"
    return f"the objective {objective.name!r} is in no epoch's logs{hint}"


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        import numpy as np

        return isinstance(value, int | float | np.number)
    except ImportError:  # pragma: no cover - numpy is a core dependency
        return isinstance(value, int | float)


@dataclass
class CompileOverrides:
    """Keras Tuner's ``optimizer``, ``loss`` and ``metrics`` tuner arguments: they
    replace what ``build`` compiled the model with (or compile a model it left
    uncompiled)."""

    optimizer: Any = None
    loss: Any = None
    metrics: Any = None

    def __bool__(self) -> bool:
        return any(x is not None for x in (self.optimizer, self.loss, self.metrics))

    def apply(self, keras: Any, model: Any) -> None:
        config = model.get_compile_config() if getattr(model, "compiled", False) else None
        config = config or {}

        def original(key: str) -> Any:
            raw = config.get(key)
            return None if raw is None else keras.saving.deserialize_keras_object(raw)

        optimizer = self.optimizer
        if optimizer is not None and not isinstance(optimizer, str):
            # A fresh optimizer for every model: its variables belong to one model.
            optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
        model.compile(
            optimizer=optimizer if optimizer is not None else original("optimizer"),
            loss=self.loss if self.loss is not None else original("loss"),
            metrics=self.metrics if self.metrics is not None else original("metrics"),
        )


def build_model(
    hypermodel: Any, hp: HyperParameters, overrides: CompileOverrides, max_model_size: int | None
) -> Any:
    """A fresh model for ``hp`` (Keras Tuner's ``_try_build``): a new Keras session,
    ``hypermodel.build(hp)``, the tuner's compile overrides, the size limit."""
    keras = import_keras()
    keras.backend.clear_session()
    model = hypermodel.build(hp)
    if not isinstance(model, keras.Model):
        raise ConfigError(
            "the model-building function (or HyperModel.build) must return a keras.Model, "
            f"got {type(model).__name__}"
        )
    if overrides:
        overrides.apply(keras, model)
    size = count_params(model)
    if max_model_size is not None and size > max_model_size:
        raise FailedTrialError(
            f"oversized model: {size} parameters > max_model_size={max_model_size}"
        )
    return model


@dataclass
class KerasObjective:
    """The tunelab objective of a Keras tuner's search (one call per trial)."""

    hypermodel: Any
    objective: Objective
    policy: EntryPolicy
    artifact_dir: Path
    fit_args: Sequence[Any] = ()
    fit_kwargs: Mapping[str, Any] = field(default_factory=dict)
    callbacks: Sequence[Any] = ()
    executions: int = 1
    compile: CompileOverrides = field(default_factory=CompileOverrides)
    max_model_size: int | None = None

    @property
    def epochs(self) -> int:
        """Epochs per fit when the scheduler sets no budget: ``search(epochs=...)``."""
        return int(self.fit_kwargs.get("epochs", 1))

    def __call__(self, trial: Trial) -> Any:
        hp = HyperParameters.bound(trial.hp, self.policy)
        folder = model_folder(self.artifact_dir, trial.number)
        if self.executions > 1:
            return self._run_executions(trial, hp, folder)
        return self._run_once(trial, hp, folder)

    def build(self, hp: HyperParameters) -> Any:
        return build_model(self.hypermodel, hp, self.compile, self.max_model_size)

    def _fit(
        self, hp: HyperParameters, model: Any, epochs: int, initial: int, feed: EpochFeed
    ) -> Any:
        from tunelab.keras.callback import TrialCallback

        kwargs = dict(self.fit_kwargs)
        kwargs["epochs"] = epochs
        if initial > 0:
            kwargs["initial_epoch"] = initial
        kwargs["callbacks"] = [*copy.deepcopy(list(self.callbacks)), TrialCallback(feed.on_epoch)]
        return self.hypermodel.fit(hp, model, *self.fit_args, **kwargs)

    # -- one execution per trial: every epoch reported as it ends --------------------------
    def _run_once(self, trial: Trial, hp: HyperParameters, folder: Path) -> Any:
        model = self.build(hp)
        best = BestTracker(self.objective, folder)
        initial = 0
        state = trial.load_checkpoint()
        if state is not None:
            if not restore_state(model, state):
                warnings.warn(
                    f"trial {trial.number}: the model has no optimizer before fit(), so its "
                    "optimizer state was not restored (the weights were)",
                    stacklevel=2,
                )
            initial = int(state["epoch"])
            best.load(state.get("best"))
        epochs = trial.budget if trial.budget is not None else self.epochs

        def report(step: int, metrics: dict[str, float], trained: Any) -> None:
            self._complete(metrics)
            best.update(step, metrics, trained)
            trial.report(
                step,
                metrics or {"epoch": float(step)},
                checkpoint=lambda: capture_state(trained, step, {"best": best.state()}),
                last=step == epochs,
            )

        feed = EpochFeed(epochs, report)
        result = self._fit(hp, model, epochs, initial, feed)
        feed.close(returned_metrics(result, self.objective), model)
        return final_result(result, best, self.objective)

    # -- several executions per trial (Keras Tuner's executions_per_trial) ------------------
    def _run_executions(self, trial: Trial, hp: HyperParameters, folder: Path) -> Any:
        """Train ``executions`` models from scratch one after another; report each
        epoch's logs averaged over them, and return the average of their results."""
        shared = BestTracker(self.objective, folder)  # the best weights of all executions
        curves: list[dict[int, dict[str, float]]] = []
        results: list[dict[str, float]] = []
        for _ in range(self.executions):
            model = self.build(hp)
            own = BestTracker(self.objective)
            curve: dict[int, dict[str, float]] = {}

            def collect(
                step: int,
                metrics: dict[str, float],
                trained: Any,
                own: BestTracker = own,
                curve: dict[int, dict[str, float]] = curve,
            ) -> None:
                self._complete(metrics)
                curve[step] = metrics
                own.update(step, metrics, trained)
                shared.update(step, metrics, trained)

            feed = EpochFeed(self.epochs, collect)
            result = self._fit(hp, model, self.epochs, 0, feed)
            feed.close(returned_metrics(result, self.objective), model)
            outcome = final_result(result, own, self.objective)
            results.append(outcome if isinstance(outcome, dict) else {self.objective.name: outcome})
            curves.append(curve)
        steps = sorted({s for c in curves for s in c})
        for step in steps:
            trial.report(
                step, _mean([c[step] for c in curves if step in c]), last=step == steps[-1]
            )
        return _mean(results)

    def _complete(self, metrics: dict[str, float]) -> None:
        """Add the combined value of a list of objectives to an epoch's metrics."""
        if isinstance(self.objective, MultiObjective) and self.objective.has_value(metrics):
            metrics[self.objective.name] = self.objective.get_value(metrics)


def _mean(dicts: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Key by key mean of ``dicts`` (over the dicts holding the key)."""
    keys: dict[str, list[float]] = {}
    for d in dicts:
        for k, v in d.items():
            keys.setdefault(k, []).append(float(v))
    return {k: math.fsum(v) / len(v) for k, v in keys.items()}
