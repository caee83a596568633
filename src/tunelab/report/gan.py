"""What a report shows for a GAN task, read from the stored trials.

The GAN section of a report (``tunelab report``) shows, per strategy: box plots of
each run's best Inception Score and best FID (over all its trials and epochs), FID
beside its real-vs-real floor; the Inception Score of every trial at every epoch and
each run's best-so-far IS against its cumulative epochs; the best trial's image grids
after its first, a middle and its last saved epoch; its generator and discriminator
loss curves (followed back through a PBT clone's ancestors); the discriminator's
confusion matrix on real vs generated images and its accuracy on each; wall time and
epochs per strategy; and, for PBT, the best member's learning-rate schedule.

The names a GAN task (issue 5's ``mnist_gan``) uses; whatever is absent is simply not
shown, and a task whose trials report neither loss gets no GAN section:

- per-epoch report metrics ``g_loss`` and ``d_loss``: the generator's and the
  discriminator's mean training loss over the epoch (``trial.report(epoch, g_loss=...,
  d_loss=..., ...)``); these two mark a trial as a GAN's. ``inception_score`` and
  ``fid`` per epoch feed the score plots (and are drawn beside the losses);
  ``d_real_accuracy``, ``d_fake_accuracy`` and ``d_accuracy`` of the last epoch are the
  discriminator's accuracy on real images, on generated ones, and on both.
- trial user attribute ``image_grids``: ``{"EPOCH": IMAGE, ...}`` with one PNG grid of
  generated images per chosen epoch; IMAGE is the path of a PNG file (absolute, or
  relative to the folder of the SQLite storage file) or the PNG itself, base64-encoded
  (a ``data:image/png;base64,`` prefix is allowed). The report shows the first, a
  middle and the last of them.
- trial user attribute ``confusion_matrix``: the discriminator on real and generated
  images, ``{"labels": ["real", "generated"], "matrix": [[real judged real, real judged
  generated], [generated judged real, generated judged generated]]}`` (rows: what the
  image is; columns: what the discriminator says; counts or fractions), or the bare
  2x2 list with those labels.
- trial user attribute ``fid_floor``: the FID of as many real validation images as the
  evaluation generates, against the other validation images: the lowest FID a generator
  can be expected to reach at that sample size (not 0: FID is biased upwards by finite
  samples). Printed beside every FID; "unknown" when no trial stores it.
- parameters ``g_learning_rate`` and ``d_learning_rate`` (``tune_learning_rates``):
  under PBT, the best member's schedule of them is drawn from its lineage
  (:func:`tunelab.lineage.schedule`).
"""

from __future__ import annotations

import base64
import binascii
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.compare.results import ComparisonResults, RunResult
from tunelab.compare.trace import AnytimeTrace, anytime_trace
from tunelab.schedulers.base import scheduler_meta
from tunelab.trial import TrialRecord

if TYPE_CHECKING:
    import pandas as pd

GENERATOR_LOSS = "g_loss"
DISCRIMINATOR_LOSS = "d_loss"
INCEPTION_SCORE = "inception_score"
FID = "fid"
EXTRA_CURVES = (INCEPTION_SCORE, FID)
D_ACCURACY = "d_accuracy"
D_REAL_ACCURACY = "d_real_accuracy"
D_FAKE_ACCURACY = "d_fake_accuracy"
IMAGE_GRIDS = "image_grids"
CONFUSION_MATRIX = "confusion_matrix"
FID_FLOOR = "fid_floor"
LEARNING_RATES = ("g_learning_rate", "d_learning_rate")
DEFAULT_LABELS = ("real", "generated")
MAX_GRIDS = 3
"""Grids shown per best trial: the first, a middle and the last saved epoch."""
_PBT_MEMBER = "pbt_member"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_DATA_URI = "data:image/png;base64,"


