"""The statements of a trial's life, built once.

Building a SQLAlchemy statement and deriving its cache key takes longer than SQLite takes
to run it (measured on 2 cores: selecting a trial row, 330 us with the statement built
at each call, 80 us prebuilt; finishing a trial, 910 us against 160 us), and every trial
runs eight of them. So the statements on that path are built here, once, with bound
parameters named ``b_*``, names no column has: executed with a dict, an INSERT's or an
UPDATE's other keys are the columns it writes.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from tunelab.storage.sql_schema import LIVE, reports, studies, trials


class lease_now(FunctionElement[float]):  # noqa: N801 - a SQL function's name
    """The time written into heartbeats and compared with them: the server's clock on
    PostgreSQL (shared by every machine), this machine's for a SQLite file (local by
    nature), read when the statement runs."""

    type = sa.Float()
    inherit_cache = True
    name = "lease_now"


@compiles(lease_now)
def _lease_now_here(element: lease_now, compiler: Any, **kw: Any) -> str:
    # A parameter whose value is read at every execution, so the cached statement
    # stays valid.
    now = sa.bindparam("b_lease_now", callable_=time.time, type_=sa.Float())
    return str(compiler.process(now, **kw))


@compiles(lease_now, "postgresql")
def _lease_now_server(element: lease_now, compiler: Any, **kw: Any) -> str:
    return "extract(epoch from clock_timestamp())"


STUDY: sa.BindParameter[int] = sa.bindparam("b_study")
TRIAL: sa.BindParameter[int] = sa.bindparam("b_trial")

# Locks the study row on PostgreSQL so trial numbers are dense and unique; SQLite's
# BEGIN IMMEDIATE already serialises writers.
LOCK_STUDY = sa.select(studies.c.id).where(studies.c.id == STUDY).with_for_update()
STUDY_VERSION = sa.select(studies.c.state_version).where(studies.c.id == STUDY)
NEXT_NUMBER = sa.select(sa.func.coalesce(sa.func.max(trials.c.number), -1) + 1).where(
    trials.c.study_id == STUDY
)
INSERT_RUNNING = sa.insert(trials).values(heartbeat_at=lease_now())
INSERT_WAITING = sa.insert(trials)
TRIAL_ROW = sa.select(trials).where(trials.c.id == TRIAL)
TRIAL_REPORTS = (
    sa.select(reports.c.step, reports.c.metrics, reports.c.time)
    .where(reports.c.trial_id == TRIAL)
    .order_by(reports.c.id)
)
TRIAL_STATUS = sa.select(trials.c.status).where(trials.c.id == TRIAL)
TRIAL_STUDY = sa.select(trials.c.study_id).where(trials.c.id == TRIAL)
# A trial that is still running, paused or waiting (finished ones are frozen).
UPDATE_LIVE = (
    sa.update(trials)
    .where(trials.c.id == TRIAL, trials.c.status.in_(LIVE))
    .values(heartbeat_at=lease_now())
)
INSERT_REPORT = sa.insert(reports)


@cache
def study_update(checked: bool, elapsed: bool) -> sa.Update:
    """Bump the study's state version (``checked``: only from ``b_version``) and add
    ``b_elapsed`` seconds to its elapsed time when ``elapsed``."""
    statement = sa.update(studies).where(studies.c.id == STUDY)
    if checked:
        statement = statement.where(studies.c.state_version == sa.bindparam("b_version"))
    values: dict[str, Any] = {"state_version": studies.c.state_version + 1}
    if elapsed:
        values["elapsed_seconds"] = studies.c.elapsed_seconds + sa.bindparam("b_elapsed")
    return statement.values(**values)
