"""Exports of a study's trials: a DataFrame, CSV and JSON (:mod:`.tables`), TensorBoard
event files (:mod:`.tensorboard`, the ``tensorboard`` extra) and MLflow runs
(:mod:`.mlflow`, the ``mlflow`` extra)."""

from tunelab.export.tables import TRIAL_COLUMNS, trial_row, trials_dataframe, trials_json

__all__ = ["TRIAL_COLUMNS", "trial_row", "trials_dataframe", "trials_json"]
