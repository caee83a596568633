"""``tunelab export --format tensorboard``, read back with TensorBoard's own reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, metadata

import tunelab as tl
from tests.cli import tunelab
from tunelab.export.tensorboard import run_name


def read(folder: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator


def hparams(accumulator: EventAccumulator, tag: str) -> bytes:
    return accumulator.PluginTagToContent(metadata.PLUGIN_NAME)[tag]


def value_of(v) -> object:
    return getattr(v, v.WhichOneof("kind"))


@pytest.fixture(scope="module")
def logdir(stored: Path) -> Path:
    result = tunelab("export", "demo", "-f", "tensorboard", "-o", "tb", cwd=stored)
    assert result.returncode == 0, result.stderr
    assert "trial runs in tb" in result.stdout
    return stored / "tb"


def test_the_experiment_declares_every_parameter_and_the_metrics(stored, logdir):
    study = tl.load_study("demo", storage=stored / "tunelab.db")
    experiment = metadata.parse_experiment_plugin_data(
        hparams(read(logdir), metadata.EXPERIMENT_TAG)
    )
    infos = {h.name: h for h in experiment.hparam_infos}
    assert list(infos) == study.space.names
    assert infos["lr"].type == api_pb2.DATA_TYPE_FLOAT64
    assert (infos["lr"].domain_interval.min_value, infos["lr"].domain_interval.max_value) == (
        pytest.approx(1e-4),
        pytest.approx(1e-1),
    )
    assert infos["activation"].type == api_pb2.DATA_TYPE_STRING
    assert [v.string_value for v in infos["activation"].domain_discrete.values] == ["relu", "tanh"]
    assert [v.number_value for v in infos["batch"].domain_discrete.values] == [16, 32, 64]
    assert infos["regularize"].type == api_pb2.DATA_TYPE_BOOL
    metrics = [(m.name.tag, m.display_name) for m in experiment.metric_infos]
    assert metrics == [("final/loss", "loss"), ("final/accuracy", "")]


def test_one_run_per_trial_with_its_hparams_state_and_reports(stored, logdir):
    study = tl.load_study("demo", storage=stored / "tunelab.db")
    runs = sorted(p.name for p in logdir.iterdir() if p.is_dir())
    assert runs == [run_name(t.number) for t in study.trials]
    statuses = {
        "completed": api_pb2.STATUS_SUCCESS,
        "pruned": api_pb2.STATUS_SUCCESS,
        "failed": api_pb2.STATUS_FAILURE,
    }
    for t in study.trials:
        run = read(logdir / run_name(t.number))
        start = metadata.parse_session_start_info_plugin_data(
            hparams(run, metadata.SESSION_START_INFO_TAG)
        )
        active = {k: v for k, v in t.params.items() if v is not None}
        assert {k: value_of(v) for k, v in start.hparams.items()} == pytest.approx(active)
        assert "dropout" in start.hparams or t.params.get("dropout") is None
        assert start.group_name == run_name(t.number)
        end = metadata.parse_session_end_info_plugin_data(
            hparams(run, metadata.SESSION_END_INFO_TAG)
        )
        assert end.status == statuses[t.status.value]
        for name in ("loss", "accuracy"):
            scalars = [(e.step, e.value) for e in run.Scalars(name)]
            assert scalars == [
                (r.step, pytest.approx(r.metrics[name], rel=1e-6)) for r in t.reports
            ]
        if t.value is None:
            assert "final/loss" not in run.Tags()["scalars"]
        else:
            (final,) = run.Scalars("final/loss")
            assert final.value == pytest.approx(t.value, rel=1e-6)
            assert final.step == t.reports[-1].step


def test_a_folder_that_already_holds_event_files_is_refused(stored, logdir):
    again = tunelab("export", "demo", "-f", "tensorboard", "-o", "tb", cwd=stored)
    assert again.returncode == 2
    assert "already holds TensorBoard event files" in again.stderr
    missing = tunelab("export", "demo", "-f", "tensorboard", cwd=stored)
    assert missing.returncode == 2 and "--output" in missing.stderr
