"""PyTorch MLP classifiers on the 8x8 digits, MNIST and Fashion-MNIST.

The search space is the one people tune for MLPs (see :func:`define_mlp_space`):
1-5 hidden layers whose widths follow a layer structure, per-layer dropout, the
activation, the optimizer (with momentum where it has one), a log-scaled learning
rate and a log-scaled batch size. Training stops early when the validation loss has
not improved for ``patience`` epochs. Every epoch reports ``val_accuracy``,
``val_loss`` and ``train_loss``, and offers a checkpoint (model + optimizer + epoch)
so a scheduler can pause the trial and resume it later, or PBT clone it.

Batches come from plain tensor indexing with a seeded permutation, reseeded every
epoch, so a resumed trial trains exactly as an uninterrupted one would; a DataLoader
costs more than the training step itself on data this small.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from tunelab.errors import ConfigError
from tunelab.tasks.base import Task
from tunelab.tasks.data import DatasetSplits, load_digits_splits
from tunelab.tasks.datasets import FASHION_MNIST, MNIST, IdxDataset, load_image_splits
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
from tunelab.tasks.mlp_network import (
    ACTIVATIONS,
    LAYER_STRUCTURES,
    MIN_WIDTH,
    OPTIMIZERS,
    apply_hyperparameters,
    build_mlp,
    config_value,
    define_mlp_space,
    dropout_rates,
    layer_widths,
    make_optimizer,
)
from tunelab.tasks.mlp_training import EarlyStopping, EpochCallback, evaluate, train_one_epoch

__all__ = [
    "ACTIVATIONS",
    "LAYER_STRUCTURES",
    "MIN_WIDTH",
    "OPTIMIZERS",
    "DigitsMLP",
    "EarlyStopping",
    "EpochCallback",
    "FashionMLP",
    "ImageMLP",
    "MLPTask",
    "MnistMLP",
    "apply_hyperparameters",
    "build_mlp",
    "define_mlp_space",
    "dropout_rates",
    "evaluate",
    "layer_widths",
    "make_optimizer",
    "train_one_epoch",
]

_TUNING_STREAM = 0
_FINAL_STREAM = 1


# -- the tasks ---------------------------------------------------------------------------
class MLPTask(Task):
    """Tune an MLP classifier; judged by validation accuracy (max).

    Subclasses say where the data comes from (:meth:`load_splits`) and how inputs
    become float features (:meth:`features`). Each trial trains for ``trial.budget``
    epochs (``epochs`` when the budget is None), stopping early after ``patience``
    epochs without a better validation loss, with torch seeds drawn from ``(seed,
    trial.number, epoch)``: rerunning, pausing and resuming a study reproduce it on the
    same device. ``num_threads=None`` trains on one CPU thread: these matrices are
    small, so a second intra-op thread saves little wall time and stalls when other
    processes compete for the cores. The caller's thread setting is restored after.
    """

    metric = "val_accuracy"
    mode = "max"
    units_range: ClassVar[tuple[int, int]] = (16, 512)
    batch_size_range: ClassVar[tuple[int, int]] = (16, 512)

    def __init__(
        self,
        *,
        epochs: int = 20,
        seed: int = 0,
        max_layers: int = 5,
        patience: int | None = 5,
        device: str | None = None,
        num_threads: int | None = None,
    ) -> None:
        check_int_option(self.name, "epochs", epochs, 1)
        check_int_option(self.name, "seed", seed, 0)
        check_int_option(self.name, "max_layers", max_layers, 1)
        check_int_option(self.name, "patience", patience, 1, optional=True)
        check_int_option(self.name, "num_threads", num_threads, 1, optional=True)
        check_device(self.name, device)
        self.epochs = epochs
        self.seed = seed
        self.max_layers = max_layers
        self.patience = patience
        self.device = device
        self.num_threads = num_threads
        self._splits: DatasetSplits | None = None

    def options(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "seed": self.seed,
            "max_layers": self.max_layers,
            "patience": self.patience,
            "device": self.device,
            "num_threads": self.num_threads,
        }

    def __getstate__(self) -> dict[str, Any]:
        # Sent to worker processes without the loaded data; each loads its own.
        state = dict(self.__dict__)
        state["_splits"] = None
        return state

    @abstractmethod
    def load_splits(self) -> DatasetSplits:
        """Load the train/validation/(sealed) test parts."""

    @abstractmethod
    def features(self, x: NDArray[Any]) -> NDArray[np.float32]:
        """Inputs as float32 rows of features, shape (n, n_features)."""

    @property
    def splits(self) -> DatasetSplits:
        """The train/validation/test parts, loaded on first use."""
        if self._splits is None:
            self._splits = self.load_splits()
        return self._splits

    def define(self, hp: HyperParameters) -> dict[str, Value]:
        """Define the search space on ``hp`` and return the active configuration."""
        return define_mlp_space(
            hp,
            max_layers=self.max_layers,
            units=self.units_range,
            batch_size=self.batch_size_range,
        )

    def objective(self, trial: Trial) -> dict[str, float]:
        """Train one configuration, reporting validation metrics after every epoch.

        Starts from ``trial.load_checkpoint()`` when there is one. Returns the best
        validation accuracy over the epochs (ties go to the lower validation loss), the
        validation loss and epoch where it was reached, the epochs trained and whether
        early stopping ended training.
        """
        with tuning_phase(f"{self.name} trial {trial.number}"):
            return self._objective(trial)

    def _objective(self, trial: Trial) -> dict[str, float]:
        params = self.define(trial.hp)
        epochs = self.epochs if trial.budget is None else trial.budget
        if epochs < 1:
            raise ValueError(f"{self.name}: trial budget must be >= 1 epoch, got {epochs}")
        state = trial.load_checkpoint()
        splits = self.splits
        x_val, y_val = self._tensors(splits.x_val, splits.y_val)
        stopper = EarlyStopping(self.patience)
        best = {"val_accuracy": -1.0, "val_loss": float("inf"), "best_epoch": 0.0}
        progress = {"epochs_trained": 0.0, "stopped_early": 0.0}
        if state is not None:
            stopper.load_state_dict(state["early_stopping"])
            best.update(state["best"])
            progress["epochs_trained"] = float(state["epoch"])

        def after_epoch(
            model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int, train_loss: float
        ) -> bool:
            accuracy, loss = evaluate(model, x_val, y_val)
            if (accuracy, -loss) > (best["val_accuracy"], -best["val_loss"]):
                best.update(val_accuracy=accuracy, val_loss=loss, best_epoch=float(epoch))
            stop = stopper.update(loss)
            progress.update(epochs_trained=float(epoch), stopped_early=float(stop))
            metrics = {"val_accuracy": accuracy, "val_loss": loss, "train_loss": train_loss}

            def checkpoint() -> dict[str, Any]:
                return {
                    "epoch": epoch,
                    "model": to_cpu(model.state_dict()),
                    "optimizer": to_cpu(optimizer.state_dict()),
                    "early_stopping": stopper.state_dict(),
                    "best": dict(best),
                    "widths": layer_widths(params),
                }

            trial.report(epoch, metrics, checkpoint=checkpoint, last=stop or epoch == epochs)
            return not stop

        self._train(
            params,
            splits.x_train,
            splits.y_train,
            epochs=epochs,
            seed=derive_seed(self.seed, _TUNING_STREAM, trial.number),
            state=state,
            on_epoch=after_epoch,
        )
        return {**best, **progress}

    def final_evaluation(self, params: Mapping[str, Value], epochs: int) -> dict[str, float]:
        """Retrain ``params`` on train+validation for ``epochs`` epochs; score once on test.

        The only place the sealed test part is opened; refused during tuning.
        """
        if epochs < 1:
            raise ValueError(f"{self.name}: final_evaluation needs epochs >= 1, got {epochs}")
        x, y = self.splits.train_val()
        model = self._train(params, x, y, epochs=epochs, seed=derive_seed(self.seed, _FINAL_STREAM))
        with self.splits.test.unsealed(f"{self.name}.final_evaluation") as (x_test, y_test):
            xt, yt = self._tensors(x_test, y_test)
            accuracy, loss = evaluate(model, xt, yt)
        return {"test_accuracy": accuracy, "test_loss": loss}

    def record_curve(
        self, params: Mapping[str, Value], epochs: int, *, index: int = 0
    ) -> list[tuple[dict[str, float], float]]:
        """Train ``params`` on the training part for ``epochs`` epochs, no early stopping,
        and return per epoch its validation *and test* metrics and its duration.

        For recording tabular benchmarks (``benchmarks/record_tables.py``) only: it opens
        the sealed test part, so it is refused during tuning. ``index`` seeds the run as
        the objective seeds trial number ``index``. The time covers training and
        validating the epoch (what a trial spends on it), not the test evaluation. On a
        CPU it is the process's CPU time, which other load on the machine barely changes
        (the recording script trains on one torch thread), so it is what the epoch takes
        on a dedicated core; on a GPU it is wall time (the evaluation's ``.item()`` waits
        for the device).
        """
        if epochs < 1:
            raise ValueError(f"{self.name}: record_curve needs epochs >= 1, got {epochs}")
        splits = self.splits
        x_val, y_val = self._tensors(splits.x_val, splits.y_val)
        with splits.test.unsealed(f"{self.name}.record_curve") as (x_test, y_test):
            xt, yt = self._tensors(x_test, y_test)
        rows: list[tuple[dict[str, float], float]] = []
        timer = time.process_time if self._device().type == "cpu" else time.perf_counter
        clock = [timer()]

        def after_epoch(
            model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int, train_loss: float
        ) -> bool:
            accuracy, loss = evaluate(model, x_val, y_val)
            seconds = timer() - clock[0]
            test_accuracy, test_loss = evaluate(model, xt, yt)
            metrics = {"val_accuracy": accuracy, "val_loss": loss, "train_loss": train_loss}
            rows.append(
                ({**metrics, "test_accuracy": test_accuracy, "test_loss": test_loss}, seconds)
            )
            clock[0] = timer()
            return True

        self._train(
            params,
            splits.x_train,
            splits.y_train,
            epochs=epochs,
            seed=derive_seed(self.seed, _TUNING_STREAM, index),
            on_epoch=after_epoch,
        )
        return rows

    def _device(self) -> torch.device:
        return resolve_device(self.device)

    def _tensors(self, x: NDArray[Any], y: NDArray[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        device = self._device()
        return (
            torch.from_numpy(self.features(x)).to(device),
            torch.tensor(np.asarray(y, dtype=np.int64), device=device),
        )

    def _train(
        self,
        params: Mapping[str, Value],
        x: NDArray[Any],
        y: NDArray[Any],
        *,
        epochs: int,
        seed: int,
        state: Mapping[str, Any] | None = None,
        on_epoch: EpochCallback | None = None,
    ) -> nn.Module:
        """Build (or restore) and train the network for ``params``: the one training path.

        Epoch ``e`` reseeds torch with ``(seed, e)``, so training epochs ``k+1..n`` from
        a checkpoint of epoch ``k`` gives the same result as training ``1..n`` at once.
        """
        device = self._device()
        xt, yt = self._tensors(x, y)
        threads = self.num_threads
        if threads is None and device.type == "cpu":
            threads = 1
        with isolated_torch(seed, device, threads) as generator:
            model = build_mlp(params, xt.shape[1], self.splits.n_classes).to(device)
            optimizer = make_optimizer(params, model)
            start = 0
            if state is not None:
                if list(state.get("widths", [])) != layer_widths(params):
                    raise ConfigError(
                        f"{self.name}: checkpoint holds layers {state.get('widths')} but the "
                        f"configuration has {layer_widths(params)}"
                    )
                model.load_state_dict(state["model"])
                optimizer.load_state_dict(state["optimizer"])
                apply_hyperparameters(optimizer, params)
                start = int(state["epoch"])
            batch_size = int(config_value(params, "batch_size"))
            for epoch in range(start + 1, epochs + 1):
                epoch_seed = derive_seed(seed, epoch)
                torch.manual_seed(epoch_seed)
                generator.manual_seed(epoch_seed)
                train_loss = train_one_epoch(
                    model, optimizer, xt, yt, batch_size=batch_size, generator=generator
                )
                if on_epoch is not None and not on_epoch(model, optimizer, epoch, train_loss):
                    break
        return model


class DigitsMLP(MLPTask):
    """The MLP on scikit-learn's 8x8 digits (1797 images): split 60/20/20, stratified
    by ``seed``; no download needed, so a whole study runs in seconds."""

    name = "digits_mlp"
    batch_size_range = (16, 256)

    def load_splits(self) -> DatasetSplits:
        return load_digits_splits(seed=self.seed)

    def features(self, x: NDArray[Any]) -> NDArray[np.float32]:
        return np.array(x, dtype=np.float32)  # a writable copy: torch shares its memory


class ImageMLP(MLPTask):
    """The MLP on a 28x28 IDX image dataset: pixels scaled to [0, 1] and flattened.

    The official test part is held back (sealed); the training part, or a stratified
    ``train_size`` subset of it, is split into train and validation (``val_fraction``
    of it). Files come from ``data_dir`` (default: ``TUNELAB_DATA_DIR``, then the user
    cache), downloaded when missing and ``download`` is on.
    """

    dataset: ClassVar[IdxDataset]
    batch_size_range = (32, 512)

    def __init__(
        self,
        *,
        data_dir: str | None = None,
        train_size: int | None = None,
        val_fraction: float = 0.2,
        epochs: int = 20,
        seed: int = 0,
        max_layers: int = 5,
        patience: int | None = 5,
        device: str | None = None,
        num_threads: int | None = None,
        download: bool = True,
    ) -> None:
        super().__init__(
            epochs=epochs,
            seed=seed,
            max_layers=max_layers,
            patience=patience,
            device=device,
            num_threads=num_threads,
        )
        check_int_option(self.name, "train_size", train_size, 20, optional=True)
        if isinstance(val_fraction, bool) or not isinstance(val_fraction, int | float):
            raise ConfigError(f"{self.name}: val_fraction must be a number, got {val_fraction!r}")
        if not 0.0 < val_fraction < 1.0:
            raise ConfigError(f"{self.name}: val_fraction must be in (0, 1), got {val_fraction}")
        self.data_dir = None if data_dir is None else str(Path(data_dir).expanduser())
        self.train_size = train_size
        self.val_fraction = float(val_fraction)
        self.download = bool(download)

    def options(self) -> dict[str, Any]:
        return {
            "data_dir": self.data_dir,
            "train_size": self.train_size,
            "val_fraction": self.val_fraction,
            **super().options(),
            "download": self.download,
        }

    def load_splits(self) -> DatasetSplits:
        return load_image_splits(
            self.dataset,
            self.data_dir,
            seed=self.seed,
            val_fraction=self.val_fraction,
            train_size=self.train_size,
            download=self.download,
        )

    def features(self, x: NDArray[Any]) -> NDArray[np.float32]:
        flat = np.asarray(x).reshape(len(x), -1)
        return (flat.astype(np.float32) / np.float32(255.0)).astype(np.float32, copy=False)


class MnistMLP(ImageMLP):
    """The MLP on MNIST handwritten digits (60000 training, 10000 test images)."""

    name = "mnist_mlp"
    dataset = MNIST


class FashionMLP(ImageMLP):
    """The MLP on Fashion-MNIST clothing images (60000 training, 10000 test images)."""

    name = "fashion_mlp"
    dataset = FASHION_MNIST
