"""Replacing a file so that a reader sees the old content or the new, never half of it;
and the one writer of every file a user names (``report -o``, ``sweep report -o``,
``baseline save -o``).

The rules of ``write_output``, the same for every command:

* ``-`` is standard output: the text is written there, no file is made.
* A target that exists and is not a regular file - a directory, a device such as
  ``/dev/null``, a FIFO, a socket - is refused with one ConfigError before anything is
  written (a rename over it would replace the device node with a file).
* A symlink is written THROUGH: it is resolved and the file it points to is replaced
  atomically (temporary file beside the target, then a rename), so the link stays a
  link. The target's permission bits are kept. A link that points at something that is
  not a regular file is refused like that thing itself; a dangling link creates its
  target (whose folder must exist); a loop of links is refused.
* The folder of the (resolved) target must exist and be writable; an existing target
  must be writable. Every refusal names the option, the path and what was expected.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from janus_sim.errors import ConfigError, mkdir_reason

STDOUT = "-"
"""The output path that means standard output."""


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path`` (same folder, so the rename is atomic; the
    PID in its name keeps two writers apart). Leaving the block normally renames it over
    ``path``; an exception removes it and goes on."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def is_stdout(path: Path | str) -> bool:
    """Whether an output path means standard output (``-``)."""
    return str(path) == STDOUT


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def output_target(path: Path, *, option: str = "-o", what: str = "a file") -> Path:
    """The regular file that writing ``path`` replaces: ``path`` itself, or the file a
    symlink at ``path`` resolves to. ConfigError (naming ``option``, the path and that
    ``what`` - "an HTML file", "a baseline JSON file" - was expected) when it cannot be
    written. Checks only: nothing is created."""
    if is_stdout(path):
        return path
    expected = f"expected the path of {what} (or - for standard output)"
    try:
        target = Path(os.path.realpath(path, strict=False))
    except OSError as e:  # a loop of symlinks
        raise ConfigError(option, "", f"{path}: {e.strerror or e}: {expected}") from e
    shown = str(path) if target == Path(path).absolute() else f"{path} (-> {target})"
    try:
        mode: int | None = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError as e:
        raise ConfigError(
            option, "", f"{shown}: a path component is a file, not a directory: {expected}"
        ) from e
    except OSError as e:
        raise ConfigError(option, "", f"{shown}: {e.strerror or e}: {expected}") from e
    if mode is not None and not stat.S_ISREG(mode):
        raise ConfigError(option, "", f"{shown} is {_kind(mode)}: {expected}")
    parent = target.parent
    if not parent.is_dir():
        raise ConfigError(
            option, "", f"directory {parent} does not exist: expected an existing directory"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(option, "", f"directory {parent} is not writable")
    if mode is not None and not os.access(target, os.W_OK):
        raise ConfigError(option, "", f"{shown} is not writable")
    return target


def write_output(path: Path, data: str, *, option: str = "-o", what: str = "a file") -> None:
    """Write ``data`` (UTF-8) to the file named ``path`` by the rules above, or to
    standard output for ``-``. The file is replaced atomically and synced: a reader, or a
    crash, sees the old content or the new. ConfigError naming the path when the file
    system refuses (a full disk included)."""
    if is_stdout(path):
        sys.stdout.write(data)
        sys.stdout.flush()
        return
    target = output_target(path, option=option, what=what)
    try:
        keep = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        keep = None
    try:
        with replacing(target) as tmp:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            if keep is not None:
                os.chmod(tmp, keep)
    except OSError as e:
        raise ConfigError(option, "", f"cannot write {path}: {e.strerror or e}") from e


def output_dir(path: Path, *, expected: str = "a directory", option: str = "-o") -> None:
    """Make ``path`` an existing directory (parents too) for a command's output tree, or
    raise ConfigError: a file in its place ("is a file: expected EXPECTED") or a directory
    the file system will not create. The one rule of ``export``'s output folders."""
    if path.exists() and not path.is_dir():
        raise ConfigError(option, "", f"{path} is a file: expected {expected}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(option, "", f"cannot create directory {path}: {mkdir_reason(e)}") from e
