"""Local processes: one trial per worker process, each pinned to its share of the machine.

Workers are started once (``spawn``, so no state leaks from the driver) and run trial
after trial, which keeps per-trial overhead to a pipe round trip instead of a Python and
PyTorch start-up. Each worker gets ``threads_per_trial`` CPU threads (through the
OMP/MKL variables that math libraries read at import, and ``torch.set_num_threads``),
and on GPU machines its devices through ``CUDA_VISIBLE_DEVICES``: ``gpus_per_trial=1``
gives each worker a GPU, ``0.5`` packs two workers on each GPU.

A worker that dies (segfault, ``os._exit``, the out-of-memory killer) leaves its trial
FAILED with the reason; a fresh worker takes its slot and the study goes on. A worker that
cannot start or cannot load the objective stops the study with a
:class:`~tunelab.errors.WorkerStartError` saying how to fix it, and charges no trial (see
:mod:`tunelab.executors.spawn_check`). Workers end quietly when their driver is gone.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from tunelab.errors import ConfigError, WorkerStartError
from tunelab.executors.base import (
    Executor,
    Objective,
    TrialEnded,
    TrialJob,
    environment_fault_outcome,
    run_trial,
)
from tunelab.executors.remote import (
    ChannelProxy,
    answer,
    apply_thread_limit,
    describe_exit,
    lost_worker_outcome,
    thread_environment,
)
from tunelab.executors.spawn_check import (
    cannot_load_message,
    main_script_problem,
    start_failure_message,
)
from tunelab.trial import TrialChannel


class _PipeChannel(ChannelProxy):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def call(self, method: str, *args: Any) -> Any:
        try:
            self._conn.send(("call", method, args))
            kind, value = self._conn.recv()
        except (EOFError, OSError):  # the driver is gone: end this worker quietly
            raise SystemExit(0) from None
        if kind == "error":
            raise value
        return value


def _worker_main(conn: Connection, environment: dict[str, str]) -> None:
    """A worker process: run the trials the driver sends until told to stop."""
    os.environ.update(environment)
    # Ctrl-C reaches the whole process group; the driver decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_driver()
    channel = _PipeChannel(conn)
    objectives: dict[int, Objective] = {}
    try:
        conn.send(("ready",))  # started: what fails from now on is not the start-up
        while True:
            message = conn.recv()
            if message[0] == "stop":
                return
            _, job, key, payload = message
            if payload is not None:
                try:
                    objectives[key] = pickle.loads(payload)
                except Exception as exc:  # the objective's module does not import here
                    conn.send(("unloadable", key, f"{type(exc).__name__}: {exc}"))
                    continue
            apply_thread_limit()
            ended = run_trial(objectives[key], job, channel)
            try:
                conn.send(("ended", ended))
            except (pickle.PicklingError, TypeError, AttributeError):
                # An exception the objective raised may not pickle; keep its text.
                fatal = RuntimeError(repr(ended.fatal)) if ended.fatal is not None else None
                conn.send(("ended", TrialEnded(ended.number, ended.outcome, ended.params, fatal)))
    except (EOFError, OSError):  # the driver is gone
        return


def _exit_with_driver() -> None:
    """End this process as soon as its driver is gone (killed, say), even in the middle
    of a trial: nobody would receive the result, and the driver's next run redoes it."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="tunelab-driver-watch", daemon=True).start()


def _start_failed(number: int, reason: str) -> TrialEnded:
    """A worker could not start or load the objective: not the trial's fault, so it is
    stored uncharged, and the study stops with the reason."""
    error = WorkerStartError(reason)
    return TrialEnded(number, environment_fault_outcome(error), fatal=error)


@dataclass(eq=False)
class _Worker:
    slot: int
    environment: dict[str, str]
    process: BaseProcess
    conn: Connection
    number: int | None = None
    channel: TrialChannel | None = None
    objectives: set[int] = field(default_factory=set)
    ready: bool = False  # it started and can take objectives


