"""Comparison reports: one self-contained HTML file, a Markdown summary, and the PNGs and
CSVs behind them, made from the stored runs only (``tunelab report``).

Output folder layout::

    report.html          everything, images embedded (base64), no outside references
    summary.md           the same sections in Markdown, images linked from figures/
    figures/NAME.png     every plot, with NAME.csv beside it holding the plotted numbers
    tables/NAME.csv      every table (summary, pairwise tests, best configurations,
                         every run, every report of every run)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tunelab.compare.results import ComparisonResults
from tunelab.report.analysis import Analysis, ScoreKind, analyse
from tunelab.report.blocks import Paragraph
from tunelab.report.conclusion import conclusion

__all__ = ["Analysis", "ReportFiles", "analyse", "conclusion", "write_report"]

HTML_NAME = "report.html"
MARKDOWN_NAME = "summary.md"


@dataclass(frozen=True)
class ReportFiles:
    """Where a report was written."""

    directory: Path
    html: Path
    markdown: Path
    conclusion: str


def write_report(
    results: ComparisonResults,
    output: str | Path | None = None,
    *,
    primary: ScoreKind | None = None,
    alpha: float | None = None,
) -> ReportFiles:
    """Write the report of ``results`` into ``output`` (default: the config's
    ``report.output``, else ``reports/NAME``); nothing is run, only read."""
    from tunelab.report.document import build_report, storage_folder
    from tunelab.report.render import to_html, to_markdown

    settings = results.report_settings
    directory = Path(output or settings.get("output") or Path("reports") / results.name)
    directory = directory.expanduser().resolve()
    analysis = analyse(results, primary=primary, alpha=alpha)
    document, files = build_report(analysis, base_dir=storage_folder(results.storage_url))
    directory.mkdir(parents=True, exist_ok=True)
    for relative, data in files.binary.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for relative, frame in files.frames.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
    html = directory / HTML_NAME
    markdown = directory / MARKDOWN_NAME
    html.write_text(to_html(document), encoding="utf-8")
    markdown.write_text(to_markdown(document), encoding="utf-8")
    text = next(
        (
            b.text
            for b in document.blocks
            if isinstance(b, Paragraph) and b.css_class == "conclusion"
        ),
        "",
    )
    return ReportFiles(directory, html, markdown, text)
