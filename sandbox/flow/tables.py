"""A small table of display strings that renders as aligned text, Markdown and HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """A titled grid of strings; every row has one cell per header."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.headers):
                raise ValueError(f"row {i} has {len(row)} cells, expected {len(self.headers)}")

    def column(self, header: str) -> list[str]:
        """The cells under one header, top to bottom."""
        i = self.headers.index(header)
        return [row[i] for row in self.rows]

    def to_text(self) -> str:
        """Aligned plain text: a header line, a rule, then one line per row."""
        widths = [max(len(c) for c in col) for col in zip(self.headers, *self.rows, strict=True)]

        def line(cells: tuple[str, ...]) -> str:
            return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        rule = "-+-".join("-" * w for w in widths)
        return "\n".join([self.title, line(self.headers), rule, *map(line, self.rows)])

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown table under a level-3 heading."""

        def line(cells: tuple[str, ...]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        rule = "|" + "|".join("---" for _ in self.headers) + "|"
        return "\n".join([f"### {self.title}", "", line(self.headers), rule, *map(line, self.rows)])

    def to_html(self) -> str:
        """An HTML table with a caption; every cell is escaped."""
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self.rows
        )
        return (
            f"<table><caption>{html.escape(self.title)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_text()
