"""The pictures a trial names in its user attributes, as the trial page shows them.

A GAN trial (:mod:`tunelab.tasks.gan`) names its image grids in ``image_grids``
(``{"<epoch>": IMAGE}``) and its loss-curve PNG in ``gan_artifacts["loss_curves"]``;
IMAGE is a PNG file path (absolute, or relative to the folder of the SQLite storage
file) or the PNG itself in base64, as :mod:`tunelab.report.gan` reads them. The server
only ever serves a picture a trial names, by its index in :func:`trial_images`, and
only when the file is a PNG: a request cannot name a path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunelab.report.document import storage_folder
from tunelab.report.gan import _image_bytes
from tunelab.trial import TrialRecord

IMAGE_GRIDS = "image_grids"
GAN_ARTIFACTS = "gan_artifacts"
LOSS_CURVES = "loss_curves"


@dataclass(frozen=True)
class TrialImage:
    """One picture of a trial: what it shows and the value that locates it."""

    label: str
    source: Any


def _epoch_key(item: tuple[str, Any]) -> tuple[int, str]:
    key = item[0]
    return (int(key), key) if key.lstrip("-").isdigit() else (1 << 30, key)


def trial_images(trial: TrialRecord) -> list[TrialImage]:
    """The pictures the trial names: image grids by epoch, then its loss curves."""
    images: list[TrialImage] = []
    grids = trial.user_attrs.get(IMAGE_GRIDS)
    if isinstance(grids, Mapping):
        for epoch, source in sorted(((str(k), v) for k, v in grids.items()), key=_epoch_key):
            images.append(TrialImage(f"generated images, epoch {epoch}", source))
    artifacts = trial.user_attrs.get(GAN_ARTIFACTS)
    if isinstance(artifacts, Mapping) and artifacts.get(LOSS_CURVES):
        images.append(TrialImage("loss curves", artifacts[LOSS_CURVES]))
    return images


def image_png(image: TrialImage, storage_url: str) -> bytes | str:
    """The picture's PNG bytes, or one line saying why it cannot be shown."""
    base: Path | None = storage_folder(storage_url)
    return _image_bytes(image.source, base)
