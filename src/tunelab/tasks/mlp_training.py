"""The steps of training an MLP classifier: one shuffled epoch, evaluation in chunks,
and early stopping on the validation loss."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention
from torch import nn

EpochCallback = Callable[[nn.Module, torch.optim.Optimizer, int, float], bool]
"""Called after each training epoch with (model, optimizer, epoch counted from 1, mean
training loss); returns False to stop training."""


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
