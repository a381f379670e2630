"""Hostile limits (issue 17, cause 9): YAML too big, duplicate keys, Qdrant credentials in
a URL, and qdrant-client's insecure-key warning.

Every case goes through the command line in process and checks the promise: exit 2 with
one clear line (what, where, expected; no traceback) and nothing created or changed.
A big file is refused from its size, at once; a repeated key is named with both lines; a
credential in ``--qdrant-url`` (``?api-key=...``, ``user:password@``) never reaches
stderr; the warning about a key over plain http is one line of ours, once per process.
"""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.adapters import qdrant_errors
from janus_sim.adapters.qdrant_errors import public_url, redact, url_secrets
from janus_sim.scenario_text import MAX_BYTES, load_yaml, parse_scenario
from tests.cli_inprocess import cli
from tests.conftest import TINY
from tests.e2e.test_hostile_inputs import _fresh_copy, _one_error_line, _snapshot
from tests.e2e.test_hostile_inputs import stored as stored

pytestmark = pytest.mark.e2e
TINY_TEXT = yaml.safe_dump(TINY, sort_keys=False)
CAP = f"expected at most {MAX_BYTES:,} bytes (256 KiB) of YAML"


def _padded(size: int) -> Callable[[Path], None]:
    """A valid tiny scenario, padded with comment lines to ``size`` bytes."""

    def write(path: Path) -> None:
        pad = size - len(TINY_TEXT.encode())
        path.write_text(TINY_TEXT + ("#" * 99 + "\n") * (pad // 100) + "#" * (pad % 100))
        assert path.stat().st_size == size

    return write


def _sparse(size: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with path.open("wb") as f:
            f.truncate(size)  # a hole: no disk used, no time spent

    return write


SIZES = {
    "one byte over the cap": MAX_BYTES + 1,
    "5 MB": 5_000_000,
    "50 MB": 50_000_000,
    "4 GiB": 4 << 30,
}


def _sized(name: str) -> Callable[[Path], None]:
    size = SIZES[name]
    return _padded(size) if size < 10_000_000 else _sparse(size)


@pytest.mark.parametrize(
    ("command", "name"),
    [
        pytest.param(c, n, marks=pytest.mark.hostile(c), id=f"{c}-{n}")
        for c in ("run", "baseline save", "sweep")
        for n in SIZES
    ],
)
def test_a_scenario_or_sweep_file_over_the_cap_is_refused_at_once(
    command: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.yaml"
    _sized(name)(big)
    argvs: dict[str, list[str | Path]] = {
        "run": ["run", big, "--store", tmp_path / "store", "--quiet"],
        "baseline save": ["baseline", "save", big, "-o", tmp_path / "b.json", "--quiet"],
        "sweep": ["sweep", big, "--out", tmp_path / "out"],
    }
    argv = argvs[command]
    started = time.monotonic()
    code, _, err = cli(capsys, *argv)
    elapsed = time.monotonic() - started
    assert code == 2
    line = _one_error_line(err)
    assert f"big.yaml: is {SIZES[name]:,} bytes: {CAP}" in line, line
    assert elapsed < 2.0, f"refused in {elapsed:.1f} s: from the size, not by parsing"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.yaml"]


@pytest.mark.hostile("sweep")
def test_a_sweep_naming_a_scenario_over_the_cap_names_that_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _padded(2 * MAX_BYTES)(tmp_path / "big.yaml")
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: s\nscenarios: [big.yaml]\nseeds: [1]\n")
    code, _, err = cli(capsys, "sweep", sweep, "--out", tmp_path / "out")
    assert code == 2
    assert f"big.yaml: is {2 * MAX_BYTES:,} bytes" in _one_error_line(err)
    assert not (tmp_path / "out").exists()


def test_a_scenario_of_exactly_the_cap_is_parsed() -> None:
    text = TINY_TEXT + "#" * (MAX_BYTES - len(TINY_TEXT.encode()) - 1) + "\n"
    assert len(text.encode()) == MAX_BYTES
    assert parse_scenario(text, "edge.yaml").name == "tiny"


def _fifo(d: Path) -> Path:
    os.mkfifo(d / "s.yaml")
    return d / "s.yaml"


def _folder(d: Path) -> Path:
    (d / "s.yaml").mkdir()
    return d / "s.yaml"


NOT_FILES: dict[str, Callable[[Path], Path]] = {
    "a FIFO (would block a reader)": _fifo,
    "a folder": _folder,
    "/dev/zero (endless)": lambda d: Path("/dev/zero"),
}


@pytest.mark.parametrize(
    ("command", "name"),
    [
        pytest.param(c, n, marks=pytest.mark.hostile(c), id=f"{c}-{n}")
        for c in ("run", "sweep")
        for n in NOT_FILES
    ],
)
def test_a_scenario_path_that_is_not_a_file_is_refused_without_reading(
    command: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "in"
    work.mkdir()
    path = NOT_FILES[name](work)
    out = tmp_path / "out"
    argv: list[str | Path] = (
        ["run", path, "--store", out] if command == "run" else ["sweep", path, "--out", out]
    )
    code, _, err = cli(capsys, *argv)
    assert code == 2
    kind = "scenario" if command == "run" else "sweep"
    assert f"{path}: is not a file (expected a {kind} YAML file)" in _one_error_line(err)
    assert not out.exists()


# --- duplicate keys -----------------------------------------------------------------

# text, the key as named, the line it repeats at, the line of its first use
DUPLICATES: dict[str, tuple[str, str, int, int]] = {
    "top-level name": ("name: a\nseed: 1\nname: b\n", "'name'", 3, 1),
    "seed, last one would win": ("name: a\nseed: 1\nseed: 2\n", "'seed'", 3, 2),
    "nested regime": (
        "name: a\nmarket:\n  regimes:\n    calm: {vol: 1}\n    calm: {vol: 2}\n",
        "'calm'",
        5,
        4,
    ),
    "flow mapping": (
        "name: a\ncalendar: {start: 2025-12-17, start: 2025-12-18}\n",
        "'start'",
        2,
        2,
    ),
    "inside a list item": (
        "name: a\nmarket:\n  days:\n    - date: 2025-12-18\n      date: 2025-12-19\n",
        "'date'",
        5,
        4,
    ),
    "quoted and plain": ("'seed': 1\nseed: 2\n", "'seed'", 2, 1),
    "double-quoted with an escape": ('"n\\u0061me": a\nname: b\n', "'name'", 2, 1),
    "yes and true are one key": ("yes: 1\ntrue: 2\n", "True", 2, 1),
    "1 and 0x1 are one key": ("1: a\n0x1: b\n", "1", 2, 1),
    "~ and null are one key": ("~: a\nnull: b\n", "None", 2, 1),
    "after a merge": ("b: &b {x: 1}\nm:\n  <<: *b\n  y: 1\n  y: 2\n", "'y'", 5, 4),
    "far apart": ("name: a\n" + "# filler\n" * 300 + "name: b\n", "'name'", 302, 1),
    "ten levels deep": (
        "".join("  " * i + f"k{i}:\n" for i in range(10))
        + "  " * 10
        + "x: 1\n"
        + "  " * 10
        + "x: 2\n",
        "'x'",
        12,
        11,
    ),
    "a non-ASCII key": ("é: 1\né: 2\n", "'é'", 2, 1),
    "in a constraint": (
        "name: a\nlogic:\n  constraints:\n    - {name: c, formula: x, formula: y}\n",
        "'formula'",
        4,
        4,
    ),
}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.hostile("run")) for n in DUPLICATES]
)
def test_a_duplicate_key_in_a_scenario_is_named_with_its_lines(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, key, line_no, first = DUPLICATES[name]
    scenario = tmp_path / "dup.yaml"
    scenario.write_text(text)
    code, _, err = cli(capsys, "run", scenario, "--store", tmp_path / "store", "--quiet")
    assert code == 2
    line = _one_error_line(err)
    expected = f"dup.yaml: duplicate key {key} at line {line_no} (first at line {first})"
    assert expected in line and "expected each key once" in line, line
    assert not (tmp_path / "store").exists()


SWEEP_DUPLICATES = {
    "sweep name": ("name: s\nname: t\nscenarios: [x.yaml]\n", "'name'", 2, 1),
    "grid parameter": (
        "name: s\nscenarios: [x.yaml]\ngrid:\n  replay.alpha: [0.1]\n  replay.alpha: [0.2]\n",
        "'replay.alpha'",
        5,
        4,
    ),
    "seeds twice": ("name: s\nseeds: [1]\nscenarios: [x.yaml]\nseeds: [2]\n", "'seeds'", 4, 2),
}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.hostile("sweep")) for n in SWEEP_DUPLICATES]
)
def test_a_duplicate_key_in_a_sweep_file_is_named_with_its_lines(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, key, line_no, first = SWEEP_DUPLICATES[name]
    sweep = tmp_path / "dup.yaml"
    sweep.write_text(text)
    code, _, err = cli(capsys, "sweep", sweep, "--out", tmp_path / "out")
    assert code == 2
    line = _one_error_line(err)
    assert f"dup.yaml: duplicate key {key} at line {line_no} (first at line {first})" in line
    assert not (tmp_path / "out").exists()


def test_a_merged_key_may_still_be_overridden() -> None:
    assert load_yaml("b: &b {x: 1, y: 1}\nm:\n  <<: *b\n  y: 2\n")["m"] == {"x": 1, "y": 2}


_keys = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=8)
_values = st.one_of(st.integers(-1000, 1000), st.text(max_size=10), st.booleans(), st.none())
_docs = st.dictionaries(
    _keys, st.one_of(_values, st.dictionaries(_keys, _values, max_size=4)), min_size=1, max_size=8
)


