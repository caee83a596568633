"""Render a :class:`~tunelab.report.blocks.Document` as one self-contained HTML page
(images embedded as base64, styles inline, no scripts, nothing fetched) or as Markdown
(images linked to the PNG files written beside it)."""

from __future__ import annotations

import base64
from html import escape

from tunelab.report.blocks import (
    Document,
    Figure,
    FigureRow,
    Heading,
    Paragraph,
    Preformatted,
    Table,
)

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 70rem; padding: 0 1rem; color: #1b1f24; line-height: 1.45; }
h1 { font-size: 1.7rem; } h2 { font-size: 1.3rem; margin-top: 2.2rem;
     border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; } h3 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .88rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .55rem; vertical-align: top; }
th { background: #f6f8fa; text-align: left; } td.num { text-align: right;
     font-variant-numeric: tabular-nums; }
caption { caption-side: bottom; text-align: left; font-size: .8rem; color: #57606a;
          padding-top: .3rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eaeef2; }
figcaption { font-size: .85rem; color: #57606a; }
.row { display: flex; flex-wrap: wrap; gap: 1rem; } .row figure { margin: 0; }
.row img { max-width: 14rem; }
.conclusion { background: #f0f7ff; border-left: 4px solid #0969da; padding: .7rem 1rem; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; font-size: .8rem; }
a { color: #0969da; }
"""


def _html_figure(figure: Figure) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    link = f' (<a href="{escape(figure.csv)}">data</a>)' if figure.csv else ""
    return (
        f'<figure><img alt="{escape(figure.caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(figure.caption)}{link}</figcaption></figure>"
    )


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = "".join(
            f'<td class="num">{escape(v)}</td>'
            if i >= table.numeric_from
            else f"<td>{escape(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    caption = ""
    if table.caption or table.csv:
        link = f' <a href="{escape(table.csv)}">CSV</a>' if table.csv else ""
        caption = f"<caption>{escape(table.caption or '')}{link}</caption>"
    return f"<table>{caption}<tr>{head}</tr>{''.join(body)}</table>"


def to_html(document: Document) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(document.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(document.title)}</h1>",
    ]
    for block in document.blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            css = f' class="{escape(block.css_class)}"' if block.css_class else ""
            parts.append(f"<p{css}>{escape(block.text)}</p>")
        elif isinstance(block, Table):
            parts.append(_html_table(block))
        elif isinstance(block, Figure):
            parts.append(_html_figure(block))
        elif isinstance(block, FigureRow):
            parts.append('<div class="row">' + "".join(map(_html_figure, block.figures)) + "</div>")
        elif isinstance(block, Preformatted):
            parts.append(f"<pre>{escape(block.text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    lines = [
        "| " + " | ".join(map(_md_cell, table.columns)) + " |",
        "|"
        + "|".join("---:" if i >= table.numeric_from else "---" for i in range(len(table.columns)))
        + "|",
    ]
    lines.extend("| " + " | ".join(map(_md_cell, row)) + " |" for row in table.rows)
    notes = [table.caption] if table.caption else []
    if table.csv:
        notes.append(f"[CSV]({table.csv})")
    if notes:
        lines.extend(["", " ".join(notes)])
    return "\n".join(lines)


def _md_figure(figure: Figure) -> str:
    data = f" ([data]({figure.csv}))" if figure.csv else ""
    return f"![{figure.caption}]({figure.path})\n\n*{figure.caption}*{data}"


def to_markdown(document: Document) -> str:
    parts = [f"# {document.title}"]
    for block in document.blocks:
        if isinstance(block, Heading):
            parts.append("#" * block.level + " " + block.text)
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Table):
            parts.append(_md_table(block))
        elif isinstance(block, Figure):
            parts.append(_md_figure(block))
        elif isinstance(block, FigureRow):
            parts.append(" ".join(f"![{f.caption}]({f.path})" for f in block.figures))
        elif isinstance(block, Preformatted):
            parts.append("```\n" + block.text + "\n```")
    return "\n\n".join(parts) + "\n"
