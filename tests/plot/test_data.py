"""tunelab.plot.data: plain, JSON-able data from one read of the trials, fast on 10,000."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

import tunelab as tl
from tunelab.errors import ConfigError
from tunelab.plot import data
from tunelab.space import Choice, Condition, Float, Int, Space
from tunelab.storage.base import TrialOutcome


def test_every_function_gives_json_able_data(studies: dict[str, tl.Study]):
    hb, pbt = studies["hyperband"], studies["pbt"]
    outputs = [
        data.history(hb).to_dict(),
        [c.to_dict() for c in data.intermediate(hb, max_points=4)],
        data.parallel(hb).to_dict(),
        [s.to_dict() for s in data.slices(hb)],
        data.contour(hb, "lr", "momentum").to_dict(),
        data.importances(hb),
        [r.to_dict() for r in data.rungs(studies["asha"])],
        [e.to_dict() for e in data.lineage(pbt)],
    ]
    for out in outputs:
        assert out
        assert json.loads(json.dumps(out, allow_nan=False)) == out


def test_history_best_so_far_counts_completed_trials_only(hyperband: tl.Study):
    table = data.history(hyperband)
    trials = hyperband.trials
    assert [p.number for p in table.points] == [t.number for t in trials]
    best = None
    for p, t in zip(table.points, trials, strict=True):
        assert p.value == t.value and p.state == t.status.value
        if t.status is tl.TrialStatus.COMPLETED:
            best = t.value if best is None else min(best, t.value)
        assert p.best_so_far == best
        assert p.elapsed is not None and p.elapsed >= 0
    assert [b for _, b in table.best_by_time][-1] == hyperband.best_value


def test_intermediate_downsamples_and_refuses_too_few_points(hyperband: tl.Study):
    full = {c.number: c for c in data.intermediate(hyperband)}
    assert any(len(c.steps) > 2 for c in full.values())
    for c in data.intermediate(hyperband, max_points=2):
        whole = full[c.number]
        keep = [0, len(whole.steps) - 1] if len(whole.steps) > 1 else [0]
        assert c.steps == [whole.steps[i] for i in keep]
        assert c.values == [whole.values[i] for i in keep]
    with pytest.raises(ConfigError, match="max_points must be an integer >= 2"):
        data.intermediate(hyperband, max_points=1)


def test_parallel_columns_say_kind_log_choices_and_which_can_be_inactive(hyperband: tl.Study):
    columns = {c.name: c for c in data.parallel(hyperband).columns}
    assert columns["optimizer"].kind == "categorical"
    assert columns["optimizer"].choices == ["sgd", "adam"]
    assert columns["lr"].kind == "float" and columns["lr"].log
    assert columns["width"].kind == "int" and columns["width"].log
    assert (columns["width"].low, columns["width"].high) == (8, 256)
    assert columns["momentum"].conditional and not columns["lr"].conditional
    for row in data.parallel(hyperband).rows:
        assert (row.params["momentum"] is None) == (row.params["optimizer"] == "adam")


def test_contour_refuses_the_same_parameter_twice(hyperband: tl.Study):
    with pytest.raises(ConfigError, match="two different parameters"):
        data.contour(hyperband, "lr", "lr")


def _big_study(n: int, reports: int) -> tl.Study:
    """``n`` finished trials written through the storage API (no objective runs)."""
    space = Space(
        [
            Float("lr", 1e-4, 1.0, sampling="log"),
            Int("width", 8, 256, sampling="log"),
            Choice("optimizer", ("sgd", "adam")),
            Float("momentum", 0.0, 0.99, conditions=(Condition("optimizer", ("sgd",)),)),
        ]
    )
    study = tl.create_study("big", metric="loss", storage=":memory:", space=space)
    storage, rng = study.storage, np.random.default_rng(0)
    for i in range(n):
        params: dict = {
            "lr": float(10 ** rng.uniform(-4, 0)),
            "width": int(rng.integers(8, 257)),
            "optimizer": "sgd" if i % 2 else "adam",
        }
        if params["optimizer"] == "sgd":
            params["momentum"] = float(rng.uniform(0, 0.99))
        record = storage.create_trial(study.study_id, proposal=params, meta={}, budget=None)
        loss = 0.0
        for step in range(1, reports + 1):
            loss = float(rng.uniform()) + 1 / step
            storage.add_report(record.trial_id, step, {"loss": loss})
        status = tl.TrialStatus.PRUNED if i % 3 == 0 else tl.TrialStatus.COMPLETED
        storage.finish_trial(record.trial_id, TrialOutcome(status, loss), params=params)
    return study


def test_ten_thousand_trials_are_summarised_quickly():
    study = _big_study(10_000, reports=10)
    start = time.perf_counter()
    table = data.history(study)
    curves = data.intermediate(study, max_points=4)
    rows = data.parallel(study).rows
    seconds = time.perf_counter() - start
    assert len(table.points) == len(curves) == len(rows) == 10_000
    assert all(len(c.steps) == 4 and c.steps[-1] == 10 for c in curves)
    assert sum(r.params["momentum"] is None for r in rows) == 5_000
    # "well under a second" on an idle machine; a loaded CI machine gets a wide margin.
    assert seconds < 8.0, f"history+intermediate+parallel took {seconds:.1f} s"
    start = time.perf_counter()
    shares = data.importances(study)
    assert time.perf_counter() - start < 15.0
    assert set(shares) == {"lr", "width", "optimizer", "momentum"}


def test_importing_tunelab_plot_imports_neither_matplotlib_nor_the_forest():
    code = (
        "import sys, tunelab, tunelab.plot; "
        "print([m for m in ('matplotlib', 'sklearn.ensemble') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