@settings(max_examples=60, deadline=None)
@given(doc=_docs, pick=st.integers(0, 100))
def test_duplicate_keys_are_refused_and_unique_ones_load_as_before(
    doc: dict[str, object], pick: int
) -> None:
    text = yaml.safe_dump(doc, sort_keys=False)
    assert load_yaml(text) == yaml.safe_load(text)
    keys = list(doc)
    key = keys[pick % len(keys)]
    first = (
        keys.index(key)
        + 1
        + sum(len(yaml.safe_dump({k: doc[k]}).splitlines()) - 1 for k in keys[: keys.index(key)])
    )
    again = text + yaml.safe_dump({key: 0})
    with pytest.raises(yaml.YAMLError) as raised:
        load_yaml(again)
    problem = getattr(raised.value, "problem", "")
    assert problem.startswith(f"duplicate key {key!r} at line {len(text.splitlines()) + 1} ")
    assert f"(first at line {first})" in problem


# --- Qdrant credentials in a URL, and the insecure-key warning ------------------------

SECRET = "S3cr3tK3y9"
# a --qdrant-url holding SECRET, and what the URL must be printed as
URLS: dict[str, tuple[str, str]] = {
    "?api-key=": (f"http://127.0.0.1:9/?api-key={SECRET}", "http://127.0.0.1:9/?api-key=***"),
    "?api_key=": (f"http://127.0.0.1:9?api_key={SECRET}", "?api_key=***"),
    "?apikey= after another": (f"http://127.0.0.1:9/?x=1&apikey={SECRET}", "?x=1&apikey=***"),
    "upper-case name": (f"http://127.0.0.1:9/?API-KEY={SECRET}", "?API-KEY=***"),
    "?token=": (f"http://127.0.0.1:9/?token={SECRET}", "?token=***"),
    "percent-encoded name": (f"http://127.0.0.1:9/?api%2Dkey={SECRET}", "?api%2Dkey=***"),
    "percent-encoded value": (
        f"http://127.0.0.1:9/?api-key={SECRET}%2Fx",
        "?api-key=***",
    ),
    "twice": (
        f"http://127.0.0.1:9/?api-key={SECRET}&api-key={SECRET}2",
        "?api-key=***&api-key=***",
    ),
    "user:password@": (f"http://admin:{SECRET}@127.0.0.1:9", "http://127.0.0.1:9"),
    "password and query": (
        f"http://u:{SECRET}@127.0.0.1:9/p?key={SECRET}#f",
        "http://127.0.0.1:9/p?key=***#f",
    ),
}


