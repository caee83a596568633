"""The ``tunelab`` command: run, plan, worker, ls, show, export, compare, report, dashboard.

Exit codes: 0 done (a run stopped by its time limit too, once a trial reported); 2 bad
input, or data or storage that failed (the reason on stderr, one line; no trial is
charged for the latter: run the same command again after the fix to continue); 130
interrupted by Ctrl-C (everything finished so far is stored; run the same command again
to continue).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tunelab.cli_show import ShowFormat
from tunelab.errors import TunelabError
from tunelab.storage import DEFAULT_STORAGE_FILE, Storage, default_storage_url, make_storage

app = typer.Typer(
    name="tunelab",
    help="Tune hyperparameters of machine-learning models and compare tuning strategies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage",
        "-s",
        help=f"Storage URL or .db path (default: ./{DEFAULT_STORAGE_FILE}).",
        envvar="TUNELAB_STORAGE",
    ),
]


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("tunelab")
        except PackageNotFoundError:  # run from a source tree that is not installed
            number = "unknown (not installed)"
        out.print(f"tunelab {number}", markup=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print tunelab's version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    pass


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn bad input into a message on stderr and exit code 2."""
    try:
        yield
    except TunelabError as exc:
        err.print(f"tunelab: error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print(
            "tunelab: interrupted; finished trials are stored, run the same command to continue",
            markup=False,
        )
        raise typer.Exit(130) from None


def _open_existing(storage: str | None) -> Storage:
    """Open a storage for reading only: no file is created, no write lock taken (so a
    reader never waits for a writer), and a read-only location is fine."""
    url = storage or default_storage_url()
    if url != ":memory:" and "://" not in url and not Path(url).exists():
        raise TunelabError(f"no tunelab storage at {url}")
    return make_storage(url, read_only=True)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Run configuration (YAML).")],
    storage: StorageOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Run (or continue) the study a YAML configuration describes."""
    with _user_errors():
        from tunelab.config import import_objective, load_run_config
        from tunelab.study import create_study
        from tunelab.tasks import make_task

        cfg = load_run_config(config)
        task = make_task(cfg.task, **cfg.task_options) if cfg.task else None
        objective = (
            task if task is not None else import_objective(cfg.objective or "", cfg.base_dir)
        )
        space = cfg.space
        if space is None and task is not None and task.space() is not None:
            space = task.space().to_dict()  # type: ignore[union-attr]
        metric = cfg.metric or (task.metric if task else "value")
        mode = cfg.mode or (task.mode if task else "min")
        study = create_study(
            cfg.study,
            metric=metric,
            mode=mode,
            searcher=cfg.searcher,
            scheduler=cfg.scheduler,
            storage=storage or cfg.storage,
            seed=cfg.seed,
            space=space,
            load_if_exists=True,
        )
        budget = cfg.budget
        from tunelab.executors import make_executor

        options = {} if cfg.n_workers is None else {"n_workers": cfg.n_workers}
        study.optimize(
            objective,
            max_trials=budget.max_trials,
            max_epochs=budget.max_epochs,
            max_seconds=budget.max_seconds,
            executor=make_executor(cfg.executor, **options),
            max_retries=cfg.max_retries,
            quiet=quiet,
        )
        best = study.best_trial
        if not quiet:
            pruned = " (pruned)" if best.status.value == "pruned" else ""
            out.print(
                f"best trial: #{best.number}  {study.metric} = {_fmt(best.value)}{pruned}",
                markup=False,
            )
            out.print("best configuration:", markup=False)
            for name, value in best.params.items():
                out.print(f"  {name}: {_fmt(value)}", markup=False)
        if cfg.final_evaluation:
            if task is None:
                raise TunelabError("final_evaluation needs a task (not a bare objective)")
            from tunelab.evaluation import evaluate_best

            if not quiet:
                out.print(
                    "final evaluation: retraining the best configuration on train+validation",
                    markup=False,
                )
            result = evaluate_best(study, task)
            if not quiet:
                out.print(
                    f"final evaluation ({result.epochs} epochs on train+validation): "
                    f"validation {study.metric} = {_fmt(result.validation_value)}, "
                    + ", ".join(f"{k} = {_fmt(v)}" for k, v in result.test_metrics.items()),
                    markup=False,
                )


@app.command()
def plan(
    config: Annotated[Path, typer.Argument(help="Run configuration (YAML).")],
    max_epochs: Annotated[
        int | None, typer.Option("--max-epochs", help="Total epoch budget (overrides the file's).")
    ] = None,
    max_trials: Annotated[
        int | None, typer.Option("--max-trials", help="Trial budget (overrides the file's).")
    ] = None,
) -> None:
    """Print what the scheduler will run under the file's budget, without running it:
    for Hyperband each bracket's trials and epochs per rung, and the total epochs."""
    with _user_errors():
        from dataclasses import replace

        from tunelab.budget import Budget
        from tunelab.config import load_run_config
        from tunelab.schedulers import make_scheduler

        cfg = load_run_config(config)
        budget: Budget = cfg.budget
        if max_epochs is not None:
            budget = replace(budget, max_epochs=max_epochs)
        if max_trials is not None:
            budget = replace(budget, max_trials=max_trials)
        out.print(str(make_scheduler(cfg.scheduler).plan(budget)), markup=False)


