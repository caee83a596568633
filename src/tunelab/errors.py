"""The exceptions tunelab raises on bad input, each naming what is wrong.

Every error a user can cause derives from :class:`TunelabError`, so the CLI can turn
them into a message on stderr and exit code 2 while real bugs still show a traceback.
"""

from __future__ import annotations


class TunelabError(Exception):
    """Base class of every error caused by bad input or a bad environment."""


class EnvironmentFault(TunelabError):  # noqa: N818 - a kind of fault, not one error
    """Not the fault of the configuration a trial tries: the data cannot be read or fails
    its checksum, the storage is unavailable or locked past its wait, a worker cannot
    load the objective. A trial that raises one stops the study at once with the reason;
    it is not charged to the budget, and its configuration runs again on the next run."""


class AbortStudy(Exception):  # noqa: N818 - raised by users to abort, like StopIteration
    """Raised by an objective to stop the whole study: the trial is stored FAILED with the
    error, and ``optimize`` raises it (Keras Tuner's ``FatalError`` derives from it)."""


class SpaceError(TunelabError, ValueError):
    """A parameter definition is invalid or conflicts with an earlier definition."""


class ConfigError(TunelabError, ValueError):
    """A configuration (YAML, options, names of searchers or schedulers) is invalid."""


class StorageError(EnvironmentFault):
    """The storage cannot be opened or used (foreign file, newer schema, missing study,
    locked, read-only)."""


class StorageLockedError(StorageError):
    """Another process held the storage's write lock for longer than the storage waits."""


class StorageReadOnlyError(StorageError):
    """A write to a storage that is read-only (opened so, or on a location that cannot
    be written)."""


class StudyNotFoundError(StorageError, KeyError):
    """No study of that name exists in the storage."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class DuplicateStudyError(StorageError):
    """A study of that name already exists in the storage."""


class StudyExhaustedError(TunelabError):
    """The searcher has no configuration left to propose (a finished grid, say)."""


class ConsecutiveFailuresError(TunelabError, RuntimeError):
    """A study stopped because too many of its trials failed in a row (a RuntimeError,
    as Keras Tuner raises for ``max_consecutive_failed_trials``)."""


class DatasetError(EnvironmentFault):
    """A dataset's files are missing, cannot be downloaded, or fail their checksum."""


class SealedTestDataError(TunelabError):
    """Held-back test data was read before the final evaluation unsealed it (a leak)."""


class WorkerStartError(EnvironmentFault):
    """A worker process cannot start or cannot load the objective: the study stops, and
    no trial is charged for it (it is not the fault of a trial's configuration)."""
