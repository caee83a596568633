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

from abc import abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention
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

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "selu": nn.SELU,
    "silu": nn.SiLU,
}
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
LAYER_STRUCTURES = ("uniform", "ascending", "descending", "free")
MIN_WIDTH = 4

_TUNING_STREAM = 0
_FINAL_STREAM = 1

EpochCallback = Callable[[nn.Module, torch.optim.Optimizer, int, float], bool]
"""Called after each training epoch with (model, optimizer, epoch counted from 1, mean
training loss); returns False to stop training."""


# -- the search space ----------------------------------------------------------------------
def define_mlp_space(
    hp: HyperParameters,
    *,
    max_layers: int = 5,
    units: tuple[int, int] = (16, 512),
    batch_size: tuple[int, int] = (16, 512),
) -> dict[str, Value]:
    """Define the MLP space on ``hp`` and return the active configuration.

    - ``n_layers`` (1..max_layers) hidden layers. From two layers on,
      ``layer_structure`` says how widths relate: ``uniform`` (all ``units`` wide),
      ``descending`` / ``ascending`` (the widest layer, first or last, is ``units``
      wide and widths shrink geometrically towards the other end, where the layer is
      ``width_ratio`` times as wide), or ``free`` (``units`` for the first layer and
      ``units_2`` .. ``units_n`` for the others). Being one categorical choice with
      four values, each structure is as likely as free widths.
    - Per hidden layer ``i``: ``dropout_i`` on/off and, when on, ``dropout_rate_i``.
    - ``activation``, ``optimizer`` (``momentum`` for rmsprop and sgd),
      ``learning_rate`` (log) and ``batch_size`` (log integer).
    """
    params: dict[str, Value] = {}
    n_layers = hp.Int("n_layers", 1, max_layers)
    params["n_layers"] = n_layers
    if max_layers >= 2:
        with hp.conditional_scope("n_layers", list(range(2, max_layers + 1))):
            structure = hp.Choice("layer_structure", list(LAYER_STRUCTURES))
        if structure is not None:
            params["layer_structure"] = structure
    params["units"] = hp.Int("units", units[0], units[1], sampling="log")
    if max_layers >= 2:
        with (
            hp.conditional_scope("n_layers", list(range(2, max_layers + 1))),
            hp.conditional_scope("layer_structure", ["ascending", "descending"]),
        ):
            ratio = hp.Float("width_ratio", 0.1, 0.9)
        if ratio is not None:
            params["width_ratio"] = ratio
    for i in range(2, max_layers + 1):
        with (
            hp.conditional_scope("n_layers", list(range(i, max_layers + 1))),
            hp.conditional_scope("layer_structure", ["free"]),
        ):
            width = hp.Int(f"units_{i}", units[0], units[1], sampling="log")
        if width is not None:
            params[f"units_{i}"] = width
    for i in range(1, max_layers + 1):
        with hp.conditional_scope("n_layers", list(range(i, max_layers + 1))):
            dropout = hp.Boolean(f"dropout_{i}")
            with hp.conditional_scope(f"dropout_{i}", [True]):
                rate = hp.Float(f"dropout_rate_{i}", 0.05, 0.5)
        if dropout is not None:
            params[f"dropout_{i}"] = dropout
        if rate is not None:
            params[f"dropout_rate_{i}"] = rate
    params["activation"] = hp.Choice("activation", list(ACTIVATIONS))
    optimizer = hp.Choice("optimizer", list(OPTIMIZERS))
    params["optimizer"] = optimizer
    with hp.conditional_scope("optimizer", ["rmsprop", "sgd"]):
        momentum = hp.Float("momentum", 0.5, 0.99)
    if momentum is not None:
        params["momentum"] = momentum
    params["learning_rate"] = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    params["batch_size"] = hp.Int("batch_size", batch_size[0], batch_size[1], sampling="log")
    return params


def _get(params: Mapping[str, Value], key: str) -> Value:
    try:
        return params[key]
    except KeyError:
        raise ConfigError(f"MLP configuration has no value for {key!r}") from None


def layer_widths(params: Mapping[str, Value]) -> list[int]:
    """Hidden-layer widths a configuration describes (see :func:`define_mlp_space`)."""
    n_layers = int(_get(params, "n_layers"))
    units = int(_get(params, "units"))
    structure = str(params.get("layer_structure", "uniform")) if n_layers > 1 else "uniform"
    if structure == "uniform":
        return [units] * n_layers
    if structure == "free":
        return [units] + [int(_get(params, f"units_{i}")) for i in range(2, n_layers + 1)]
    if structure not in ("ascending", "descending"):
        raise ConfigError(f"unknown layer_structure {structure!r}; one of {LAYER_STRUCTURES}")
    ratio = float(_get(params, "width_ratio"))
    shrinking = [
        max(MIN_WIDTH, round(units * ratio ** (i / (n_layers - 1)))) for i in range(n_layers)
    ]
    return shrinking if structure == "descending" else shrinking[::-1]