@pytest.fixture
def said_nothing_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qdrant_errors, "_said_insecure", False)
    monkeypatch.delenv("JANUS_QDRANT_API_KEY", raising=False)
    monkeypatch.delenv("JANUS_QDRANT_URL", raising=False)


def _qdrant_argv(command: str, url: str, store: Path, scenario: Path) -> list[str | Path]:
    if command == "run":
        return ["run", scenario, "--store", store, "--quiet", "--qdrant-url", url]
    return ["rebuild", "--qdrant", "--store", store, "--qdrant-url", url]


@pytest.mark.parametrize(
    ("command", "name"),
    [
        pytest.param(c, n, marks=pytest.mark.hostile(c), id=f"{c}-{n}")
        for c in ("run", "rebuild")
        for n in URLS
    ],
)
@pytest.mark.usefixtures("said_nothing_yet")
def test_a_credential_in_the_qdrant_url_is_never_printed(
    command: str, name: str, stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, shown = URLS[name]
    store = _fresh_copy(stored, tmp_path) if command == "rebuild" else tmp_path / "new"
    before = _snapshot(store) if store.exists() else None
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY_TEXT)
    code, out, err = cli(capsys, *_qdrant_argv(command, url, store, scenario))
    assert code == 2
    line = _one_error_line(err)
    assert SECRET not in err + out and "does not answer" in line and shown in line, line
    if before is None:
        assert not store.exists()
    else:
        assert _snapshot(store) == before