class ProcessExecutor(Executor):
    """Run trials in ``n_workers`` local processes (see the module docstring)."""

    name = "processes"

    def __init__(
        self,
        n_workers: int | None = None,
        *,
        threads_per_trial: int | None = None,
        gpus_per_trial: float = 0.0,
        gpus: Sequence[int] | None = None,
    ) -> None:
        if n_workers is not None and (isinstance(n_workers, bool) or n_workers < 1):
            raise ConfigError(f"processes: n_workers must be >= 1, got {n_workers!r}")
        if gpus_per_trial < 0:
            raise ConfigError(f"processes: gpus_per_trial must be >= 0, got {gpus_per_trial}")
        if threads_per_trial is not None and threads_per_trial < 1:
            raise ConfigError(f"processes: threads_per_trial must be >= 1, got {threads_per_trial}")
        self.n_workers = n_workers
        self.threads_per_trial = threads_per_trial
        self.gpus_per_trial = gpus_per_trial
        self.gpus = list(gpus) if gpus is not None else None
        self._slots = self._plan_slots()
        problem = main_script_problem(self.name)
        if problem is not None:
            raise WorkerStartError(problem)
        self._workers: list[_Worker] = []
        self._context = multiprocessing.get_context("spawn")
        self._payloads: dict[int, bytes] = {}
        self._objectives: dict[int, Objective] = {}  # for messages about a payload

    # -- resources --------------------------------------------------------------------
    def _plan_slots(self) -> list[dict[str, str]]:
        """The environment of each worker slot: its CPU threads and its GPUs."""
        if self.gpus_per_trial > 0:
            devices = self.gpus if self.gpus is not None else visible_gpus()
            if not devices:
                raise ConfigError(
                    f"processes: gpus_per_trial={self.gpus_per_trial} but no GPU is visible "
                    "(nvidia-smi found none and CUDA_VISIBLE_DEVICES is unset)"
                )
            groups = _gpu_groups(devices, self.gpus_per_trial)
            n = self.n_workers or len(groups)
            if n > len(groups):
                raise ConfigError(
                    f"processes: {n} workers with {self.gpus_per_trial} GPU each need more than "
                    f"the {len(devices)} GPU(s) visible ({devices})"
                )
            gpu_env = [{"CUDA_VISIBLE_DEVICES": ",".join(map(str, g))} for g in groups[:n]]
        else:
            n = self.n_workers or max(1, (os.cpu_count() or 1))
            gpu_env = [{"CUDA_VISIBLE_DEVICES": ""} for _ in range(n)]
        threads = self.threads_per_trial or max(1, (os.cpu_count() or 1) // n)
        return [{**thread_environment(threads), **env} for env in gpu_env]

    # -- the executor contract ----------------------------------------------------------
    def capacity(self) -> int:
        return len(self._slots) - self.running()

    def running(self) -> int:
        return sum(w.number is not None for w in self._workers)

    def submit(self, job: TrialJob, objective: Objective, channel: TrialChannel) -> None:
        worker = self._idle_worker()
        key = id(objective)
        payload = None
        if key not in worker.objectives:
            if key not in self._payloads:
                try:
                    self._payloads[key] = pickle.dumps(objective)
                except (pickle.PicklingError, TypeError, AttributeError) as exc:
                    raise ConfigError(
                        "executor 'processes' runs the objective in other processes, so it "
                        f"must be picklable (a module-level function or a Task): {exc}"
                    ) from None
                self._objectives[key] = objective
            payload = self._payloads[key]
            worker.objectives.add(key)
        worker.number, worker.channel = job.number, channel
        try:
            worker.conn.send(("run", job, key, payload))
        except (OSError, BrokenPipeError):  # it died while idle: a fresh one takes the job
            worker.number = worker.channel = None
            self._replace(worker)
            self.submit(job, objective, channel)

    def poll(self, timeout: float | None = None) -> list[TrialEnded]:
        busy = [w for w in self._workers if w.number is not None]
        if not busy:
            return []
        ended: list[TrialEnded] = []
        waitables: list[Any] = [w.conn for w in busy] + [w.process.sentinel for w in busy]
        ready = set(wait(waitables, timeout))
        for worker in busy:
            if worker.conn in ready or worker.process.sentinel in ready:
                event = self._serve(worker)
                if event is not None:
                    ended.append(event)
        return ended

    def _serve(self, worker: _Worker) -> TrialEnded | None:
        """Answer the worker's requests until its pipe is drained; its TrialEnded if it ended."""
        assert worker.number is not None and worker.channel is not None
        number = worker.number
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                if message[0] == "ready":
                    worker.ready = True
                    continue
                if message[0] == "unloadable":  # shutdown() stops the worker, now idle
                    worker.number = worker.channel = None
                    _, key, error = message
                    objective = self._objectives.get(key)
                    return _start_failed(number, cannot_load_message(objective, error))
                if message[0] == "ended":
                    worker.number = worker.channel = None
                    ended: TrialEnded = message[1]
                    return ended
                _, method, args = message
                worker.conn.send(answer(worker.channel, method, args))
        except (EOFError, OSError, BrokenPipeError):
            pass
        if worker.process.is_alive():
            return None
        worker.process.join(timeout=5)
        exitcode = worker.process.exitcode
        if not worker.ready and exitcode is not None and exitcode > 0:
            # An error while starting (not a signal): every worker would die the same way.
            worker.number = worker.channel = None
            self._replace(worker)
            return _start_failed(number, start_failure_message(describe_exit(exitcode)))
        worker.number = worker.channel = None
        self._replace(worker)
        process = worker.process
        cause = f"process {process.pid} died {describe_exit(process.exitcode)}"
        return TrialEnded(number, lost_worker_outcome(cause))

    def shutdown(self) -> None:
        for worker in self._workers:
            try:
                if worker.number is None:
                    worker.conn.send(("stop",))
            except (OSError, BrokenPipeError):
                pass
        for worker in self._workers:
            worker.process.join(timeout=2 if worker.number is None else 0)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.conn.close()
        self._workers = []

    def end_running(self) -> list[int]:
        """Kill the workers that run a trial (the time limit passed); fresh ones take
        their slots if the study goes on."""
        ended = []
        for worker in [w for w in self._workers if w.number is not None]:
            assert worker.number is not None
            ended.append(worker.number)
            worker.process.kill()
            worker.process.join(timeout=5)
            worker.number = worker.channel = None
            self._replace(worker)
        return ended

    # -- workers ----------------------------------------------------------------------
    def _start(self, slot: int) -> _Worker:
        parent, child = self._context.Pipe(duplex=True)
        environment = self._slots[slot]
        process = self._context.Process(
            target=_worker_main,
            args=(child, environment),
            name=f"tunelab-worker-{slot}",
            daemon=True,
        )
        # Math libraries read their thread counts when imported, so the child gets them
        # in its environment from the start.
        saved = {k: os.environ.get(k) for k in environment}
        os.environ.update(environment)
        try:
            process.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        child.close()
        return _Worker(slot, environment, process, parent)

    def _idle_worker(self) -> _Worker:
        for worker in self._workers:
            if worker.number is None:
                return worker
        used = {w.slot for w in self._workers}
        free = [s for s in range(len(self._slots)) if s not in used]
        if not free:
            raise RuntimeError("submit() called with no capacity")
        worker = self._start(free[0])
        self._workers.append(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        worker.conn.close()
        self._workers.remove(worker)

    @property
    def pids(self) -> list[int | None]:
        """Process ids of the live workers (for tests and diagnostics)."""
        return [w.process.pid for w in self._workers]


def _gpu_groups(devices: Sequence[int], per_trial: float) -> list[list[int]]:
    """Devices for each worker: ``per_trial < 1`` packs floor(1/per_trial) workers a GPU."""
    if per_trial < 1:
        per_device = max(1, math.floor(1 / per_trial + 1e-9))
        return [[d] for d in devices for _ in range(per_device)]
    size = math.ceil(per_trial)
    return [list(devices[i : i + size]) for i in range(0, len(devices) - size + 1, size)]


def visible_gpus() -> list[int]:
    """GPU indices this process may use: CUDA_VISIBLE_DEVICES, else nvidia-smi's list."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [int(x) for x in env.split(",") if x.strip().isdigit()]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [int(line) for line in out.split() if line.strip().isdigit()]
