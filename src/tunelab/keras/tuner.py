"""The Keras-Tuner-compatible tuner: a tunelab study behind Keras Tuner's methods.

A tuner is one study named ``project_name`` in ``directory/project_name/tunelab.db``
(SQLite; ``storage=`` picks another tunelab storage), so ``tunelab show PROJECT
--storage DIRECTORY/PROJECT/tunelab.db`` lists its trials. Creating a tuner again with
``overwrite=False`` (the default, as in Keras Tuner) continues that study: finished
trials are kept, not rerun, and ``search`` runs only what is left of ``max_trials``
(or of the epoch budget); ``overwrite=True`` deletes the study and its files first.

Like Keras Tuner, the constructor builds the model once with default values to learn
the search space (``search_space_summary`` works before ``search``); the space is
declared to the study, so model-based searchers and the grid see all of it from the
first trial.
"""

from __future__ import annotations

import copy
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.errors import ConfigError, StudyNotFoundError
from tunelab.keras.hypermodel import as_hypermodel, fits_its_own_way
from tunelab.keras.hyperparameters import EntryPolicy, HyperParameters, define
from tunelab.keras.models import WEIGHTS_FILE, load_weights, model_folder
from tunelab.keras.objective import DEFAULT_OBJECTIVE, make_objective
from tunelab.keras.oracle import Oracle, TunerTrial
from tunelab.keras.oracles import PopulateSpaceSearcher, SearchOracle
from tunelab.keras.run import CompileOverrides, KerasObjective
from tunelab.keras.trial_run import RunTrialObjective
from tunelab.space import Param, Space
from tunelab.storage import make_storage

if TYPE_CHECKING:
    from tunelab.budget import BudgetUsage
    from tunelab.study import Study

TUNER_ATTR = "tunelab.keras"
"""The study attribute recording which tuner, objective and settings made the study."""

DB_FILE = "tunelab.db"

_TUNER_OPTIONS = {
    "directory",
    "project_name",
    "overwrite",
    "executions_per_trial",
    "max_model_size",
    "optimizer",
    "loss",
    "metrics",
    "distribution_strategy",
    "logger",
    "tuner_id",
    "storage",
}


