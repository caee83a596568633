"""The curated public API: what ``import tunelab`` offers, and what it does not import."""

from __future__ import annotations

import subprocess
import sys

import tunelab

EXPECTED = {
    "Boolean",
    "Budget",
    "BudgetUsage",
    "Choice",
    "Condition",
    "ConfigError",
    "Decision",
    "DuplicateStudyError",
    "FailureKind",
    "Fixed",
    "Float",
    "HyperParameters",
    "Int",
    "Param",
    "Report",
    "Space",
    "SpaceError",
    "StorageError",
    "Study",
    "StudyNotFoundError",
    "Task",
    "Trial",
    "TrialPaused",
    "TrialPruned",
    "TrialRecord",
    "TrialStatus",
    "TunelabError",
    "__version__",
    "compare",
    "create_study",
    "load_comparison",
    "load_study",
    "write_report",
}


def test_all_is_pinned():
    assert set(tunelab.__all__) == EXPECTED
    for name in tunelab.__all__:
        assert hasattr(tunelab, name), name


def test_import_does_not_pull_heavy_dependencies():
    code = (
        "import sys, tunelab; "
        "print(sorted(m for m in ('torch', 'ray', 'keras', 'psycopg', 'matplotlib', 'pandas', "
        "'sqlalchemy', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
