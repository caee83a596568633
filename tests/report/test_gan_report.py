"""The GAN section of a report, on a real (tiny) comparison of the mnist_gan task.

Random search and PBT (with tuned learning rates), 2 repeats each, 4 epochs per run on
160 MNIST training images, stored in SQLite; the report is made from that storage and
every item of the GAN section is checked against the trials it was made from.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.report.test_report import PNG, Page
from tunelab.compare import compare, load_comparison
from tunelab.compare.results import ComparisonResults
from tunelab.lineage import schedule
from tunelab.report import ReportFiles, write_report
from tunelab.report.document import GAN_HEADING
from tunelab.report.gan import gan_view
from tunelab.report.tables import best_run
from tunelab.schedulers.base import scheduler_meta
from tunelab.storage import make_storage
from tunelab.trial import TrialRecord

pytestmark = pytest.mark.slow

STRATEGIES: list[Any] = [
    "random",
    {
        "name": "pbt",
        "searcher": "random",
        "scheduler": {
            "name": "pbt",
            "max_epochs": 2,
            "perturbation_interval": 1,
            "population_size": 2,
            "quantile": 0.5,
            # explore the learning rates only: a changed architecture (batch_norm,
            # g_activation) would not fit the donor's weights
            "mutate": ["g_learning_rate", "d_learning_rate"],
        },
    },
]


@dataclass(frozen=True)
class GanComparison:
    results: ComparisonResults
    trials: dict[tuple[str, int], list[TrialRecord]]
    files: ReportFiles
    html: str
    page: Page
    seconds: dict[str, float]

    def figure(self, name: str) -> Path:
        return self.files.directory / "figures" / name


@pytest.fixture(scope="module")
def gan(
    tmp_path_factory: pytest.TempPathFactory,
    data_dir: Path,
    classifier_dir: Path,
    mnist_classifier: Any,
) -> GanComparison:
    """One comparison, run once for the module; its report."""
    root = tmp_path_factory.mktemp("gan-report")
    db = root / "gan.db"
    start = time.perf_counter()
    compare(
        "mnist_gan",
        STRATEGIES,
        budget={"epochs": 4},
        repeats=2,
        name="gan",
        storage=make_storage(db),
        task_options={
            "data_dir": str(data_dir),
            "classifier_dir": str(classifier_dir),
            "train_size": 200,
            "eval_samples": 200,
            "batch_size": 64,
            "epochs": 2,
            "steps_per_epoch": None,
            "device": "cpu",
            "tune_learning_rates": True,
            "artifact_dir": str(root / "artifacts"),
        },
        final_evaluation=False,
        quiet=True,
    )
    compared = time.perf_counter() - start
    store = make_storage(db)
    results = load_comparison("gan", store)
    trials = {
        (r.strategy, r.repeat): store.get_trials(store.get_study(r.study_name).study_id)
        for r in results.runs
    }
    start = time.perf_counter()
    files = write_report(results, root / "report")
    reported = time.perf_counter() - start
    print(f"\n[GAN comparison {compared:.1f}s, report {reported:.1f}s]")
    html = files.html.read_text()
    page = Page()
    page.feed(html)
    return GanComparison(
        results, trials, files, html, page, {"compare": compared, "report": reported}
    )


def _best(gan: GanComparison, strategy: str) -> tuple[int, TrialRecord]:
    run = best_run(gan.results.strategy(strategy), gan.results.mode)
    assert run is not None and run.best_trial is not None
    return run.repeat, run.best_trial


def _floor(gan: GanComparison) -> float:
    floors = {t.user_attrs.get("fid_floor") for ts in gan.trials.values() for t in ts if t.reports}
    assert len(floors) == 1, floors  # one task, one validation split: one floor
    (floor,) = floors
    assert isinstance(floor, float) and floor > 0
    return floor


def test_the_comparison_ran_every_run_with_real_gan_trials(gan: GanComparison) -> None:
    assert sorted((r.strategy, r.repeat, r.status) for r in gan.results.runs) == [
        ("pbt", 0, "finished"),
        ("pbt", 1, "finished"),
        ("random", 0, "finished"),
        ("random", 1, "finished"),
    ]
    for trials in gan.trials.values():
        assert sum(t.steps_trained for t in trials) == 4
        assert not [t.error for t in trials if t.error]
        for t in trials:
            assert {"g_loss", "d_loss", "inception_score", "fid"} <= set(t.reports[-1].metrics)
            assert {"g_learning_rate", "d_learning_rate"} <= set(t.params)
    clones = [
        t
        for (s, _), ts in gan.trials.items()
        if s == "pbt"
        for t in ts
        if scheduler_meta(t).get("parent") is not None
    ]
    assert clones, "PBT cloned no member"
    assert gan.seconds["report"] < 30


def test_the_gan_section_and_its_headings(gan: GanComparison) -> None:
    headings = gan.page.headings
    assert GAN_HEADING in headings
    section = headings[headings.index(GAN_HEADING) :]
    assert "Best Inception Score and FID of each run" in section
    assert "Execution time" in section
    for strategy in ("random", "pbt"):
        repeat, best = _best(gan, strategy)
        assert f"{strategy}: best trial (repeat {repeat}, trial #{best.number})" in section
    assert headings[-1] == "Every run"
    # every image is embedded, and every figure file is a PNG with its numbers beside it
    figures = gan.files.directory / "figures"
    for png in figures.glob("*.png"):
        assert png.read_bytes().startswith(PNG), png
    for csv in figures.glob("*.csv"):
        assert not pd.read_csv(csv).empty, csv
    gan_pngs = sorted(p.name for p in figures.glob("gan_*.png"))
    grids = [p for p in gan_pngs if "_epoch" in p]
    # 2 box plots; per strategy IS, losses, confusion and its grids; PBT's schedule
    assert len(gan_pngs) == 2 + 2 * 3 + len(grids) + 1
    assert len(gan.page.images) == 3 + len(gan_pngs)  # + anytime (2) and validation box


def test_box_plots_of_each_runs_best_is_and_fid_with_the_floor(gan: GanComparison) -> None:
    floor = _floor(gan)
    expected = {
        (s, r): (
            max(v for t in ts for _, v in t.metric_history("inception_score")),
            min(v for t in ts for _, v in t.metric_history("fid")),
        )
        for (s, r), ts in gan.trials.items()
    }
    is_box = pd.read_csv(gan.figure("gan_best_inception_score_box.csv"))
    fid_box = pd.read_csv(gan.figure("gan_best_fid_box.csv"))
    for (strategy, repeat), (best_is, best_fid) in expected.items():
        row = is_box[(is_box["strategy"] == strategy) & (is_box["repeat"] == repeat)]
        assert row["best_inception_score"].tolist() == pytest.approx([best_is])
        row = fid_box[(fid_box["strategy"] == strategy) & (fid_box["repeat"] == repeat)]
        assert row["best_fid"].tolist() == pytest.approx([best_fid])
    for box in ("gan_best_inception_score_box.csv", "gan_best_fid_box.csv"):
        repeats = pd.read_csv(gan.figure(box), dtype=str)["repeat"].dropna().tolist()
        assert repeats and all(r.isdigit() for r in repeats), (box, repeats)  # not "0.0"
    # the floor is drawn (its value is in the plot's data) and named in the caption
    assert fid_box.loc[fid_box["strategy"] == "(real-vs-real floor)", "best_fid"].tolist() == (
        pytest.approx([floor])
    )
    assert f"Dashed: the real-vs-real floor ({floor:.1f})" in gan.html
    scores = pd.read_csv(gan.files.directory / "tables" / "gan_scores.csv")
    for strategy in ("random", "pbt"):
        record = scores[scores["strategy"] == strategy].iloc[0]
        fids = [f for (s, _), (_, f) in expected.items() if s == strategy]
        assert record["best_fid_median"] == pytest.approx(statistics.median(fids))
        assert record["fid_floor"] == pytest.approx(floor)


def test_fid_is_printed_beside_its_floor(gan: GanComparison) -> None:
    floor = _floor(gan)
    assert f"FID real-vs-real floor: {floor:.1f}. As many real validation images" in gan.html
    assert "FID near the floor is as good as it gets" in gan.html
    for strategy in ("random", "pbt"):
        _, best = _best(gan, strategy)
        fid = best.reports[-1].metrics["fid"]
        assert f"FID {fid:.1f} (real-vs-real floor {floor:.1f})" in gan.html
    assert f"FID&#x27;s real-vs-real floor ({floor:.1f}) is the dashed line." in gan.html
    assert "unknown" not in gan.html


def test_is_of_every_trial_at_every_epoch_and_best_so_far(gan: GanComparison) -> None:
    for strategy in ("random", "pbt"):
        data = pd.read_csv(gan.figure(f"gan_{strategy}_inception_score.csv"))
        runs = {r: ts for (s, r), ts in gan.trials.items() if s == strategy}
        every = data[data["panel"] == "trial"]
        expected = sorted(
            (r, t.number, step, value)
            for r, ts in runs.items()
            for t in ts
            for step, value in t.metric_history("inception_score")
        )
        columns = ("repeat", "trial", "epoch", "inception_score")
        got = sorted(zip(*(every[c] for c in columns), strict=True))
        assert [g[:3] for g in got] == [e[:3] for e in expected]
        assert [g[3] for g in got] == pytest.approx([e[3] for e in expected])
        best = data[data["panel"] == "best_so_far"]
        for repeat, trials in runs.items():
            curve = best[best["repeat"] == repeat]
            assert curve["cumulative_epochs"].tolist() == [1, 2, 3, 4]
            assert curve["best_so_far"].is_monotonic_increasing
            top = max(v for t in trials for _, v in t.metric_history("inception_score"))
            assert curve["best_so_far"].iloc[-1] == pytest.approx(top)


def test_the_best_models_grids_losses_and_discriminator(gan: GanComparison) -> None:
    for strategy in ("random", "pbt"):
        repeat, best = _best(gan, strategy)
        saved = sorted(int(e) for e in best.user_attrs["image_grids"])
        shown = [saved[0], saved[len(saved) // 2], saved[-1]] if len(saved) > 3 else saved
        for epoch in shown:
            assert gan.figure(f"gan_{strategy}_epoch{epoch}.png").read_bytes().startswith(PNG)
        view = gan_view(best, None, gan.trials[(strategy, repeat)])
        assert [e for e, _ in view.grids] == shown
        losses = pd.read_csv(gan.figure(f"gan_{strategy}_losses.csv"))
        assert {"g_loss", "d_loss"} <= set(losses["metric"])
        g_loss = losses[losses["metric"] == "g_loss"]
        assert g_loss["epoch"].tolist() == [1, 2]  # a PBT clone's curve starts at epoch 1
        assert g_loss["value"].iloc[-1] == pytest.approx(best.reports[-1].metrics["g_loss"])
        confusion = pd.read_csv(gan.figure(f"gan_{strategy}_confusion.csv"))
        last = best.reports[-1].metrics
        cells = ["d_real_as_real", "d_real_as_fake", "d_fake_as_real", "d_fake_as_fake"]
        assert confusion["value"].tolist() == pytest.approx([last[c] for c in cells])
        real, fake = last["d_real_accuracy"], last["d_fake_accuracy"]
        assert f"accuracy on real images {real:.1%} (d_real_accuracy)" in gan.html
        assert f"on generated images {fake:.1%} (d_fake_accuracy)" in gan.html


def test_execution_time_per_strategy(gan: GanComparison) -> None:
    table = pd.read_csv(gan.files.directory / "tables" / "gan_execution_time.csv")
    assert sorted(table["strategy"]) == ["pbt", "random"]
    for _, row in table.iterrows():
        runs = gan.results.strategy(row["strategy"]).finished
        assert row["epochs_total"] == 8 and row["epochs_median"] == 4
        assert row["wall_seconds_total"] == pytest.approx(sum(r.wall_seconds for r in runs))
        assert row["wall_seconds_median"] == pytest.approx(
            statistics.median(r.wall_seconds for r in runs)
        )
    assert "wall s per run" in gan.html and "epochs, all runs" in gan.html


def test_pbt_best_members_learning_rate_schedule(gan: GanComparison) -> None:
    repeat, best = _best(gan, "pbt")
    data = pd.read_csv(gan.figure("gan_pbt_lr_schedule.csv"))
    expected = schedule(gan.trials[("pbt", repeat)], best.number)
    assert data["step"].tolist() == expected.index.tolist() == [1, 2]
    for rate in ("g_learning_rate", "d_learning_rate"):
        assert data[rate].tolist() == pytest.approx(expected[rate].tolist())
    assert data["trained_by"].tolist() == expected["trained_by"].tolist()
    assert "the learning rates the best member" in gan.html
    assert not gan.figure("gan_random_lr_schedule.png").exists()  # random is not PBT
