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

import re
import unicodedata

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


# A run of backslashes, then a '[' (and whether a tag, as rich's parser sees one, starts
# there), or the end of the text.
_BRACKET = re.compile(r"(\\*)(?:(\[(?=[a-z#/@][^[]*?\]))|(\[)|$)")


def _escaped(m: re.Match[str]) -> str:
    slashes = m.group(1)
    if m.group(2):  # a tag: rich prints n backslashes of 2n, and 2n+1 make the tag text
        return slashes * 2 + "\\["
    if m.group(3):  # any other '[': rich turns a "\\[" in plain text into "["
        return slashes + "\\["
    if not slashes:
        return ""
    # Trailing backslashes would escape a tag that follows (``[bold]{safe(x)}[/]``): doubled,
    # they print as themselves before one, and an empty span ends them so that whatever
    # follows (a tag, text, or nothing) still reads them as they are.
    return slashes * 2 + "[bold][/bold]"


def safe(text: object) -> str:
    """``inert(text)`` escaped for rich markup: a console prints exactly ``inert(text)``,
    whatever markup comes before or after it.

    Rich's own ``escape`` is not enough: it leaves a backslash before a '[' that does not
    start a tag, which rich's parser then drops (``\\[`` prints ``[``), and two trailing
    backslashes still escape a following tag."""
    s = inert(text)
    if "[" not in s and "\\" not in s:
        return s
    return _BRACKET.sub(_escaped, s)
