"""The MLP's search space (:func:`define_mlp_space`), the network a configuration
builds, and its optimizer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch import nn

from tunelab.errors import ConfigError

if TYPE_CHECKING:
    from tunelab.hyperparameters import HyperParameters
    from tunelab.space import Value

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


def config_value(params: Mapping[str, Value], key: str) -> Value:
    """``params[key]``, or a ConfigError naming the missing key."""
    try:
        return params[key]
    except KeyError:
        raise ConfigError(f"MLP configuration has no value for {key!r}") from None


def layer_widths(params: Mapping[str, Value]) -> list[int]:
    """Hidden-layer widths a configuration describes (see :func:`define_mlp_space`)."""
    n_layers = int(config_value(params, "n_layers"))
    units = int(config_value(params, "units"))
    structure = str(params.get("layer_structure", "uniform")) if n_layers > 1 else "uniform"
    if structure == "uniform":
        return [units] * n_layers
    if structure == "free":
        return [units] + [int(config_value(params, f"units_{i}")) for i in range(2, n_layers + 1)]
    if structure not in ("ascending", "descending"):
        raise ConfigError(f"unknown layer_structure {structure!r}; one of {LAYER_STRUCTURES}")
    ratio = float(config_value(params, "width_ratio"))
    shrinking = [
        max(MIN_WIDTH, round(units * ratio ** (i / (n_layers - 1)))) for i in range(n_layers)
    ]
    return shrinking if structure == "descending" else shrinking[::-1]


def dropout_rates(params: Mapping[str, Value]) -> list[float]:
    """The dropout rate after each hidden layer (0.0 where dropout is off)."""
    n_layers = int(config_value(params, "n_layers"))
    rates = []
    for i in range(1, n_layers + 1):
        on = bool(params.get(f"dropout_{i}", False))
        rates.append(float(config_value(params, f"dropout_rate_{i}")) if on else 0.0)
    return rates


def build_mlp(params: Mapping[str, Value], n_inputs: int, n_classes: int) -> nn.Sequential:
    """The network for a configuration: per hidden layer Linear -> activation
    [-> Dropout], then a linear output layer producing logits."""
    name = str(config_value(params, "activation"))
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
    name = str(config_value(params, "optimizer"))
    lr = float(config_value(params, "learning_rate"))
    device = next(model.parameters()).device
    fused = True if device.type in ("cpu", "cuda") else None
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, fused=fused)
    if name == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr, fused=fused)
    momentum = float(config_value(params, "momentum"))
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
        group["lr"] = float(config_value(params, "learning_rate"))
        if "momentum" in group and "momentum" in params:
            group["momentum"] = float(params["momentum"])
