"""The artifact store: checkpoints written once per (trial, step), readable elsewhere."""

from __future__ import annotations

import gc
import multiprocessing
import pickle
from pathlib import Path

import pytest

from tunelab.errors import StorageError
from tunelab.storage import MemoryStorage, make_storage
from tunelab.storage.artifacts import (
    ARTIFACTS_ENV,
    ArtifactStore,
    CheckpointRef,
    TrialCheckpoints,
    default_artifact_root,
    safe_folder_name,
)


def test_save_load_latest_and_steps(tmp_path):
    store = ArtifactStore(tmp_path / "study")
    assert store.latest(3) is None and store.steps(3) == []
    for step in (1, 3, 9):
        ref = store.save(3, step, {"epoch": step})
        assert ref == CheckpointRef(3, step)
    assert store.steps(3) == [1, 3, 9]
    assert store.latest(3) == CheckpointRef(3, 9)
    assert store.load(CheckpointRef(3, 1)) == {"epoch": 1}
    assert store.exists(CheckpointRef(3, 3)) and not store.exists(CheckpointRef(3, 4))
    with pytest.raises(StorageError, match="no checkpoint of trial 3 at step 4"):
        store.load(CheckpointRef(3, 4))


def test_a_checkpoint_is_never_overwritten_by_later_steps(tmp_path):
    # A reference pins (trial, step): later saves of the same trial do not change it.
    store = ArtifactStore(tmp_path)
    ref = store.save(0, 3, {"weights": [1.0]})
    store.save(0, 6, {"weights": [2.0]})
    assert store.load(ref) == {"weights": [1.0]}


def test_keep_latest_deletes_older_checkpoints(tmp_path):
    store = ArtifactStore(tmp_path)
    for step in (1, 3, 9):
        store.save(5, step, step)
    store.keep_latest(5)
    assert store.steps(5) == [9]
    store.keep_latest(6)  # a trial without checkpoints: nothing to do


def test_torch_state_dicts_round_trip(tmp_path):
    import torch  # here, so the spawned child of another test does not import it

    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.ones(1, 4)).sum().backward()
    optimizer.step()
    store = ArtifactStore(tmp_path)
    ref = store.save(0, 2, {"model": model.state_dict(), "optimizer": optimizer.state_dict()})
    state = store.load(ref)
    fresh = torch.nn.Linear(4, 2)
    fresh.load_state_dict(state["model"])
    assert torch.equal(fresh.weight, model.weight)
    assert state["optimizer"]["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]


def test_an_unpicklable_state_leaves_no_file_behind(tmp_path):
    store = ArtifactStore(tmp_path)
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        store.save(1, 1, {"f": lambda: 0})
    assert store.steps(1) == []
    assert list((tmp_path / "trial-1").iterdir()) == []


def test_trial_checkpoints_load_only_what_they_were_given(tmp_path):
    store = ArtifactStore(tmp_path)
    store.save(7, 3, "donor state")
    fresh = TrialCheckpoints(store, 8, restore=None)
    assert fresh.load() is None
    clone = TrialCheckpoints(store, 8, restore=CheckpointRef(7, 3))
    assert clone.load() == "donor state"
    clone.save(4, "own state")
    assert store.steps(8) == [4] and store.steps(7) == [3]


def _load_in_child(directory: str, queue: multiprocessing.Queue) -> None:
    store = ArtifactStore(directory)
    ref = store.latest(2)
    assert ref is not None
    queue.put(store.load(ref))
    store.save(2, ref.step + 1, {"from": "child"})


def test_another_process_reads_and_writes_given_only_the_path(tmp_path):
    store = ArtifactStore(tmp_path / "shared")
    store.save(2, 5, {"epoch": 5})
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_load_in_child, args=(str(store.directory), queue))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == {"epoch": 5}
    assert store.load(CheckpointRef(2, 6)) == {"from": "child"}


def test_default_root_is_beside_a_sqlite_file(tmp_path):
    storage = make_storage(tmp_path / "runs.db")
    assert default_artifact_root(storage) == tmp_path / "runs.db.artifacts"
    storage.close()


def test_memory_storage_gets_a_temporary_root_removed_with_it():
    storage = MemoryStorage()
    root = default_artifact_root(storage)
    assert root.is_dir() and default_artifact_root(storage) == root
    (root / "x").write_text("checkpoint")
    del storage
    gc.collect()
    assert not root.exists()


def test_other_databases_use_the_environment_or_the_working_directory(monkeypatch, tmp_path):
    class Remote(MemoryStorage):
        def __init__(self) -> None:
            super().__init__()
            self.url = "postgresql+psycopg://db/tunelab"

    monkeypatch.setenv(ARTIFACTS_ENV, str(tmp_path / "shared"))
    assert default_artifact_root(Remote()) == tmp_path / "shared"
    monkeypatch.delenv(ARTIFACTS_ENV)
    monkeypatch.chdir(tmp_path)
    assert default_artifact_root(Remote()) == Path(tmp_path) / "tunelab-artifacts"


def test_safe_folder_names():
    assert safe_folder_name("digits/hyperband 1") == "digits_hyperband_1"
    assert safe_folder_name("..") == "study"
    assert len(safe_folder_name("x" * 300)) == 64
