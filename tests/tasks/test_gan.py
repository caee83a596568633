"""The GAN task: architectures, one real epoch on an MNIST subset, checkpoints, artifacts,
and that a good configuration learns at CI scale."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.records import completed_record
from tunelab.errors import ConfigError
from tunelab.hyperparameters import HyperParameters
from tunelab.report.gan import gan_view
from tunelab.space import Config
from tunelab.tasks import TASKS, make_task
from tunelab.tasks.gan import MnistGAN
from tunelab.tasks.gan_networks import (
    ARCHITECTURES,
    G_ACTIVATIONS,
    Discriminator,
    Generator,
    UniformDropout,
)

from .trials import make_checkpoint_trial, make_trial

PARAMS: Config = {"d_dropout": 0.3, "g_activation": "leaky_relu", "batch_norm": True}
CONFUSION = ("real_as_real", "real_as_fake", "fake_as_real", "fake_as_fake")
EPOCH_METRICS = {
    "g_loss",
    "d_loss",
    "inception_score",
    "inception_score_std",
    "fid",
    "d_accuracy",
    "d_real_accuracy",
    "d_fake_accuracy",
    *(f"d_{cell}" for cell in CONFUSION),
}


@pytest.fixture(scope="module")
def one_epoch(
    gan_options: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> tuple[MnistGAN, Any, Any, dict[str, float]]:
    artifacts = tmp_path_factory.mktemp("artifacts")
    task = make_task("mnist_gan", epochs=1, artifact_dir=str(artifacts), **gan_options)
    assert isinstance(task, MnistGAN)
    trial, recorder = make_trial(PARAMS, number=3, study_name="gan-test")
    result = task(trial)
    return task, trial, recorder, result


# -- the networks ------------------------------------------------------------------------------
@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("activation", G_ACTIVATIONS)
def test_every_architecture_maps_noise_to_images_and_images_to_a_logit(
    architecture: str, activation: str, batch_norm: bool
) -> None:
    generator = Generator(16, activation, batch_norm, architecture).eval()
    discriminator = Discriminator(0.5, batch_norm, architecture).eval()
    with torch.inference_mode():
        images = generator(torch.randn(4, 16))
        logits = discriminator(images)
    assert images.shape == (4, 1, 28, 28)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert logits.shape == (4, 1)
    kinds = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)
    norms = [m for m in generator.modules() if isinstance(m, kinds)]
    assert bool(norms) == batch_norm
    # The generator's batch norms learn a shift, not a scale (so sigmoid stays bad).
    assert all(not m.weight.requires_grad and m.bias.requires_grad for m in norms)
    assert [m.p for m in discriminator.modules() if isinstance(m, torch.nn.Dropout)] == [0.5, 0.5]


def test_the_mlp_is_the_cpu_default_and_has_its_documented_sizes() -> None:
    generator, discriminator = MnistGAN().build(PARAMS)
    assert generator.architecture == discriminator.architecture == "mlp"
    dense = [
        (m.in_features, m.out_features) for m in generator.net if isinstance(m, torch.nn.Linear)
    ]
    assert dense == [(100, 256), (256, 512), (512, 784)]
    dense = [
        (m.in_features, m.out_features) for m in discriminator.net if isinstance(m, torch.nn.Linear)
    ]
    assert dense == [(784, 512), (512, 256), (256, 1)]
    small, _ = MnistGAN(architecture="small_dcgan").build(PARAMS)
    convs = [m for m in small.net if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size) for m in convs] == [
        (64, 32, (4, 4)),
        (32, 1, (4, 4)),
    ]


@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("activation", G_ACTIVATIONS)
def test_full_dcgan_generator_is_the_tensorflow_tutorials(
    activation: str, batch_norm: bool
) -> None:
    generator = Generator(100, activation, batch_norm).eval()
    with torch.inference_mode():
        images = generator(torch.randn(4, 100))
    assert images.shape == (4, 1, 28, 28)
    assert images.min() >= -1.0 and images.max() <= 1.0
    layers = list(generator.net)
    convs = [m for m in layers if isinstance(m, torch.nn.ConvTranspose2d)]
    shapes = [(m.in_channels, m.out_channels) for m in convs]
    assert shapes == [(256, 128), (128, 64), (64, 1)]
    assert isinstance(layers[0], torch.nn.Linear) and layers[0].out_features == 7 * 7 * 256
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in layers) == batch_norm
    assert isinstance(layers[-1], torch.nn.Tanh)


def test_softmax_activation_normalises_over_channels() -> None:
    generator = Generator(8, "softmax", batch_norm=False)
    softmax = next(m for m in generator.net if isinstance(m, torch.nn.Softmax))
    out = softmax(torch.randn(2, 5, 3, 3))
    assert torch.allclose(out.sum(dim=1), torch.ones(2, 3, 3))


def test_discriminator_shape_and_dropout() -> None:
    discriminator = Discriminator(0.7, batch_norm=False)
    assert discriminator(torch.zeros(3, 1, 28, 28)).shape == (3, 1)
    convs = [m for m in discriminator.net if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 64), (64, 128)]
    assert [m.p for m in discriminator.net if isinstance(m, torch.nn.Dropout)] == [0.7, 0.7]


@pytest.mark.parametrize("p", [0.3, 0.9])
def test_uniform_dropout_keeps_a_unit_with_probability_one_minus_p(p: float) -> None:
    dropout = UniformDropout(p)
    torch.manual_seed(0)
    out = dropout(torch.ones(400, 500))
    kept = out != 0
    assert abs(kept.double().mean().item() - (1 - p)) < 0.005  # 200,000 units
    assert torch.allclose(out[kept], torch.full_like(out[kept], 1 / (1 - p)))
    x = torch.randn(4, 8, requires_grad=True)
    dropout(x).sum().backward()
    assert x.grad is not None
    scales = x.grad.unique().tolist()
    assert all(g == 0 or math.isclose(g, 1 / (1 - p), rel_tol=1e-6) for g in scales)
    assert torch.equal(dropout.eval()(x), x)
    assert torch.equal(UniformDropout(0.0).train()(x), x)
    assert torch.count_nonzero(UniformDropout(1.0).train()(x)) == 0


def test_space_and_optional_parameters() -> None:
    hp = HyperParameters()
    params = MnistGAN().define(hp)
    assert set(params) == {"d_dropout", "g_activation", "batch_norm"}
    assert hp.space["d_dropout"].to_dict()["min"] == 0.0
    assert hp.space["d_dropout"].to_dict()["max"] == 0.9
    assert hp.space["g_activation"].to_dict()["values"] == list(G_ACTIVATIONS)
    hp = HyperParameters()
    params = MnistGAN(tune_learning_rates=True, tune_latent_size=True).define(hp)
    assert {"g_learning_rate", "d_learning_rate", "latent_size"} <= set(params)
    assert hp.space["g_learning_rate"].to_dict()["sampling"] == "log"
    rate = hp.space["d_learning_rate"].to_dict()
    assert (rate["min"], rate["max"]) == (1e-5, 1e-3)
    hp = HyperParameters()
    MnistGAN(tune_learning_rates=True, learning_rate_range=[2e-4, 1e-3]).define(hp)
    rate = hp.space["g_learning_rate"].to_dict()
    assert (rate["min"], rate["max"]) == (2e-4, 1e-3)


def test_options_metric_and_errors() -> None:
    assert TASKS["mnist_gan"] == "tunelab.tasks.gan:MnistGAN"
    task = make_task("mnist_gan")
    assert (task.metric, task.mode) == ("inception_score", "max")
    fid = make_task("mnist_gan", metric="fid")
    assert (fid.metric, fid.mode) == ("fid", "min")
    assert task.options()["artifact_dir"] == "tunelab-artifacts"
    assert task.options()["adam_beta1"] == 0.5
    assert task.options()["architecture"] == "mlp"
    assert task.options()["steps_per_epoch"] == 1000
    assert task.options()["learning_rate"] == 5e-4
    assert make_task("mnist_gan", architecture="dcgan").options()["learning_rate"] == 1e-4
    assert make_task("mnist_gan", learning_rate=2e-4).options()["learning_rate"] == 2e-4
    with pytest.raises(ConfigError, match="architecture must be one of"):
        make_task("mnist_gan", architecture="resnet")
    with pytest.raises(ConfigError, match="steps_per_epoch"):
        make_task("mnist_gan", steps_per_epoch=0)
    with pytest.raises(ConfigError, match="learning_rate"):
        make_task("mnist_gan", learning_rate=0)
    with pytest.raises(ConfigError, match="ema_decay"):
        make_task("mnist_gan", ema_decay=1.0)
    with pytest.raises(ConfigError, match="adam_beta1"):
        make_task("mnist_gan", adam_beta1=1.0)
    with pytest.raises(ConfigError, match="metric must be one of"):
        make_task("mnist_gan", metric="loss")
    with pytest.raises(ConfigError, match="label_flip"):
        make_task("mnist_gan", label_flip=0.7)
    with pytest.raises(ConfigError, match="eval_samples"):
        make_task("mnist_gan", eval_samples=5)
    with pytest.raises(ConfigError, match="image_epochs"):
        make_task("mnist_gan", image_epochs=[0])
    for bad in ([1e-3, 1e-4], [0, 1e-3], "1e-4", [1e-4], [1e-4, True]):
        with pytest.raises(ConfigError, match="learning_rate_range must be"):
            make_task("mnist_gan", learning_rate_range=bad)
    assert make_task("mnist_gan").options()["learning_rate_range"] == [1e-5, 1e-3]


# -- one real epoch -------------------------------------------------------------------------
def test_one_epoch_reports_is_fid_and_confusion(one_epoch: Any) -> None:
    task, _, recorder, result = one_epoch
    assert task.splits.sizes == {"train": 160, "val": 40, "test": 10000}
    assert recorder.steps() == [1]
    metrics = recorder.reports[0][1]
    assert set(metrics) == EPOCH_METRICS
    assert all(math.isfinite(v) for v in metrics.values())
    assert 1.0 <= metrics["inception_score"] <= 10.0
    assert metrics["fid"] > 0
    assert sum(metrics[f"d_{c}"] for c in CONFUSION) == 80  # 40 real + 40 generated
    assert metrics["d_real_as_real"] + metrics["d_real_as_fake"] == 40
    assert 0 <= metrics["d_accuracy"] <= 1
    assert result == {**metrics, "best_epoch": 1.0}


def test_one_epoch_saves_a_grid_and_loss_curves(one_epoch: Any) -> None:
    task, _, recorder, _ = one_epoch
    artifacts = recorder.attrs["gan_artifacts"]
    folder = Path(task.artifact_dir) / "gan-test" / "trial-0003"
    assert artifacts["dir"] == str(folder)
    assert recorder.attrs["image_grids"] == {"1": str(folder / "grid-epoch-001.png")}
    assert artifacts["loss_curves"] == str(folder / "losses.png")
    for path in (folder / "grid-epoch-001.png", folder / "losses.png"):
        assert path.read_bytes()[:4] == b"\x89PNG"


def test_the_report_reads_what_a_trial_stored(one_epoch: Any) -> None:
    _, _, recorder, _ = one_epoch
    record = completed_record([m for _, m in recorder.reports], dict(recorder.attrs))
    view = gan_view(record)
    assert view.problems == []
    assert [epoch for epoch, _ in view.grids] == [1]
    assert set(view.curves) >= {"g_loss", "d_loss", "inception_score", "fid"}
    (_, metrics), *_ = recorder.reports
    assert view.confusion == (
        ["real", "generated"],
        [
            [metrics["d_real_as_real"], metrics["d_real_as_fake"]],
            [metrics["d_fake_as_real"], metrics["d_fake_as_fake"]],
        ],
    )


def test_tuning_never_opened_the_test_part(one_epoch: Any) -> None:
    task, *_ = one_epoch
    assert task.splits.test.openings == []


def test_checkpoint_resume_continues_exactly(gan_options: dict[str, Any]) -> None:
    task = MnistGAN(epochs=2, artifact_dir=None, image_epochs=[2], **gan_options)
    straight, straight_log = make_checkpoint_trial(PARAMS, checkpoint_at=(1,))
    straight_result = task(straight)
    state = pickle.loads(straight.saved[1])
    assert state["g_optimizer"]["param_groups"][0]["betas"] == (0.5, 0.999)
    kept = {"generator", "generator_average", "discriminator", "g_optimizer", "d_optimizer"}
    assert kept | {"epoch", "steps"} <= set(state)
    assert state["epoch"] == 1
    assert state["steps"] == 3  # 160 images in batches of 64
    average, live = state["generator_average"], state["generator"]
    assert not all(torch.equal(average[k], live[k]) for k in live)
    assert state["history"]["g_loss"] == [straight_log.reports[0][1]["g_loss"]]
    resumed, resumed_log = make_checkpoint_trial(PARAMS, resume_from=straight.saved[1])
    resumed_result = task(resumed)
    assert resumed_log.steps() == [2]
    assert resumed_log.reports[0][1] == pytest.approx(straight_log.reports[1][1])
    assert resumed_result == pytest.approx(straight_result)


def test_final_evaluation_scores_against_the_test_images(gan_options: dict[str, Any]) -> None:
    task = MnistGAN(artifact_dir=None, **gan_options)
    scores = task.final_evaluation(PARAMS, epochs=1)
    expected = {"test_inception_score", "test_inception_score_std", "test_fid", "test_d_accuracy"}
    assert expected <= set(scores)
    assert all(math.isfinite(v) for v in scores.values())
    assert scores["test_d_real_as_real"] + scores["test_d_real_as_fake"] == 200
    assert task.splits.test.openings == ["mnist_gan.final_evaluation"]


@pytest.fixture(scope="module")
def five_steps(gan_options: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The checkpoint after one epoch of 5 steps, and the trial's recorder."""
    options = {**gan_options, "steps_per_epoch": 5}
    task = MnistGAN(epochs=1, artifact_dir=None, **options)
    trial, recorder = make_checkpoint_trial(PARAMS, checkpoint_at=(1,))
    task(trial)
    return pickle.loads(trial.saved[1]), recorder


