"""What ``tunelab show`` prints: a study's trials fitted to the terminal, plain text that
keeps every cell when the output is not a terminal, or CSV.

In a terminal the default columns are the number, state, value, epochs and duration,
then the parameters, in the space's order, that fit the width (a line says how many did
not). Columns named with ``--columns`` or ``--all-columns`` are all shown, at their full
width. Plain text and CSV keep every chosen column and every cell, whatever the width.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console

from tunelab.errors import TunelabError
from tunelab.table import (
    Column,
    all_columns,
    available_columns,
    default_columns,
    format_number,
    parse_columns,
    parse_states,
    resolve,
    select,
)
from tunelab.trial import TrialRecord

if TYPE_CHECKING:
    from tunelab.study import Study

_GAP = 2  # spaces between two columns


class ShowFormat(str, Enum):
    table = "table"  # fitted in a terminal, plain text otherwise
    plain = "plain"
    csv = "csv"


@dataclass(frozen=True)
class ShowOptions:
    columns: str | None = None
    all_columns: bool = False
    sort: str | None = None
    reverse: bool = False
    top: int | None = None
    states: str | None = None
    fmt: ShowFormat = ShowFormat.table


def show_study(study: Study, options: ShowOptions, console: Console) -> None:
    """Print ``study``'s trials as ``options`` say, to ``console`` (its file for plain
    text and CSV, which never pass through rich)."""
    if options.top is not None and options.top < 1:
        raise TunelabError("--top must be a positive integer")
    trials = study.trials
    available = available_columns(study.metric, study.space.names, trials)
    if options.columns is not None:
        columns = parse_columns(options.columns, available, study.metric)
    elif options.all_columns:
        columns = all_columns(available)
    else:
        columns = default_columns(available)
    sort = resolve(options.sort, available, study.metric) if options.sort else None
    if sort is None and options.top is not None:
        sort = available["value"]  # the top N are the best N
    if sort is None and options.reverse:
        sort = available["number"]
    rows = select(
        trials,
        states=parse_states(options.states) if options.states is not None else None,
        sort=sort,
        descending=sort is available["value"] and study.mode == "max",
        reverse=options.reverse,
        top=options.top,
    )
    if options.fmt is ShowFormat.csv:
        console.file.write(csv_text(columns, rows))
        return
    shown = f"; {len(rows)} of {len(trials)} trials" if len(rows) != len(trials) else ""
    title = (
        f"study {study.name!r}: {study.metric} ({study.mode}), {study.searcher.name} search{shown}"
    )
    fitted = options.columns is None and not options.all_columns
    terminal = options.fmt is ShowFormat.table and (console.is_terminal or console.is_jupyter)
    if terminal:
        console.print(title, markup=False, soft_wrap=False)
        _print_terminal(console, columns, rows, fitted=fitted)
    else:
        console.file.write(title + "\n" + plain_text(columns, rows))
    _print_best(study, console, wrap=terminal)


def cells(columns: list[Column], rows: list[TrialRecord]) -> list[list[str]]:
    return [[c.text(c.raw(t)) for c in columns] for t in rows]


def widths(columns: list[Column], table: list[list[str]]) -> list[int]:
    """Each column's natural width: its longest cell or header."""
    return [
        max([cell_len(c.header), *(cell_len(row[i]) for row in table)])
        for i, c in enumerate(columns)
    ]


def fit(columns: list[Column], natural: list[int], width: int) -> list[int]:
    """Indices of the columns to show in ``width``: every column that is not a parameter,
    then the parameters, in order, that still fit (a wide one is skipped, not the rest)."""
    keep = [i for i, c in enumerate(columns) if not c.is_param]
    used = sum(natural[i] for i in keep) + _GAP * (len(keep) - 1)
    for i, column in enumerate(columns):
        if column.is_param and used + _GAP + natural[i] <= width:
            keep.append(i)
            used += _GAP + natural[i]
    return sorted(keep)


def _print_terminal(
    console: Console, columns: list[Column], rows: list[TrialRecord], *, fitted: bool
) -> None:
    """The plain-text layout with a bold header and a rule under it; when ``fitted``, only
    the columns that fit the console's width (named columns keep their full width: a
    terminal narrower than them wraps, ``less -S`` scrolls)."""
    table = cells(columns, rows)
    natural = widths(columns, table)
    keep = fit(columns, natural, console.width) if fitted else list(range(len(columns)))
    hidden = len(columns) - len(keep)
    chosen = [columns[i] for i in keep]
    header, *body = _aligned(
        chosen, [[c.header for c in chosen], *([r[i] for i in keep] for r in table)]
    )
    console.print(header, markup=False, highlight=False, soft_wrap=True, style="bold")
    rule = sum(natural[i] for i in keep) + _GAP * (len(keep) - 1)
    console.print("─" * rule, markup=False, highlight=False, soft_wrap=True)
    if body:
        console.print("\n".join(body), markup=False, highlight=False, soft_wrap=True)
    if hidden:
        console.print(
            f"{hidden} more parameter{'s' if hidden > 1 else ''} not shown "
            "(--all-columns or --columns shows them)",
            markup=False,
            soft_wrap=False,
            style="dim",
        )


def _aligned(columns: list[Column], table: list[list[str]]) -> list[str]:
    """Each row of ``table`` as one line: cells padded to their column's width (numbers
    right-aligned), ``_GAP`` spaces apart, no trailing space."""
    natural = widths(columns, table)
    return [
        (" " * _GAP)
        .join(
            cell.rjust(natural[i]) if columns[i].numeric else cell.ljust(natural[i])
            for i, cell in enumerate(row)
        )
        .rstrip()
        for row in table
    ]


def plain_text(columns: list[Column], rows: list[TrialRecord]) -> str:
    """Every cell, aligned, ``_GAP`` spaces between columns; numbers right-aligned."""
    return "\n".join(_aligned(columns, [[c.header for c in columns], *cells(columns, rows)])) + "\n"


def csv_text(columns: list[Column], rows: list[TrialRecord]) -> str:
    """One row per trial, the column names as headers, raw values (empty where none)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    for t in rows:
        writer.writerow(["" if (v := c.csv(c.raw(t))) is None else v for c in columns])
    return buffer.getvalue()


def _print_best(study: Study, console: Console, *, wrap: bool) -> None:
    """The best trial and its configuration; wrapped to the width in a terminal only."""
    try:
        best = study.best_trial
    except TunelabError:
        console.print("no completed trial yet", markup=False, soft_wrap=not wrap)
        return
    pruned = " (pruned)" if best.status.value == "pruned" else ""
    lines = [f"best trial: #{best.number}  {study.metric} = {format_number(best.value)}{pruned}"]
    lines += [f"  {name}: {format_number(value)}" for name, value in best.params.items()]
    console.print("\n".join(lines), markup=False, soft_wrap=not wrap)
