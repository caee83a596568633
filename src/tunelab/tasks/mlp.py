"""A PyTorch MLP classifier on scikit-learn's 8x8 digits: the first real built-in task.

The data set is small enough (1797 images) that a whole 20-trial study runs in seconds
on a laptop CPU, yet the search space is a realistic one: a conditional number of
layers with per-layer widths, activation, dropout, log-scaled learning rate and batch
size. Batches come from plain tensor indexing with a seeded permutation; a DataLoader
costs more than the training step itself on data this small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention
from torch import nn

from tunelab.errors import ConfigError
from tunelab.tasks.base import Task
from tunelab.tasks.data import DatasetSplits, load_digits_splits

if TYPE_CHECKING:
    from tunelab.hyperparameters import HyperParameters
    from tunelab.space import Value
    from tunelab.trial import Trial

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}

_TUNING_STREAM = 0
_FINAL_STREAM = 1

EpochCallback = Callable[[nn.Module, int, float], None]
"""Called after each training epoch with (model, epoch counted from 1, mean training loss)."""


def build_mlp(params: Mapping[str, Value], n_inputs: int, n_classes: int) -> nn.Sequential:
    """The network for a configuration: ``n_layers`` hidden blocks of
    Linear -> activation -> Dropout (``units_1`` .. ``units_{n_layers}`` wide), then a
    linear output layer producing logits."""
    try:
        n_layers = int(params["n_layers"])
        activation = ACTIVATIONS[str(params["activation"])]
        dropout = float(params["dropout"])
        widths = [int(params[f"units_{i}"]) for i in range(1, n_layers + 1)]
    except KeyError as exc:
        raise ConfigError(f"build_mlp: configuration has no usable value for {exc}") from None
    layers: list[nn.Module] = []
    width = n_inputs
    for units in widths:
        layers += [nn.Linear(width, units), activation()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = units
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


def train_epochs(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    generator: torch.Generator,
    on_epoch: EpochCallback | None = None,
) -> None:
    """Train ``model`` with Adam and cross-entropy for ``epochs`` shuffled passes.

    ``generator`` (a CPU generator) decides the batch order, so a seed fixes it. Adam
    runs fused where PyTorch supports it: about a third faster per step on small nets.
    ``on_epoch`` sees every finished epoch; an exception it raises (TrialPruned, say)
    ends training.
    """
    fused = True if x.device.type in ("cpu", "cuda") else None
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, fused=fused)
    n = len(x)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator).to(x.device)
        total = torch.zeros((), device=x.device)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(idx)
        if on_epoch is not None:
            on_epoch(model, epoch, float(total) / n)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of ``model`` on ``(x, y)`` in one forward pass."""
    model.eval()
    with torch.inference_mode():
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        accuracy = (logits.argmax(dim=1) == y).float().mean()
    return float(accuracy), float(loss)


