"""The Keras Tuner pattern scripts in examples/keras_tuner_patterns/ run at small size
(``TUNELAB_EXAMPLE_SMALL=1``) as a user runs them, and print their best value."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "keras_tuner_patterns"
BEST_VALUE = re.compile(r"^best [^:]+: -?\d+\.\d+$", re.MULTILINE)


def run_small(script: str, data_dir: Path, tmp_path: Path) -> str:
    env = {
        **os.environ,
        "TUNELAB_EXAMPLE_SMALL": "1",
        "TUNELAB_DATA_DIR": str(data_dir),
        "KERAS_BACKEND": "torch",
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--directory", str(tmp_path)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize(
    ("script", "best_lines"),
    [
        ("getting_started.py", 3),  # RandomSearch, BayesianOptimization, Hyperband
        ("custom_training.py", 2),  # HyperModel.fit, run_trial
        ("tune_anything.py", 2),  # RandomSearch subclass, kt.Tuner(oracle=...)
        ("sklearn_models.py", 1),
    ],
)
def test_pattern_script_runs_small_and_prints_its_best_values(
    script: str, best_lines: int, data_dir: Path, tmp_path: Path
) -> None:
    out = run_small(script, data_dir, tmp_path)
    assert len(BEST_VALUE.findall(out)) == best_lines, out[-2000:]


def test_folder_readme_lists_every_pattern_script() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    for script in sorted(EXAMPLES.glob("*.py")):
        assert script.name in readme
