"""The exceptions tunelab raises on bad input, each naming what is wrong.

Every error a user can cause derives from :class:`TunelabError`, so the CLI can turn
them into a message on stderr and exit code 2 while real bugs still show a traceback.
"""

from __future__ import annotations


class TunelabError(Exception):
    """Base class of every error caused by bad input or a bad environment."""


class SpaceError(TunelabError, ValueError):
    """A parameter definition is invalid or conflicts with an earlier definition."""


class ConfigError(TunelabError, ValueError):
    """A configuration (YAML, options, names of searchers or schedulers) is invalid."""


class StorageError(TunelabError):
    """The storage cannot be opened or used (foreign file, newer schema, missing study)."""


class StudyNotFoundError(StorageError, KeyError):
    """No study of that name exists in the storage."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class DuplicateStudyError(StorageError):
    """A study of that name already exists in the storage."""


class StudyExhaustedError(TunelabError):
    """The searcher has no configuration left to propose (a finished grid, say)."""


class ConsecutiveFailuresError(TunelabError):
    """A study stopped because too many of its trials failed in a row."""


class DatasetError(TunelabError):
    """A dataset's files are missing, cannot be downloaded, or fail their checksum."""


class SealedTestDataError(TunelabError):
    """Held-back test data was read before the final evaluation unsealed it (a leak)."""
