"""Fixtures shared across test packages.

- ``run_curves``: studies on synthetic learning curves (no training, milliseconds).
- ``data_dir`` / ``mnist_classifier``: the real MNIST files and the scoring classifier.
  MNIST comes from ``TUNELAB_DATA_DIR`` (CI's ``.ci/run`` sets it to
  ``../shared/datasets``), else from a ``shared/datasets`` folder beside the repository
  or one of its parents. A missing copy fails the tests that need it with a message
  saying where to put it: these tests are about the real data, so they do not skip.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import tunelab as tl
from tunelab.budget import BudgetUsage
from tunelab.tasks.curves import LearningCurves


@dataclass
class CurvesRun:
    """A finished study on synthetic curves, the task (with its training log) and usage."""

    study: tl.Study
    task: LearningCurves
    usage: BudgetUsage

    def trials_by_number(self) -> dict[int, tl.TrialRecord]:
        return {t.number: t for t in self.study.trials}


RunCurves = Callable[..., CurvesRun]


def curves_study(
    scheduler: str | Mapping[str, Any] | Any,
    task: LearningCurves,
    *,
    searcher: str | Mapping[str, Any] | Any = "random",
    storage: Any = ":memory:",
    seed: int = 0,
    name: str | None = None,
) -> tl.Study:
    """A new study of ``task``'s curves (maximising validation accuracy) with ``scheduler``."""
    return tl.create_study(
        name,
        metric="val_accuracy",
        mode="max",
        storage=storage,
        seed=seed,
        searcher=searcher,
        scheduler=scheduler,
        space=task.space(),
    )


@pytest.fixture
def run_curves() -> RunCurves:
    """``run_curves(scheduler, max_epochs=..., ...)``: optimise a curves study in memory."""

    def run(
        scheduler: str | Mapping[str, Any] | Any,
        *,
        searcher: str | Mapping[str, Any] = "random",
        storage: Any = ":memory:",
        seed: int = 0,
        task: LearningCurves | None = None,
        **budget: Any,
    ) -> CurvesRun:
        task = task if task is not None else LearningCurves(seed=seed)
        study = curves_study(scheduler, task, searcher=searcher, storage=storage, seed=seed)
        usage = study.optimize(task, quiet=True, **budget)
        return CurvesRun(study, task, usage)

    return run


REPO = Path(__file__).resolve().parents[1]


def _find_data_dir() -> Path | None:
    env = os.environ.get("TUNELAB_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates += [parent / "shared" / "datasets" for parent in REPO.parents]
    for candidate in candidates:
        if (candidate / "mnist" / "train-images-idx3-ubyte.gz").is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """A folder holding ``mnist/`` with the four real MNIST .gz files."""
    found = _find_data_dir()
    if found is None:
        pytest.fail(
            "MNIST not found: set TUNELAB_DATA_DIR to a folder holding mnist/ with the four "
            "IDX .gz files (CI uses ../shared/datasets)"
        )
    return found


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder private to this test session."""
    return tmp_path_factory.mktemp("classifier-cache")


@pytest.fixture(scope="session")
def mnist_classifier(data_dir: Path, classifier_dir: Path) -> Iterator[object]:
    """The MNIST scoring classifier, trained once per session into ``classifier_dir``
    (about a minute on two cores); later users load it from there."""
    from tunelab.metrics.classifier import mnist_classifier

    start = time.perf_counter()
    classifier = mnist_classifier(data_dir, classifier_dir, device="cpu")
    print(
        f"\n[mnist classifier trained in {time.perf_counter() - start:.1f}s, "
        f"test accuracy {classifier.test_accuracy:.4f}]"
    )
    yield classifier
