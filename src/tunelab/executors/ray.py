"""Trials on Ray: a local Ray instance or an existing cluster (``address=``).

``n_workers`` long-lived Ray actors each run one trial at a time with the resources
given per trial (``resources_per_trial={"cpu": 1, "gpu": 0.5}``; other keys are Ray
custom resources). Reusing actors keeps per-trial overhead to a few Ray calls.

The driver keeps the storage, the searcher and the scheduler. A trial's channel calls
(its reports, a parameter the proposal did not cover) travel through Ray queues
(``ray.util.queue``) and are answered by the driver, so every report is stored before
``trial.report`` returns on whichever node the trial runs. An actor that dies leaves its
trial FAILED with the reason and is replaced; at the study's time limit the actors
still running a trial are killed. Ray is an optional extra:
``pip install 'tunelab[ray]'``.

When tunelab starts Ray itself, workers get the driver's ``sys.path`` (so objectives
defined in your scripts and packages import there) and Ray is shut down at the end of
``optimize``. On an existing cluster, ship your code with Ray's ``runtime_env``
(``init_options={"runtime_env": {...}}``) as for any Ray job.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.errors import ConfigError
from tunelab.executors.base import Executor, Objective, TrialEnded, TrialJob, run_trial
from tunelab.executors.remote import (
    ChannelProxy,
    answer,
    apply_thread_limit,
    lost_worker_outcome,
    thread_environment,
)
from tunelab.trial import TrialChannel


class _QueueChannel(ChannelProxy):
    """Worker side: requests go to the driver's queue, answers come on this worker's queue."""

    def __init__(self, index: int, requests: Any, responses: Any) -> None:
        self._index = index
        self._requests = requests
        self._responses = responses

    def call(self, method: str, *args: Any) -> Any:
        self._requests.put((self._index, method, args))
        kind, value = self._responses.get()
        if kind == "error":
            raise value
        return value


class _TrialWorker:
    """The body of a Ray actor that runs trials (wrapped with ray.remote at start-up)."""

    def __init__(
        self, index: int, requests: Any, responses: Any, environment: dict[str, str]
    ) -> None:
        os.environ.update(environment)
        self._channel = _QueueChannel(index, requests, responses)

    def run(self, job: TrialJob, objective: Objective) -> TrialEnded:
        apply_thread_limit()
        return run_trial(objective, job, self._channel)

    def pid(self) -> int:
        return os.getpid()


@dataclass(eq=False)
class _Actor:
    index: int
    handle: Any
    responses: Any
    number: int | None = None
    channel: TrialChannel | None = None
    result: Any = None  # the ObjectRef of the running trial


class RayExecutor(Executor):
    """Run trials as Ray actors (see the module docstring)."""

    name = "ray"

    def __init__(
        self,
        n_workers: int | None = None,
        *,
        address: str | None = None,
        resources_per_trial: Mapping[str, float] | None = None,
        init_options: Mapping[str, Any] | None = None,
    ) -> None:
        if n_workers is not None and (isinstance(n_workers, bool) or n_workers < 1):
            raise ConfigError(f"ray: n_workers must be >= 1, got {n_workers!r}")
        resources = dict(resources_per_trial or {"cpu": 1})
        for key, amount in resources.items():
            if not isinstance(amount, int | float) or amount < 0:
                raise ConfigError(f"ray: resources_per_trial[{key!r}] must be >= 0, got {amount!r}")
        self.n_workers = n_workers
        self.address = address
        self.resources_per_trial = resources
        self.init_options = dict(init_options or {})
        self._ray: Any = None
        self._owns_ray = False
        self._actors: list[_Actor] = []
        self._requests: Any = None
        self._objective_refs: dict[int, Any] = {}
        self._actor_class: Any = None
        self._next_index = 0
        self._size = n_workers

    # -- start-up -----------------------------------------------------------------------
    def _started(self) -> Any:
        if self._ray is not None:
            return self._ray
        try:
            import ray
            from ray.util.queue import Queue
        except ImportError:
            raise ConfigError("executor 'ray' needs Ray: pip install 'tunelab[ray]'") from None
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False}
            if self.address is None:
                path = os.pathsep.join(p for p in sys.path if p)
                options["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
            options.update(self.init_options)
            ray.init(address=self.address, **options)
            self._owns_ray = True
        self._ray = ray
        self._requests = Queue()
        options = {
            "num_cpus": self.resources_per_trial.get("cpu", 1),
            "num_gpus": self.resources_per_trial.get("gpu", 0),
            "max_concurrency": 1,
        }
        custom = {k: v for k, v in self.resources_per_trial.items() if k not in ("cpu", "gpu")}
        if custom:
            options["resources"] = custom
        self._actor_class = ray.remote(_TrialWorker).options(**options)
        if self._size is None:
            cpus = ray.cluster_resources().get("CPU", 1)
            per_trial = self.resources_per_trial.get("cpu", 1) or 1
            self._size = max(1, math.floor(cpus / per_trial))
        return ray

    def _new_actor(self, index: int) -> _Actor:
        from ray.util.queue import Queue

        threads = max(1, math.ceil(self.resources_per_trial.get("cpu", 1)))
        responses = Queue()
        handle = self._actor_class.remote(
            index, self._requests, responses, thread_environment(threads)
        )
        return _Actor(index, handle, responses)

    # -- the executor contract ----------------------------------------------------------
    def capacity(self) -> int:
        self._started()
        assert self._size is not None
        return self._size - self.running()

    def running(self) -> int:
        return sum(a.number is not None for a in self._actors)

    def submit(self, job: TrialJob, objective: Objective, channel: TrialChannel) -> None:
        ray = self._started()
        actor = next((a for a in self._actors if a.number is None), None)
        if actor is None:
            # A fresh index each time: a killed actor's last request may still be queued.
            actor = self._new_actor(self._next_index)
            self._next_index += 1
            self._actors.append(actor)
        key = id(objective)
        if key not in self._objective_refs:
            self._objective_refs[key] = ray.put(objective)
        actor.number, actor.channel = job.number, channel
        actor.result = actor.handle.run.remote(job, self._objective_refs[key])

    def poll(self, timeout: float | None = None) -> list[TrialEnded]:
        busy = [a for a in self._actors if a.number is not None]
        if not busy:
            return []
        ray = self._ray
        from ray.util.queue import Empty

        deadline = time.monotonic() + (timeout if timeout is not None else 3600.0)
        while True:
            refs = [a.result for a in busy]
            done, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            if done:
                return [self._collect(a) for a in busy if a.result in done]
            try:
                index, method, args = self._requests.get(timeout=0.01)
            except Empty:
                if time.monotonic() >= deadline:
                    return []
                continue
            actor = next((a for a in self._actors if a.index == index), None)
            if actor is None or actor.channel is None:  # its actor was killed since
                continue
            actor.responses.put(answer(actor.channel, method, args))

    def _collect(self, actor: _Actor) -> TrialEnded:
        ray = self._ray
        number = actor.number
        assert number is not None
        actor.number = actor.channel = None
        try:
            ended: TrialEnded = ray.get(actor.result)
            return ended
        except ray.exceptions.RayActorError as exc:
            self._actors.remove(actor)
            return TrialEnded(number, lost_worker_outcome(f"its Ray actor died: {exc}"))

    def end_running(self) -> list[int]:
        """Kill the actors that run a trial (the time limit passed); the study replaces
        them with fresh ones if it goes on."""
        ended = []
        for actor in [a for a in self._actors if a.number is not None]:
            assert actor.number is not None
            ended.append(actor.number)
            self._ray.kill(actor.handle)
            self._actors.remove(actor)
        return ended

    def shutdown(self) -> None:
        if self._ray is None:
            return
        for actor in self._actors:
            self._ray.kill(actor.handle)
        self._actors = []
        self._objective_refs = {}
        if self._owns_ray:
            self._ray.shutdown()
        self._ray = None
        self._owns_ray = False
