"""A DCGAN on MNIST, tuned by the Inception Score (or FID) of what it generates.

Architecture (the TensorFlow DCGAN tutorial's, in PyTorch):

- generator: dense ``latent -> 7x7x256`` -> [batch norm] -> activation ->
  transposed conv 5x5 to 128 channels (7x7) -> [BN] -> activation -> transposed conv
  5x5 stride 2 to 64 channels (14x14) -> [BN] -> activation -> transposed conv 5x5
  stride 2 to 1 channel (28x28) -> tanh. ``softmax`` as the activation normalises over
  the channels of each pixel.
- discriminator: conv 5x5 stride 2 to 64 -> LeakyReLU(0.2) -> dropout -> conv 5x5
  stride 2 to 128 -> [BN] -> LeakyReLU -> dropout -> dense to 1 logit.

Both train with Adam at 1e-4 (beta1 = 0.5, as in the DCGAN paper: with PyTorch's 0.9
the generator barely moves in the first few hundred steps) on binary cross-entropy
with noisy labels: real targets
drawn from [1 - label_noise, 1], fake ones from [0, label_noise], and a share
``label_flip`` of them swapped. Tuned: ``d_dropout`` (0-0.9), ``g_activation`` (relu,
leaky_relu, sigmoid, softmax), ``batch_norm`` (on/off, in both networks, as in the
DCGAN paper); with ``tune_learning_rates`` also ``g_learning_rate`` and
``d_learning_rate``, with ``tune_latent_size`` also ``latent_size``.

Every epoch reports ``g_loss``, ``d_loss`` (means over the epoch), the Inception Score
(``inception_score``, ``inception_score_std``) and ``fid`` of ``eval_samples``
generated images (against the validation images: the held-back test part stays sealed
until ``final_evaluation``, which scores against the real test images), and the
discriminator's confusion on real validation vs generated images (``d_accuracy``,
``d_real_accuracy``, ``d_fake_accuracy`` and the four cells, ``d_real_as_real``...).

Artifacts, for the HTML report: in the trial's artifact folder (``trial.artifact_dir``
when the trial has one, else ``<artifact_dir>/<study>/trial-<number>``), a PNG grid of
64 generated images (the same noise every epoch) at each epoch of ``image_epochs``
(every epoch when None) named ``grid-epoch-NNN.png``, and ``losses.png`` with both loss
curves, redrawn every epoch. Their paths are in the trial's user attribute
``image_grids`` (``{"<epoch>": path}``) and ``gan_artifacts`` (``{"dir": ...,
"loss_curves": path}``); ``confusion_matrix`` holds the latest epoch's confusion as
``{"labels": ["real", "generated"], "matrix": [[...], [...]]}``. These are the names
:mod:`tunelab.report.gan` reads to draw a strategy's best trial.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from tunelab.errors import ConfigError
from tunelab.metrics.classifier import MnistClassifier, images_to_input, mnist_classifier
from tunelab.metrics.gan import (
    discriminator_confusion,
    feature_statistics,
    frechet_distance,
    inception_score,
)
from tunelab.tasks.base import Task
from tunelab.tasks.data import DatasetSplits
from tunelab.tasks.datasets import MNIST, load_image_splits
from tunelab.tasks.sealed import tuning_phase
from tunelab.tasks.training import (
    check_device,
    check_int_option,
    derive_seed,
    isolated_torch,
    resolve_device,
    to_cpu,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from tunelab.hyperparameters import HyperParameters
    from tunelab.space import Value
    from tunelab.trial import Trial

G_ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "softmax")
GAN_METRICS = {"inception_score": "max", "fid": "min"}
DEFAULT_LEARNING_RATE = 1e-4
GRID_IMAGES = 64

_TUNING_STREAM = 0
_FINAL_STREAM = 1
_EVAL_NOISE = 2
_GRID_NOISE = 3


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "softmax":
        return nn.Softmax(dim=1)
    raise ConfigError(f"unknown generator activation {name!r}; one of {G_ACTIVATIONS}")


class Generator(nn.Module):
    """Dense -> 7x7x256 -> transposed convs 128 -> 64 -> 1 -> tanh."""

    def __init__(self, latent_size: int, activation: str, batch_norm: bool) -> None:
        super().__init__()
        self.latent_size = latent_size

        def norm(channels: int) -> list[nn.Module]:
            return [nn.BatchNorm2d(channels)] if batch_norm else []

        self.net = nn.Sequential(
            nn.Linear(latent_size, 7 * 7 * 256, bias=not batch_norm),
            nn.Unflatten(1, (256, 7, 7)),
            *norm(256),
            _activation(activation),
            nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=not batch_norm),
            *norm(128),
            _activation(activation),
            nn.ConvTranspose2d(
                128, 64, 5, stride=2, padding=2, output_padding=1, bias=not batch_norm
            ),
            *norm(64),
            _activation(activation),
            nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(z)
        return out


class Discriminator(nn.Module):
    """Convs 64 -> 128 (5x5, stride 2) with LeakyReLU and dropout -> dense 1 (a logit)."""

    def __init__(self, dropout: float, batch_norm: bool) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 64, 5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            nn.Dropout(dropout),
            nn.Conv2d(64, 128, 5, stride=2, padding=2, bias=not batch_norm),
            *([nn.BatchNorm2d(128)] if batch_norm else []),
            nn.LeakyReLU(0.2),
            nn.Dropout(dropout),
            nn.Flatten(),
            nn.Linear(128 * 7 * 7, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        return out


def _float(params: Mapping[str, Value], key: str, default: float | None = None) -> float:
    if key not in params:
        if default is None:
            raise ConfigError(f"GAN configuration has no value for {key!r}")
        return default
    return float(params[key])


class MnistGAN(Task):
    """Tune a DCGAN on MNIST; judged by the Inception Score of its samples (max),
    or by FID (min) with ``metric="fid"``.

    Data: the MNIST training file (or a stratified ``train_size`` subset of it) split
    into train and validation (``val_fraction``); the test file is sealed until
    ``final_evaluation``. Each trial trains ``trial.budget`` epochs (``epochs`` when
    None) with ``batch_size`` images per step and seeds drawn from ``(seed,
    trial.number, epoch)``. Evaluation uses the same noise in every trial and epoch.
    The scoring classifier is trained once and cached in ``classifier_dir`` (default:
    the user cache, see :mod:`tunelab.metrics.classifier`).
    """

    name = "mnist_gan"

    def __init__(
        self,
        *,
        data_dir: str | None = None,
        train_size: int | None = None,
        val_fraction: float = 0.2,
        epochs: int = 10,
        seed: int = 0,
        device: str | None = None,
        num_threads: int | None = None,
        batch_size: int = 128,
        latent_size: int = 100,
        adam_beta1: float = 0.5,
        tune_learning_rates: bool = False,
        tune_latent_size: bool = False,
        metric: str = "inception_score",
        eval_samples: int = 1000,
        is_splits: int = 10,
        label_noise: float = 0.1,
        label_flip: float = 0.05,
        artifact_dir: str | None = "tunelab-artifacts",
        image_epochs: Sequence[int] | None = None,
        classifier_dir: str | None = None,
        download: bool = True,
    ) -> None:
        name = self.name
        check_int_option(name, "train_size", train_size, 20, optional=True)
        check_int_option(name, "epochs", epochs, 1)
        check_int_option(name, "seed", seed, 0)
        check_int_option(name, "num_threads", num_threads, 1, optional=True)
        check_int_option(name, "batch_size", batch_size, 1)
        check_int_option(name, "latent_size", latent_size, 1)
        check_int_option(name, "is_splits", is_splits, 1)
        check_int_option(name, "eval_samples", eval_samples, max(2, is_splits))
        check_device(name, device)
        if metric not in GAN_METRICS:
            raise ConfigError(
                f"{name}: metric must be one of {sorted(GAN_METRICS)}, got {metric!r}"
            )
        for key, value, high in (
            ("val_fraction", val_fraction, 1.0),
            ("adam_beta1", adam_beta1, 1.0),
            ("label_noise", label_noise, 0.5),
            ("label_flip", label_flip, 0.5),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{name}: {key} must be a number, got {value!r}")
            if not 0.0 <= value < high or (key == "val_fraction" and value == 0):
                raise ConfigError(f"{name}: {key} must be in [0, {high}), got {value}")
        epochs_to_save = None
        if image_epochs is not None:
            epochs_to_save = sorted({int(e) for e in image_epochs})
            if any(e < 1 for e in epochs_to_save):
                raise ConfigError(f"{name}: image_epochs must be epochs >= 1, got {image_epochs}")
        self.data_dir = data_dir
        self.train_size = train_size
        self.val_fraction = float(val_fraction)
        self.epochs = epochs
        self.seed = seed
        self.device = device
        self.num_threads = num_threads
        self.batch_size = batch_size
        self.latent_size = latent_size
        self.adam_beta1 = float(adam_beta1)
        self.tune_learning_rates = bool(tune_learning_rates)
        self.tune_latent_size = bool(tune_latent_size)
        self.metric = metric
        self.mode = "max" if GAN_METRICS[metric] == "max" else "min"
        self.eval_samples = eval_samples
        self.is_splits = is_splits
        self.label_noise = float(label_noise)
        self.label_flip = float(label_flip)
        self.artifact_dir = artifact_dir
        self.image_epochs = epochs_to_save
        self.classifier_dir = classifier_dir
        self.download = bool(download)
        self._splits: DatasetSplits | None = None
        self._classifier: MnistClassifier | None = None
        self._reference: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None

    def options(self) -> dict[str, Any]:
        return {
            "data_dir": self.data_dir,
            "train_size": self.train_size,
            "val_fraction": self.val_fraction,
            "epochs": self.epochs,
            "seed": self.seed,
            "device": self.device,
            "num_threads": self.num_threads,
            "batch_size": self.batch_size,
            "latent_size": self.latent_size,
            "adam_beta1": self.adam_beta1,
            "tune_learning_rates": self.tune_learning_rates,
            "tune_latent_size": self.tune_latent_size,
            "metric": self.metric,
            "eval_samples": self.eval_samples,
            "is_splits": self.is_splits,
            "label_noise": self.label_noise,
            "label_flip": self.label_flip,
            "artifact_dir": self.artifact_dir,
            "image_epochs": self.image_epochs,
            "classifier_dir": self.classifier_dir,
            "download": self.download,
        }

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_splits=None, _classifier=None, _reference=None)
        return state

    # -- data and the scoring classifier ------------------------------------------------
    @property
    def splits(self) -> DatasetSplits:
        if self._splits is None:
            self._splits = load_image_splits(
                MNIST,
                self.data_dir,
                seed=self.seed,
                val_fraction=self.val_fraction,
                train_size=self.train_size,
                download=self.download,
            )
        return self._splits

    @property
    def classifier(self) -> MnistClassifier:
        if self._classifier is None:
            self._classifier = mnist_classifier(
                self.data_dir, self.classifier_dir, device=self._device()
            )
        return self._classifier

    def _device(self) -> torch.device:
        return resolve_device(self.device)

    # -- the space -------------------------------------------------------------------------
    def define(self, hp: HyperParameters) -> dict[str, Value]:
        """Define the search space on ``hp`` and return the active configuration."""
        params: dict[str, Value] = {
            "d_dropout": hp.Float("d_dropout", 0.0, 0.9),
            "g_activation": hp.Choice("g_activation", list(G_ACTIVATIONS)),
            "batch_norm": hp.Boolean("batch_norm"),
        }
        if self.tune_learning_rates:
            params["g_learning_rate"] = hp.Float("g_learning_rate", 1e-5, 1e-3, sampling="log")
            params["d_learning_rate"] = hp.Float("d_learning_rate", 1e-5, 1e-3, sampling="log")
        if self.tune_latent_size:
            params["latent_size"] = hp.Int("latent_size", 16, 256, sampling="log")
        return params

    def _latent(self, params: Mapping[str, Value]) -> int:
        return int(params.get("latent_size", self.latent_size))

    def build(self, params: Mapping[str, Value]) -> tuple[Generator, Discriminator]:
        """The two networks for a configuration (not yet on a device)."""
        batch_norm = bool(params.get("batch_norm", False))
        generator = Generator(self._latent(params), str(params["g_activation"]), batch_norm)
        discriminator = Discriminator(_float(params, "d_dropout"), batch_norm)
        return generator, discriminator

    # -- tuning ----------------------------------------------------------------------------
    def objective(self, trial: Trial) -> dict[str, float]:
        """Train one configuration; report losses, IS, FID and confusion every epoch.

        Starts from ``trial.load_checkpoint()`` when there is one. Returns the metrics
        of the epoch that was best by the task's metric, with ``best_epoch``.
        """
        with tuning_phase(f"{self.name} trial {trial.number}"):
            return self._objective(trial)

    def _objective(self, trial: Trial) -> dict[str, float]:
        params = self.define(trial.hp)
        epochs = self.epochs if trial.budget is None else trial.budget
        if epochs < 1:
            raise ValueError(f"{self.name}: trial budget must be >= 1 epoch, got {epochs}")
        state = trial.load_checkpoint()
        folder = self._trial_folder(trial)
        history: dict[str, list[float]] = {"g_loss": [], "d_loss": []}
        epochs_seen: list[int] = []
        grids: dict[str, str] = {}
        best: dict[str, float] = {}
        if state is not None:
            history = {k: list(v) for k, v in state["history"].items()}
            epochs_seen = list(state["epochs"])
            grids = dict(state["grids"])
            best = dict(state["best"])
        sign = 1.0 if self.mode == "max" else -1.0
        grid_noise = self._noise(_GRID_NOISE, GRID_IMAGES, self._latent(params))

        def after_epoch(nets: _Nets, epoch: int, losses: dict[str, float]) -> None:
            metrics = {**losses, **self._evaluate(nets, params, real=None)}
            for key in history:
                history[key].append(losses[key])
            epochs_seen.append(epoch)
            if not best or sign * metrics[self.metric] > sign * best[self.metric]:
                best.clear()
                best.update(metrics, best_epoch=float(epoch))
            trial.set_user_attr("confusion_matrix", _confusion_attr(metrics))
            if folder is not None:
                self._save_artifacts(
                    trial, nets, folder, epoch, grid_noise, history, epochs_seen, grids
                )

            def checkpoint() -> dict[str, Any]:
                return {
                    **nets.state_dict(),
                    "epoch": epoch,
                    "history": {k: list(v) for k, v in history.items()},
                    "epochs": list(epochs_seen),
                    "grids": dict(grids),
                    "best": dict(best),
                }

            trial.report(epoch, metrics, checkpoint=checkpoint)

        splits = self.splits
        self._train(
            params,
            splits.x_train,
            epochs=epochs,
            seed=derive_seed(self.seed, _TUNING_STREAM, trial.number),
            state=state,
            on_epoch=after_epoch,
        )
        return dict(best)

    def final_evaluation(self, params: Mapping[str, Value], epochs: int) -> dict[str, float]:
        """Retrain on train+validation for ``epochs`` epochs; score once against test images.

        Returns ``test_inception_score`` (and ``_std``), ``test_fid`` against the real
        test images, and the discriminator's confusion on test vs generated images.
        """
        if epochs < 1:
            raise ValueError(f"{self.name}: final_evaluation needs epochs >= 1, got {epochs}")
        x, _ = self.splits.train_val()
        nets = self._train(params, x, epochs=epochs, seed=derive_seed(self.seed, _FINAL_STREAM))
        with self.splits.test.unsealed(f"{self.name}.final_evaluation") as (x_test, _):
            metrics = self._evaluate(nets, params, real=x_test)
        return {f"test_{k}": v for k, v in metrics.items()}

    # -- training --------------------------------------------------------------------------
    def _noise(self, stream: int, n: int, latent: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(derive_seed(self.seed, stream))
        return torch.randn(n, latent, generator=generator)

    def _train(
        self,
        params: Mapping[str, Value],
        x: NDArray[Any],
        *,
        epochs: int,
        seed: int,
        state: Mapping[str, Any] | None = None,
        on_epoch: Any = None,
    ) -> _Nets:
        """Build (or restore) and train both networks; the one training path of the task."""
        device = self._device()
        images = torch.from_numpy(images_to_input(x)).to(device)
        with isolated_torch(seed, device, self.num_threads) as generator:
            g, d = self.build(params)
            nets = _Nets(
                g.to(device),
                d.to(device),
                g_lr=_float(params, "g_learning_rate", DEFAULT_LEARNING_RATE),
                d_lr=_float(params, "d_learning_rate", DEFAULT_LEARNING_RATE),
                beta1=self.adam_beta1,
            )
            start = 0
            if state is not None:
                nets.load_state_dict(state)
                start = int(state["epoch"])
            for epoch in range(start + 1, epochs + 1):
                epoch_seed = derive_seed(seed, epoch)
                torch.manual_seed(epoch_seed)
                generator.manual_seed(epoch_seed)
                losses = nets.train_epoch(
                    images,
                    batch_size=self.batch_size,
                    generator=generator,
                    label_noise=self.label_noise,
                    label_flip=self.label_flip,
                )
                if on_epoch is not None:
                    on_epoch(nets, epoch, losses)
        return nets

    # -- evaluation ------------------------------------------------------------------------
    def _reference_stats(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Feature mean and covariance of the real validation images (computed once)."""
        if self._reference is None:
            _, features = self.classifier.scores(self.splits.x_val)
            self._reference = feature_statistics(features)
        return self._reference

    def _evaluate(
        self, nets: _Nets, params: Mapping[str, Value], real: NDArray[Any] | None
    ) -> dict[str, float]:
        """IS, FID and discriminator confusion of ``eval_samples`` generated images,
        against ``real`` images (uint8) or, when None, the validation part."""
        classifier = self.classifier
        noise = self._noise(_EVAL_NOISE, self.eval_samples, self._latent(params))
        fake = nets.generate(noise)
        probs, features = classifier.scores(fake)
        is_mean, is_std = inception_score(probs, splits=self.is_splits)
        if real is None:
            reference = self._reference_stats()
            real = self.splits.x_val
        else:
            reference = feature_statistics(classifier.scores(real)[1])
        fid = frechet_distance(*reference, *feature_statistics(features))
        n = min(len(real), self.eval_samples)
        real_input = torch.from_numpy(images_to_input(real[:n]))
        confusion = discriminator_confusion(
            nets.discriminate(real_input), nets.discriminate(fake[:n])
        )
        return {
            "inception_score": is_mean,
            "inception_score_std": is_std,
            "fid": fid,
            **confusion.as_metrics("d_"),
        }

    # -- artifacts ---------------------------------------------------------------------------
    def _trial_folder(self, trial: Trial) -> Path | None:
        own = getattr(trial, "artifact_dir", None)
        if own is not None:
            return Path(own)
        if self.artifact_dir is None:
            return None
        study = trial.study_name or "study"
        return Path(self.artifact_dir).expanduser().resolve() / study / f"trial-{trial.number:04d}"

    def _save_artifacts(
        self,
        trial: Trial,
        nets: _Nets,
        folder: Path,
        epoch: int,
        grid_noise: torch.Tensor,
        history: Mapping[str, Sequence[float]],
        epochs_seen: Sequence[int],
        grids: dict[str, str],
    ) -> None:
        from tunelab.metrics.images import save_image_grid, save_loss_curves

        if self.image_epochs is None or epoch in self.image_epochs:
            images = nets.generate(grid_noise).numpy()
            path = save_image_grid(images, folder / f"grid-epoch-{epoch:03d}.png")
            grids[str(epoch)] = str(path)
        curves = save_loss_curves(
            history, folder / "losses.png", epochs=epochs_seen, title=f"trial {trial.number}"
        )
        trial.set_user_attr("image_grids", dict(grids))
        trial.set_user_attr("gan_artifacts", {"dir": str(folder), "loss_curves": str(curves)})


