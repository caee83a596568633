"""The study loop: scheduler decides, searcher proposes, executor runs, storage records.

The loop itself is :mod:`tunelab.runner.loop`; this package docstring is the overview.

One loop for every executor and scheduler. It keeps an in-memory view of the study
(finished trials, running ones) so that no step rereads the whole study from storage,
and writes every change before acting on it: a report is committed before the
objective continues, a trial's result and the searcher state it produced are
committed together.

Several workers can share a study (``tunelab worker``, or ``optimize`` in several
processes or on several machines with one database). Every write that changes shared
state (a new trial, a finished one, searcher or scheduler state) carries the study's
state version it was computed from; if another worker wrote in between, storage refuses
it (:class:`~tunelab.storage.base.StaleStateError`) and this worker refreshes its view
and decides again. So trial numbers stay unique, ``max_trials`` is exact across
workers, and searcher and scheduler state is shared without a lock held while trials
run.

Leases: each worker renews the lease of its running trials from a background thread.
A trial whose lease expired (its worker or machine is gone) is failed or queued again
(``lease_expired="requeue"``, the default) by whichever worker notices first.

Paused trials: a trial the scheduler pauses keeps its checkpoint in the study's
artifact store and is resumed from it (``Resume``) or ended (``Prune``). When the study
ends cleanly (budget used, scheduler done, searcher exhausted) every trial still paused
is ended as PRUNED with its best reported value; after Ctrl-C or a crash they stay
PAUSED, and the next ``optimize`` resumes them.

The time limit (``max_seconds``) is hard: trials still running when it passes are
ended (their workers killed, an inline objective interrupted), as PRUNED with their best
value when they reported, else as interrupted, to run again when the study continues.

Errors that are not a configuration's fault (:class:`~tunelab.errors.EnvironmentFault`:
data that cannot be read, storage unavailable or locked past its wait) stop the study
at once with the reason; the trial that met one is not charged, and its configuration
runs again first when the study continues.
"""

from __future__ import annotations

from tunelab.runner.handle import LeaseExpiry, StudyHandle
from tunelab.runner.loop import StudyRunner

__all__ = ["LeaseExpiry", "StudyHandle", "StudyRunner"]
