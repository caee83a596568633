"""What the study loop needs of a study: the loop depends on this, not on the facade."""

from __future__ import annotations

from typing import Literal, Protocol

from tunelab.schedulers.base import Scheduler
from tunelab.searchers.base import Searcher
from tunelab.space import Space
from tunelab.storage.artifacts import ArtifactStore
from tunelab.storage.base import Storage

LeaseExpiry = Literal["fail", "requeue"]


class StudyHandle(Protocol):
    """What the loop uses of a study (``tunelab.study.Study`` is one); the loop does not
    depend on the facade built on it."""

    name: str
    study_id: int
    metric: str
    mode: Literal["min", "max"]
    storage: Storage
    searcher: Searcher
    scheduler: Scheduler
    space: Space
    declared: tuple[str, ...]

    @property
    def artifacts(self) -> ArtifactStore: ...