@app.command("ls")
def list_studies(storage: StorageOption = None) -> None:
    """List the studies in a storage."""
    with _user_errors():
        store = _open_existing(storage)
        table = Table(title=f"studies in {store.url}")
        for column in ("study", "metric", "mode", "trials", "completed", "best"):
            table.add_column(column)
        for s in store.list_studies():
            table.add_row(
                s.name, s.metric, s.mode, str(s.n_trials), str(s.n_completed), _fmt(s.best_value)
            )
        out.print(table)


@app.command()
def worker(
    study: Annotated[str, typer.Option("--study", help="The study to work on.")],
    storage: StorageOption = None,
    objective: Annotated[
        str | None,
        typer.Option(help="module:function or file.py:function (default: the study's)."),
    ] = None,
    max_trials: Annotated[int | None, typer.Option(help="Override the study's budget.")] = None,
    max_epochs: Annotated[int | None, typer.Option(help="Override the study's budget.")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="Override the study's budget.")] = None,
    executor: Annotated[str, typer.Option(help="inline, processes or ray.")] = "inline",
    n_workers: Annotated[int | None, typer.Option(help="Processes or Ray actors.")] = None,
    max_retries: Annotated[int, typer.Option(help="Rerun failed trials.")] = 0,
    lease_seconds: Annotated[float, typer.Option(help="Lease of a running trial.")] = 60.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Join a study as one more worker (start any number, on any machine reaching the storage)."""
    with _user_errors():
        from tunelab.worker import run_worker

        run_worker(
            study,
            storage=str(_open_existing(storage).url),
            objective=objective,
            max_trials=max_trials,
            max_epochs=max_epochs,
            max_seconds=max_seconds,
            executor=executor,
            n_workers=n_workers,
            max_retries=max_retries,
            lease_seconds=lease_seconds,
            quiet=quiet,
        )


@app.command()
def show(
    study: Annotated[str, typer.Argument(help="Study name.")],
    storage: StorageOption = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            "-c",
            help="Comma-separated columns, all shown: number, state, value (or the metric's "
            "name), epochs, duration, parameter and metric names, started, error.",
        ),
    ] = None,
    all_columns: Annotated[
        bool, typer.Option("--all-columns", "-a", help="Every column, at full width.")
    ] = False,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            help="Column to sort by: value sorts best first, any other ascending "
            "(default: trial number; value with --top).",
        ),
    ] = None,
    reverse: Annotated[bool, typer.Option("--reverse", "-r", help="Reverse the order.")] = False,
    top: Annotated[
        int | None, typer.Option("--top", "-n", help="Only the first N (the N best by default).")
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state", help="Only trials in these states, e.g. completed,pruned (comma-separated)."
        ),
    ] = None,
    fmt: Annotated[
        ShowFormat,
        typer.Option(
            "--format",
            "-f",
            help="table (fitted to a terminal, plain text when piped), plain or csv.",
        ),
    ] = ShowFormat.table,
) -> None:
    """Show a study's trials and its best trial.

    Fitted to a terminal's width; piped, plain text that keeps every column and cell.
    """
    with _user_errors():
        from tunelab.cli_show import ShowOptions, show_study
        from tunelab.study import load_study

        options = ShowOptions(
            columns=columns,
            all_columns=all_columns,
            sort=sort,
            reverse=reverse,
            top=top,
            states=state,
            fmt=fmt,
        )
        show_study(load_study(study, storage=_open_existing(storage)), options, out)


class ExportFormat(str, Enum):
    csv = "csv"
    json = "json"
    tensorboard = "tensorboard"
    mlflow = "mlflow"


@app.command()
def export(
    study: Annotated[str, typer.Argument(help="Study name.")],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="csv, json, tensorboard or mlflow.")
    ] = ExportFormat.csv,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File (default: stdout); for tensorboard, a new folder."
        ),
    ] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri",
            help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else MLflow's).",
        ),
    ] = None,
    experiment: Annotated[
        str | None,
        typer.Option("--experiment", help="MLflow experiment (default: the study's name)."),
    ] = None,
    storage: StorageOption = None,
) -> None:
    """Export a study: its trials as CSV (one row per trial) or JSON (everything, reports
    included); TensorBoard event files (HParams and Scalars, one run per trial, into
    --output); or MLflow runs (one per trial, nested under one for the study; running it
    again adds only what is new)."""
    with _user_errors():
        from tunelab.study import load_study

        st = load_study(study, storage=_open_existing(storage))
        if fmt is ExportFormat.tensorboard:
            from tunelab.export.tensorboard import export_tensorboard

            if output is None:
                raise TunelabError("--format tensorboard writes a folder: give it with --output")
            folders = export_tensorboard(st, output)
            out.print(
                f"tensorboard: {len(folders) - 1} trial runs in {output} "
                f"(view with: tensorboard --logdir {output})",
                markup=False,
            )
            return
        if fmt is ExportFormat.mlflow:
            from tunelab.export.mlflow import export_mlflow

            result = export_mlflow(st, tracking_uri=tracking_uri, experiment=experiment)
            out.print(
                f"mlflow: {len(result.trial_runs)} trial runs under parent run "
                f"{result.parent_run_id} in experiment {experiment or st.name!r}",
                markup=False,
            )
            return
        from tunelab.export import trials_json

        text = (
            st.dataframe().to_csv(index=False)
            if fmt is ExportFormat.csv
            else trials_json(st.trials)
        )
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text)


@app.command("compare")
def compare_command(
    config: Annotated[Path, typer.Argument(help="Comparison configuration (YAML).")],
    storage: StorageOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Compare tuning strategies: every strategy, every repeat, one budget, one storage.

    Run it again to continue an interrupted comparison (finished runs are skipped).
    """
    with _user_errors():
        from tunelab.compare import load_compare_config, run_comparison

        cfg = load_compare_config(config)
        results = run_comparison(cfg, storage or cfg.storage, quiet=quiet)
        if not quiet:
            finished = sum(r.status == "finished" for r in results.runs)
            failed = sum(r.status == "failed" for r in results.runs)
            out.print(
                f"comparison {results.name!r}: {finished} runs finished, {failed} failed; "
                f"write its report with: tunelab report {config}",
                markup=False,
            )