@dataclass(frozen=True)
class GanView:
    """The GAN pictures of one trial; ``problems`` says what was named but unreadable."""

    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    grids: list[tuple[int, bytes]] = field(default_factory=list)
    confusion: tuple[list[str], list[list[float]]] | None = None
    problems: list[str] = field(default_factory=list)
    last_step: int | None = None
    """The trial's last reported epoch."""
    last: dict[str, float] = field(default_factory=dict)
    """The metrics of that last report (accuracies, IS, FID, ...)."""

    @property
    def empty(self) -> bool:
        return not (self.curves or self.grids or self.confusion or self.problems)


def _decoded_png(text: str) -> bytes | None:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if data.startswith(_PNG_MAGIC) else None


def _image_bytes(raw: Any, base_dir: Path | None) -> bytes | str:
    """The PNG bytes for an IMAGE value, or the reason it cannot be read."""
    if not isinstance(raw, str) or not raw:
        return f"not a path or a base64 PNG: {type(raw).__name__}"
    if raw.startswith(_DATA_URI):
        return _decoded_png(raw[len(_DATA_URI) :]) or "a data URI that does not hold a PNG"
    decoded = _decoded_png(raw)  # a path never decodes to a PNG header
    if decoded is not None:
        return decoded
    path = Path(raw).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        data = path.read_bytes()
    except OSError:
        return f"no readable file at {path}"
    return data if data.startswith(_PNG_MAGIC) else f"{path} is not a PNG"


def _confusion(raw: Any) -> tuple[list[str], list[list[float]]] | str:
    labels: Sequence[Any] = DEFAULT_LABELS
    matrix = raw
    if isinstance(raw, Mapping):
        labels = raw.get("labels") or DEFAULT_LABELS
        matrix = raw.get("matrix")
    try:
        rows = [[float(v) for v in row] for row in matrix]
    except (TypeError, ValueError):
        return f"{CONFUSION_MATRIX} is not a matrix of numbers: {raw!r}"
    if len(rows) != len(labels) or any(len(r) != len(labels) for r in rows):
        return f"{CONFUSION_MATRIX} is not {len(labels)}x{len(labels)} for labels {list(labels)}"
    return [str(label) for label in labels], rows


def _spread(items: list[tuple[int, bytes]], most: int) -> list[tuple[int, bytes]]:
    """At most ``most`` items, evenly spread, first and last kept."""
    if len(items) <= most:
        return items
    step = (len(items) - 1) / (most - 1)
    return [items[round(i * step)] for i in range(most)]


def _history(
    trial: TrialRecord, metric: str, lineage: Sequence[TrialRecord] | None
) -> list[tuple[int, float]]:
    """``metric`` at every epoch of ``trial``; a PBT clone's epochs before it was cloned
    come from the ancestors that trained them (``lineage``: the run's trials)."""
    own = trial.metric_history(metric)
    if not lineage or scheduler_meta(trial).get("parent") is None:
        return own
    from tunelab.lineage import schedule

    by_number = {t.number: t for t in lineage}
    by_number.setdefault(trial.number, trial)
    trained_by = schedule(by_number.values(), trial.number)
    if trained_by.empty:
        return own
    points = []
    steps, numbers = trained_by.index.tolist(), trained_by["trained_by"].tolist()
    for step, number in zip(steps, numbers, strict=True):
        record = by_number.get(int(number))
        found = [v for s, v in record.metric_history(metric) if s == step] if record else []
        if found:
            points.append((int(step), found[-1]))
    return points or own


