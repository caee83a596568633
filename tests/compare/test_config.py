"""The comparison configuration: the YAML form, defaults, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunelab.compare import ComparisonBudget, ComparisonConfig, Strategy, load_compare_config
from tunelab.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "compare"


def test_full_yaml_form(tmp_path):
    path = tmp_path / "digits.yaml"
    path.write_text(
        """
task: digits_mlp
task_options: {epochs: 27, seed: 0}
repeats: 3
seed: 10
budget: {epochs: 300}
strategies:
  - random
  - {searcher: sobol}
  - name: hb
    searcher: random
    scheduler: {name: hyperband, max_epochs: 27, eta: 3}
  - {searcher: random, scheduler: {name: asha}}
report: {output: out, primary: validation, alpha: 0.1}
"""
    )
    cfg = load_compare_config(path)
    assert cfg.name == "digits"  # the file's stem
    assert [s.name for s in cfg.strategies] == ["random", "sobol", "hb", "random+asha"]
    assert cfg.strategies[2].scheduler == {"name": "hyperband", "max_epochs": 27, "eta": 3}
    assert cfg.strategies[2].scheduler_name == "hyperband"
    assert cfg.strategies[0].scheduler_name == "fifo"
    assert cfg.budget == ComparisonBudget("epochs", 300)
    assert cfg.budget.as_study_budget().max_epochs == 300
    assert [cfg.run_seed(r) for r in range(3)] == [10, 11, 12]
    assert cfg.study_name("hb", 2) == "digits/hb/2"
    assert (cfg.report.output, cfg.report.primary, cfg.report.alpha) == ("out", "validation", 0.1)
    assert cfg.final_evaluation is True and cfg.max_consecutive_failures == 5
    assert cfg.base_dir == tmp_path


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"strategies": ["random"], "budget": {"epochs": 5}}, "'task' is required"),
        ({"task": "t", "budget": {"epochs": 5}}, "'strategies' is required"),
        ({"task": "t", "strategies": ["random"]}, "'budget' is required"),
        (
            {"task": "t", "strategies": ["random"], "budget": {"epochs": 5, "seconds": 3}},
            "exactly one of epochs, trials or seconds",
        ),
        ({"task": "t", "strategies": ["random"], "budget": {"hours": 5}}, "unknown budget 'hours'"),
        ({"task": "t", "strategies": ["random"], "budget": {"epochs": 0}}, "max_epochs must be"),
        ({"task": "t", "strategies": ["random"], "budget": {"trials": 2.5}}, "max_trials must be"),
        ({"task": "t", "strategies": [], "budget": {"epochs": 5}}, "at least one strategy"),
        ({"task": "t", "strategies": "random", "budget": {"epochs": 5}}, "must be a list"),
        (
            {"task": "t", "strategies": ["random", "random"], "budget": {"epochs": 5}},
            "repeated: random",
        ),
        (
            {"task": "t", "strategies": [{"name": "a/b"}], "budget": {"epochs": 5}},
            "strategy name 'a/b'",
        ),
        (
            {
                "task": "t",
                "strategies": [{"searcher": "random", "sched": 1}],
                "budget": {"epochs": 5},
            },
            "unknown key(s) ['sched']",
        ),
        (
            {
                "task": "t",
                "strategies": [{"name": "r", "searcher": {"name": "random", "seed": 3}}],
                "budget": {"epochs": 5},
            },
            "do not set a searcher seed",
        ),
        (
            {"task": "t", "strategies": ["random"], "budget": {"epochs": 5}, "repeats": 0},
            "repeats must be an integer >= 1",
        ),
        (
            {"task": "t", "strategies": ["random"], "budget": {"epochs": 5}, "colour": 1},
            "unknown key(s) ['colour']",
        ),
        (
            {"task": "t", "strategies": ["random"], "budget": {"epochs": 5}, "report": {"x": 1}},
            "report: unknown key(s) ['x']",
        ),
        (
            {
                "task": "t",
                "strategies": ["random"],
                "budget": {"epochs": 5},
                "report": {"primary": "train"},
            },
            "report.primary must be test or validation",
        ),
    ],
)
def test_bad_configs_name_what_is_wrong(data, fragment):
    with pytest.raises(ConfigError) as info:
        ComparisonConfig.from_dict(data, where="cmp.yaml")
    assert fragment in str(info.value)
    assert str(info.value).startswith("cmp.yaml: ")


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_compare_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_compare_config(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_compare_config(listing)


def test_strategy_shorthands():
    assert Strategy.parse("sobol") == Strategy("sobol", "sobol", None)
    assert Strategy.parse({"searcher": "random", "scheduler": "fifo"}).name == "random"
    parsed = Strategy.parse({"searcher": {"name": "grid", "points": 3}})
    assert parsed.name == "grid" and parsed.searcher_name == "grid"
    with pytest.raises(ConfigError, match="searcher must be a name"):
        Strategy.parse({"name": "x", "searcher": 3})


@pytest.mark.parametrize("example", ["digits.yaml", "mnist_gan.yaml", "mnist_gan_schedulers.yaml"])
def test_the_examples_are_valid(example):
    cfg = load_compare_config(EXAMPLES / example)
    assert len(cfg.strategies) >= 3 and cfg.repeats >= 2
