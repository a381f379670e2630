"""The one output escaper: every piece of user text the command line prints goes through it.

User text is anything a user or a file chose: run ids, scenario and regime names, store
and file paths, SQL cells of ``sweep sql``, the ``next:`` hint, error messages. Printed
as it is, such text is live: rich reads ``[red]`` or ``[/]`` in it as markup (the text
vanishes, or a MarkupError traceback ends the command), and an ANSI escape, a carriage
return or a newline in it rewrites the terminal or forges a line of output.

Two functions, one rule:

* ``inert(text)``: control and format characters (Unicode categories Cc, Cf, Zl, Zp and
  lone surrogates, which stdout cannot encode) become their Python escapes (``\\x1b``,
  ``\\n``, ``\\u202e``, ``\\udcff``), so the text is one visible line whatever it holds.
  Everything else is kept verbatim. For plain output (``click.echo``, error lines).
* ``safe(text)``: ``inert`` then rich's markup escape, for anything handed to a rich
  console or table: printed, it shows exactly ``inert(text)``.

Consoles made by ``janus_sim.cli.common`` also turn off rich's emoji codes (``:smile:``),
which no escape can reach.
"""

from __future__ import annotations

import unicodedata

from rich.markup import escape

_LIVE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _visible(ch: str) -> str:
    if unicodedata.category(ch) not in _LIVE_CATEGORIES:
        return ch
    code = ord(ch)
    if ch in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def inert(text: object) -> str:
    """``str(text)`` with every control or format character as its visible escape."""
    s = str(text)
    if s.isprintable():  # the common case: nothing to do (printable excludes all of them)
        return s
    return "".join(_visible(ch) for ch in s)


def safe(text: object) -> str:
    """``inert(text)`` escaped for rich markup: a console prints exactly ``inert(text)``."""
    return escape(inert(text))