def dropout_rates(params: Mapping[str, Value]) -> list[float]:
    """The dropout rate after each hidden layer (0.0 where dropout is off)."""
    n_layers = int(_get(params, "n_layers"))
    rates = []
    for i in range(1, n_layers + 1):
        on = bool(params.get(f"dropout_{i}", False))
        rates.append(float(_get(params, f"dropout_rate_{i}")) if on else 0.0)
    return rates


def build_mlp(params: Mapping[str, Value], n_inputs: int, n_classes: int) -> nn.Sequential:
    """The network for a configuration: per hidden layer Linear -> activation
    [-> Dropout], then a linear output layer producing logits."""
    name = str(_get(params, "activation"))
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; one of {sorted(ACTIVATIONS)}")
    activation = ACTIVATIONS[name]
    layers: list[nn.Module] = []
    width = n_inputs
    for units, rate in zip(layer_widths(params), dropout_rates(params), strict=True):
        layers += [nn.Linear(width, units), activation()]
        if rate > 0:
            layers.append(nn.Dropout(rate))
        width = units
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


def make_optimizer(params: Mapping[str, Value], model: nn.Module) -> torch.optim.Optimizer:
    """The configured optimizer over ``model``'s parameters.

    Adam and AdamW run fused where PyTorch supports it (about a third faster per step
    on small nets); RMSprop and SGD use ``momentum``.
    """
    name = str(_get(params, "optimizer"))
    lr = float(_get(params, "learning_rate"))
    device = next(model.parameters()).device
    fused = True if device.type in ("cpu", "cuda") else None
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, fused=fused)
    if name == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr, fused=fused)
    momentum = float(_get(params, "momentum"))
    if name == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=lr, momentum=momentum)
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    raise ConfigError(f"unknown optimizer {name!r}; one of {OPTIMIZERS}")


def apply_hyperparameters(optimizer: torch.optim.Optimizer, params: Mapping[str, Value]) -> None:
    """Set learning rate (and momentum) from ``params`` on an optimizer whose state was
    loaded from a checkpoint: after a PBT clone the state is the donor's, the
    hyperparameters are this trial's."""
    for group in optimizer.param_groups:
        group["lr"] = float(_get(params, "learning_rate"))
        if "momentum" in group and "momentum" in params:
            group["momentum"] = float(params["momentum"])


# -- training ----------------------------------------------------------------------------
def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int,
    generator: torch.Generator,
) -> float:
    """One shuffled pass of cross-entropy training; returns the mean training loss.

    ``generator`` (a CPU generator) decides the batch order, so a seed fixes it.
    """
    model.train()
    n = len(x)
    order = torch.randperm(n, generator=generator).to(x.device)
    total = torch.zeros((), device=x.device)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(idx)
    return float(total) / n


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of ``model`` on ``(x, y)``, in chunks of 8192 rows."""
    model.eval()
    correct = torch.zeros((), device=x.device)
    total_loss = torch.zeros((), device=x.device)
    with torch.inference_mode():
        for start in range(0, len(x), 8192):
            logits = model(x[start : start + 8192])
            target = y[start : start + 8192]
            total_loss += F.cross_entropy(logits, target, reduction="sum")
            correct += (logits.argmax(dim=1) == target).sum()
    return float(correct) / len(x), float(total_loss) / len(x)


class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs
    (Keras's EarlyStopping on ``val_loss`` with ``min_delta``); None never stops."""

    def __init__(self, patience: int | None, min_delta: float = 0.0) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = float("inf")
        self.bad_epochs = 0

    def update(self, val_loss: float) -> bool:
        """Record an epoch's validation loss; True when training should stop."""
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss = val_loss
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        return self.patience is not None and self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, float]:
        return {"best_loss": self.best_loss, "bad_epochs": float(self.bad_epochs)}

    def load_state_dict(self, state: Mapping[str, float]) -> None:
        self.best_loss = float(state["best_loss"])
        self.bad_epochs = int(state["bad_epochs"])


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

            trial.report(epoch, metrics, checkpoint=checkpoint)
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
            batch_size = int(_get(params, "batch_size"))
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
