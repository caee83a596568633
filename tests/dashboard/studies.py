"""Studies for the dashboard tests: a GAN-like objective run by ``tunelab run`` in another
process, and a finished comparison on the synthetic curve task."""

from __future__ import annotations

import time
from pathlib import Path

from tests.compare.synthetic import TASK
from tests.dashboard.server import Process, cli
from tunelab.compare import compare
from tunelab.storage import make_storage
from tunelab.trial import TrialStatus

# Stores its pictures the way the GAN task does (tunelab/tasks/gan.py): PNG grids by
# epoch in ``image_grids`` and the loss-curve PNG in ``gan_artifacts``, both drawn with
# tunelab.metrics.images, in a folder per trial.
OBJECTIVE = """
import os
import time
from pathlib import Path

import numpy as np

from tunelab.metrics.images import save_image_grid, save_loss_curves

EPOCHS = 3


def objective(trial):
    x = trial.hp.Float("x", -5.0, 10.0)
    lr = trial.hp.Float("lr", 1e-4, 1e-1, sampling="log")
    kind = trial.hp.Choice("kind", ["a", "b"])
    if kind == "b":
        trial.hp.Int("depth", 1, 4)
    folder = Path(os.environ["DASH_PICTURES"]) / f"trial-{trial.number:04d}"
    rng = np.random.default_rng(trial.number)
    grids, history = {}, {"g_loss": [], "d_loss": []}
    for epoch in range(1, EPOCHS + 1):
        g_loss, d_loss = 2.0 / epoch + lr, 0.5 + 0.1 * epoch
        history["g_loss"].append(g_loss)
        history["d_loss"].append(d_loss)
        trial.report(epoch, loss=(x - 2) ** 2 + 1 / epoch, g_loss=g_loss, d_loss=d_loss)
        images = rng.uniform(-1.0, 1.0, (16, 28, 28))
        grid = save_image_grid(images, folder / f"grid-epoch-{epoch:03d}.png")
        grids[str(epoch)] = str(grid)
        seen, title = list(range(1, epoch + 1)), f"trial {trial.number}"
        curves = save_loss_curves(history, folder / "losses.png", epochs=seen, title=title)
        trial.set_user_attr("image_grids", dict(grids))
        trial.set_user_attr("gan_artifacts", {"dir": str(folder), "loss_curves": str(curves)})
        time.sleep(float(os.environ.get("DASH_SLEEP", "0.3")))
    return {"loss": (x - 2) ** 2 + (kind == "b")}
"""

LIVE_STUDY = "live"
COMPARISON = "cmp"
PICTURES_PER_TRIAL = 4  # three grids (one per epoch) and the loss curves


def write_live_study(folder: Path, trials: int = 400) -> Path:
    (folder / "gan_like.py").write_text(OBJECTIVE)
    config = folder / "live.yaml"
    config.write_text(
        "\n".join(
            [
                f"study: {LIVE_STUDY}",
                "objective: gan_like.py:objective",
                "metric: loss",
                "mode: min",
                "searcher: random",
                "seed: 0",
                f"budget: {{max_trials: {trials}}}",
            ]
        )
        + "\n"
    )
    return config


def start_live_study(folder: Path, db: Path, sleep: float = 0.3) -> Process:
    """``tunelab run`` of the GAN-like study, in another process (stop it when done)."""
    config = write_live_study(folder)
    pictures = folder / "pictures"
    pictures.mkdir(exist_ok=True)
    return Process(
        cli("run", str(config), "--storage", str(db), "--quiet"),
        cwd=folder,
        env={"DASH_PICTURES": str(pictures), "DASH_SLEEP": str(sleep)},
    )


def wait_for_finished_trials(db: Path, study: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            storage = make_storage(db, read_only=True)
            try:
                names = {s.name for s in storage.list_studies()}
                if study in names:
                    record = storage.get_study(study)
                    done = storage.get_trials(
                        record.study_id, statuses=(TrialStatus.COMPLETED,), with_reports=False
                    )
                    if len(done) >= count:
                        return
            finally:
                storage.close()
        time.sleep(0.2)
    raise AssertionError(f"{study}: fewer than {count} finished trials after {timeout} s")


def run_comparison(db: Path) -> None:
    """A finished comparison of two strategies on the synthetic curve task, whose trials
    store GAN pictures (base64 grids) as the report reads them."""
    compare(
        task=TASK,
        strategies=["random", "sobol"],
        budget={"epochs": 12},
        repeats=1,
        name=COMPARISON,
        storage=make_storage(db),
        task_options={"epochs": 4, "gan": True},
        quiet=True,
    )
