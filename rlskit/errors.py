"""One error hierarchy for rlskit.

Every error carries the data it is about as attributes, and its ``str()`` is a
one-paragraph message a user can act on: what failed, where, and what to do
next. The click layer prints that paragraph and exits with ``exit_code``; it
never shows a traceback for these.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class RlskitError(Exception):
    """Base class of every error rlskit reports to users."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} {self.hint}"
        return self.message


class ProjectError(RlskitError):
    """The folder is not an rlskit project, or its configuration is wrong."""

    exit_code = 2


class SpecError(RlskitError):
    """Bad user input outside SQL: a YAML file, a name, an option value."""

    exit_code = 2


class IdentifierError(SpecError):
    """A name that cannot be a PostgreSQL identifier (NUL, too long, empty)."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(
            f"{name!r} cannot be used as a PostgreSQL identifier: {reason}.",
            "Choose a shorter name without NUL characters; rlskit never truncates names.",
        )


class DatabaseUnavailable(RlskitError):
    """The database cannot be reached or refuses the login."""

    exit_code = 3

    def __init__(self, url: str, reason: str, hint: str | None = None) -> None:
        self.url = url  # always masked
        self.reason = reason
        super().__init__(
            f"Cannot connect to {url}: {reason}.",
            hint
            or "Check that the server is running and the URL (--url, RLSKIT_DATABASE_URL, "
            "DATABASE_URL or sqlalchemy.url in alembic.ini) is right; nothing was changed.",
        )


class EmbeddedServerError(RlskitError):
    """The embedded PostgreSQL server could not be set up, started or stopped."""

    exit_code = 3


class UnsafeServerFile(EmbeddedServerError):
    """A file or folder rlskit would trust is a link, not its own, or writable by others."""

    def __init__(self, path: str, reason: str, hint: str | None = None) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"Refusing to use {path}: {reason}. rlskit reads and runs nothing another "
            "user (such as the embedded server's OS user) could have written.",
            hint or "Remove it (it holds no data of yours) and run the command again.",
        )


class SqlFileMissing(RlskitError):
    """A revision points to a .sql file that does not exist."""

    exit_code = 2

    def __init__(self, revision: str, path: str) -> None:
        self.revision = revision
        self.path = path
        super().__init__(
            f"Revision {revision} needs {path}, which does not exist.",
            "Restore the file (git checkout) or fix the name in the revision module; "
            "nothing was changed.",
        )


class SqlSyntaxError(RlskitError):
    """A .sql file cannot be split into statements (unterminated quote, meta-command)."""

    exit_code = 2

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(
            f"{path}:{line}: {reason}.",
            "Fix the file and run the command again; nothing was changed.",
        )


class TransactionControlInFile(SqlSyntaxError):
    """A migration file ends, nests or restarts the transaction rlskit runs it in."""

    def __init__(self, path: str, line: int, statement: str, reason: str, fix: str) -> None:
        self.statement = statement
        RlskitError.__init__(
            self,
            f"{path}:{line}: {reason} ({' '.join(statement.split())[:80]}); "
            "rlskit refuses to run it, nothing was changed.",
            fix,
        )
        self.path = path
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Blocker:
    """A session holding a lock that a migration statement waited for."""

    pid: int
    mode: str
    relation: str
    user: str
    application: str
    state: str
    seconds: float
    query: str


@dataclass
class StatementFailure:
    """Where and why a statement failed."""

    path: str
    line: int
    statement: str
    sqlstate: str
    pg_message: str
    revision: str
    detail: str | None = None
    pg_hint: str | None = None
    blockers: list[Blocker] = field(default_factory=list)
    in_transaction: bool = True  # False: a no-transaction revision, statements autocommitted
    committed: int = 0  # no-transaction: statements of the file committed before the failure
    total: int = 0  # statements in the file
    last_committed: str | None = None  # "path:line statement" of the last committed one


class SqlStatementError(RlskitError):
    """A statement of a migration failed on the server."""

    exit_code = 1

    def __init__(self, failure: StatementFailure, rolled_back: str) -> None:
        self.failure = failure
        self.rolled_back = rolled_back
        f = failure
        stmt = " ".join(f.statement.split())
        if len(stmt) > 200:
            stmt = stmt[:197] + "..."
        msg = (
            f"{f.path}:{f.line} (revision {f.revision}) failed: {f.pg_message} "
            f"[SQLSTATE {f.sqlstate}]"
        )
        if f.detail:
            msg += f" DETAIL: {f.detail.rstrip('.')}"
        if f.pg_hint:
            msg += f" HINT: {f.pg_hint.rstrip('.')}"
        msg += f". Statement: {stmt}"
        super().__init__(msg, rolled_back)

    @property
    def sqlstate(self) -> str:
        return self.failure.sqlstate


class LockTimeout(SqlStatementError):
    """A statement gave up waiting for a lock, after every retry."""

    def __init__(self, failure: StatementFailure, attempts: int, lock_timeout: str) -> None:
        self.attempts = attempts
        self.lock_timeout = lock_timeout
        if failure.blockers:
            b = failure.blockers[0]
            who = (
                f"pid {b.pid} (user {b.user}, {b.state} for {b.seconds:.0f}s, "
                f"holds {b.mode} on {b.relation}: {b.query[:80]!r})"
            )
        else:
            who = "a session that had released it by the time rlskit looked"
        rolled = (
            f"Gave up after {attempts} attempt(s) of lock_timeout {lock_timeout}; "
            f"the lock was held by {who}. Nothing of this revision was applied. "
            "Retry when that session is done, or raise --lock-timeout/--lock-retries."
        )
        SqlStatementError.__init__(self, failure, rolled)


class MigrationLockTimeout(RlskitError):
    """Another upgrade held the migration lock for longer than we may wait."""

    exit_code = 4

    def __init__(self, waited: float, holder: str | None) -> None:
        self.waited = waited
        self.holder = holder
        held = f" (held by {holder})" if holder else ""
        super().__init__(
            f"Waited {waited:.0f}s for another upgrade that holds the migration lock{held}.",
            "Nothing was changed by this process; run the command again once the other "
            "upgrade has finished, or raise --wait.",
        )


class ChecksumMismatch(RlskitError):
    """An already-applied .sql file was edited afterwards."""

    exit_code = 5

    def __init__(self, revision: str, path: str, applied_at: str, applied_by: str) -> None:
        self.revision = revision
        self.path = path
        self.applied_at = applied_at
        self.applied_by = applied_by
        super().__init__(
            f"{path} was edited after it was applied (revision {revision}, applied "
            f"{applied_at} by {applied_by}); refusing to continue, nothing was changed.",
            "Undo the edit and put the change in a new revision (rlskit new), or, after "
            "reviewing that the database already matches the edited file, accept it "
            "with `rlskit repair`.",
        )


class BookkeepingError(RlskitError):
    """rlskit's bookkeeping schema or tables cannot be created or read."""

    exit_code = 1


