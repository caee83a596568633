"""What a report shows for a GAN task, read from a strategy's best trial when present.

The names a GAN task (issue 5's ``mnist_gan``) should use; whatever is absent is simply
not shown, so every other task reports without this section:

- per-epoch report metrics ``g_loss`` and ``d_loss``: the generator's and the
  discriminator's mean training loss over the epoch (``trial.report(epoch, g_loss=...,
  d_loss=..., ...)``). ``inception_score`` and ``fid``, when reported per epoch, are
  drawn beside them.
- trial user attribute ``image_grids``: ``{"EPOCH": IMAGE, ...}`` with one PNG grid of
  generated images per chosen epoch; IMAGE is the path of a PNG file (absolute, or
  relative to the folder of the SQLite storage file) or the PNG itself, base64-encoded
  (a ``data:image/png;base64,`` prefix is allowed).
- trial user attribute ``confusion_matrix``: the discriminator on real and generated
  images, ``{"labels": ["real", "generated"], "matrix": [[real judged real, real judged
  generated], [generated judged real, generated judged generated]]}`` (rows: what the
  image is; columns: what the discriminator says; counts or fractions), or the bare
  2x2 list with those labels.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunelab.trial import TrialRecord

GENERATOR_LOSS = "g_loss"
DISCRIMINATOR_LOSS = "d_loss"
EXTRA_CURVES = ("inception_score", "fid")
IMAGE_GRIDS = "image_grids"
CONFUSION_MATRIX = "confusion_matrix"
DEFAULT_LABELS = ("real", "generated")
MAX_GRIDS = 6
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_DATA_URI = "data:image/png;base64,"


@dataclass(frozen=True)
class GanView:
    """The GAN pictures of one trial; ``problems`` says what was named but unreadable."""

    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    grids: list[tuple[int, bytes]] = field(default_factory=list)
    confusion: tuple[list[str], list[list[float]]] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.curves or self.grids or self.confusion or self.problems)


def _decoded_png(text: str) -> bytes | None:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if data.startswith(_PNG_MAGIC) else None


def _image_bytes(raw: Any, base_dir: Path | None) -> bytes | str:
    """The PNG bytes for an IMAGE value, or the reason it cannot be read."""
    if not isinstance(raw, str) or not raw:
        return f"not a path or a base64 PNG: {type(raw).__name__}"
    if raw.startswith(_DATA_URI):
        return _decoded_png(raw[len(_DATA_URI) :]) or "a data URI that does not hold a PNG"
    decoded = _decoded_png(raw)  # a path never decodes to a PNG header
    if decoded is not None:
        return decoded
    path = Path(raw).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        data = path.read_bytes()
    except OSError:
        return f"no readable file at {path}"
    return data if data.startswith(_PNG_MAGIC) else f"{path} is not a PNG"


def _confusion(raw: Any) -> tuple[list[str], list[list[float]]] | str:
    labels: Sequence[Any] = DEFAULT_LABELS
    matrix = raw
    if isinstance(raw, Mapping):
        labels = raw.get("labels") or DEFAULT_LABELS
        matrix = raw.get("matrix")
    try:
        rows = [[float(v) for v in row] for row in matrix]
    except (TypeError, ValueError):
        return f"{CONFUSION_MATRIX} is not a matrix of numbers: {raw!r}"
    if len(rows) != len(labels) or any(len(r) != len(labels) for r in rows):
        return f"{CONFUSION_MATRIX} is not {len(labels)}x{len(labels)} for labels {list(labels)}"
    return [str(label) for label in labels], rows


def _spread(items: list[tuple[int, bytes]], most: int) -> list[tuple[int, bytes]]:
    """At most ``most`` items, evenly spread, first and last kept."""
    if len(items) <= most:
        return items
    step = (len(items) - 1) / (most - 1)
    return [items[round(i * step)] for i in range(most)]


def gan_view(trial: TrialRecord, base_dir: Path | None = None) -> GanView:
    """Read the GAN pictures of ``trial`` (see the module docstring for the names)."""
    curves: dict[str, list[tuple[int, float]]] = {}
    for name in (GENERATOR_LOSS, DISCRIMINATOR_LOSS, *EXTRA_CURVES):
        points = trial.metric_history(name)
        if points:
            curves[name] = [(int(s), float(v)) for s, v in points]
    if not any(k in curves for k in (GENERATOR_LOSS, DISCRIMINATOR_LOSS)):
        curves = {}  # IS/FID alone are ordinary metrics, not a GAN's loss curves
    problems: list[str] = []
    grids: list[tuple[int, bytes]] = []
    raw_grids = trial.user_attrs.get(IMAGE_GRIDS)
    if isinstance(raw_grids, Mapping):
        for key, raw in raw_grids.items():
            try:
                epoch = int(key)
            except (TypeError, ValueError):
                problems.append(f"{IMAGE_GRIDS}: epoch {key!r} is not a number")
                continue
            image = _image_bytes(raw, base_dir)
            if isinstance(image, bytes):
                grids.append((epoch, image))
            else:
                problems.append(f"{IMAGE_GRIDS}[{key}]: {image}")
    elif raw_grids is not None:
        problems.append(f"{IMAGE_GRIDS} must map epochs to images, got {type(raw_grids).__name__}")
    confusion = None
    if CONFUSION_MATRIX in trial.user_attrs:
        parsed = _confusion(trial.user_attrs[CONFUSION_MATRIX])
        if isinstance(parsed, str):
            problems.append(parsed)
        else:
            confusion = parsed
    return GanView(
        curves=curves,
        grids=_spread(sorted(grids), MAX_GRIDS),
        confusion=confusion,
        problems=problems,
    )
