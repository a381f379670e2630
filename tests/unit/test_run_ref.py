"""The one grammar for naming a run, ``[STORE:]RUN[@WHEN]``: the canonical text parses back
to the same ref, the old forms of ``at``, ``diff`` and ``compare`` mean what they meant,
and every malformed text is a ConfigError saying what, where and what was expected."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from janus_sim.app.diff import parse_spec, parse_when
from janus_sim.app.timetravel import Moment
from janus_sim.cli.run_ref import RunRef, parse_run_ref
from janus_sim.errors import ConfigError
from janus_sim.timefmt import parse_moment

# Path segments: anything POSIX allows but '/' and NUL, ':' and '@' on purpose.
_segment = st.text(
    st.characters(
        codec="utf-8", exclude_characters="/\x00", include_characters=":@.- ", max_codepoint=0x7F
    ),
    min_size=1,
    max_size=8,
)
stores = (
    st.tuples(st.booleans(), st.lists(_segment, min_size=1, max_size=3))
    .map(lambda t: Path(("/" if t[0] else "") + "/".join(t[1])))
    .filter(lambda p: bool(str(p).strip()))
)
default_run_ids = st.from_regex(
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,12}-s[0-9]{1,8}(-[0-9]{1,2})?", fullmatch=True
)
run_ids = default_run_ids | st.text(
    st.characters(codec="utf-8", exclude_characters=":@\x00"), min_size=1, max_size=12
).filter(str.strip)
_days = st.dates(dt.date(1970, 1, 1), dt.date(2100, 12, 31))
_stamps = st.datetimes(dt.datetime(1970, 1, 1), dt.datetime(2100, 12, 31))
dated = st.one_of(
    _days.map(dt.date.isoformat),
    st.builds(
        dt.datetime.isoformat, _stamps, st.just("T"), st.sampled_from(["minutes", "seconds"])
    ),
)
"""The WHENs ``at`` took before: a date or a timestamp."""
whens = st.one_of(
    st.just("end"),
    st.integers(0, 10**6).map(lambda n: f"cycle:{n}"),
    st.integers(0, 10**9).map(lambda n: f"seq:{n}"),
    dated,
)


def at_ref(text: str) -> RunRef:
    return parse_run_ref(text, when="required", command="at")


def compare_ref(text: str) -> RunRef:
    return parse_run_ref(text, when="forbidden", command="compare", arg="A")


def resolved(ref: RunRef, store: Path, run: str | None) -> tuple[Path, str | None, Moment]:
    """What a command does with a ref: its --store and --run fill what it omits."""
    return ref.store or store, ref.run or run, ref.moment()


def _reads_as_when(text: str) -> bool:
    try:
        parse_when(text)
    except ValueError:
        return False
    return True


# --- round trips -----------------------------------------------------------------------


@given(store=st.none() | stores, run=run_ids, when=whens)
def test_a_ref_with_a_when_round_trips(store: Path | None, run: str, when: str) -> None:
    ref = RunRef(store, run, when)
    assert at_ref(str(ref)) == ref
    assert at_ref(str(ref)).moment() == parse_when(when)


@given(when=whens)
def test_a_bare_when_round_trips(when: str) -> None:
    assert at_ref(str(RunRef(when=when))) == RunRef(when=when) == at_ref("@" + when)


@given(store=st.none() | stores, run=run_ids)
def test_a_ref_without_a_when_round_trips(store: Path | None, run: str) -> None:
    ref = RunRef(store, run)
    text = str(ref)
    if "@" in text and _reads_as_when(text[text.rfind("@") + 1 :]):
        # The one documented exception: a store ending like `x@cycle` before `:3`.
        with pytest.raises(ConfigError, match="takes no @WHEN"):
            compare_ref(text)
    else:
        assert compare_ref(text) == ref


@given(store=stores, run=default_run_ids)
def test_a_store_may_hold_colons_and_at_signs(store: Path, run: str) -> None:
    weird = Path(f"{store}/a:b@c")
    assert at_ref(f"{weird}:{run}@end") == RunRef(weird, run, "end")
    assert compare_ref(f"{weird}:{run}") == RunRef(weird, run)


# --- the old forms mean what they meant --------------------------------------------------


@given(run=st.none() | run_ids, when=whens)
def test_old_diff_forms_match_parse_spec(run: str | None, when: str) -> None:
    """``diff [RUN@]WHEN`` parsed by the parser diff used before."""
    text = when if run is None else f"{run}@{when}"
    ref = parse_run_ref(text, when="required", command="diff", arg="A")
    assert (ref.run, ref.moment()) == parse_spec(text)
    assert ref.store is None


@given(store=stores, run=run_ids, when=whens, other=stores)
def test_old_at_options_match_the_inline_form(
    store: Path, run: str, when: str, other: Path
) -> None:
    """``at WHEN --run RUN --store STORE`` is ``at STORE:RUN@WHEN`` (whatever --store)."""
    old = resolved(at_ref(when), store, run)
    assert old == resolved(at_ref(f"{store}:{run}@{when}"), other, None)
    assert old == resolved(at_ref(f"{run}@{when}"), store, "ignored: RUN is named")


@given(when=dated)
def test_old_at_dates_keep_their_moment(when: str) -> None:
    """``at`` read a WHEN with parse_moment(end_of_day=True), labelled as given."""
    assert at_ref(when).moment() == Moment(t_ns=parse_moment(when, end_of_day=True), label=when)


def _old_compare(text: str) -> tuple[Path | None, str]:
    """The rule compare used before the one grammar: STORE ends at the FIRST ':'."""
    store, sep, run = text.partition(":")
    return (Path(store) if sep else None), (run if sep else text)


@given(store=st.none() | stores.filter(lambda p: ":" not in str(p)), run=run_ids)
def test_old_compare_forms_mean_the_same(store: Path | None, run: str) -> None:
    """``compare RUN`` and ``compare STORE:RUN``, STORE without ':' (the old rule split at
    the first one); a store with '@' included."""
    text = run if store is None else f"{store}:{run}"
    if "@" in text and _reads_as_when(text[text.rfind("@") + 1 :]):
        return  # the documented exception, tested above
    ref = compare_ref(text)
    assert (ref.store, ref.run) == _old_compare(text)


# --- every error says what, where and what was expected ----------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["diff A: '': empty: diff needs a WHEN", "expected [STORE:]RUN@WHEN or WHEN"]),
        ("r@", ["diff A: 'r@': no WHEN after '@': diff needs a WHEN, e.g. RUN@end"]),
        ("store:@end", ["STORE 'store' names no RUN", "expected [STORE:]RUN@WHEN or WHEN"]),
        (":r@end", ["diff A: ':r@end': empty STORE before ':'"]),
        (" @end", ["diff A: ' @end': no RUN"]),
        ("x@y@end", ["RUN 'x@y' contains '@': the last '@' starts the WHEN"]),
        ("r@yesterday", ["diff A: 'r@yesterday': WHEN 'yesterday' is not a date", "cycle:N"]),
        ("r@cycle:x", ["WHEN 'cycle:x': expected cycle:N with N a whole number >= 0"]),
        ("r@seq:-1", ["WHEN 'seq:-1': expected seq:N with N a whole number >= 0"]),
        ("r@cycle:²", ["WHEN 'cycle:²': expected cycle:N"]),
        ("store:run", ["diff A: 'store:run': is not a date or timestamp", "RUN@WHEN"]),
    ],
)
def test_errors_with_a_when(text: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_run_ref(text, when="required", command="diff", arg="A")
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "compare A: '': no RUN"),
        (":r", "compare A: ':r': empty STORE before ':'"),
        (":", "empty STORE before ':'"),
        ("store:", "compare A: 'store:': STORE 'store' names no RUN"),
        ("r@end", "compare A: 'r@end': compare compares whole runs and takes no @WHEN"),
        ("s:r@", "takes no @WHEN"),
        ("s:r@cycle:3", "takes no @WHEN"),
        ("s:r@2025-12-20T10:00:00", "takes no @WHEN"),
        ("r@bad-when", "takes no @WHEN"),
    ],
)
def test_errors_without_a_when(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        compare_ref(text)
    assert fragment in str(info.value)
    assert str(info.value).endswith("(expected [STORE:]RUN)")


@pytest.mark.parametrize(
    ("store", "run", "when"),
    [
        (Path("s"), None, "end"),
        (None, "", None),
        (None, " ", "end"),
        (None, "a:b", None),
        (None, "a@b", None),
        (None, "r", ""),
        (None, "r", "x@y"),
    ],
)
def test_run_ref_invariants(store: Path | None, run: str | None, when: str | None) -> None:
    with pytest.raises(ValueError):
        RunRef(store, run, when)
