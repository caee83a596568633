"""Parameter importances: scikit-learn's permutation importance of a random forest
recovers the known order of f = 10*x1 + 1*x2 + 0*x3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tunelab as tl
from tunelab.errors import ConfigError
from tunelab.plot import data, plot_importances
from tunelab.space import Choice, Condition, Float, Space


def _known(trial: tl.Trial) -> float:
    x1, x2 = trial.hp.get("x1"), trial.hp.get("x2")
    trial.hp.get("x3")
    if trial.hp.get("kind") == "a":
        trial.hp.get("extra")  # active on one branch only; never matters
    return 10 * x1 + 1 * x2


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def known_study(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    folder: Path = tmp_path_factory.mktemp("importances")
    url = ":memory:" if request.param == "memory" else f"sqlite:///{folder / 'k.db'}"
    space = Space(
        [
            Float("x1", 0.0, 1.0),
            Float("x2", 0.0, 1.0),
            Float("x3", 0.0, 1.0),
            Choice("kind", ("a", "b")),
            Float("extra", 0.0, 1.0, conditions=(Condition("kind", ("a",)),)),
        ]
    )
    study = tl.create_study(
        "known", metric="f", mode="min", storage=url, searcher="random", seed=0, space=space
    )
    study.optimize(_known, max_trials=150, quiet=True)
    return study


def test_the_known_order_is_recovered(known_study: tl.Study):
    assert any("extra" not in t.params for t in known_study.trials)
    shares = data.importances(known_study)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert list(shares)[:2] == ["x1", "x2"]
    assert shares["x1"] > 0.8
    assert shares["x2"] > 3 * max(shares["x3"], shares["kind"], shares["extra"])
    assert data.importances(known_study, seed=0) == shares  # seeded: the same again


def test_the_bar_chart_names_the_method_and_draws_every_share(known_study: tl.Study):
    figure = plot_importances(known_study)
    ax = figure.axes[0]
    bars: list[Any] = list(ax.patches)
    shares = data.importances(known_study)
    assert [b.get_width() for b in bars] == pytest.approx(list(shares.values()))
    assert [t.get_text() for t in ax.get_yticklabels()] == list(shares)
    assert "permutation importance" in ax.get_title()
    assert "random forest" in ax.get_title()
    figure.canvas.draw()


def test_a_conditional_study_with_pruned_trials_gets_a_share_per_parameter(
    hyperband: tl.Study,
):
    figure = plot_importances(hyperband)
    bars: list[Any] = list(figure.axes[0].patches)
    assert len(bars) == 4
    assert sum(b.get_width() for b in bars) == pytest.approx(1.0)


def test_too_few_completed_trials_is_one_clear_error():
    study = tl.create_study("few", metric="loss", storage=":memory:")
    with pytest.raises(ConfigError, match="needs at least 2 completed trials"):
        data.importances(study)