def gan_view(
    trial: TrialRecord,
    base_dir: Path | None = None,
    lineage: Sequence[TrialRecord] | None = None,
) -> GanView:
    """Read the GAN pictures of ``trial`` (see the module docstring for the names).

    ``lineage``: the trials of its run, so that a PBT clone's curves start at epoch 1.
    """
    curves: dict[str, list[tuple[int, float]]] = {}
    for name in (GENERATOR_LOSS, DISCRIMINATOR_LOSS, *EXTRA_CURVES):
        points = _history(trial, name, lineage)
        if points:
            curves[name] = [(int(s), float(v)) for s, v in points]
    if not any(k in curves for k in (GENERATOR_LOSS, DISCRIMINATOR_LOSS)):
        curves = {}  # IS/FID alone are ordinary metrics, not a GAN's loss curves
    problems: list[str] = []
    grids: list[tuple[int, bytes]] = []
    raw_grids = trial.user_attrs.get(IMAGE_GRIDS)
    if isinstance(raw_grids, Mapping):
        for key, raw in raw_grids.items():
            try:
                epoch = int(key)
            except (TypeError, ValueError):
                problems.append(f"{IMAGE_GRIDS}: epoch {key!r} is not a number")
                continue
            image = _image_bytes(raw, base_dir)
            if isinstance(image, bytes):
                grids.append((epoch, image))
            else:
                problems.append(f"{IMAGE_GRIDS}[{key}]: {image}")
    elif raw_grids is not None:
        problems.append(f"{IMAGE_GRIDS} must map epochs to images, got {type(raw_grids).__name__}")
    confusion = None
    if CONFUSION_MATRIX in trial.user_attrs:
        parsed = _confusion(trial.user_attrs[CONFUSION_MATRIX])
        if isinstance(parsed, str):
            problems.append(parsed)
        else:
            confusion = parsed
    last = trial.reports[-1] if trial.reports else None
    return GanView(
        curves=curves,
        grids=_spread(sorted(grids), MAX_GRIDS),
        confusion=confusion,
        problems=problems,
        last_step=last.step if last is not None else None,
        last={k: float(v) for k, v in last.metrics.items()} if last is not None else {},
    )


# -- every trial of every run ----------------------------------------------------------------
def is_gan_trial(trial: TrialRecord) -> bool:
    """A trial that reported a generator or discriminator loss."""
    return any(
        GENERATOR_LOSS in r.metrics or DISCRIMINATOR_LOSS in r.metrics for r in trial.reports
    )


def best_reported(trials: Iterable[TrialRecord], metric: str, mode: str) -> float | None:
    """The best finite ``metric`` any trial reported at any epoch (None: never reported)."""
    values = [
        float(r.metrics[metric])
        for t in trials
        for r in t.reports
        if metric in r.metrics and math.isfinite(float(r.metrics[metric]))
    ]
    if not values:
        return None
    return max(values) if mode == "max" else min(values)


def fid_floor(trials: Iterable[TrialRecord]) -> float | None:
    """The real-vs-real FID the trials store (their median; None when none does)."""
    values = []
    for t in trials:
        raw = t.user_attrs.get(FID_FLOOR)
        if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
            values.append(float(raw))
    return statistics.median(values) if values else None


def fid_text(value: float | None, floor: float | None) -> str:
    """An FID with its floor beside it: ``45.2 (real-vs-real floor 31.0)``."""
    shown = "-" if value is None else f"{value:.1f}"
    if floor is None:
        return f"{shown} (real-vs-real floor unknown)"
    return f"{shown} (real-vs-real floor {floor:.1f})"


def floor_sentence(floor: float | None) -> str:
    """What the FID floor is, for a reader who would take any FID above 0 as bad."""
    if floor is None:
        return (
            "FID real-vs-real floor: unknown (no trial stores fid_floor). Even real images "
            "do not score 0 against other real images (FID is biased upwards by finite "
            "samples), so an FID is not bad merely for being above 0."
        )
    return (
        f"FID real-vs-real floor: {floor:.1f}. As many real validation images as each "
        "evaluation generates score this much against the other validation images with "
        "the scoring classifier; a generator cannot be expected to score below it, so an "
        "FID near the floor is as good as it gets. Read every FID against it, not "
        "against 0."
    )


