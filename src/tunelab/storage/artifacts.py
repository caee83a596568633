"""Checkpoints: the artifact store kept beside a study's storage.

A checkpoint is whatever an objective hands to ``trial.report(..., checkpoint=...)``
(any picklable object: PyTorch state dicts of model and optimizer plus the epoch, say).
It is written once per (trial, step) and never overwritten, so a reference
``CheckpointRef(trial, step)`` always names the state that trial had at that step: a
resumed trial loads its own latest one, a PBT clone the one its donor had when it was
copied (a checkpoint overwritten after the decision is what Ray Tune issue 28196 was).

Layout: ``<root>/<study folder>/trial-<number>/step-<step>.pkl``. The root is
``<file>.artifacts/`` next to a SQLite file, a temporary folder for in-memory storage
(removed when the storage object goes away) and, for other databases, the root given to
``create_study(artifacts=...)``, else ``$TUNELAB_ARTIFACTS``, else ``./tunelab-artifacts``.
Only plain paths cross process boundaries, so any worker that sees the folder can read
and write checkpoints.
"""

from __future__ import annotations

import functools
import os
import pickle
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.errors import StorageError

if TYPE_CHECKING:
    from tunelab.storage.base import Storage

ARTIFACTS_ENV = "TUNELAB_ARTIFACTS"
"""Environment variable naming the artifact root for storages without a file of their own."""

_STEP_FILE = re.compile(r"^step-(\d+)\.pkl$")
_memory_roots: weakref.WeakKeyDictionary[Any, Path] = weakref.WeakKeyDictionary()
# Trial folders this process made (a trial paused and resumed many times saves into one).
_folders_made: set[Path] = set()


@dataclass(frozen=True)
class CheckpointRef:
    """The checkpoint trial ``trial`` saved at ``step`` (plain data: crosses processes)."""

    trial: int
    step: int


class ArtifactStore:
    """The checkpoints of one study's trials, as files under ``directory``.

    Writes are atomic (a temporary file renamed into place), so a reader never sees a
    half-written checkpoint and a crash leaves either the old state or the new one.
    """

    def __init__(self, directory: str | Path) -> None:
        self._location = directory

    @functools.cached_property
    def directory(self) -> Path:
        # Built on first use: every trial gets a store, most never save a checkpoint.
        return Path(self._location)

    def __repr__(self) -> str:
        return f"ArtifactStore({str(self.directory)!r})"

    def _trial_dir(self, trial: int) -> Path:
        return self.directory / f"trial-{trial}"

    def path(self, ref: CheckpointRef) -> Path:
        return self._trial_dir(ref.trial) / f"step-{ref.step}.pkl"

    def save(self, trial: int, step: int, state: Any) -> CheckpointRef:
        """Store ``state`` as trial ``trial``'s checkpoint at ``step``."""
        ref = CheckpointRef(trial, step)
        target = self.path(ref)
        folder = target.parent
        if folder not in _folders_made:  # one mkdir per trial, not per checkpoint
            folder.mkdir(parents=True, exist_ok=True)
            if len(_folders_made) >= 100_000:
                _folders_made.clear()
            _folders_made.add(folder)
        try:
            fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=folder)
        except FileNotFoundError:  # the folder was removed since
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return ref

    def load(self, ref: CheckpointRef) -> Any:
        """The state saved under ``ref``; StorageError if there is none."""
        path = self.path(ref)
        try:
            with path.open("rb") as f:
                return pickle.load(f)
        except FileNotFoundError:
            raise StorageError(
                f"no checkpoint of trial {ref.trial} at step {ref.step} in {self.directory}"
            ) from None

    def exists(self, ref: CheckpointRef) -> bool:
        return self.path(ref).is_file()

    def steps(self, trial: int) -> list[int]:
        """The steps at which trial ``trial`` saved a checkpoint, in increasing order."""
        folder = self._trial_dir(trial)
        if not folder.is_dir():
            return []
        found = (_STEP_FILE.match(p.name) for p in folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def latest(self, trial: int) -> CheckpointRef | None:
        """Trial ``trial``'s most recent checkpoint, or None."""
        steps = self.steps(trial)
        return CheckpointRef(trial, steps[-1]) if steps else None

    def keep_latest(self, trial: int) -> None:
        """Delete every checkpoint of ``trial`` but its latest (for trials that ended)."""
        for step in self.steps(trial)[:-1]:
            self.path(CheckpointRef(trial, step)).unlink(missing_ok=True)


class TrialCheckpoints:
    """What one running trial may do with checkpoints: save its own, load the one it
    was given (its own when resumed, the donor's when cloned)."""

    def __init__(self, store: ArtifactStore, trial: int, restore: CheckpointRef | None) -> None:
        self.store = store
        self.trial = trial
        self.restore = restore

    def save(self, step: int, state: Any) -> CheckpointRef:
        return self.store.save(self.trial, step, state)

    def load(self) -> Any | None:
        return None if self.restore is None else self.store.load(self.restore)


def safe_folder_name(name: str) -> str:
    """``name`` reduced to characters every file system accepts (at most 64 of them)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "study"
    return cleaned[:64]


def default_artifact_root(storage: Storage) -> Path:
    """Where checkpoints of studies in ``storage`` go when no root was given."""
    url = storage.url
    if url == ":memory:" or url.rstrip("/") in ("sqlite:", "sqlite:///:memory:"):
        return _memory_root(storage)
    if url.startswith("sqlite:///"):
        db = Path(url[len("sqlite:///") :].partition("?")[0])  # without ?lock_timeout=...
        return db.with_name(db.name + ".artifacts")
    env = os.environ.get(ARTIFACTS_ENV)
    return Path(env).expanduser().resolve() if env else Path.cwd() / "tunelab-artifacts"


def _memory_root(storage: Storage) -> Path:
    """A temporary folder that lives as long as the in-memory storage object."""
    root = _memory_roots.get(storage)
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="tunelab-artifacts-"))
        _memory_roots[storage] = root
        weakref.finalize(storage, shutil.rmtree, str(root), True)
    return root
