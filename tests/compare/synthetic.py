"""A cheap, deterministic task for harness tests: a learning curve in two parameters.

The score after epoch ``e`` is ``ceiling(x) * (1 - exp(-rate(lr) * e))`` plus a little
seeded noise, so strategies differ, epochs matter and runs take milliseconds.
``calls_file`` (one line appended per objective / final-evaluation call) lets a test
prove that something did or did not run, also across processes. ``fail_budget``
makes every trial whose scheduler budget equals it fail, as a strategy that cannot
run on this task would. Tests load it by path (``file.py:CurveTask``) as a user would.
"""

from __future__ import annotations

import base64
import io
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.errors import ConfigError
from tunelab.schedulers.base import Action, Done, Scheduler, SchedulerView, Start
from tunelab.tasks.base import Task
from tunelab.trial import Decision, Trial, TrialRecord


def curve(x: float, lr: float, epoch: int) -> float:
    ceiling = 1.0 - (x - 0.3) ** 2
    return ceiling * (1.0 - math.exp(-10.0 * lr * epoch))


class CurveTask(Task):
    name = "curve"
    metric = "val_score"
    mode = "max"

    def __init__(
        self,
        *,
        epochs: int = 4,
        sleep: float = 0.0,
        fail_budget: int | None = None,
        calls_file: str | None = None,
        seed: int = 0,
        gan: bool = False,
        grid_dir: str | None = None,
    ) -> None:
        if epochs < 1:
            raise ConfigError(f"curve: epochs must be >= 1, got {epochs}")
        self.epochs = epochs
        self.sleep = sleep
        self.fail_budget = fail_budget
        self.calls_file = calls_file
        self.seed = seed
        self.gan = gan
        self.grid_dir = grid_dir

    def options(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "sleep": self.sleep,
            "fail_budget": self.fail_budget,
            "calls_file": self.calls_file,
            "seed": self.seed,
            "gan": self.gan,
            "grid_dir": self.grid_dir,
        }

    def _count(self, what: str) -> None:
        if self.calls_file:
            with open(self.calls_file, "a") as fh:
                fh.write(what + "\n")

    def objective(self, trial: Trial) -> dict[str, float]:
        self._count("objective")
        x = trial.hp.Float("x", 0.0, 1.0)
        lr = trial.hp.Float("lr", 1e-3, 1.0, sampling="log")
        epochs = trial.budget or self.epochs
        if self.fail_budget is not None and trial.budget == self.fail_budget:
            raise RuntimeError(f"simulated out of memory at budget {trial.budget}")
        rng = np.random.default_rng([self.seed, trial.number])
        best = -math.inf
        for epoch in range(1, epochs + 1):
            if self.sleep:
                time.sleep(self.sleep)
            score = curve(x, lr, epoch) + float(rng.normal(0.0, 0.01))
            best = max(best, score)
            metrics = {"val_score": score}
            if self.gan:
                metrics.update(g_loss=2.0 / epoch + x, d_loss=0.5 + 0.1 * epoch)
            trial.report(epoch, **metrics)
        if self.gan:
            self._gan_pictures(trial, epochs)
        return {"val_score": best}

    def _gan_pictures(self, trial: Trial, epochs: int) -> None:
        """What a GAN task stores (tunelab/report/gan.py): a grid as a file and as base64,
        and the discriminator's confusion matrix."""
        png = png_grid(trial.number)
        grids = {str(epochs): base64.b64encode(png).decode("ascii")}
        if self.grid_dir:
            path = Path(self.grid_dir) / f"trial{trial.number}_epoch1.png"
            path.write_bytes(png)
            grids["1"] = str(path)
        trial.set_user_attr("image_grids", grids)
        trial.set_user_attr(
            "confusion_matrix", {"labels": ["real", "generated"], "matrix": [[90, 10], [30, 70]]}
        )

    def final_evaluation(self, params: Mapping[str, Any], epochs: int) -> dict[str, float]:
        self._count("final_evaluation")
        x, lr = float(params["x"]), float(params["lr"])
        return {"test_score": curve(x, lr, epochs) - 0.02, "test_loss": 1.0 - curve(x, lr, epochs)}


class StopOddScheduler(Scheduler):
    """Stops every odd-numbered trial at step 2: a scheduler that prunes, for tests."""

    name = "stop_odd"

    def __init__(self, *, max_epochs: int | None = None) -> None:
        self.max_epochs = max_epochs

    def next(self, view: SchedulerView) -> Action:
        return Start(budget=self.max_epochs)

    def on_report(
        self, trial: TrialRecord, step: int, metrics: Mapping[str, float], view: SchedulerView
    ) -> Decision:
        return Decision.STOP if trial.number % 2 == 1 and step >= 2 else Decision.CONTINUE


class QuitEarlyScheduler(Scheduler):
    """Starts ``trials`` trials, then says Done: a strategy that leaves budget unused."""

    name = "quit_early"

    def __init__(self, *, trials: int = 1) -> None:
        self.trials = trials

    def next(self, view: SchedulerView) -> Action:
        started = len(view.finished) + len(view.running) + len(view.paused)
        return Start() if started < self.trials else Done("quit early")


TASK_FILE = Path(__file__).resolve()
TASK = f"{TASK_FILE}:CurveTask"
STOP_ODD = {"name": "stop_odd", "class": "tests.compare.synthetic:StopOddScheduler"}
QUIT_EARLY = {"name": "quit_early", "class": "tests.compare.synthetic:QuitEarlyScheduler"}


def png_grid(seed: int) -> bytes:
    """A small grey-scale PNG, as a GAN's grid of generated digits would be."""
    from matplotlib.image import imsave

    buffer = io.BytesIO()
    imsave(buffer, np.random.default_rng(seed).random((28, 56)), cmap="gray", format="png")
    return buffer.getvalue()


def calls(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []
