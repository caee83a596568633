"""tunelab: hyperparameter optimisation and fair comparison of tuning strategies.

import tunelab as tl

def objective(trial):
    x = trial.hp.Float("x", -5.0, 10.0)
    return (x - 2) ** 2

study = tl.create_study("demo", metric="value", mode="min", searcher="sobol", seed=0)
study.optimize(objective, max_trials=30)
study.best_trial.params

results = tl.compare("digits_mlp", ["random", "sobol"], budget={"epochs": 300}, repeats=5)
tl.write_report(results, "reports/digits")
"""

from tunelab.budget import Budget, BudgetUsage
from tunelab.compare import compare, load_comparison
from tunelab.errors import (
    ConfigError,
    DuplicateStudyError,
    SpaceError,
    StorageError,
    StudyNotFoundError,
    TunelabError,
)
from tunelab.hyperparameters import HyperParameters
from tunelab.report import write_report
from tunelab.space import Boolean, Choice, Condition, Fixed, Float, Int, Param, Space
from tunelab.study import Study, create_study, load_study
from tunelab.tasks.base import Task
from tunelab.trial import (
    Decision,
    FailureKind,
    Report,
    Trial,
    TrialPaused,
    TrialPruned,
    TrialRecord,
    TrialStatus,
)
from tunelab.version import __version__

__all__ = [
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
    "Space",
    "__version__",
    "compare",
    "create_study",
    "load_comparison",
    "load_study",
    "write_report",
]