class _Echo(http.server.BaseHTTPRequestHandler):
    """A server that refuses every request, quoting the request line and its headers
    back (as a proxy or a misconfigured server might)."""

    def do_GET(self) -> None:
        key = self.headers.get("api-key")
        body = f"forbidden: key {key} for {self.requestline} {dict(self.headers)}".encode()
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(q, marks=pytest.mark.hostile("run"))
        for q in (f"/?api-key={SECRET}", f"?token={SECRET}&x=1")
    ],
)
@pytest.mark.usefixtures("said_nothing_yet")
def test_a_server_quoting_the_request_back_leaks_no_credential(
    query: str,
    echo_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JANUS_QDRANT_API_KEY", SECRET + "header")
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY_TEXT)
    code, out, err = cli(capsys, *_qdrant_argv("run", echo_url + query, tmp_path / "s", scenario))
    assert code == 2
    errors = [ln for ln in err.splitlines() if ln.startswith("janus-sim: error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert SECRET not in err + out, err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "command", [pytest.param(c, marks=pytest.mark.hostile(c)) for c in ("run", "rebuild")]
)
@pytest.mark.usefixtures("said_nothing_yet")
def test_the_insecure_key_warning_is_one_line_of_ours_once(
    command: str,
    stored: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """qdrant-client's UserWarning (two lines, one our own source line) becomes one line,
    and a second connection in the same process does not repeat it."""
    monkeypatch.setenv("JANUS_QDRANT_API_KEY", "k")
    store = _fresh_copy(stored, tmp_path)
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY_TEXT)
    lines: list[str] = []
    for _ in range(2):
        code, _, err = cli(capsys, *_qdrant_argv(command, "http://127.0.0.1:9", store, scenario))
        assert code == 2 and "Traceback" not in err and "UserWarning" not in err, err
        lines += [ln for ln in err.splitlines() if ln.strip()]
    warnings = [ln for ln in lines if ln.startswith("janus-sim: warning: ")]
    assert warnings == [
        "janus-sim: warning: the Qdrant API key goes to http://127.0.0.1:9 over plain http, "
        "unencrypted: use an https:// URL unless the server is local"
    ]
    assert len(lines) == 3, lines  # the warning once, and each attempt's one error line


@pytest.mark.hostile("run")
@pytest.mark.usefixtures("said_nothing_yet")
def test_no_warning_over_https(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JANUS_QDRANT_API_KEY", "k")
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY_TEXT)
    code, _, err = cli(
        capsys, *_qdrant_argv("run", "https://127.0.0.1:9", tmp_path / "s", scenario)
    )
    assert code == 2 and "warning" not in err
    _one_error_line(err)


_secret_text = st.text(
    st.characters(min_codepoint=48, max_codepoint=122).filter(str.isalnum), min_size=8, max_size=24
)
_names = st.sampled_from(sorted(qdrant_errors.SECRET_PARAMS))


@settings(max_examples=100, deadline=None)
@given(secret=_secret_text, name=_names, before=st.booleans(), password=st.booleans())
def test_public_url_and_redact_never_show_a_credential(
    secret: str, name: str, before: bool, password: bool
) -> None:
    query = f"a=1&{name}={secret}" if before else f"{name}={secret}&a=1"
    auth = f"u:{secret}@" if password else ""
    url = f"http://{auth}qdrant.example:6333/base?{query}"
    assert secret not in public_url(url)
    assert f"{name}=***" in public_url(url) and "a=1" in public_url(url)
    assert secret in url_secrets(url)
    message = f"Unexpected response for {url}: 403 (key {secret} refused)"
    assert secret not in redact(message, url_secrets(url))


@pytest.mark.hostile("run")
@pytest.mark.parametrize("pad", range(150, 200, 7))
def test_a_credential_cut_by_the_200_character_limit_leaves_no_piece(pad: int) -> None:
    """Messages are shortened to 200 characters; redaction comes first, so a key that
    straddles the cut is not left half-shown."""
    e = RuntimeError("x" * pad + SECRET + " and more")
    for error in (
        qdrant_errors.store_error("list", e, where="Q", remote=True, api_key=SECRET),
        qdrant_errors.store_error("list", e, where="Q", remote=True, api_key=None, hidden=[SECRET]),
    ):
        assert SECRET[:4] not in str(error), str(error)