def accuracy_sentence(view: GanView) -> str | None:
    """The discriminator's accuracy on real and on generated images at the trial's last
    epoch, in words (None when the trial did not report them)."""
    last = view.last
    if D_REAL_ACCURACY not in last and D_FAKE_ACCURACY not in last:
        return None
    parts = [
        f"{what} {last[key]:.1%} ({key})"
        for what, key in (
            ("on real images", D_REAL_ACCURACY),
            ("on generated images", D_FAKE_ACCURACY),
            ("on both", D_ACCURACY),
        )
        if key in last
    ]
    return (
        f"The discriminator at the best trial's last epoch ({view.last_step}), judging "
        "real validation images and as many generated ones: accuracy " + ", ".join(parts) + "."
    )


def is_pbt(definition: Mapping[str, Any], trials: Iterable[TrialRecord] = ()) -> bool:
    """Whether a strategy's scheduler is PBT: by its definition or by its trials' lineage."""
    scheduler = definition.get("scheduler")
    name = scheduler.get("name") if isinstance(scheduler, Mapping) else scheduler
    if isinstance(name, str) and name.lower() == "pbt":
        return True
    return any(_PBT_MEMBER in scheduler_meta(t) for t in trials)


def learning_rate_schedule(trials: Sequence[TrialRecord], number: int) -> pd.DataFrame | None:
    """Trial ``number``'s learning rates at every epoch (index ``step``, columns of
    ``LEARNING_RATES`` it has and ``trained_by``), followed through its PBT ancestors;
    None when it has no learning-rate parameter."""
    from tunelab.lineage import schedule

    table = schedule(trials, number)
    columns = [c for c in LEARNING_RATES if c in table.columns]
    if table.empty or not columns:
        return None
    return table[[*columns, "trained_by"]]


def is_trace(trials: Sequence[TrialRecord]) -> AnytimeTrace:
    """A run's best Inception Score so far against its cumulative epochs."""
    return anytime_trace(trials, INCEPTION_SCORE, "max")


@dataclass(frozen=True)
class GanRuns:
    """Every trial of every finished run, keyed by (strategy, repeat), read from storage
    (a run whose trials cannot be read falls back to its best trial, with a problem)."""

    trials: dict[tuple[str, int], list[TrialRecord]]
    problems: list[str] = field(default_factory=list)

    def of(self, strategy: str) -> dict[int, list[TrialRecord]]:
        return {r: ts for (s, r), ts in sorted(self.trials.items()) if s == strategy}

    @property
    def every_trial(self) -> list[TrialRecord]:
        return [t for ts in self.trials.values() for t in ts]

    @property
    def is_gan(self) -> bool:
        return any(is_gan_trial(t) for t in self.every_trial)


def gan_runs(results: ComparisonResults) -> GanRuns:
    """Read the trials of every finished run of ``results`` from its storage."""
    from tunelab.errors import TunelabError
    from tunelab.storage import make_storage

    finished: list[RunResult] = [r for s in results.strategies for r in s.finished]
    trials: dict[tuple[str, int], list[TrialRecord]] = {}
    problems: list[str] = []
    store = None
    if finished and results.storage_url == ":memory:":
        problems.append(
            "the comparison is in memory storage, which cannot be reopened: each run is "
            "shown by its best trial alone"
        )
    elif finished:
        try:
            store = make_storage(results.storage_url)
        except TunelabError as exc:
            problems.append(f"cannot open {results.storage_url} to read every trial: {exc}")
    try:
        for run in finished:
            found: list[TrialRecord] | None = None
            if store is not None:
                try:
                    record = store.get_study(run.study_name)
                    found = store.get_trials(record.study_id)
                except TunelabError as exc:
                    problems.append(f"{run.study_name}: {exc}; only its best trial is shown")
            if found is None:
                found = [run.best_trial] if run.best_trial is not None else []
            trials[(run.strategy, run.repeat)] = found
    finally:
        if store is not None:
            store.close()
    return GanRuns(trials, problems)
