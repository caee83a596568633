"""Finite spaces: random and grid search hand out each configuration once and the study
ends when every configuration was tried, conditional branches included."""

from __future__ import annotations

from collections.abc import Callable

import tunelab as tl


def two_booleans(trial: tl.Trial) -> float:
    return float(trial.hp.Boolean("a")) + float(trial.hp.Boolean("b"))


def branch(trial: tl.Trial) -> float:
    if trial.hp.Boolean("wide"):
        return float(trial.hp.Int("units", 2, 12, step=2))
    return 0.0


def mixed_finite(trial: tl.Trial) -> float:
    trial.hp.Choice("act", ["relu", "tanh", "elu"])
    trial.hp.Float("rate", 0.0, 0.5, step=0.25)
    return trial.hp.Int("layers", 1, 2)


def _configs(study: tl.Study) -> list[tuple[tuple[str, object], ...]]:
    return [tuple(sorted(t.params.items())) for t in study.trials]


def _run(
    objective: Callable[[tl.Trial], float], searcher: str, max_trials: int, seed: int = 0
) -> tl.Study:
    study = tl.create_study(searcher=searcher, seed=seed, storage=":memory:")
    study.optimize(objective, max_trials=max_trials, quiet=True)
    return study


def test_random_search_over_two_booleans_tries_each_configuration_once_then_ends():
    configs = _configs(_run(two_booleans, "random", max_trials=15))
    assert len(configs) == 4 == len(set(configs))


def test_random_search_counts_an_untaken_branch_as_one_configuration():
    configs = _configs(_run(branch, "random", max_trials=30))
    assert len(configs) == 7 == len(set(configs))  # wide=False, and wide=True with 6 units
    assert (("wide", False),) in configs


def test_random_search_ends_at_the_product_of_choice_stepped_float_and_int_values():
    configs = _configs(_run(mixed_finite, "random", max_trials=50))
    assert len(configs) == 3 * 3 * 2 == len(set(configs))


def test_grid_search_does_not_vary_parameters_of_a_branch_not_taken():
    configs = _configs(_run(branch, "grid", max_trials=30))
    assert len(configs) == 7 == len(set(configs))


def test_random_search_in_a_finite_space_is_reproducible_with_a_seed():
    first = _configs(_run(mixed_finite, "random", max_trials=10, seed=3))
    assert first == _configs(_run(mixed_finite, "random", max_trials=10, seed=3))
    assert first != _configs(_run(mixed_finite, "random", max_trials=10, seed=4))


def test_a_finite_random_study_resumed_with_a_larger_budget_still_never_repeats(tmp_path):
    storage = tmp_path / "finite.db"
    tl.create_study("f", searcher="random", seed=1, storage=storage).optimize(
        mixed_finite, max_trials=5, quiet=True
    )
    tl.load_study("f", storage=storage).optimize(mixed_finite, max_trials=100, quiet=True)
    configs = _configs(tl.load_study("f", storage=storage))
    assert len(configs) == 18 == len(set(configs))


def test_a_space_with_a_continuous_float_runs_every_trial_of_the_budget():
    def objective(trial: tl.Trial) -> float:
        trial.hp.Boolean("a")
        return trial.hp.Float("x", 0.0, 1.0)

    assert len(_run(objective, "random", max_trials=12).trials) == 12


def test_a_finite_space_too_large_to_list_is_drawn_without_repeats():
    def objective(trial: tl.Trial) -> float:
        return float(trial.hp.Int("n", 0, 99) + 100 * trial.hp.Int("m", 0, 999))

    configs = _configs(_run(objective, "random", max_trials=40))
    assert len(configs) == 40 == len(set(configs))
