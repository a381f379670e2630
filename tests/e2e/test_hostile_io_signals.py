"""Hostile output paths and stop signals (issue 17, causes 2 and 3).

Output: every writer of a user-named file (``report -o``, ``sweep report -o``,
``baseline save -o``) goes through ``adapters.atomic_file.write_output``. A target that
is not a regular file (directory, FIFO, socket, a device behind a symlink) is refused
with exit 2 and one line, and nothing in its folder changes - the FIFO is still a FIFO,
the link still a link; a symlink to a regular file is written through; ``-o -`` is
stdout. No test writes to a device path: devices are only reached through a symlink,
which the old code replaced (in the test's folder), never the device.

Signals: whenever SIGINT or SIGTERM arrives - during the imports, during a DuckDB query,
after a library swallowed the interruption - the command exits 130 / 143 with one line
and leaves its store and output folder as they were.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from janus_sim.adapters.atomic_file import output_target, write_output
from janus_sim.errors import ConfigError
from tests.cli_inprocess import cli
from tests.conftest import TINY
from tests.e2e.test_hostile_inputs import _fresh_copy, _one_error_line, _snapshot
from tests.e2e.test_hostile_inputs import _keep_signal_handlers as _keep_signal_handlers
from tests.e2e.test_hostile_inputs import stored as stored
from tests.sweep_fixtures import standard_sweep

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _tree(folder: Path) -> dict[str, tuple[str, str | bytes]]:
    """Every entry under ``folder``: a link's target, a file's bytes, or its kind."""
    out: dict[str, tuple[str, str | bytes]] = {}
    for p in sorted(folder.rglob("*")):
        mode = os.lstat(p).st_mode
        if stat.S_ISLNK(mode):
            out[str(p.relative_to(folder))] = ("link", os.readlink(p))
        elif stat.S_ISREG(mode):
            out[str(p.relative_to(folder))] = ("file", p.read_bytes())
        else:
            out[str(p.relative_to(folder))] = (stat.filemode(mode)[0], "")
    return out


# --- cause 2: targets that are not regular files ------------------------------------


def _dir(d: Path) -> str:
    (d / "out.html").mkdir()
    return "out.html"


def _fifo(d: Path) -> str:
    os.mkfifo(d / "out.html")
    return "out.html"


def _socket(d: Path) -> str:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(d / "s"))  # short: a socket path is at most 107 bytes
    s.close()
    return "s"


def _link(
    target: str | Path, then: Callable[[Path], object] | None = None
) -> Callable[[Path], str]:
    def make(d: Path) -> str:
        if then is not None:
            then(d)
        (d / "link.html").symlink_to(target)
        return "link.html"

    return make


def _chain(d: Path) -> str:
    os.mkfifo(d / "fifo")
    (d / "b").symlink_to(d / "fifo")
    (d / "a").symlink_to("b")
    return "a"


def _loop(d: Path) -> str:
    (d / "a").symlink_to("b")
    (d / "b").symlink_to("a")
    return "a"


def _under_a_file(d: Path) -> str:
    (d / "f").write_text("a file, not a folder")
    return "f/out.html"


def _read_only(d: Path) -> str:
    (d / "ro.html").write_text("keep me")
    (d / "ro.html").chmod(0o444)
    return "ro.html"


# name: (make(dir) -> the -o path relative to dir, fragments of the one error line)
REFUSED: dict[str, tuple[Callable[[Path], str], tuple[str, ...]]] = {
    "a directory": (_dir, ("-o: out.html is a directory", "expected the path of")),
    "a FIFO": (_fifo, ("out.html is a FIFO (named pipe)", "or - for standard output")),
    "a socket": (_socket, ("is a socket", "expected the path of")),
    "symlink to a directory": (
        _link("sub", lambda d: (d / "sub").mkdir()),
        ("-> ", "is a directory"),
    ),
    "symlink to a FIFO": (_link("fifo", lambda d: os.mkfifo(d / "fifo")), ("is a FIFO",)),
    "symlink to /dev/null": (_link("/dev/null"), ("-> /dev/null) is a character device",)),
    "symlink to /dev/full": (_link("/dev/full"), ("-> /dev/full) is a character device",)),
    "symlink to /dev/zero": (_link("/dev/zero"), ("is a character device",)),
    "chain of symlinks to a FIFO": (_chain, ("is a FIFO",)),
    "symlink loop": (_loop, ("a: Too many levels of symbolic links",)),
    "dangling symlink into a missing folder": (_link("nowhere/r.html"), ("does not exist",)),
    "path under a regular file": (_under_a_file, ("a file, not a directory",)),
    "the current directory": (lambda d: ".", ("is a directory",)),
    "empty path": (lambda d: "", ("is a directory",)),
    "read-only file": (_read_only, ("ro.html is not writable",)),
}
MISSING_DIR = "missing folder"
REFUSED[MISSING_DIR] = (lambda d: "no/such/r.html", ("directory", "does not exist"))

WRITERS = ("report", "sweep report", "baseline save")
DEVICES = ("/dev/null", "/dev/full", "/dev/zero")


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return standard_sweep(tmp_path_factory.mktemp("sweep") / "s")


def _argv(command: str, store: Path, sweep: Path, scenario: Path, out: str) -> list[str]:
    if command == "report":
        return ["report", "--store", str(store), "-o", out, "--quiet"]
    if command == "sweep report":
        return ["sweep", "report", str(sweep), "-o", out, "--quiet"]
    return ["baseline", "save", str(scenario), "-o", out, "--quiet"]


def _refusals() -> Iterator[object]:
    for command in WRITERS:
        for name in REFUSED:
            if command == "baseline save" and name == MISSING_DIR:
                continue  # baseline save makes a missing folder (after its run): not a refusal
            yield pytest.param(
                command, name, marks=pytest.mark.hostile(command), id=f"{command}-{name}"
            )


@pytest.mark.parametrize(("command", "name"), list(_refusals()))
def test_a_target_that_is_not_a_regular_file_is_refused(
    command: str,
    name: str,
    stored: Path,
    sweep_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make, expected = REFUSED[name]
    if name == "read-only file" and os.geteuid() == 0:
        pytest.skip("root may write a read-only file")
    store = _fresh_copy(stored, tmp_path)
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY))
    work = tmp_path / "work"
    work.mkdir()
    target = make(work)
    monkeypatch.chdir(work)
    before, store_before = _tree(work), _snapshot(store)
    started = time.monotonic()
    code, out, err = cli(capsys, *_argv(command, store, sweep_dir, scenario, target))
    assert code == 2, (out, err)
    line = _one_error_line(err)
    for fragment in expected:
        assert fragment in line, line
    assert time.monotonic() - started < 20, "refused before the work, not after"
    assert _tree(work) == before, "the FIFO, socket or link must be left as it was"
    assert _snapshot(store) == store_before
    assert not (work / "-").exists()


WRITE_THROUGH = ("same folder", "another folder")


@pytest.mark.parametrize(
    ("command", "layout"),
    [
        pytest.param(c, w, marks=pytest.mark.hostile(c), id=f"{c}-{w}")
        for c in WRITERS
        for w in WRITE_THROUGH
    ],
)
def test_a_symlink_is_written_through(
    command: str,
    layout: str,
    stored: Path,
    sweep_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The link stays a link; the file it names is replaced atomically, its mode kept,
    no temporary file left in either folder; the same in every writer."""
    store = _fresh_copy(stored, tmp_path)
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY))
    real_dir = tmp_path / ("work" if layout == "same folder" else "elsewhere")
    work = tmp_path / "work"
    for d in {real_dir, work}:
        d.mkdir()
    real = real_dir / "real.out"
    real.write_text("old")
    real.chmod(0o640)
    (work / "link.out").symlink_to(os.path.relpath(real, work))
    monkeypatch.chdir(work)
    code, _, err = cli(capsys, *_argv(command, store, sweep_dir, scenario, "link.out"))
    assert code == 0, err
    assert (work / "link.out").is_symlink()
    assert os.readlink(work / "link.out") == os.path.relpath(real, work)
    text = real.read_text()
    assert text.startswith("<!DOCTYPE html>" if "report" in command else "{"), text[:80]
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    names = {p.name for d in (work, real_dir) for p in d.iterdir()}
    assert names <= {"link.out", "real.out"}, names