class TransactionLost(RlskitError):
    """A statement ended the transaction rlskit ran a revision in."""

    exit_code = 1


class RevisionError(RlskitError):
    """Unknown revision, several heads, or a revision layout rlskit cannot run."""

    exit_code = 2


class NonTransactionalRevision(RevisionError):
    """An all-or-nothing upgrade would have to run a no-transaction revision."""

    def __init__(self, revision: str, path: str) -> None:
        self.revision = revision
        self.path = path
        super().__init__(
            f"Revision {revision} ({path}) is marked no-transaction, so it cannot be part "
            "of an all-or-nothing upgrade.",
            "Run `rlskit upgrade --per-revision` (each revision commits on its own), "
            "nothing was changed.",
        )


@dataclass(frozen=True)
class DataLoss:
    """A table a down statement drops, empties or takes columns from, with its rows."""

    table: str  # "schema"."table"
    rows: int | None  # None: rlskit could not count them (counted as holding rows)
    capped: bool = False  # at least ``rows`` rows (counting stopped there)
    how: str = "dropped"  # "dropped", "emptied" or "columns"
    columns: tuple[str, ...] = ()  # the columns lost (how == "columns")

    def describe(self) -> str:
        from rlskit.quoting import quote_ident

        if self.rows is None:
            text = f"{self.table} (rows could not be counted)"
        else:
            text = f"{self.table} ({'more than ' if self.capped else ''}{self.rows} rows)"
        if self.how == "emptied":
            return f"{text} emptied"
        if self.how == "columns":
            word = "column" if len(self.columns) == 1 else "columns"
            return f"{text} lost {word} {', '.join(quote_ident(c) for c in self.columns)}"
        return text


@dataclass(frozen=True)
class DestructiveStatement:
    """A statement of a down script that drops or empties tables holding rows."""

    revision: str
    path: str
    line: int
    statement: str
    losses: tuple[DataLoss, ...]

    def describe(self) -> str:
        text = " ".join(self.statement.split())
        if len(text) > 120:
            text = text[:117] + "..."
        tables = ", ".join(loss.describe() for loss in self.losses)
        if not text:
            return f"{self.path} (statement not identified) would drop {tables}"
        return f"{self.path}:{self.line} `{text}` would drop {tables}"


class DestructiveDowngrade(RlskitError):
    """A downgrade would drop tables holding rows and was not confirmed."""

    exit_code = 6

    def __init__(
        self, found: list[DestructiveStatement], per_revision: bool, observed: bool = False
    ) -> None:
        self.found = found
        first = found[0]
        before = (
            "Revisions reverted before it in this run stay reverted (--per-revision)."
            if per_revision
            else "Everything this downgrade did before it was rolled back."
        )
        if observed:
            start = f"Downgrade stopped: the down script of revision {first.revision} "
            start += "was run in a savepoint and rolled back: "
            kept = "None of that script's changes were kept."
        else:
            start = (
                f"Downgrade stopped before running the down script of revision {first.revision}: "
            )
            kept = "None of that script ran."
        super().__init__(
            start + "; ".join(f.describe() for f in found) + f". {kept} {before}",
            "Back up what you need, then confirm with `rlskit downgrade ... --yes` "
            "(plain Alembic: `alembic -x yes=1 downgrade ...`).",
        )

    @property
    def tables(self) -> set[str]:
        """Every table that would lose rows."""
        return {loss.table for f in self.found for loss in f.losses}


class ActAsError(RlskitError):
    """An ``act_as`` block broke its contract: it ended its transaction, changed the
    session's role or settings, or caught a failed statement and carried on."""

    def __init__(self, problems: list[str], outcome: str) -> None:
        self.problems = problems
        self.outcome = outcome  # what happened to the block's work and the session
        super().__init__("act_as: " + "; ".join(problems) + ".", outcome)
