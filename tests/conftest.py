"""Fixtures shared across test packages: the real MNIST files and the scoring classifier.

MNIST comes from ``TUNELAB_DATA_DIR`` (CI's ``.ci/run`` sets it to ``../shared/datasets``),
else from a ``shared/datasets`` folder beside the repository or one of its parents. A
missing copy fails the tests that need it with a message saying where to put it: these
tests are about the real data, so they do not skip.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

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