def _derive_seed(*keys: int) -> int:
    """A well-mixed 32-bit seed from non-negative integer keys."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


class DigitsMLP(Task):
    """Tune an MLP classifier on the 8x8 digits; judged by validation accuracy.

    The data is split 60/20/20 (stratified, by ``seed``). Each trial trains for
    ``trial.budget`` epochs (``epochs`` when the budget is None) with a torch seed drawn
    from ``(seed, trial.number)``, so rerunning a study reproduces it on the same device.

    ``num_threads=None`` trains on one CPU thread: the matrices are so small that a
    second intra-op thread saves little wall time, doubles the CPU time and stalls for
    up to a second when another process competes for the cores. The caller's thread
    setting is restored after each run.
    """

    name = "digits_mlp"
    metric = "val_accuracy"
    mode = "max"

    def __init__(
        self,
        *,
        epochs: int = 20,
        seed: int = 0,
        max_layers: int = 3,
        device: str | None = None,
        num_threads: int | None = None,
    ) -> None:
        for key, value, low in (
            ("epochs", epochs, 1),
            ("seed", seed, 0),
            ("max_layers", max_layers, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"digits_mlp: {key} must be an integer >= {low}, got {value!r}")
        if num_threads is not None and (
            isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
        ):
            raise ConfigError(
                f"digits_mlp: num_threads must be a positive integer, got {num_threads!r}"
            )
        if device is not None:
            try:
                torch.device(device)
            except (RuntimeError, TypeError) as exc:
                raise ConfigError(f"digits_mlp: device {device!r} is not valid: {exc}") from None
        self.epochs = epochs
        self.seed = seed
        self.max_layers = max_layers
        self.device = device
        self.num_threads = num_threads
        self._splits: DatasetSplits | None = None

    def options(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "seed": self.seed,
            "max_layers": self.max_layers,
            "device": self.device,
            "num_threads": self.num_threads,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"DigitsMLP({args})"

    @property
    def splits(self) -> DatasetSplits:
        """The train/validation/test parts, loaded on first use."""
        if self._splits is None:
            self._splits = load_digits_splits(seed=self.seed)
        return self._splits

    def define(self, hp: HyperParameters) -> dict[str, Value]:
        """Define the search space on ``hp`` and return the active configuration."""
        n_layers = hp.Int("n_layers", 1, self.max_layers)
        params: dict[str, Value] = {"n_layers": n_layers}
        for i in range(1, self.max_layers + 1):
            with hp.conditional_scope("n_layers", list(range(i, self.max_layers + 1))):
                units: int | None = hp.Int(f"units_{i}", 16, 256, step=16)
            if units is not None:
                params[f"units_{i}"] = units
        params["activation"] = hp.Choice("activation", ["relu", "tanh", "elu", "gelu"])
        params["dropout"] = hp.Float("dropout", 0.0, 0.5)
        params["learning_rate"] = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        params["batch_size"] = hp.Choice("batch_size", [16, 32, 64, 128])
        return params

    def objective(self, trial: Trial) -> dict[str, float]:
        """Train one configuration, reporting validation metrics after every epoch.

        Returns the best validation accuracy over the epochs (ties go to the lower
        validation loss), the validation loss at that epoch and the epoch itself.
        """
        params = self.define(trial.hp)
        epochs = self.epochs if trial.budget is None else trial.budget
        if epochs < 1:
            raise ValueError(f"digits_mlp: trial budget must be >= 1 epoch, got {epochs}")
        splits = self.splits
        device = self._device()
        x_val, y_val = _tensors(splits.x_val, splits.y_val, device)
        best = {"val_accuracy": -1.0, "val_loss": float("inf"), "best_epoch": 0.0}

        def after_epoch(model: nn.Module, epoch: int, train_loss: float) -> None:
            accuracy, loss = evaluate(model, x_val, y_val)
            if (accuracy, -loss) > (best["val_accuracy"], -best["val_loss"]):
                best.update(val_accuracy=accuracy, val_loss=loss, best_epoch=float(epoch))
            trial.report(epoch, val_accuracy=accuracy, val_loss=loss, train_loss=train_loss)

        self._train(
            params,
            splits.x_train,
            splits.y_train,
            epochs=epochs,
            seed=_derive_seed(self.seed, _TUNING_STREAM, trial.number),
            on_epoch=after_epoch,
        )
        return best

    def final_evaluation(self, params: Mapping[str, Value], epochs: int) -> dict[str, float]:
        """Retrain ``params`` on train+validation for ``epochs`` epochs; score once on test."""
        if epochs < 1:
            raise ValueError(f"digits_mlp: final_evaluation needs epochs >= 1, got {epochs}")
        x, y = self.splits.train_val()
        model = self._train(
            params, x, y, epochs=epochs, seed=_derive_seed(self.seed, _FINAL_STREAM)
        )
        x_test, y_test = _tensors(self.splits.x_test, self.splits.y_test, self._device())
        accuracy, loss = evaluate(model, x_test, y_test)
        return {"test_accuracy": accuracy, "test_loss": loss}

    def _device(self) -> torch.device:
        if self.device is not None:
            return torch.device(self.device)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def _train(
        self,
        params: Mapping[str, Value],
        x: np.ndarray[Any, Any],
        y: np.ndarray[Any, Any],
        *,
        epochs: int,
        seed: int,
        on_epoch: EpochCallback | None = None,
    ) -> nn.Module:
        """Build and train the network for ``params``; the one training path of the task."""
        device = self._device()
        xt, yt = _tensors(x, y, device)
        n_classes = int(max(self.splits.y_train.max(), self.splits.y_val.max())) + 1
        threads = self.num_threads
        if threads is None and device.type == "cpu":
            threads = 1
        with _isolated_torch(seed, device, threads) as generator:
            model = build_mlp(params, xt.shape[1], n_classes).to(device)
            train_epochs(
                model,
                xt,
                yt,
                epochs=epochs,
                batch_size=int(params["batch_size"]),
                learning_rate=float(params["learning_rate"]),
                generator=generator,
                on_epoch=on_epoch,
            )
        return model


def _tensors(
    x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    return (
        torch.tensor(x, dtype=torch.float32, device=device),
        torch.tensor(y, dtype=torch.int64, device=device),
    )


@contextmanager
def _isolated_torch(
    seed: int, device: torch.device, num_threads: int | None
) -> Iterator[torch.Generator]:
    """Seed torch for one training run without disturbing the caller's RNG or threads.

    Weight init and dropout use torch's global RNG, so it is forked and seeded here;
    the yielded CPU generator drives batch order. The thread count, when set, is
    restored afterwards.
    """
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    previous_threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        try:
            yield torch.Generator().manual_seed(seed)
        finally:
            if num_threads is not None:
                torch.set_num_threads(previous_threads)
