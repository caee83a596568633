"""A study as TensorBoard event files, for its HParams and Scalars dashboards.

Layout under the log folder: the experiment (every parameter with its domain, and the
metrics) in the folder itself, and one run per trial in ``trial_0003/``: its parameters
(the HParams plugin's session start, with the trial's state as the session's end), each
report's metrics as scalars at that report's step and time, and the trial's final
metrics as ``final/NAME`` scalars (``final/<study metric>`` is the trial's value, the
metric the HParams table shows first). A trial's end is the session's status: success
for completed and pruned trials (the plugin has no "stopped early"; a pruned trial's
value stands), failure for failed ones; running and paused trials have no end yet.
Inactive conditional parameters are left out of a trial's parameters. Needs the
``tensorboard`` extra (no TensorFlow).

    tensorboard --logdir DIR
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.errors import TunelabError
from tunelab.space import Choice, Fixed, Float, Int, Param, Value
from tunelab.trial import TrialRecord, TrialStatus

if TYPE_CHECKING:
    from tunelab.study import Study

FINAL = "final/"  # prefix of the scalars holding a trial's final metrics

_END_STATUS = {  # the HParams plugin's api_pb2.Status names
    TrialStatus.COMPLETED: "STATUS_SUCCESS",
    TrialStatus.PRUNED: "STATUS_SUCCESS",  # it has no state for stopped early; its value stands
    TrialStatus.FAILED: "STATUS_FAILURE",
}


def _tensorboard() -> Any:
    try:
        from tensorboard.plugins.hparams import summary_v2
    except ImportError:
        raise TunelabError(
            "TensorBoard export needs the tensorboard package: pip install 'tunelab[tensorboard]'"
        ) from None
    return summary_v2


def run_name(number: int) -> str:
    return f"trial_{number:04d}"


def export_tensorboard(study: Study, logdir: str | Path) -> list[Path]:
    """Write ``study``'s trials as event files under ``logdir`` (created; it must not
    hold event files already, or TensorBoard would show every trial twice). Returns the
    folders written: the experiment's, then one per trial."""
    hp = _tensorboard()
    root = Path(logdir)
    if root.exists() and any(root.rglob("events.out.tfevents.*")):
        raise TunelabError(
            f"{root} already holds TensorBoard event files; export into a new or empty folder"
        )
    trials = [t for t in study.trials if t.status is not TrialStatus.WAITING]
    coercions = {p.name: _coercion(p) for p in study.space}
    hparams = [hp.HParam(p.name, _domain(hp, p)) for p in study.space]
    hparams += [
        hp.HParam(name) for name in sorted({n for t in trials for n in t.params} - set(coercions))
    ]
    finals = _final_names(study.metric, trials)
    metrics = [
        hp.Metric(FINAL + name, display_name=name if name == study.metric else None)
        for name in finals
    ]
    start = min((t.created_at for t in trials), default=None)
    written = [root]
    with _EventWriter(root) as writer:
        writer.add(hp.hparams_config_pb(hparams, metrics, time_created_secs=start), 0, start)
    for t in trials:
        folder = root / run_name(t.number)
        with _EventWriter(folder) as writer:
            _write_trial(hp, writer, study.metric, t, coercions)
        written.append(folder)
    return written


def _write_trial(
    hp: Any,
    writer: _EventWriter,
    metric: str,
    t: TrialRecord,
    coercions: dict[str, type],
) -> None:
    began = t.started_at if t.started_at is not None else t.created_at
    params = {
        name: _coerce(value, coercions.get(name))
        for name, value in t.params.items()
        if value is not None
    }
    writer.add(hp.hparams_pb(params, trial_id=run_name(t.number), start_time_secs=began), 0, began)
    for report in t.reports:
        for name, value in report.metrics.items():
            writer.add(_scalar(name, value), report.step, report.time)
    finals = dict(t.metrics)
    if t.value is not None:
        finals[metric] = t.value
    ended = t.ended_at if t.ended_at is not None else began
    last_step = t.reports[-1].step if t.reports else 0
    for name, value in sorted(finals.items()):
        writer.add(_scalar(FINAL + name, value), last_step, ended)
    status = _END_STATUS.get(t.status)
    if status is not None:
        writer.add(_session_end(status, ended), last_step, ended)


def _final_names(metric: str, trials: Sequence[TrialRecord]) -> list[str]:
    """The study metric first, then every other final metric by name."""
    return [metric, *sorted({n for t in trials for n in t.metrics} - {metric})]


def _choices(param: Param) -> tuple[Value, ...]:
    if isinstance(param, Fixed):
        return (param.value,)
    return param.values if isinstance(param, Choice) else ()


def _coercion(param: Param) -> type:
    """The Python type a parameter's values are written as, for the HParams plugin's
    one-type domains: numbers as float, choices of mixed types as text."""
    if isinstance(param, (Float, Int)):
        return float
    values = _choices(param)
    if values and all(isinstance(v, bool) for v in values):
        return bool
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return float
    return str


def _coerce(value: Value, kind: type | None) -> Value:
    """``value`` as ``kind`` (None, for a parameter the space does not declare: as is)."""
    if kind is None or (
        isinstance(value, kind) and not (kind is float and isinstance(value, bool))
    ):
        return value
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return str(value)


def _domain(hp: Any, param: Param) -> Any:
    if isinstance(param, Int):
        return hp.IntInterval(int(param.min_value), int(param.max_value))
    if isinstance(param, Float):
        return hp.RealInterval(float(param.min_value), float(param.max_value))
    kind = _coercion(param)
    values = list(dict.fromkeys(_coerce(v, kind) for v in _choices(param)))
    return hp.Discrete(values, dtype=kind) if values else None


def _scalar(tag: str, value: float) -> Any:
    from tensorboard.compat.proto import summary_pb2

    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])


def _session_end(status: str, ended: float) -> Any:
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    info = plugin_data_pb2.SessionEndInfo(status=api_pb2.Status.Value(status), end_time_secs=ended)
    data = plugin_data_pb2.HParamsPluginData(session_end_info=info)
    return summary_pb2.Summary(
        value=[
            summary_pb2.Summary.Value(
                tag=metadata.SESSION_END_INFO_TAG,
                metadata=metadata.create_summary_metadata(data),
                tensor=metadata.NULL_TENSOR,
            )
        ]
    )


class _EventWriter:
    """One event file in ``folder``, written whole and closed on exit."""

    def __init__(self, folder: Path) -> None:
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self._writer = EventFileWriter(str(folder))

    def add(self, summary: Any, step: int, wall_time: float | None) -> None:
        import time

        from tensorboard.compat.proto import event_pb2

        self._writer.add_event(
            event_pb2.Event(
                wall_time=time.time() if wall_time is None else wall_time,
                step=step,
                summary=summary,
            )
        )

    def __enter__(self) -> _EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()