@app.command("report")
def report_command(
    config: Annotated[
        Path | None,
        typer.Argument(help="The comparison's YAML (default: the only comparison in the storage)."),
    ] = None,
    storage: StorageOption = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Comparison name (default: the config's).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Folder (default: report.output, else reports/NAME)."),
    ] = None,
) -> None:
    """Write a comparison's HTML report and Markdown summary from the stored runs (runs nothing)."""
    with _user_errors():
        from dataclasses import replace

        from tunelab.compare import load_compare_config, load_comparison
        from tunelab.report import write_report

        cfg = load_compare_config(config) if config is not None else None
        store = _open_existing(storage or (cfg.storage if cfg else None))
        results = load_comparison(name or (cfg.name if cfg else None), store)
        if cfg is not None:  # the file's report settings win over the stored ones
            results = replace(
                results, manifest={**results.manifest, "report": cfg.report.to_dict()}
            )
        files = write_report(results, output)
        out.print(f"report: {files.html}", markup=False)
        out.print(f"summary: {files.markdown}", markup=False)
        out.print(files.conclusion, markup=False)


@app.command()
def dashboard(
    storage: StorageOption = None,
    port: Annotated[int, typer.Option("--port", "-p", help="Port (0: any free one).")] = 8765,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (other than 127.0.0.1: warns).")
    ] = "127.0.0.1",
) -> None:
    """Serve a live, read-only web dashboard of the storage's studies and comparisons."""
    with _user_errors():
        from tunelab.dashboard.server import serve

        serve(
            _open_existing(storage),
            host=host,
            port=port,
            say=lambda line: out.print(line, markup=False),
            warn=lambda line: err.print(f"tunelab: {line}", markup=False),
        )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