class Tuner:
    """Keras Tuner's ``Tuner``: ``Tuner(oracle=kt.oracles.RandomSearchOracle(...),
    hypermodel=build_model, directory=..., project_name=...)``. The tuner classes
    (:class:`~tunelab.keras.RandomSearch`, ``GridSearch``, ``BayesianOptimization``,
    ``Sobol``, ``Hyperband``, ``BOHB``) are this with their oracle.

    Subclass it and override ``run_trial(self, trial, *args, **kwargs)`` to run trials
    your own way (no hypermodel needed): ``search``'s arguments are passed to it, and
    it returns a number, a dict of metrics or a keras History (see
    :mod:`tunelab.keras.trial_run`).
    """

    def __init__(self, oracle: Any = None, hypermodel: Any = None, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - _TUNER_OPTIONS)
        if unknown:
            raise ConfigError(f"{type(self).__name__}: unrecognised arguments {unknown}")
        if not isinstance(oracle, Oracle):
            raise ConfigError(
                f"{type(self).__name__}: oracle= must be one of tunelab.keras.oracles "
                "(RandomSearchOracle, GridSearchOracle, BayesianOptimizationOracle, "
                "HyperbandOracle, BOHBOracle) or a kt.Oracle subclass that overrides "
                f"populate_space, got {type(oracle).__name__}"
            )
        if not isinstance(oracle, SearchOracle) and not oracle.populates_space:
            raise ConfigError(
                f"{type(self).__name__}: {type(oracle).__name__} must override "
                "populate_space(trial_id) to choose configurations"
            )
        if oracle.bound_to_study:
            raise ConfigError("this oracle already serves another tuner: create a new one")
        options = {key: kwargs.get(key) for key in _TUNER_OPTIONS}
        max_trials = oracle.max_trials
        _check_count("max_trials", max_trials, 1, optional=True)
        _check_count("max_retries_per_trial", oracle.max_retries_per_trial, 0)
        _check_count(
            "max_consecutive_failed_trials",
            oracle.max_consecutive_failed_trials,
            1,
            optional=True,
        )
        self.executions_per_trial = options["executions_per_trial"] or 1
        _check_count("executions_per_trial", self.executions_per_trial, 1)
        if self.executions_per_trial > 1 and oracle.scheduler is not None:
            raise ConfigError(
                f"{type(self).__name__}: executions_per_trial > 1 works only without a "
                "scheduler (every execution trains its full epochs; there is one "
                "checkpoint per trial to pause and resume)"
            )
        _check_count("max_model_size", options["max_model_size"], 1, optional=True)
        if options["distribution_strategy"] is not None:
            raise ConfigError(
                "distribution_strategy is a TensorFlow feature that tunelab.keras does not "
                "support; run trials in parallel with tunelab's executors instead"
            )
        for ignored in ("logger", "tuner_id"):
            if options[ignored] is not None:
                warnings.warn(
                    f"{type(self).__name__}: {ignored}= is accepted for compatibility and "
                    "ignored by tunelab",
                    stacklevel=3,
                )

        own_trials = overrides_run_trial(self)
        self.hypermodel = None if hypermodel is None and own_trials else as_hypermodel(hypermodel)
        self.objective = make_objective(oracle.objective_spec)
        self.max_trials = max_trials
        self.epoch_budget = oracle.epoch_budget
        self.max_retries_per_trial = oracle.max_retries_per_trial
        self.max_consecutive_failed_trials = oracle.max_consecutive_failed_trials
        self.compile = CompileOverrides(options["optimizer"], options["loss"], options["metrics"])
        self.max_model_size = options["max_model_size"]
        self.policy = EntryPolicy(
            given=_given_space(oracle.hyperparameters),
            tune_new_entries=bool(oracle.tune_new_entries),
            allow_new_entries=bool(oracle.allow_new_entries),
        )
        self.directory = str(options["directory"] or ".")
        self.project_name = str(options["project_name"] or "untitled_project")
        space = self._discover_space()
        self.study = self._open_study(
            storage=options["storage"],
            overwrite=bool(options["overwrite"]),
            searcher=oracle.searcher,
            scheduler=oracle.scheduler,
            seed=oracle.seed,
            space=space,
            settings={
                "tuner": type(self).__name__,
                "objective": [self.objective.name, self.objective.direction],
                "seed": oracle.seed,
                "executions_per_trial": self.executions_per_trial,
                **oracle.settings(),
            },
        )
        self.oracle = oracle
        oracle.attach(self.study, self.objective, self.policy)
        if oracle.populates_space:
            self.study.searcher = PopulateSpaceSearcher(oracle)
        oracle.bound_to_study = True

    # -- set-up -----------------------------------------------------------------------------
    def _discover_space(self) -> Space:
        """Build the model once with default values, as Keras Tuner does, to learn the
        parameters it defines (those in conditional scopes included)."""
        from tunelab.hyperparameters import HyperParameters as TrialHyperParameters
        from tunelab.keras.run import build_model

        base = TrialHyperParameters()
        for param in self.policy.given:
            define(base, param.with_conditions(()))
        if self.hypermodel is None:  # run_trial defines the parameters as trials run
            return base.space.copy()
        hp = HyperParameters.bound(base, self.policy)
        declare = getattr(self.hypermodel, "declare_hyperparameters", None)
        if callable(declare):
            declare(hp)
        build_model(self.hypermodel, hp, self.compile, None)
        return base.space.copy()

    @property
    def project_dir(self) -> str:
        """``directory/project_name``: where the study's SQLite file is."""
        return str(Path(self.directory) / self.project_name)

    def _open_study(
        self,
        *,
        storage: Any,
        overwrite: bool,
        searcher: Mapping[str, Any],
        scheduler: Mapping[str, Any] | None,
        seed: int | None,
        space: Space,
        settings: dict[str, Any],
    ) -> Study:
        import tunelab as tl

        if storage is None:
            Path(self.project_dir).mkdir(parents=True, exist_ok=True)
            storage = Path(self.project_dir) / DB_FILE
        store = make_storage(storage)
        name = self.project_name
        if overwrite:
            _delete_study(store, name)
        try:
            study = tl.load_study(name, storage=store)
        except StudyNotFoundError:
            return tl.create_study(
                name,
                metric=self.objective.name,
                mode=self.objective.direction,
                searcher=dict(searcher),
                scheduler=dict(scheduler) if scheduler is not None else None,
                storage=store,
                seed=seed,
                space=space,
                user_attrs={TUNER_ATTR: settings},
            )
        _check_same_project(
            name, store.url, study.user_attrs.get(TUNER_ATTR), settings, space, study.space
        )
        return study

    # -- searching --------------------------------------------------------------------------
    def search(self, *fit_args: Any, **fit_kwargs: Any) -> BudgetUsage:
        """Run trials: ``fit_args``/``fit_kwargs`` go to ``model.fit`` (``x``, ``y``,
        ``epochs``, ``validation_data``, ``validation_split``, ``batch_size``,
        ``callbacks``, ``verbose``...). Stops at ``max_trials`` (counting the trials of
        earlier runs of this project), the epoch budget, or when the search space or the
        scheduler is exhausted. Returns tunelab's budget usage."""
        callbacks = list(fit_kwargs.pop("callbacks", None) or [])
        try:
            copy.deepcopy(callbacks)
        except Exception as exc:
            raise ConfigError(
                "every callback given to search() must be deep-copyable: each trial gets "
                f"fresh copies ({type(exc).__name__}: {exc})"
            ) from None
        verbose = fit_kwargs.get("verbose", 1)
        objective: Any
        if overrides_run_trial(self):
            objective = RunTrialObjective(
                self, self.objective, self.policy, fit_args, {**fit_kwargs, "callbacks": callbacks}
            )
        else:
            objective = self._keras_objective(fit_args, fit_kwargs, callbacks)
        quiet = verbose in (0, False)
        if not quiet:
            self._announce()
        return self.study.optimize(
            objective,
            max_trials=self.max_trials,
            max_epochs=self.epoch_budget,
            max_retries=self.max_retries_per_trial,
            max_consecutive_failures=self.max_consecutive_failed_trials,
            quiet=quiet,
        )

    def run_trial(self, trial: Any, *fit_args: Any, **fit_kwargs: Any) -> Any:
        """Run one trial: build the model from ``trial.hyperparameters`` and fit it with
        ``fit_args``/``fit_kwargs`` (what ``search`` was given). Override it to run
        trials your own way; an override may call ``super().run_trial(trial, ...)``
        with other arguments (a tuned ``batch_size``...)."""
        callbacks = list(fit_kwargs.pop("callbacks", None) or [])
        return self._keras_objective(fit_args, fit_kwargs, callbacks)(trial.tunelab_trial)

    def _keras_objective(
        self, fit_args: tuple[Any, ...], fit_kwargs: dict[str, Any], callbacks: list[Any]
    ) -> KerasObjective:
        if self.hypermodel is None:
            raise ConfigError(
                f"{type(self).__name__}.run_trial: no hypermodel was given to build models; "
                "pass hypermodel= or train your own model in run_trial"
            )
        if self.objective.name == DEFAULT_OBJECTIVE and not fits_its_own_way(self.hypermodel):
            raise ConfigError(
                "no objective was given: name the metric to optimise "
                '(objective="val_accuracy"), or override HyperModel.fit to return the value '
                "to minimise"
            )
        return KerasObjective(
            hypermodel=self.hypermodel,
            objective=self.objective,
            policy=self.policy,
            artifact_dir=self.study.artifacts.directory,
            fit_args=fit_args,
            fit_kwargs=fit_kwargs,
            callbacks=callbacks,
            executions=self.executions_per_trial,
            compile=self.compile,
            max_model_size=self.max_model_size,
        )

    def _announce(self) -> None:
        """What a tuner prints before its search (Hyperband and BOHB print their plan)."""

    @property
    def remaining_trials(self) -> int | None:
        return self.oracle.remaining_trials()

    # -- results ----------------------------------------------------------------------------
    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        """The hyperparameters of the best trials, best first; ``.values`` is the dict,
        and ``build_model(hp)`` (or ``tuner.hypermodel.build(hp)``) rebuilds that model."""
        return [t.hyperparameters for t in self.oracle.get_best_trials(num_trials)]

    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The best trials' models with the weights of their best epoch, best first."""
        return [self.load_model(t) for t in self.oracle.get_best_trials(num_models)]

    def load_model(self, trial: TunerTrial) -> Any:
        """Trial ``trial``'s model, rebuilt from its hyperparameters, with its best weights."""
        from tunelab.keras.run import build_model

        if self.hypermodel is None:
            raise ConfigError(
                f"{type(self).__name__} has no hypermodel (its run_trial trains its own "
                "models), so there is no model to return; use get_best_hyperparameters()"
            )
        model = build_model(self.hypermodel, trial.hyperparameters, self.compile, None)
        number = trial.record.number
        folder = model_folder(self.study.artifacts.directory, number)
        if not model.built and not (folder / WEIGHTS_FILE).is_file():
            raise ConfigError(
                f"trial {number} has no saved model: build() returns an unbuilt model "
                "(no keras.Input) and it was never trained by model.fit with the tuner's "
                "callbacks, so there were no weights to save; use get_best_hyperparameters()"
            )
        return load_weights(model, folder, number)

    def results_summary(self, num_trials: int = 10) -> None:
        """Print the best trials (Keras Tuner's format)."""
        print("Results summary")
        print(f"Results in {self.project_dir}")
        print(f"tunelab study {self.study.name!r} in {self.study.storage.url}")
        print(f"Showing {num_trials} best trials")
        print(self.objective)
        for trial in self.oracle.get_best_trials(num_trials):
            print()
            trial.summary()

    def search_space_summary(self, extended: bool = False) -> None:
        """Print the search space (Keras Tuner's format)."""
        space = self.study.space
        print("Search space summary")
        print(f"Default search space size: {len(space)}")
        for param in space:
            print(f"{param.name} ({type(param).__name__})")
            print(describe_param(param))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(project_name={self.project_name!r}, "
            f"objective={self.objective}, study={self.study.name!r} in {self.study.storage.url})"
        )


