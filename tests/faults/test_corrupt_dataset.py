"""Issue 15, case 1: a corrupt dataset stops the study at once with the reason and
charges nothing; once the file is restored, the same command runs the study's trials."""

from __future__ import annotations

import shutil
from pathlib import Path

import tunelab as tl
from tests.cli import tunelab
from tunelab.trial import FailureKind, TrialStatus

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
CORRUPTED = "train-labels-idx1-ubyte.gz"


def corrupt_copy(tmp_path: Path, data_dir: Path) -> tuple[Path, Path]:
    """A copy of the MNIST files with one byte changed in the middle of the compressed
    training labels: (the data folder, the corrupted file)."""
    data = tmp_path / "data"
    (data / "mnist").mkdir(parents=True)
    for name in MNIST_FILES:
        shutil.copyfile(data_dir / "mnist" / name, data / "mnist" / name)
    corrupted = data / "mnist" / CORRUPTED
    raw = bytearray(corrupted.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    corrupted.write_bytes(bytes(raw))
    return data, corrupted


def write_config(tmp_path: Path, data: Path) -> Path:
    config = tmp_path / "mnist.yaml"
    config.write_text(
        "study: mnist_b\n"
        "task: mnist_mlp\n"
        f"task_options: {{data_dir: '{data}', train_size: 200, epochs: 1, download: false}}\n"
        "seed: 0\n"
        "budget: {max_trials: 2}\n"
    )
    return config


def test_corrupt_dataset_stops_the_study_charges_nothing_and_resumes_once_restored(
    tmp_path: Path, data_dir: Path
) -> None:
    data, corrupted = corrupt_copy(tmp_path, data_dir)
    config = write_config(tmp_path, data)

    failed = tunelab("run", str(config), "-q", cwd=tmp_path)

    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert failed.stdout == ""
    lines = failed.stderr.splitlines()
    assert len(lines) == 1, failed.stderr  # the reason, on one line
    assert lines[0].startswith("tunelab: error: ") and str(corrupted) in lines[0]
    assert "corrupt" in lines[0]
    study = tl.load_study("mnist_b", storage=tmp_path / "tunelab.db")
    first, queued = study.trials  # it stopped at the first trial
    assert first.status is TrialStatus.FAILED and first.failure is FailureKind.ENVIRONMENT_ERROR
    assert str(corrupted) in (first.error or "")
    assert queued.status is TrialStatus.WAITING and queued.retry_of == first.number
    assert study.budget_used().trials == 0  # nothing charged to max_trials
    study.storage.close()

    shutil.copyfile(data_dir / "mnist" / CORRUPTED, corrupted)
    resumed = tunelab("run", str(config), "-q", cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    study = tl.load_study("mnist_b", storage=tmp_path / "tunelab.db")
    completed = study.get_trials((TrialStatus.COMPLETED,))
    assert len(completed) == 2 and study.budget_used().trials == 2
    # The configuration the corrupt file stopped ran first, as the queued retry.
    assert completed[0].number == queued.number
    assert completed[0].params == first.params
    assert all(t.failure is not FailureKind.OBJECTIVE_ERROR for t in study.trials)
    study.storage.close()


def test_corrupt_dataset_stops_a_comparison_without_recording_a_failed_run(
    tmp_path: Path, data_dir: Path
) -> None:
    import pytest

    from tunelab.compare import compare
    from tunelab.errors import DatasetError
    from tunelab.storage import make_storage

    data, _ = corrupt_copy(tmp_path, data_dir)
    db = tmp_path / "compare.db"

    with pytest.raises(DatasetError, match="corrupt"):
        compare(
            "mnist_mlp",
            ["random"],
            budget={"trials": 2},
            repeats=1,
            name="corrupt",
            storage=db,
            task_options={"data_dir": str(data), "train_size": 200, "epochs": 1},
            final_evaluation=False,
            quiet=True,
        )
    stored = make_storage(db).list_studies() if db.exists() else []
    assert all(s.n_trials == 0 for s in stored)  # no run recorded as failed, nothing charged
