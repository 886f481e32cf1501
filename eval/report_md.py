"""report.md: the report as GitHub-flavoured Markdown.

Long error lists are cut at :data:`MAX_ERRORS` per section with a line saying
how many were left out (report.html lists more).
"""

from __future__ import annotations

import re

from xdd.eval.report_content import (
    ERROR_SECTIONS,
    EntityErrorView,
    ReportContent,
    Table,
)

MAX_ERRORS = 50
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def escape(text: str) -> str:
    """Escape Markdown syntax and keep a cell on one line."""
    return _SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def render_table(table: Table) -> str:
    lines = [f"### {escape(table.title)}", ""]
    lines.append("| " + " | ".join(escape(h) for h in table.headers) + " |")
    lines.append("|" + "|".join("---" for _ in table.headers) + "|")
    lines += ["| " + " | ".join(escape(cell) for cell in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", f"_{escape(table.note)}_"]
    return "\n".join(lines)


def render_markdown(content: ReportContent) -> str:
    parts = [f"# {escape(content.title)}", "", *(escape(line) + "  " for line in content.overview)]
    parts += ["", "## Figures", ""]
    parts += [render_table(table) + "\n" for table in content.tables]
    parts += ["## Plots", ""]
    parts += [f"![{escape(caption)}]({name})\n" for caption, name in content.images]
    parts += ["## Errors in context", ""]
    for kind, title in ERROR_SECTIONS.items():
        parts += _entity_section(title, content.entity_errors.get(kind, []))
    parts += _paragraph_section(content)
    return "\n".join(parts).rstrip() + "\n"


def _entity_section(title: str, views: list[EntityErrorView]) -> list[str]:
    lines = [f"### {escape(title)} ({len(views)})", ""]
    for view in views[:MAX_ERRORS]:
        sides = (("gold", view.gold), ("predicted", view.pred))
        labels = ", ".join(f"{side} {escape(text)}" for side, text in sides if text)
        lines.append(f"- `{view.doc_id}`: {labels}")
        for line in view.lines:
            caption = f"{line.caption}: " if line.caption else ""
            lines.append(f"  - {caption}{escape(line.before)}**{escape(line.marked)}**{escape(line.after)}")
    lines += _cut(len(views)) + [""]
    return lines


def _paragraph_section(content: ReportContent) -> list[str]:
    errors = content.paragraph_errors
    lines = [f"### Misclassified paragraphs ({len(errors)})", ""]
    for error, text in errors[:MAX_ERRORS]:
        gold = ", ".join(error.gold) or "(none)"
        pred = ", ".join(error.pred) or "(none)"
        where = f"`{error.doc_id}` [{error.start}, {error.end})"
        lines.append(f"- {where}: gold **{escape(gold)}**, predicted **{escape(pred)}**")
        lines.append(f"  > {escape(text)}")
    return lines + _cut(len(errors))


def _cut(total: int) -> list[str]:
    if total > MAX_ERRORS:
        return ["", f"_{total - MAX_ERRORS} more not shown here; report.html lists them._"]
    return []
