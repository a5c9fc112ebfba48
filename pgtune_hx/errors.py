"""Error types of the toolkit, each with its own CLI exit code.

The CLI prints ``str(error)`` as one line and exits with ``error.exit_code``;
docs/exit-codes.md lists the codes. Messages never hold a password: code that
builds them from connection details passes them through db.redact first.
"""

from __future__ import annotations


class PgtuneError(Exception):
    """Base of every error the CLI reports as one line."""

    exit_code = 1
    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class UsageError(PgtuneError):
    """Bad input: nonsense sizes, conflicting flags, an unknown rule id."""

    exit_code = 2
    kind = "usage"


class ConnectionFailed(PgtuneError):
    """Unreachable host, refused connection, connect timeout."""

    exit_code = 3
    kind = "connection"


class AuthenticationFailed(PgtuneError):
    exit_code = 4
    kind = "authentication"


class DatabaseNotFound(PgtuneError):
    exit_code = 5
    kind = "database-not-found"


class MissingCapability(PgtuneError):
    """A required extension or server feature is absent or not preloaded."""

    exit_code = 6
    kind = "missing-capability"


class InsufficientPrivilege(PgtuneError):
    exit_code = 7
    kind = "privilege"


class QueryTimeout(PgtuneError):
    """statement_timeout or lock_timeout fired."""

    exit_code = 8
    kind = "timeout"


class InvalidInputFile(PgtuneError):
    """A snapshot, plan, settings or results file that is corrupt or foreign."""

    exit_code = 9
    kind = "invalid-file"


class InvalidSQL(PgtuneError):
    """SQL text that does not parse; the message carries the position."""

    exit_code = 10
    kind = "invalid-sql"


class ServerError(PgtuneError):
    """The server answered with an error not covered by a more precise type,
    or the embedded server could not be started or stopped."""

    exit_code = 11
    kind = "server"


class WriteNotAllowed(PgtuneError):
    """A command would write to a server without the explicit flag for it."""

    exit_code = 12
    kind = "write-not-allowed"


class ThresholdExceeded(PgtuneError):
    """A gate failed on purpose: findings at --fail-on, a benchmark regression."""

    exit_code = 1
    kind = "threshold"


ALL_ERRORS: tuple[type[PgtuneError], ...] = (
    UsageError,
    ConnectionFailed,
    AuthenticationFailed,
    DatabaseNotFound,
    MissingCapability,
    InsufficientPrivilege,
    QueryTimeout,
    InvalidInputFile,
    InvalidSQL,
    ServerError,
    WriteNotAllowed,
    ThresholdExceeded,
)