def overrides_run_trial(tuner: Tuner) -> bool:
    """Whether ``tuner``'s class defines its own ``run_trial``."""
    return type(tuner).run_trial is not Tuner.run_trial


def describe_param(param: Param) -> dict[str, Any]:
    """A parameter's definition in Keras Tuner's terms (what search_space_summary prints)."""
    spec = param.to_dict()
    kind = spec.pop("type")
    out: dict[str, Any] = {}
    if "default" in spec:
        out["default"] = spec.pop("default")
    out["conditions"] = [{"parent": c.parent, "values": list(c.values)} for c in param.conditions]
    spec.pop("condition", None)
    if kind in ("int", "float"):
        out["min_value"] = spec.pop("min")
        out["max_value"] = spec.pop("max")
        out["step"] = spec.pop("step", None)
        out["sampling"] = spec.pop("sampling", "linear")
    elif kind == "choice":
        out["values"] = spec.pop("values")
        out["ordered"] = bool(getattr(param, "ordered", False))
    out.update(spec)
    return out


def _given_space(hyperparameters: Any) -> Space:
    """The parameters of a tuner's ``hyperparameters=`` argument."""
    if hyperparameters is None:
        return Space()
    space = getattr(hyperparameters, "tunelab_space", None)
    if isinstance(space, Space):
        return space.copy()
    space = getattr(hyperparameters, "space", None)
    if isinstance(space, Space):  # a tunelab.HyperParameters
        return space.copy()
    raise ConfigError(
        "hyperparameters= must be a tunelab.keras.HyperParameters (keras_tuner's objects "
        f"cannot be read), got {type(hyperparameters).__name__}"
    )


