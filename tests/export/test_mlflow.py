"""MLflow export and logger, read back with MLflow's own client from a SQLite tracking store."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

import tunelab as tl
from tests.cli import tunelab
from tunelab.export.mlflow import MlflowLogger, export_mlflow

# MLflow's SQL store on SQLAlchemy 2.1
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")


def tracking_uri(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow.db'}"


def runs_of(client: MlflowClient, experiment: str) -> list:
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    return client.search_runs([found.experiment_id], max_results=1000)


@pytest.fixture(scope="module")
def exported(stored: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    uri = tracking_uri(tmp_path_factory.mktemp("mlflow"))
    result = tunelab("export", "demo", "-f", "mlflow", "--tracking-uri", uri, cwd=stored)
    assert result.returncode == 0, result.stderr
    assert "mlflow: 8 trial runs under parent run" in result.stdout
    return uri


def test_one_run_per_trial_nested_under_the_study_run(stored, exported):
    study = tl.load_study("demo", storage=stored / "tunelab.db")
    client = MlflowClient(exported)
    runs = runs_of(client, "demo")
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {int(r.data.tags["tunelab.trial"]): r for r in runs if r is not parent}
    assert parent.data.tags["tunelab.study"] == "demo"
    assert parent.data.tags["tunelab.metric"] == "loss"
    assert parent.info.run_name == "demo" and parent.info.status == "FINISHED"
    assert parent.data.metrics["best/loss"] == pytest.approx(study.best_value)
    assert parent.data.metrics["trials_finished"] == len(study.trials)
    assert sorted(children) == [t.number for t in study.trials]

    status = {"completed": "FINISHED", "pruned": "KILLED", "failed": "FAILED"}
    for t in study.trials:
        run = children[t.number]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.info.run_name == f"trial-{t.number}"
        assert run.data.tags["tunelab.state"] == t.status.value
        assert run.info.status == status[t.status.value]
        active = {k: str(v) for k, v in t.params.items() if v is not None}
        assert run.data.params == active
        for name in ("loss", "accuracy"):
            history = client.get_metric_history(run.info.run_id, name)
            assert sorted((m.step, m.value) for m in history) == [
                (r.step, pytest.approx(r.metrics[name])) for r in t.reports
            ]
        if t.value is None:
            assert "final/loss" not in run.data.metrics
        else:
            assert run.data.metrics["final/loss"] == pytest.approx(t.value)
        finals = {k: v for k, v in run.data.metrics.items() if k.startswith("final/")}
        expected = {**t.metrics, **({"loss": t.value} if t.value is not None else {})}
        assert finals == {f"final/{k}": pytest.approx(v) for k, v in expected.items()}


def test_exporting_again_adds_nothing_twice(stored, exported):
    client = MlflowClient(exported)
    before = runs_of(client, "demo")
    study = tl.load_study("demo", storage=stored / "tunelab.db")
    result = export_mlflow(study, tracking_uri=exported)
    after = runs_of(client, "demo")
    assert sorted(r.info.run_id for r in after) == sorted(r.info.run_id for r in before)
    assert result.parent_run_id in {r.info.run_id for r in before}
    some = result.trial_runs[0]
    assert len(client.get_metric_history(some, "loss")) == len(study.trials[0].reports)


def test_the_logger_syncs_while_the_study_runs_and_once_more_at_the_end(tmp_path):
    uri = tracking_uri(tmp_path)
    study = tl.create_study("live", metric="loss", storage=tmp_path / "t.db", seed=0)
    seen_live = threading.Event()

    def objective(trial: tl.Trial) -> float:
        x = trial.hp.Float("x", 0.0, 1.0)
        trial.report(1, {"loss": x})
        if trial.number == 2:  # wait until a background sync logged the first trial
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not seen_live.is_set():
                experiment = MlflowClient(uri).get_experiment_by_name("live-runs")
                if experiment is not None and any(
                    r.data.tags.get("tunelab.trial") == "0"
                    for r in MlflowClient(uri).search_runs([experiment.experiment_id])
                ):
                    seen_live.set()
                time.sleep(0.2)
        return x

    with MlflowLogger(study, tracking_uri=uri, experiment="live-runs", every=0.5):
        study.optimize(objective, max_trials=4, quiet=True)
    assert seen_live.is_set()
    runs = runs_of(MlflowClient(uri), "live-runs")
    assert len(runs) == 5
    assert {r.info.status for r in runs} == {"FINISHED"}
