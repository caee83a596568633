"""Recording a GAN configuration's learning curve for a tabular benchmark: the curve is
what a trial of the same number reports, plus test FID, and the test part is opened only
outside tuning."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tunelab.errors import SealedTestDataError
from tunelab.space import Config
from tunelab.tasks.gan import MnistGAN
from tunelab.tasks.gan_recording import GAN_TABLE_METRICS, record_gan_curve
from tunelab.tasks.sealed import tuning_phase

from .trials import make_trial

RATES = (4e-4, 1.6e-3)  # the recorded table's range
PARAMS: Config = {
    "d_dropout": 0.1,
    "g_activation": "relu",
    "batch_norm": False,
    "g_learning_rate": 7e-4,
    "d_learning_rate": 1.4e-3,
}


def test_a_recorded_curve_is_what_a_trial_of_that_number_reports(
    gan_options: dict[str, Any],
) -> None:
    task = MnistGAN(
        epochs=2,
        artifact_dir=None,
        tune_learning_rates=True,
        learning_rate_range=RATES,
        **gan_options,
    )
    trial, channel = make_trial(PARAMS, number=5)
    task(trial)
    recorder = MnistGAN(
        epochs=2,
        artifact_dir=None,
        tune_learning_rates=True,
        learning_rate_range=RATES,
        **gan_options,
    )
    rows = record_gan_curve(recorder, PARAMS, 2, index=5)
    assert len(rows) == 2
    for (step, reported), (recorded, seconds) in zip(channel.reports, rows, strict=True):
        assert list(recorded) == GAN_TABLE_METRICS
        validation = [m for m in GAN_TABLE_METRICS if not m.startswith("test_")]
        assert {m: recorded[m] for m in validation} == pytest.approx(
            {m: reported[m] for m in validation}
        ), f"epoch {step}"
        assert recorded["test_inception_score"] == recorded["inception_score"]
        assert math.isfinite(recorded["test_fid"]) and recorded["test_fid"] > 0
        assert recorded["test_fid"] != recorded["fid"]  # other real images
        assert seconds > 0
    assert recorder.splits.test.openings == ["mnist_gan.record_curve"]
    other = record_gan_curve(recorder, PARAMS, 1, index=6)
    assert other[0][0]["g_loss"] != rows[0][0]["g_loss"]  # another number, other draws


def test_recording_is_refused_during_tuning_and_needs_an_epoch(
    gan_options: dict[str, Any],
) -> None:
    task = MnistGAN(
        artifact_dir=None, tune_learning_rates=True, learning_rate_range=RATES, **gan_options
    )
    with tuning_phase("a trial"), pytest.raises(SealedTestDataError):
        record_gan_curve(task, PARAMS, 1)
    with pytest.raises(ValueError, match="record_curve needs epochs >= 1, got 0"):
        record_gan_curve(task, PARAMS, 0)
