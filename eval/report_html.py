"""report.html: one self-contained page (inline CSS, plots embedded as data: URIs).

The page needs no other file and no network: it can be mailed or attached to
an issue.  The same PNGs are also written beside it by ``xdd.eval.report``.
Errors in context use ``<mark class="KIND">`` (missed, spurious, wrong-type,
wrong-boundary) so that they can be found in the DOM.
"""

from __future__ import annotations

import base64
import re
from html import escape

from xdd.eval.report_content import (
    ERROR_SECTIONS,
    EntityErrorView,
    Highlight,
    ReportContent,
    Table,
)
from xdd.eval.topic_metrics import ParagraphError

MAX_ERRORS = 1000

CSS = """
body { font-family: "DejaVu Sans", "Noto Sans", Arial, sans-serif; margin: 2em auto; max-width: 72em;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.55em; vertical-align: top; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.errors td.ctx { max-width: 45em; }
p.note { color: #555; font-size: 0.9em; margin-top: -0.4em; }
figure { display: inline-block; margin: 0.5em 1em 1em 0; } figure img { max-width: 40em; border: 1px solid #ddd; }
mark { padding: 0 0.15em; border-radius: 0.2em; }
mark.missed { background: #ffd6d6; } mark.spurious { background: #ffe7b3; }
mark.wrong-type { background: #e3d4ff; } mark.wrong-boundary { background: #cce4ff; }
span.caption { color: #666; font-size: 0.85em; margin-right: 0.4em; }
span.topic { display: inline-block; background: #eee; border-radius: 0.3em; padding: 0 0.3em; margin: 0.1em; }
span.topic.missing { background: #ffd6d6; } span.topic.extra { background: #ffe7b3; }
"""


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def render_table(table: Table, css_class: str = "metrics") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(_cell(cell, i) for i, cell in enumerate(row)) + "</tr>" for row in table.rows
    )
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (
        f'<h3>{escape(table.title)}</h3><table class="{css_class}" id="{_slug(table.title)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
    )


def _cell(value: str, column: int) -> str:
    return f"<td>{escape(value)}</td>" if column == 0 else f'<td class="num">{escape(value)}</td>'


def render_html(content: ReportContent, images: dict[str, bytes]) -> str:
    """The page; ``images`` maps each file name of ``content.images`` to its PNG bytes."""
    parts = [
        f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{escape(content.title)}</title>',
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(content.title)}</h1>",
        *(f'<p class="overview">{escape(line)}</p>' for line in content.overview),
        '<section id="figures"><h2>Figures</h2>',
        *(render_table(table) for table in content.tables),
        '</section><section id="plots"><h2>Plots</h2>',
        *(_figure(caption, name, images[name]) for caption, name in content.images),
        '</section><section id="errors"><h2>Errors in context</h2>',
        *(_entity_section(kind, title, content.entity_errors.get(kind, [])) for kind, title in ERROR_SECTIONS.items()),
        _paragraph_section(content.paragraph_errors),
        "</section></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _figure(caption: str, name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}" data-file="{escape(name)}">'
        f'<figcaption>{escape(caption)} (<a href="{escape(name)}">{escape(name)}</a>)</figcaption></figure>'
    )


def _entity_section(kind: str, title: str, views: list[EntityErrorView]) -> str:
    rows = "".join(
        f"<tr><td>{escape(v.doc_id)}</td><td>{escape(v.gold)}</td><td>{escape(v.pred)}</td>"
        f'<td class="ctx">{"<br>".join(_line(line) for line in v.lines)}</td></tr>'
        for v in views[:MAX_ERRORS]
    )
    table = (
        f'<table class="errors" id="errors-{kind.replace("_", "-")}"><thead><tr><th>Document</th><th>Gold</th>'
        f"<th>Predicted</th><th>Context</th></tr></thead><tbody>{rows}</tbody></table>"
        if views else "<p>None.</p>"
    )
    return f"<h3>{escape(title)} ({len(views)})</h3>{table}{_cut(len(views))}"


def _line(line: Highlight) -> str:
    caption = f'<span class="caption">{escape(line.caption)}</span>' if line.caption else ""
    return f'{caption}{escape(line.before)}<mark class="{line.css}">{escape(line.marked)}</mark>{escape(line.after)}'


def _paragraph_section(errors: list[tuple[ParagraphError, str]]) -> str:
    rows = "".join(
        f"<tr><td>{escape(e.doc_id)}</td><td>[{e.start}, {e.end})</td><td>{_topics(e.gold, e.pred, 'missing')}</td>"
        f"<td>{_topics(e.pred, e.gold, 'extra')}</td><td>{escape(_scores(e))}</td><td>{escape(text)}</td></tr>"
        for e, text in errors[:MAX_ERRORS]
    )
    table = (
        '<table class="errors" id="errors-paragraphs"><thead><tr><th>Document</th><th>Span</th><th>Gold topics</th>'
        f"<th>Predicted topics</th><th>Scores</th><th>Paragraph</th></tr></thead><tbody>{rows}</tbody></table>"
        if errors else "<p>None.</p>"
    )
    return f"<h3>Misclassified paragraphs ({len(errors)})</h3>{table}{_cut(len(errors))}"


def _topics(topics: tuple[str, ...], other: tuple[str, ...], css: str) -> str:
    """Topic chips; those not in ``other`` get ``css`` (missing from / extra in the prediction)."""
    if not topics:
        return "(none)"
    return "".join(f'<span class="topic{" " + css if t not in other else ""}">{escape(t)}</span>' for t in topics)


def _scores(error: ParagraphError) -> str:
    if not error.scores:
        return ""
    shown = dict.fromkeys(error.gold + error.pred)
    return ", ".join(f"{t} {error.scores[t]:.2f}" for t in shown if t in error.scores)


def _cut(total: int) -> str:
    return f'<p class="note">{total - MAX_ERRORS} more not shown.</p>' if total > MAX_ERRORS else ""