def _delete_study(store: Any, name: str) -> None:
    """Remove study ``name`` and its files (checkpoints, saved models) from ``store``."""
    import tunelab as tl

    try:
        study = tl.load_study(name, storage=store)
    except StudyNotFoundError:
        return
    folder = study.artifacts.directory
    store.delete_study(name)
    shutil.rmtree(folder, ignore_errors=True)


def _check_same_project(
    name: str,
    url: str,
    stored: Any,
    settings: Mapping[str, Any],
    space: Space,
    stored_space: Space,
) -> None:
    """Refuse to continue a project with another tuner or other settings."""
    import json

    def normal(value: Any) -> Any:
        return json.loads(json.dumps(value, default=str))

    hint = "pass overwrite=True to start it over, or keep the arguments it was created with"
    if stored is None:
        raise ConfigError(
            f"study {name!r} in {url} was not made by a tunelab.keras tuner; {hint} "
            "(or choose another project_name)"
        )
    if normal(stored) != normal(settings):
        old, new = normal(stored), normal(settings)
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        details = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed)
        raise ConfigError(f"project {name!r} in {url} was created differently ({details}); {hint}")
    for param in space:
        known = stored_space.get(param.name)
        if known is not None and not known.same_definition(param):
            raise ConfigError(
                f"project {name!r}: the model now defines {param.describe()}, but the project "
                f"was tuned with {known.describe()}; {hint}"
            )


def _check_count(key: str, value: Any, low: int, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{key} must be an integer >= {low}, got {value!r}")
