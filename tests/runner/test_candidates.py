"""``optimize(candidates=...)``: a study restricted to a list of configurations runs each
at most once, takes the nearest unused one for every proposal, and ends when none is left."""

from __future__ import annotations

from pathlib import Path

import pytest

import tunelab as tl
from tunelab.errors import ConfigError
from tunelab.executors.simulated import SimulatedExecutor
from tunelab.runner.candidates import CandidateList
from tunelab.searchers.base import config_key
from tunelab.space import Choice, Float, Space
from tunelab.tasks.tabular import TabularTask

SPACE = Space([Float("x", 0.0, 1.0), Choice("kind", ["a", "b"])])
CANDIDATES = [{"x": x / 10, "kind": kind} for x in range(10) for kind in ("a", "b")]


def objective(trial: tl.Trial) -> float:
    x = trial.hp.Float("x", 0.0, 1.0)
    kind = trial.hp.Choice("kind", ["a", "b"])
    return (x - 0.33) ** 2 + (0.1 if kind == "b" else 0.0)


def keys(study: tl.Study) -> list[tuple[object, ...]]:
    return [config_key(t.params) for t in study.trials]


@pytest.mark.parametrize("searcher", ["random", "sobol", "tpe", "bayes"])
def test_every_trial_is_a_distinct_candidate_and_the_study_ends_when_none_is_left(
    searcher: str,
) -> None:
    study = tl.create_study(metric="loss", searcher=searcher, space=SPACE, seed=0)
    study.optimize(objective, max_trials=100, candidates=CANDIDATES, quiet=True)

    allowed = {config_key(c) for c in CANDIDATES}
    assert len(study.trials) == len(CANDIDATES)  # exhausted before the 100-trial budget
    assert len(set(keys(study))) == len(CANDIDATES)
    assert set(keys(study)) == allowed


def test_a_proposal_gets_the_nearest_unused_candidate() -> None:
    space = Space([Float("x", 0.0, 1.0)])
    candidates = CandidateList(space, [{"x": 0.1}, {"x": 0.5}, {"x": 0.9}])

    assert candidates.take({"x": 0.45}) == {"x": 0.5}
    assert candidates.take({"x": 0.45}) == {"x": 0.1}  # 0.5 is used; 0.1 is nearer than 0.9
    assert candidates.take({"x": 0.9}) == {"x": 0.9}  # a candidate itself
    assert candidates.remaining == 0 and candidates.take({"x": 0.5}) is None


def test_a_continued_study_does_not_run_a_candidate_again(tmp_path: Path) -> None:
    storage = tmp_path / "c.db"
    study = tl.create_study("c", metric="loss", space=SPACE, storage=storage, seed=0)
    study.optimize(objective, max_trials=8, candidates=CANDIDATES, quiet=True)
    again = tl.load_study("c", storage=storage)
    again.optimize(objective, max_trials=30, candidates=CANDIDATES, quiet=True)

    assert len(again.trials) == len(CANDIDATES)
    assert len(set(keys(again))) == len(CANDIDATES)


@pytest.mark.parametrize(
    ("candidates", "message"),
    [
        ([{"x": 0.5, "kind": "c"}], "candidate 0: parameter 'kind'"),
        ([{"x": 0.5, "kind": "a"}, {"kind": "a"}], "candidate 1: configuration has no value"),
        ([{"x": 0.5, "kind": "a"}, "x"], "candidate 1 is not a mapping"),
        ([], "candidates is empty"),
    ],
)
def test_bad_candidates_are_refused_before_anything_is_recorded(
    tmp_path: Path, candidates: list[object], message: str
) -> None:
    study = tl.create_study("bad", metric="loss", space=SPACE, storage=tmp_path / "b.db")
    with pytest.raises(ConfigError, match=message):
        study.optimize(objective, max_trials=5, candidates=candidates, quiet=True)
    assert study.trials == []


def test_candidates_need_the_space_up_front() -> None:
    study = tl.create_study(metric="loss")
    with pytest.raises(ConfigError, match="search space up front"):
        study.optimize(objective, max_trials=5, candidates=CANDIDATES, quiet=True)


def test_bohb_on_a_table_restricted_to_its_rows_never_replays_a_row() -> None:
    """Without the restriction a TPE proposal near the best so far is answered by the same
    recorded row again and again (measured: 158 distinct rows in 384 BOHB trials)."""
    task = TabularTask("digits_mlp")
    table = task.table
    study = tl.create_study(
        metric=table.metric,
        mode=table.mode,
        space=table.space,
        searcher="tpe",
        scheduler={"name": "bohb", "max_epochs": table.max_epochs, "eta": 3, "seed": 0},
        seed=0,
    )
    study.optimize(
        task,
        max_epochs=20 * table.max_epochs,
        executor=SimulatedExecutor(n_workers=4, start=0.0),
        candidates=table.configs,
        quiet=True,
    )

    rows = [table.nearest({**t.proposal, **t.params}) for t in study.trials]
    assert len(rows) > 50
    assert len(set(rows)) == len(rows)
