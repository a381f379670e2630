"""One root error; every error a user can cause is a JanusError with a one-line message.

The CLI turns these into a single line and an exit code; third-party errors are wrapped
at the adapter boundary with ``raise XError(...) from e``.
"""

from __future__ import annotations


class JanusError(Exception):
    """Root of every error janus-sim raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code: int = 2


class ConfigError(JanusError):
    """A scenario file is missing, malformed or invalid.

    The message names the file, the field path and what was expected.
    """

    def __init__(self, source: str, path: str, problem: str) -> None:
        self.source = source
        self.path = path
        self.problem = problem
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: {problem}")


class StoreError(JanusError):
    """The event store cannot be opened, written or read as asked."""


class StoreLocked(StoreError):
    """Another process held the store's file for longer than the wait allowed."""

    def __init__(self, path: str, holder: str, timeout: float) -> None:
        self.path, self.holder, self.timeout = path, holder, timeout
        super().__init__(
            f"event store {path} stayed locked by {holder} for {timeout:g} s; "
            "try again when it is done (JANUS_STORE_WAIT sets the wait in seconds)"
        )


class EmptyStoreError(StoreError):
    """The store's file is a database with no tables: its creation was cut off."""


class NotFoundError(JanusError):
    """A run, event or moment the user named does not exist in the store."""


def mkdir_reason(e: OSError) -> str:
    """Why making a directory failed, in words a user can act on."""
    if isinstance(e, FileExistsError | NotADirectoryError):
        return "a path component is a file, not a directory"
    return e.strerror or type(e).__name__


class ApiError(JanusError):
    """Every error the notebook API (``janus_sim.api``) raises on purpose.

    Its message is the one line the command line prints after ``janus-sim: error: `` for
    the same mistake; the specific error it stands for (a ConfigError, NotFoundError,
    StoreError, ...) is ``cause`` (also ``__cause__``), and ``exit_code`` is that error's."""

    def __init__(self, message: str, cause: JanusError | None = None) -> None:
        self.cause = cause
        self.exit_code = cause.exit_code if cause is not None else 2
        super().__init__(message)
