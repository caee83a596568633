"""The content of a report as plain blocks, rendered to HTML and to Markdown alike."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str
    css_class: str | None = None


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str | None = None
    csv: str | None = None
    """Where the same numbers are as CSV, relative to the report."""
    numeric_from: int = 1
    """Columns from this index on are right-aligned."""


@dataclass(frozen=True)
class Figure:
    path: str
    """The PNG, relative to the report."""
    png: bytes
    caption: str
    csv: str | None = None


@dataclass(frozen=True)
class Preformatted:
    text: str


@dataclass(frozen=True)
class FigureRow:
    """Small figures side by side (image grids)."""

    figures: list[Figure] = field(default_factory=list)


Block = Heading | Paragraph | Table | Figure | Preformatted | FigureRow


@dataclass(frozen=True)
class Document:
    title: str
    blocks: list[Block]
