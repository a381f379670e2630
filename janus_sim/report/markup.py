"""The HTML helpers every report section uses: escaping, number formatting, the
section frame (run report and sweep report alike)."""

from __future__ import annotations

import html


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def num(value: object, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def section(sid: str, title: str, help_text: str, body: str, note: str | None) -> str:
    note_html = f'<p class="note">{esc(note)}</p>' if note else ""
    return (
        f'<section id="{sid}">\n<h2>{esc(title)}</h2>\n<p class="help">{help_text}</p>\n'
        f"{note_html}\n{body}\n</section>"
    )