def test_an_epoch_is_a_fixed_number_of_steps_on_one_cpu_thread(five_steps: Any) -> None:
    state, recorder = five_steps
    assert state["steps"] == 5  # 320 images from 160: two passes
    assert recorder.threads == [1]


def test_training_moves_the_generators_batch_norm_shifts_but_not_their_scales(
    five_steps: Any,
) -> None:
    generator = five_steps[0]["generator"]
    scales = [v for k, v in generator.items() if k.endswith(".weight") and v.ndim == 1]
    shifts = [
        v
        for k, v in generator.items()
        if k.endswith(".bias") and k.replace(".bias", ".running_mean") in generator
    ]
    assert len(scales) == len(shifts) == 2  # the MLP's two hidden layers
    assert all(torch.equal(v, torch.ones_like(v)) for v in scales)
    assert all(v.abs().max() > 0 for v in shifts)


def test_the_validation_images_are_scored_once_per_task(gan_options: dict[str, Any]) -> None:
    """The FID floor and the FID's reference statistics come from one classifier pass over
    the validation images (each pass is seconds of a trial on a CPU)."""
    task = make_task("mnist_gan", epochs=1, **gan_options)
    assert isinstance(task, MnistGAN)
    classifier = task.classifier
    scored: list[int] = []
    score = classifier.scores

    def counting(images: Any, batch_size: int = 1000) -> Any:
        scored.append(len(images))
        return score(images, batch_size)

    classifier.scores = counting  # type: ignore[method-assign]
    try:
        floor = task.fid_floor()
        trial, recorder = make_trial(PARAMS, number=0, study_name="gan-once")
        task(trial)
    finally:
        del classifier.scores
    assert scored.count(len(task.splits.x_val)) == 1
    assert recorder.attrs["fid_floor"] == floor


def test_the_fid_floor_is_stored_and_below_a_young_generators_fid(one_epoch: Any) -> None:
    task, _, recorder, result = one_epoch
    floor = recorder.attrs["fid_floor"]
    assert floor == task.fid_floor()
    assert 0 < floor < result["fid"]


def test_a_good_configuration_learns_at_ci_scale(
    data_dir: Path, classifier_dir: Path, mnist_classifier: Any
) -> None:
    """The CPU GAN's Inception Score climbs epoch by epoch: a GAN that stops learning
    fails here (4 epochs of 250 steps on 4000 images, about 20 s on one core)."""
    task = MnistGAN(
        data_dir=str(data_dir),
        classifier_dir=str(classifier_dir),
        train_size=5000,
        steps_per_epoch=250,
        epochs=4,
        eval_samples=1000,
        artifact_dir=None,
        device="cpu",
    )
    trial, recorder = make_trial(PARAMS)
    task(trial)
    scores = [metrics["inception_score"] for _, metrics in recorder.reports]
    fids = [metrics["fid"] for _, metrics in recorder.reports]
    assert len(scores) == 4
    assert scores[-1] >= scores[0] + 1.0, scores
    assert scores[-1] == max(scores), scores
    assert fids[-1] < fids[0], fids
