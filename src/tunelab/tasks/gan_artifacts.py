"""What a GAN trial leaves for the report: its artifact folder, PNG grids of generated
images, loss curves and the discriminator's confusion matrix as a trial attribute."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from tunelab.tasks.gan_pair import GanPair
    from tunelab.trial import Trial


def trial_folder(trial: Trial, artifact_dir: str | Path | None) -> Path | None:
    """The trial's own artifact folder, else ``<artifact_dir>/<study>/trial-<number>``."""
    own = getattr(trial, "artifact_dir", None)
    if own is not None:
        return Path(own)
    if artifact_dir is None:
        return None
    study = trial.study_name or "study"
    return Path(artifact_dir).expanduser().resolve() / study / f"trial-{trial.number:04d}"


def save_epoch_artifacts(
    trial: Trial,
    nets: GanPair,
    folder: Path,
    epoch: int,
    *,
    image_epochs: Sequence[int] | None,
    grid_noise: torch.Tensor,
    history: Mapping[str, Sequence[float]],
    epochs_seen: Sequence[int],
    grids: dict[str, str],
) -> None:
    """Save the epoch's image grid (when ``image_epochs`` holds it; None: every epoch) and
    the loss curves so far, and name them in the trial's user attributes."""
    from tunelab.metrics.images import save_image_grid, save_loss_curves

    if image_epochs is None or epoch in image_epochs:
        images = nets.generate(grid_noise).numpy()
        path = save_image_grid(images, folder / f"grid-epoch-{epoch:03d}.png")
        grids[str(epoch)] = str(path)
    curves = save_loss_curves(
        history, folder / "losses.png", epochs=epochs_seen, title=f"trial {trial.number}"
    )
    trial.set_user_attr("image_grids", dict(grids))
    trial.set_user_attr("gan_artifacts", {"dir": str(folder), "loss_curves": str(curves)})


def confusion_attr(metrics: Mapping[str, float]) -> dict[str, Any]:
    """The discriminator's confusion in an epoch's metrics, as the report reads it
    (rows: real, generated images; columns: judged real, judged generated)."""
    return {
        "labels": ["real", "generated"],
        "matrix": [
            [metrics["d_real_as_real"], metrics["d_real_as_fake"]],
            [metrics["d_fake_as_real"], metrics["d_fake_as_fake"]],
        ],
    }
