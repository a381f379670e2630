"""One grammar for naming a run, and a moment of it, on the command line.

    REF   = [STORE ":"] RUN ["@" WHEN]

* STORE: an event store, a directory (holding janus.duckdb) or a .duckdb file, as a
  POSIX path; it may contain ':' and '@'. Without it, the command's ``--store``.
* RUN: a run id. It never contains ':' or '@' (default ids are ``<scenario>-s<seed>[-N]``
  and scenario names are ``[A-Za-z0-9][A-Za-z0-9_.-]*``); a ``--run-id`` holding either
  can only be named with a command's ``--run`` option.
* WHEN: ``app.diff.parse_when``: a date (its end), a timestamp, ``cycle:N``, ``seq:N`` or
  ``end``. It may contain ':' but never '@'.

Where the parts meet, the rule is the one those character sets allow:

1. WHEN is everything after the LAST '@' (a WHEN has no '@'), so
   ``store/dir:run-1@2025-12-20T10:00:00`` has WHEN ``2025-12-20T10:00:00``.
2. What precedes WHEN splits at its LAST ':' into STORE and RUN (a RUN has no ':'), so
   ``/data/a:b@v2/store:run-1@end`` has STORE ``/data/a:b@v2/store`` and RUN ``run-1``.

Each command takes the grammar in one of two modes:

* ``when="required"`` (``at``, ``diff``: a moment). A text without '@' is a bare WHEN,
  the form these commands took before (``diff 2025-12-17 end``, ``at cycle:3``); so is
  ``@WHEN``. RUN and STORE then come from ``--run``/``--store`` or their defaults. A
  STORE needs a RUN: ``STORE:@WHEN`` is an error.
* ``when="forbidden"`` (``compare``: whole runs). The text is ``[STORE:]RUN``, rule 2
  applied to all of it, so a STORE may contain '@' as before (``me@host/store:run``).
  A WHEN is an error: a RUN part holding '@', or an '@' whose tail reads as a WHEN
  (``run@cycle:3``, where rule 2 alone would see RUN ``3``). A store whose path ends
  like ``x@cycle:3`` must therefore be given with ``--store``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from janus_sim.app.diff import parse_when
from janus_sim.app.timetravel import Moment
from janus_sim.errors import ConfigError

WhenRule = Literal["required", "forbidden"]
"""Whether a command's REF names a moment (``at``, ``diff``) or a whole run (``compare``)."""

GRAMMAR = {
    "required": "[STORE:]RUN@WHEN or WHEN",
    "forbidden": "[STORE:]RUN",
}
"""The accepted forms per mode, as error messages spell them."""


@dataclass(frozen=True)
class RunRef:
    """A parsed ``[STORE:]RUN[@WHEN]``; None means "not named here" for each part.

    Invariants (ValueError otherwise): a STORE comes with a RUN; a RUN is not blank and
    has no ':' or '@'; a WHEN is not empty and has no '@'. With them ``str(ref)`` parses
    back to ``ref``: with ``when="required"`` if it has a (valid) WHEN, with
    ``"forbidden"`` if it has none, unless what follows the STORE's last '@' reads as a
    WHEN (the module docstring says why).
    """

    store: Path | None = None
    run: str | None = None
    when: str | None = None

    def __post_init__(self) -> None:
        if self.store is not None and self.run is None:
            raise ValueError("a RunRef with a STORE needs a RUN")
        if self.run is not None and (not self.run.strip() or not _is_run_id(self.run)):
            raise ValueError(f"not a run id: {self.run!r}")
        if self.when is not None and (not self.when or "@" in self.when):
            raise ValueError(f"not a WHEN: {self.when!r}")

    def __str__(self) -> str:
        """The canonical text: ``[STORE:]RUN[@WHEN]``, or a bare ``WHEN`` if no run."""
        head = "" if self.run is None else self.run
        if self.store is not None:
            head = f"{self.store}:{head}"
        if self.when is None:
            return head
        return f"{head}@{self.when}" if head else self.when

    def moment(self) -> Moment:
        """The WHEN as a moment; the end of the run when there is none."""
        return Moment() if self.when is None else parse_when(self.when)


def _is_run_id(text: str) -> bool:
    return ":" not in text and "@" not in text


def _is_when(text: str) -> bool:
    try:
        parse_when(text)
    except ValueError:
        return False
    return True


def parse_run_ref(text: str, *, when: WhenRule, command: str, arg: str = "") -> RunRef:
    """Parse ``[STORE:]RUN[@WHEN]`` as the module docstring says, for ``command``'s
    argument ``arg``.

    With ``when="required"`` the result always has a WHEN (checked against the WHEN
    grammar); with ``"forbidden"`` it always has a RUN and never a WHEN. Raises
    ConfigError ("COMMAND ARG: 'TEXT': what is wrong (what was expected)").
    """

    def bad(problem: str, expected: bool = True) -> ConfigError:
        source = f"{command} {arg}" if arg else command
        suffix = f" (expected {GRAMMAR[when]})" if expected else ""
        return ConfigError(source, repr(text), problem + suffix)

    if when == "forbidden":
        head, tail = text, None
        last_at = text.rfind("@")
        run_part, when_part = text[text.rfind(":") + 1 :], text[last_at + 1 :]
        if last_at >= 0 and (not _is_run_id(run_part) or _is_when(when_part)):
            raise bad(f"{command} compares whole runs and takes no @WHEN (at and diff do)")
    else:
        head, at_sign, tail = text.rpartition("@")
        if not at_sign:  # a bare WHEN, the form before RUN@WHEN
            head, tail = "", text
        if not tail:
            what = "no WHEN after '@'" if at_sign else "empty"
            raise bad(f"{what}: {command} needs a WHEN, e.g. RUN@end")
        try:
            parse_when(tail)
        except ValueError as e:
            # The WHEN's own message already lists what a WHEN may be.
            if at_sign:
                raise bad(f"WHEN {e}", expected=False) from e
            # The whole text is the WHEN, which ``bad`` already quotes: say it once.
            problem = str(e).removeprefix(f"{tail!r}: ").removeprefix(f"{tail!r} ")
            hint = "; to name a run, write [STORE:]RUN@WHEN, e.g. RUN@end"
            raise bad(problem + hint, expected=False) from e
        if not head:
            return RunRef(when=tail)
    store, colon, run = head.rpartition(":")
    if colon and not store.strip():
        raise bad("empty STORE before ':'")
    if not run.strip():
        raise bad(f"STORE {store!r} names no RUN" if colon else "no RUN")
    if not _is_run_id(run):  # only when="required" gets here with an '@' in RUN
        raise bad(f"RUN {run!r} contains '@': the last '@' starts the WHEN")
    return RunRef(Path(store) if colon else None, run, tail)