def _confusion_attr(metrics: Mapping[str, float]) -> dict[str, Any]:
    """The discriminator's confusion in an epoch's metrics, as the report reads it
    (rows: real, generated images; columns: judged real, judged generated)."""
    return {
        "labels": ["real", "generated"],
        "matrix": [
            [metrics["d_real_as_real"], metrics["d_real_as_fake"]],
            [metrics["d_fake_as_real"], metrics["d_fake_as_fake"]],
        ],
    }


class _Nets:
    """Generator, discriminator and their optimizers: one training step, one state."""

    def __init__(
        self, g: Generator, d: Discriminator, *, g_lr: float, d_lr: float, beta1: float = 0.5
    ) -> None:
        self.g = g
        self.d = d
        self.g_optimizer = torch.optim.Adam(g.parameters(), lr=g_lr, betas=(beta1, 0.999))
        self.d_optimizer = torch.optim.Adam(d.parameters(), lr=d_lr, betas=(beta1, 0.999))
        self.loss = nn.BCEWithLogitsLoss()

    @property
    def device(self) -> torch.device:
        return next(self.g.parameters()).device

    def _targets(
        self, real: bool, n: int, noise: float, flip: float, generator: torch.Generator
    ) -> torch.Tensor:
        jitter = torch.rand(n, 1, generator=generator) * noise
        targets = 1.0 - jitter if real else jitter
        flipped = torch.rand(n, 1, generator=generator) < flip
        targets = torch.where(flipped, 1.0 - targets, targets)
        return targets.to(self.device)

    def train_epoch(
        self,
        images: torch.Tensor,
        *,
        batch_size: int,
        generator: torch.Generator,
        label_noise: float,
        label_flip: float,
    ) -> dict[str, float]:
        """One pass over ``images``: per batch a discriminator step on real and generated
        images with noisy targets, then a generator step; returns the mean losses."""
        self.g.train()
        self.d.train()
        n = len(images)
        order = torch.randperm(n, generator=generator).to(self.device)
        g_total = d_total = 0.0
        for start in range(0, n, batch_size):
            real = images[order[start : start + batch_size]]
            b = len(real)
            z = torch.randn(b, self.g.latent_size, generator=generator).to(self.device)
            fake = self.g(z)
            self.d_optimizer.zero_grad(set_to_none=True)
            d_loss = self.loss(
                self.d(real), self._targets(True, b, label_noise, label_flip, generator)
            ) + self.loss(
                self.d(fake.detach()), self._targets(False, b, label_noise, label_flip, generator)
            )
            d_loss.backward()
            self.d_optimizer.step()
            self.g_optimizer.zero_grad(set_to_none=True)
            g_loss = self.loss(self.d(fake), torch.ones(b, 1, device=self.device))
            g_loss.backward()
            self.g_optimizer.step()
            g_total += float(g_loss.detach()) * b
            d_total += float(d_loss.detach()) * b
        return {"g_loss": g_total / n, "d_loss": d_total / n}

    def generate(self, noise: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """Images in [-1, 1] (n, 1, 28, 28), on the CPU, from the generator in eval mode."""
        self.g.eval()
        with torch.inference_mode():
            out = [
                self.g(noise[i : i + batch_size].to(self.device)).cpu()
                for i in range(0, len(noise), batch_size)
            ]
        return torch.cat(out)

    def discriminate(self, images: torch.Tensor, batch_size: int = 500) -> NDArray[np.float64]:
        """The discriminator's probability that each image is real (eval mode)."""
        self.d.eval()
        with torch.inference_mode():
            out = [
                torch.sigmoid(self.d(images[i : i + batch_size].to(self.device))).cpu()
                for i in range(0, len(images), batch_size)
            ]
        return torch.cat(out).double().numpy().ravel()

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": to_cpu(self.g.state_dict()),
            "discriminator": to_cpu(self.d.state_dict()),
            "g_optimizer": to_cpu(self.g_optimizer.state_dict()),
            "d_optimizer": to_cpu(self.d_optimizer.state_dict()),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore networks and optimizer states; learning rates stay this trial's."""
        g_lr = self.g_optimizer.param_groups[0]["lr"]
        d_lr = self.d_optimizer.param_groups[0]["lr"]
        try:
            self.g.load_state_dict(state["generator"])
            self.d.load_state_dict(state["discriminator"])
        except RuntimeError as exc:
            raise ConfigError(
                f"mnist_gan: the checkpoint does not fit this configuration: {exc}"
            ) from None
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        for group in self.g_optimizer.param_groups:
            group["lr"] = g_lr
        for group in self.d_optimizer.param_groups:
            group["lr"] = d_lr