@pytest.mark.parametrize(
    "command", [pytest.param(c, marks=pytest.mark.hostile(c)) for c in WRITERS]
)
def test_dash_is_standard_output(
    command: str,
    stored: Path,
    sweep_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = _fresh_copy(stored, tmp_path)
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, out, err = cli(capsys, *_argv(command, store, sweep_dir, scenario, "-"))
    assert code == 0, err
    assert list(work.iterdir()) == [], "no file named '-'"
    if "report" in command:
        assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    else:
        import json

        assert json.loads(out)["digest"]  # stdout is the JSON, the summary went to stderr
        assert "saved -" in err


@pytest.mark.parametrize(
    "device", [pytest.param(d, marks=pytest.mark.hostile("report")) for d in DEVICES]
)
def test_a_device_named_directly_is_refused_by_the_check(device: str) -> None:
    """The check alone (it never writes): the issue's ``-o /dev/null`` and ``-o /dev/full``
    as root. The node is compared before and after; it is never opened for writing."""
    before = os.stat(device)
    with pytest.raises(ConfigError, match=rf"^-o: {device} is a character device: expected"):
        output_target(Path(device), what="an HTML file")
    after = os.stat(device)
    assert (after.st_mode, after.st_rdev, after.st_ino) == (
        before.st_mode,
        before.st_rdev,
        before.st_ino,
    )


def _plain(d: Path) -> str:
    (d / "f").write_text("mine")
    return "f"


# export -o names a directory: anything else there is refused, and left as it was
EXPORT_TARGETS: dict[str, Callable[[Path], str]] = {
    "a FIFO": _fifo,
    "a socket": _socket,
    "a regular file": _plain,
    "symlink to /dev/null": _link("/dev/null"),
    "symlink to a FIFO": _link("fifo", lambda d: os.mkfifo(d / "fifo")),
}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.hostile("export")) for n in EXPORT_TARGETS]
)
def test_export_onto_something_that_is_not_a_directory_is_refused(
    name: str,
    stored: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    target = EXPORT_TARGETS[name](work)
    monkeypatch.chdir(work)
    before = _tree(work)
    code, _, err = cli(capsys, "export", "--store", stored, "-o", target, "--quiet")
    assert code == 2
    assert "expected a directory for the tree" in _one_error_line(err)
    assert _tree(work) == before


@pytest.mark.hostile("report")
def test_writer_reports_a_full_disk_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC mid-write (mocked: no test writes to /dev/full): one ConfigError, the old
    file intact, no temporary file left."""
    out = tmp_path / "r.html"
    out.write_text("old")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ConfigError, match=r"^-o: cannot write .*r\.html: No space left on device$"):
        write_output(out, "new")
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_console_script_points_at_the_early_entry() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert 'janus-sim = "janus_sim.entry:main"' in text
    assert "janus_sim.entry" in (ROOT / "janus_sim" / "__main__.py").read_text()


# --- cause 3: stop signals ----------------------------------------------------------

SIGNALS = {"SIGINT": 130, "SIGTERM": 143}


def _one_stop_line(err: str, name: str) -> None:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == [f"janus-sim: interrupted by {name} (exit {SIGNALS[name]})"], err


def _handlers_installed(pid: int) -> bool:
    """Whether ``pid`` catches SIGTERM (Python catches SIGINT from its start; SIGTERM
    only once ``janus_sim.entry`` ran)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def _popen(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "janus_sim", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,  # python -m puts the working directory first: this checkout's code
    )


def _stop(p: subprocess.Popen[str], name: str, after: float = 0.0) -> tuple[int, str]:
    deadline = time.monotonic() + 60
    while not _handlers_installed(p.pid):
        assert p.poll() is None and time.monotonic() < deadline, p.communicate()
        time.sleep(0.005)
    time.sleep(after)
    p.send_signal(signal.Signals[name])
    _, err = p.communicate(timeout=120)
    return p.returncode, err


# The moment right after janus_sim.entry installed its handlers: the heavy imports are
# still running (seconds), so this is where the ~30-line traceback used to come from.
STARTUP = {
    "runs": ["runs", "--store", "{store}"],
    "verify": ["verify", "--replay", "--store", "{store}"],
    "export": ["export", "--all", "--store", "{store}", "-o", "{tmp}/tree"],
    "report": ["report", "--store", "{store}", "-o", "{tmp}/r.html"],
    "sweep sql": ["sweep", "sql", "{tmp}", "SELECT 1"],
    "run": ["run", "{tmp}/tiny.yaml", "--store", "{tmp}/new", "--no-qdrant"],
}


@pytest.mark.parametrize(
    ("command", "name"),
    [
        pytest.param(c, n, marks=pytest.mark.hostile(c, kind="kill"), id=f"{c}-{n}")
        for c in STARTUP
        for n in SIGNALS
    ],
)
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_signal_during_the_imports_is_one_line(
    command: str, name: str, stored: Path, tmp_path: Path
) -> None:
    store = _fresh_copy(stored, tmp_path)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    before = _snapshot(store)
    args = [a.format(store=store, tmp=tmp_path) for a in STARTUP[command]]
    code, err = _stop(_popen(*args), name)
    assert code == SIGNALS[name]
    _one_stop_line(err, name)
    assert _snapshot(store) == before
    assert not (tmp_path / "new").exists() and not (tmp_path / "r.html").exists()


def _when_inside(function: str, name: str) -> threading.Thread:
    """A thread that sends ``name`` to this process once the main thread is running
    ``function`` (seen on its stack), so the signal lands inside it."""
    main_id = threading.main_thread().ident
    assert main_id is not None

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            frame = sys._current_frames().get(main_id)
            while frame is not None:
                if frame.f_code.co_name == function:
                    os.kill(os.getpid(), signal.Signals[name])
                    return
                frame = frame.f_back
            time.sleep(0.002)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def _late_signals_are_harmless() -> Iterator[None]:
    """A signal that arrived after the command (it cannot, but if it did) must not stop
    pytest: note it instead. ``_keep_signal_handlers`` puts pytest's handlers back."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    yield


# command, the function the signal lands in, the argv ({store}, {tmp}, {sweep})
DURING = {
    "sweep sql": (
        "sql_cmd",
        ["sweep", "sql", "{sweep}", "SELECT count(*) FROM range(10000000) a, range(10000000) b"],
    ),
    "export": ("export_events", ["export", "--all", "--store", "{store}", "-o", "{tmp}/tree"]),
    "verify": ("verify_run", ["verify", "--replay", "--store", "{store}"]),
    "report": ("build_report", ["report", "--store", "{store}", "-o", "{tmp}/r.html"]),
}


@pytest.mark.parametrize(
    ("command", "name"),
    [
        pytest.param(c, n, marks=pytest.mark.hostile(c, kind="kill"), id=f"{c}-{n}")
        for c in DURING
        for n in SIGNALS
    ],
)
@pytest.mark.usefixtures("_late_signals_are_harmless")
def test_a_signal_during_the_work_is_one_line(
    command: str,
    name: str,
    stored: Path,
    sweep_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In process: the signal reaches the command inside a DuckDB query (``sweep sql``'s
    endless join, DuckDB then raises its own RuntimeError), an export, a replay, a
    report. Exit 130 / 143, one line, the store unchanged, no export half-written."""
    store = _fresh_copy(stored, tmp_path)
    function, argv = DURING[command]
    args = [a.format(store=store, tmp=tmp_path, sweep=sweep_dir) for a in argv]
    before = _snapshot(store)
    watcher = _when_inside(function, name)
    code, _, err = cli(capsys, *args)
    watcher.join(timeout=5)
    assert code == SIGNALS[name], err
    _one_stop_line(err, name)
    assert _snapshot(store) == before
    tree = tmp_path / "tree"
    if tree.exists():
        left = [p.name for p in tree.iterdir()]
        assert not any(n.startswith(".janus-export") for n in left), left
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.hostile("runs", kind="kill")) for n in SIGNALS]
)
@pytest.mark.usefixtures("_late_signals_are_harmless")
def test_a_signal_a_library_swallowed_still_stops(
    name: str,
    stored: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A library that catches the interruption (as DuckDB turns it into its own error)
    and goes on cannot make the command succeed: the signal's exit still wins."""
    import janus_sim.cli.log_view as cli_main

    real = cli_main.runs_table  # type: ignore[attr-defined]

    def swallowing(infos: object) -> object:
        try:
            os.kill(os.getpid(), signal.Signals[name])
            time.sleep(1)
        except BaseException:  # the point: a library that swallows it
            pass
        return real(infos)  # type: ignore[arg-type]

    monkeypatch.setattr(cli_main, "runs_table", swallowing)
    code, _, err = cli(capsys, "runs", "--store", stored)
    assert code == SIGNALS[name]
    _one_stop_line(err, name)


@pytest.mark.hostile("runs", kind="kill")
@pytest.mark.usefixtures("_late_signals_are_harmless")
def test_a_second_signal_does_not_cut_the_cleanup_short(
    stored: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first signal decides (exit 130); a SIGTERM during the finally blocks that
    follow is noted, not raised, so they finish."""
    import janus_sim.cli.log_view as cli_main

    cleaned: list[bool] = []

    def twice(infos: object) -> object:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)
            cleaned.append(True)
        return None

    monkeypatch.setattr(cli_main, "runs_table", twice)
    code, _, err = cli(capsys, "runs", "--store", stored)
    assert code == 130 and cleaned == [True]
    _one_stop_line(err, "SIGINT")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "name"),
    [
        pytest.param("sweep sql", n, marks=pytest.mark.hostile("sweep sql", kind="kill"))
        for n in SIGNALS
    ],
)
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_signal_later_in_a_real_process_is_one_line(
    command: str, name: str, stored: Path, sweep_dir: Path, tmp_path: Path
) -> None:
    """The same in a real process, seconds in: the imports are done or nearly (the
    promise holds wherever it lands) and the query never ends by itself."""
    store = _fresh_copy(stored, tmp_path)
    args = [a.format(store=store, tmp=tmp_path, sweep=sweep_dir) for a in DURING[command][1]]
    before = _snapshot(store)
    code, err = _stop(_popen(*args), name, after=4.0)
    assert code == SIGNALS[name], err
    _one_stop_line(err, name)
    assert _snapshot(store) == before


def test_the_stop_rule_leaves_other_threads_alone() -> None:
    from janus_sim.adapters.stop_signals import StopRule

    seen: list[object] = []

    def inside() -> None:
        with StopRule():
            seen.append(signal.getsignal(signal.SIGINT))

    before = signal.getsignal(signal.SIGINT)
    t = threading.Thread(target=inside)
    t.start()
    t.join()
    assert seen == [before] and signal.getsignal(signal.SIGINT) == before


def test_a_signal_once_the_outcome_is_decided_changes_nothing() -> None:
    """After the command (at exit, as Python shuts down and would put the default
    handlers back), a signal is ignored: the exit is the command's, silently."""
    script = (
        "import atexit, os, signal\n"
        "import janus_sim.cli.main as m\n"
        "from janus_sim import entry\n"
        "m.main = lambda: 0\n"
        "atexit.register(lambda: os.kill(os.getpid(), signal.SIGTERM))\n"
        "entry.main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert (done.returncode, done.stderr) == (0, "")
