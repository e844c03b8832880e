"""What a project's ``migrations/env.py`` and revision modules call at run time.

``run_env()`` is the whole of env.py. It resolves the database, takes the
migration lock (a session advisory lock, FINDINGS §3), refuses when an applied
file was edited, and runs the pending revisions in one transaction (or one per
revision), retrying on lock timeouts. ``SqlRevision`` runs a revision's .sql
file statement by statement, online, or writes it verbatim, offline.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlskit import pgsql
from rlskit.bookkeeping import (  # noqa: F401 (re-exported: tests, older imports)
    BOOK_TABLE,
    DEFAULT_SCHEMA,
    KEEPALIVES,
    LOCK_NAMESPACE,
    ORPHAN_OPTIONS,
    SESSION_RESET,
    _book_name,
    _dollar,
    _version_name,
    advisory_key,
    bookkeeping_create,
    bookkeeping_forget,
    bookkeeping_prepare,
    bookkeeping_record,
    content_hash,
    lock_timeout_sql,
    offline_guard,
    session_options,
)
from rlskit.errors import (
    Blocker,
    BookkeepingError,
    ChecksumMismatch,
    DatabaseUnavailable,
    LockTimeout,
    MigrationLockTimeout,
    NonTransactionalRevision,
    ProjectError,
    RlskitError,
    SqlFileMissing,
    SqlStatementError,
    StatementFailure,
    TransactionLost,
)
from rlskit.project import Project, Settings, check_url, parse_duration, pg_duration
from rlskit.quoting import comment_text, quote_ident, quote_literal, quote_qualified
from rlskit.sqlfile import SqlFile
from rlskit.urls import mask_url, sqlalchemy_url

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Connection

log = logging.getLogger("rlskit")

ATTR_SETTINGS = "rlskit.settings"
ATTR_REPORT = "rlskit.report"
ATTR_URL = "url"
ATTR_ACTION = "rlskit.action"
# Run before every revision and before its bookkeeping, online and offline: each
# revision starts from the session state the connection had (role, settings, also
# the transaction-local ones of an earlier revision in the same transaction).


# -- events ------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    """Something the runtime did, for the CLI to print (or the log to record)."""

    kind: str  # "revision", "retry", "waiting", "connected"
    message: str
    data: dict[str, Any] = field(default_factory=dict)


Report = Callable[[Event], None]


def _default_report(event: Event) -> None:
    log.info(event.message)


def _report(config: Config | None) -> Report:
    if config is None:
        return _default_report
    fn = config.attributes.get(ATTR_REPORT)
    return fn if callable(fn) else _default_report


# -- project and settings ----------------------------------------------------
def project_for(config: Config) -> Project:
    """The :class:`Project` an Alembic ``Config`` belongs to."""
    proj = config.attributes.get("rlskit.project")
    if isinstance(proj, Project):
        return proj
    if not config.config_file_name:
        raise ProjectError(
            "The Alembic Config has no config file, so rlskit cannot find the project.",
            "Create it with Config('path/to/alembic.ini') or set "
            "config.attributes['rlskit.project'].",
        )
    proj = Project.load(Path(config.config_file_name))
    config.attributes["rlskit.project"] = proj
    return proj


def settings_for(config: Config, project: Project) -> Settings:
    """Project settings, then ``-x key=value`` arguments, then CLI overrides."""
    s = project.settings
    x: dict[str, str] = {}
    if config.cmd_opts is not None and getattr(config.cmd_opts, "x", None):
        for item in config.cmd_opts.x:
            if "=" in item:
                k, v = item.split("=", 1)
                x[k.strip()] = v.strip()
    if "lock_timeout" in x:
        s = s.with_overrides(lock_timeout=parse_duration(x["lock_timeout"], "-x lock_timeout"))
    if "lock_retries" in x:
        s = s.with_overrides(lock_retries=int(x["lock_retries"]))
    if "wait" in x:
        s = s.with_overrides(migration_lock_wait=parse_duration(x["wait"], "-x wait"))
    if x.get("per_revision", "").lower() in ("1", "true", "yes"):
        s = s.with_overrides(per_revision=True)
    override = config.attributes.get(ATTR_SETTINGS)
    if isinstance(override, Settings):
        s = override
    return s


def resolve_url(config: Config, project: Project, settings: Settings) -> tuple[str, str]:
    """The database URL and where it came from (attribute, -x, env, ini, embedded)."""
    url = config.attributes.get(ATTR_URL)
    if url is not None:  # set but empty or unparsable is an error, never a fallback
        return check_url(str(url), "--url"), "--url"
    if config.cmd_opts is not None and getattr(config.cmd_opts, "x", None):
        for item in config.cmd_opts.x:
            key, eq, value = item.partition("=")
            if eq and key.strip().lower() == "url":
                return check_url(value, "-x url"), "-x url"
    return project.given_url() or embedded_url(project, settings)


def embedded_url(project: Project, settings: Settings) -> tuple[str, str]:
    """The embedded server's URL (started if needed), as the ``migrate_as`` role when
    one is set; a ProjectError when the embedded default is switched off."""
    if settings.embedded:
        from rlskit.embedded import EmbeddedServer

        server = EmbeddedServer(project.embedded_home)
        server.start()
        if settings.migrate_as:  # as the managed-PostgreSQL-like role, like scratch databases
            from rlskit.scratch import migrator_url

            return migrator_url(server.url(), settings.migrate_as), "embedded"
        return server.url(), "embedded"
    raise ProjectError(
        "No database URL given and the embedded default is switched off.",
        "Pass --url (or -x url=... to alembic), set RLSKIT_DATABASE_URL or DATABASE_URL, "
        "or set sqlalchemy.url in alembic.ini.",
    )


def connect_error(url: str, exc: BaseException) -> DatabaseUnavailable:
    """Turn a driver's connection error into a one-paragraph message."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    low = text.lower()
    masked = mask_url(url)
    # Never echo anything that could contain the password.
    for secret in _password_of(url):
        text = text.replace(secret, "***")
    if "password authentication failed" in low or "no password supplied" in low:
        return DatabaseUnavailable(
            masked,
            "the server rejected the user name or password",
            "Check the credentials in the URL (the password is never shown); nothing was changed.",
        )
    if "does not exist" in low and "database" in low:
        return DatabaseUnavailable(masked, text, "Create the database first; nothing was changed.")
    return DatabaseUnavailable(masked, text or type(orig).__name__)


def _password_of(url: str) -> list[str]:
    from urllib.parse import unquote, urlsplit

    with contextlib.suppress(ValueError):
        pw = urlsplit(url).password
        if pw:
            return [pw, unquote(pw)]
    return []


# -- the revision module helper ----------------------------------------------
class SqlRevision:
    """A revision whose body is ``sql/<stem>.up.sql`` and ``sql/<stem>.down.sql``.

    In a revision module::

        sql = SqlRevision(revision, "0002_tenant_policies")
        upgrade, downgrade = sql.upgrade, sql.downgrade

    A file whose first lines hold ``-- rlskit: no-transaction`` runs outside a
    transaction (``CREATE INDEX CONCURRENTLY``); such a revision needs
    ``--per-revision``.
    """

    def __init__(self, revision: str, stem: str) -> None:
        self.revision = revision
        self.stem = stem

    def path(self, project: Project, direction: str) -> Path:
        """Path of the up or down file."""
        return project.sql_dir / f"{self.stem}.{direction}.sql"

    def load(self, project: Project, direction: str) -> SqlFile:
        """Read and split the up or down file."""
        path = self.path(project, direction)
        display = project.display(path)
        if not path.is_file():
            raise SqlFileMissing(self.revision, display)
        return SqlFile.load(path, display)

    def upgrade(self) -> None:
        """Apply the up file (called by Alembic)."""
        _apply(self, "up")

    def downgrade(self) -> None:
        """Apply the down file (called by Alembic)."""
        _apply(self, "down")


def sql_revision_of(module: Any) -> SqlRevision | None:
    """The :class:`SqlRevision` a revision module defines, if any."""
    for value in vars(module).values():
        if isinstance(value, SqlRevision):
            return value
    return None


def _apply(rev: SqlRevision, direction: str) -> None:
    from alembic import op

    ctx: MigrationContext = op.get_context()
    config = ctx.config
    if config is None:
        raise ProjectError("SqlRevision must run inside an Alembic environment (env.py).")
    project = project_for(config)
    settings = settings_for(config, project)
    sqlfile = rev.load(project, direction)
    report = _report(config)

    note = stripped_event(sqlfile)
    stripped = note.message if note else ""
    if note:
        report(note)

    if ctx.as_sql:
        out = ctx.impl.static_output
        out(
            f"-- rlskit: revision {comment_text(rev.revision)} {direction}: {comment_text(sqlfile.display)}"
        )
        if stripped:
            out(f"-- rlskit: {comment_text(stripped)}")
        if direction == "down":
            from rlskit import guard

            for line in guard.offline_warning(sqlfile):
                out(f"-- rlskit: {comment_text(line)}")
        for stmt in SESSION_RESET:
            out(stmt + ";")
        if sqlfile.transactional:
            out(lock_timeout_sql(settings) + ";")
            out(sqlfile.script)
        else:
            out(
                "-- rlskit: no-transaction revision: what ran before is committed here, "
                "and each statement below commits on its own."
            )
            out("COMMIT;")
            out(f"SET lock_timeout = {quote_literal(pg_duration(settings.lock_timeout))};")
            for st in sqlfile.statements:
                out(st.text + "\n;")
            out("RESET lock_timeout;")
            out("BEGIN;")
        book = (
            bookkeeping_record(
                settings, rev.revision, sqlfile.display, sqlfile.checksum, sqlfile.content_hash
            )
            if direction == "up"
            else bookkeeping_forget(settings, rev.revision)
        )
        for stmt in (*SESSION_RESET, *book):
            out(stmt + ";")
        return

    from rlskit import guard

    accept: bool | set[str] = guard.accepted(config) if direction == "down" else True
    run_file(
        _driver_connection(ctx),
        sqlfile,
        rev.revision,
        direction,
        settings,
        report,
        ctx.autocommit_block,
        accept,
    )


def run_file(
    dconn: Any,
    sqlfile: SqlFile,
    revision: str,
    direction: str,
    settings: Settings,
    report: Report,
    autocommit_block: Callable[[], contextlib.AbstractContextManager[Any]],
    accept: bool | set[str] = True,
) -> None:
    """Run one revision's file on the driver connection, then record it: what every
    online upgrade and downgrade does per revision, with Alembic or without
    (:mod:`rlskit.engine`). ``autocommit_block`` leaves the transaction for a
    no-transaction file."""
    from rlskit import guard

    started = time.perf_counter()

    def book() -> list[str]:
        if direction == "up":
            return bookkeeping_record(
                settings, revision, sqlfile.display, sqlfile.checksum, sqlfile.content_hash
            )
        return bookkeeping_forget(settings, revision)

    if accept is not True and not sqlfile.transactional:  # cannot be undone: predict
        guard.check_down(dconn, sqlfile, revision, accept, settings.per_revision)
    fingerprint = None
    if direction == "up" and "checksum" not in sqlfile.__dict__:
        # The token fingerprint (for the record) is computed while the server runs the file.
        import threading

        fingerprint = threading.Thread(target=lambda: sqlfile.checksum, daemon=True)
        fingerprint.start()
    execute_on(dconn, SESSION_RESET, None, revision)
    if sqlfile.transactional:
        execute_on(dconn, [lock_timeout_sql(settings)], None, revision)
        watch = None
        if accept is not True:  # observe what the script drops or empties (issue 11, 5b)
            bookkeeping = [settings.version_table_schema or ""]
            watch = guard.Watch(dconn, bookkeeping)
        _execute_file(dconn, sqlfile, revision)
        if watch is not None:
            watch.finish(sqlfile.statements, sqlfile, revision, accept, settings.per_revision)
    else:
        if not settings.per_revision:
            raise NonTransactionalRevision(revision, sqlfile.display)
        with autocommit_block():
            timeout = quote_literal(pg_duration(settings.lock_timeout))
            execute_on(dconn, [f"SET lock_timeout = {timeout}"], None, revision, autocommit=True)
            try:
                execute_on(dconn, sqlfile.statements, sqlfile, revision, autocommit=True)
            finally:
                with contextlib.suppress(Exception):
                    execute_on(dconn, ["RESET lock_timeout"], None, revision, autocommit=True)
    if fingerprint is not None:
        fingerprint.join()
    execute_on(dconn, (*SESSION_RESET, *book()), None, revision)
    elapsed = time.perf_counter() - started
    report(
        Event(
            "revision",
            f"{'applied' if direction == 'up' else 'reverted'} {revision} "
            f"{sqlfile.display} ({len(sqlfile.statements)} statements, {elapsed * 1000:.0f} ms)",
            {
                "revision": revision,
                "direction": direction,
                "path": sqlfile.display,
                "statements": len(sqlfile.statements),
                "seconds": elapsed,
            },
        )
    )


def stripped_event(sqlfile: SqlFile) -> Event | None:
    """The note that a file's own BEGIN and COMMIT were left out, if they were."""
    if not sqlfile.stripped:
        return None
    b, c = sqlfile.stripped
    return Event(
        "stripped",
        f"{sqlfile.display}: left out the file's own {b.text.split()[0].upper()} "
        f"(line {b.line}) and {c.text.split()[0].upper()} (line {c.line}); the revision "
        "runs in rlskit's transaction",
        {"path": sqlfile.display, "lines": [b.line, c.line]},
    )


def _driver_connection(ctx: MigrationContext) -> Any:
    assert ctx.connection is not None
    return ctx.connection.connection.driver_connection


def _lost(culprit: str, revision: str, status: str) -> TransactionLost:
    """A statement ended the transaction rlskit runs ``revision`` in."""
    return TransactionLost(
        f"{culprit} ended the transaction rlskit runs revision {revision} in (the "
        f"connection is {status} after it): what ran before it in this upgrade may have "
        "been committed, so rlskit cannot promise all-or-nothing for this run.",
        "Remove transaction control from the file (rlskit refuses BEGIN, COMMIT, "
        "ROLLBACK, SAVEPOINT, ... before running), check the database with "
        "`rlskit status` and `rlskit drift`, then run upgrade again.",
    )


def _failure(
    error: Any,
    dconn: Any,
    item: pgsql.Statement | str,
    sqlfile: SqlFile | None,
    revision: str,
    **extra: Any,
) -> SqlStatementError:
    """The error for ``item`` failing with psycopg's ``error``: file, line, statement,
    the server's fields, and the sessions blocking it after a lock timeout."""
    text = item.text if isinstance(item, pgsql.Statement) else item
    diag = error.diag
    pos = int(diag.statement_position) if diag.statement_position else None
    line = 0
    if sqlfile is not None and isinstance(item, pgsql.Statement):
        line = sqlfile.line_of(item, pos)
    failure = StatementFailure(
        path=sqlfile.display if sqlfile else "(rlskit bookkeeping)",
        line=line,
        statement=text,
        sqlstate=diag.sqlstate or "?????",
        pg_message=diag.message_primary or str(error).strip(),
        revision=revision,
        detail=diag.message_detail,
        pg_hint=diag.message_hint,
        **extra,
    )
    if failure.sqlstate == "55P03":
        failure.blockers = find_blockers(dconn, text)
    return SqlStatementError(failure, "")


def execute_on(
    dconn: Any,
    statements: Sequence[str | pgsql.Statement],
    sqlfile: SqlFile | None,
    revision: str,
    *,
    autocommit: bool = False,
) -> None:
    """Run statements one by one on the raw psycopg connection.

    Text goes to the server untouched (no bind-parameter parsing of ``:name``
    or ``%I``, FINDINGS §1), and a failure names its file, line and statement.
    In a transaction, every statement must leave it open (checked after each
    one); with ``autocommit`` the failure says which statements were committed.
    """
    import psycopg
    from psycopg.pq import TransactionStatus

    if not autocommit and len(statements) > 1:
        _execute_batch(dconn, statements, sqlfile, revision)
        return
    done = 0
    last: pgsql.Statement | str | None = None
    with dconn.cursor() as cur:
        for item in statements:
            text = item.text if isinstance(item, pgsql.Statement) else item
            try:
                cur.execute(text)
            except psycopg.Error as exc:
                raise _failure(
                    exc,
                    dconn,
                    item,
                    sqlfile,
                    revision,
                    in_transaction=not autocommit,
                    committed=done if autocommit else 0,
                    total=len(statements),
                    last_committed=_where(sqlfile, last) if autocommit and last else None,
                ) from exc
            done += 1
            last = item
            status = dconn.info.transaction_status
            if not autocommit and status != TransactionStatus.INTRANS:
                raise _lost(_where(sqlfile, item), revision, status.name)


_SAVEPOINT = "rlskit_file"


def _execute_file(dconn: Any, sqlfile: SqlFile, revision: str) -> None:
    """Run a transactional file as one query, the way psql's offline script has it.

    One simple-protocol message carries the whole file (its text verbatim: no bind
    parameters, so ``%I``, ``:name`` and ``$$`` reach the server untouched), which
    saves a round trip and the protocol work per statement. The file was split and
    checked before anything ran (transaction control is refused), so a failure is
    located afterwards: the work is rolled back to a savepoint taken just before the
    file, and the file runs again statement by statement (one pipeline, a cursor
    each) to name the statement, its file and line. Either way the file's effects
    are all there or none are.
    """
    import psycopg
    from psycopg.pq import TransactionStatus

    if len(sqlfile.statements) < 2:
        if sqlfile.statements:
            _execute_batch(dconn, sqlfile.statements, sqlfile, revision)
        return
    with dconn.cursor() as cur:
        cur.execute(f"SAVEPOINT {_SAVEPOINT}", prepare=False)
        error: psycopg.Error | None = None
        try:
            cur.execute(sqlfile.script, prepare=False)
        except psycopg.Error as exc:
            error = exc
        status = dconn.info.transaction_status
        if error is not None and status == TransactionStatus.INERROR:
            cur.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}", prepare=False)
            # Locate the failure; when the second run passes (a lock or a
            # serialization conflict that went away), its work stands.
            _execute_batch(dconn, sqlfile.statements, sqlfile, revision)
        elif status != TransactionStatus.INTRANS:
            if dconn.closed or status == TransactionStatus.UNKNOWN:
                raise error or psycopg.OperationalError("the connection was lost")
            raise transaction_lost(sqlfile, revision, status.name)
        elif error is not None:
            raise error
        cur.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}", prepare=False)


_TX_WORDS = re.compile(
    r"\s*(COMMIT|END|ROLLBACK|ABORT|BEGIN|START|SAVEPOINT|RELEASE|PREPARE)\b", re.IGNORECASE
)


def transaction_lost(sqlfile: SqlFile | str, revision: str, status: str) -> TransactionLost:
    """The transaction ended inside the file although it was checked: name the first
    statement that reads like transaction control, else the file's line range (or the
    file, given by its displayed name only when it could not be parsed)."""
    if isinstance(sqlfile, str):
        return _lost(f"{sqlfile}: one of its statements", revision, status)
    culprit = next(
        (_where(sqlfile, st) for st in sqlfile.statements if _TX_WORDS.match(st.text)), None
    )
    if culprit is None:
        first, last = sqlfile.statements[0], sqlfile.statements[-1]
        culprit = f"{sqlfile.display}: one of the statements at lines {first.line}-{last.line}"
    return _lost(culprit, revision, status)


# Command tags of statements that end or nest a transaction (a batch names the culprit).
_TX_TAGS = (
    "COMMIT",
    "ROLLBACK",
    "BEGIN",
    "START TRANSACTION",
    "PREPARE TRANSACTION",
    "SAVEPOINT",
    "RELEASE",
)


def _execute_batch(
    dconn: Any,
    statements: Sequence[str | pgsql.Statement],
    sqlfile: SqlFile | None,
    revision: str,
) -> None:
    """Send ``statements`` in one pipeline: one round trip instead of one per statement.

    Each statement has a cursor of its own, so after a failure the statements that
    completed are known and the failing one is named exactly (the server skips the
    rest). Transaction control is refused before anything runs; that the batch left
    the transaction open is still checked, and the culprit named.
    """
    import psycopg
    from psycopg.pq import TransactionStatus

    cursors: list[Any] = []
    error: psycopg.Error | None = None
    try:
        with dconn.pipeline() as pipe:
            try:
                for item in statements:
                    cur = dconn.cursor()
                    cursors.append(cur)
                    text = item.text if isinstance(item, pgsql.Statement) else item
                    cur.execute(text, prepare=False)
                pipe.sync()
            except psycopg.Error as exc:
                error = exc  # the first failure; leaving the pipeline reports it aborted
    except psycopg.Error as exc:
        error = error or exc
    done = next((i for i, c in enumerate(cursors) if c.pgresult is None), len(cursors))
    tags = [c.statusmessage or "" for c in cursors[:done]]
    for cur in cursors:
        cur.close()
    status = dconn.info.transaction_status
    if status not in (TransactionStatus.INTRANS, TransactionStatus.INERROR) and not dconn.closed:
        culprit = next(
            (
                _where(sqlfile, statements[i])
                for i, tag in enumerate(tags)
                if tag.startswith(_TX_TAGS)
            ),
            None,
        )
        if culprit is None:
            first, last = statements[0], statements[-1]
            culprit = (
                f"{sqlfile.display}: one of the statements at lines {first.line}-{last.line}"
                if sqlfile is not None
                and isinstance(first, pgsql.Statement)
                and isinstance(last, pgsql.Statement)
                else "one of rlskit's statements"
            )
        raise _lost(culprit, revision, status.name)
    if error is None:
        return
    item = statements[min(done, len(statements) - 1)]
    raise _failure(error, dconn, item, sqlfile, revision, total=len(statements)) from error


def _where(sqlfile: SqlFile | None, item: pgsql.Statement | str) -> str:
    if sqlfile is not None and isinstance(item, pgsql.Statement):
        return f"{sqlfile.display}:{item.line} ({' '.join(item.text.split())[:80]})"
    return f"rlskit's statement {' '.join(str(item).split())[:80]!r}"


def find_blockers(dconn: Any, statement: str) -> list[Blocker]:
    """Sessions holding locks on the relations ``statement`` touches.

    Runs on a side connection: ours is in an aborted transaction.
    """
    import psycopg

    names = pgsql.relations_of(statement)
    if not names:
        return []
    params = dict(dconn.info.get_parameters())
    if dconn.info.password:
        params["password"] = dconn.info.password
    params["connect_timeout"] = "5"
    from rlskit.catalog import query_text

    sql = query_text("blockers")
    try:
        with psycopg.connect(autocommit=True, **params) as side:
            rows = side.execute(sql, (dconn.info.backend_pid, names)).fetchall()
    except psycopg.Error:
        return []
    return [Blocker(*row) for row in rows]


# -- env.py ------------------------------------------------------------------
def run_env() -> None:
    """The body of a project's ``migrations/env.py``."""
    from alembic import context
    from alembic.util import CommandError

    config = context.config
    if config.config_file_name and not config.attributes.get("rlskit.cli"):
        _configure_logging(config.config_file_name)
    try:
        project = project_for(config)
        settings = settings_for(config, project)
        if context.is_offline_mode():
            _run_offline(context, settings)
        else:
            _run_online(context, config, project, settings)
    except RlskitError as exc:
        if config.cmd_opts is not None and not config.attributes.get("rlskit.cli"):
            # plain `alembic ...`: print the paragraph, not a traceback
            raise CommandError(str(exc)) from exc
        raise


def _configure_logging(ini: str) -> None:
    """Apply the ini's [loggers] like Alembic's own env.py template does."""
    import configparser
    from logging.config import fileConfig

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ini)
    if parser.has_section("loggers"):
        fileConfig(ini, disable_existing_loggers=False)


def _configure_kwargs(settings: Settings) -> dict[str, Any]:
    return {
        "transaction_per_migration": settings.per_revision,
        "version_table": settings.version_table,
        "version_table_schema": settings.version_table_schema,
        "target_metadata": None,
    }


def _run_offline(context: Any, settings: Settings) -> None:
    context.configure(dialect_name="postgresql", literal_binds=True, **_configure_kwargs(settings))
    mctx: MigrationContext = context.get_context()
    # The script creates the bookkeeping itself, idempotently; Alembic's own
    # CREATE TABLE (emitted when starting from base) would fail where it exists.
    mctx._version.create = lambda *a, **k: None  # type: ignore[method-assign]
    start = context.get_starting_revision_argument()
    if start is None or start == "base":
        starting: tuple[str, ...] = ()
    elif isinstance(start, str):
        starting = (start,)
    else:
        starting = tuple(str(r) for r in start)
    out = mctx.impl.static_output
    with context.begin_transaction():
        out(
            "-- rlskit: bookkeeping (idempotent), then a check that the database is where "
            "this script starts"
        )
        for stmt in bookkeeping_prepare(settings):
            out(stmt + ";")
        out(offline_guard(settings, starting) + ";")
        context.run_migrations()


def _session_options(url: str, orphan: bool = True) -> dict[str, Any]:
    """connect_args for the migration connection: keepalives, and the orphan
    settings appended to any ``options`` the URL already has."""
    from sqlalchemy.engine import make_url

    given = make_url(sqlalchemy_url(url)).query.get("options")
    given_text = given if isinstance(given, str) else " ".join(given or ())
    return {
        "connect_timeout": 10,
        "options": session_options(given_text, orphan),
        **KEEPALIVES,
    }


def _run_online(context: Any, config: Config, project: Project, settings: Settings) -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        if hasattr(conn, "in_transaction"):
            _run_with_connection(context, config, conn, settings)
        else:  # an Engine (pytest-alembic passes one): use a connection of our own
            with conn.connect() as connection:
                _run_with_connection(context, config, connection, settings)
        return
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.pool import NullPool

    url, source = resolve_url(config, project, settings)
    engine = create_engine(
        sqlalchemy_url(url), poolclass=NullPool, connect_args=_session_options(url)
    )
    try:
        try:
            connection = engine.connect()
        except DBAPIError as exc:
            if "unrecognized configuration parameter" not in str(exc.orig):
                raise connect_error(url, exc) from None
            # A server older than PostgreSQL 14 (no client_connection_check_interval):
            # keepalives and the idle-in-transaction timeout only.
            engine.dispose()
            engine = create_engine(
                sqlalchemy_url(url),
                poolclass=NullPool,
                connect_args=_session_options(url, orphan=False),
            )
            try:
                connection = engine.connect()
            except DBAPIError as exc2:
                raise connect_error(url, exc2) from None
        _report(config)(
            Event(
                "connected",
                f"database {mask_url(url)} ({source})",
                {"url": mask_url(url), "source": source},
            )
        )
        with connection:
            _run_with_connection(context, config, connection, settings)
    finally:
        engine.dispose()


def legacy_schema(connection: Connection, settings: Settings) -> str | None:
    """The schema of bookkeeping an earlier rlskit made in the search path
    (``public``), while rlskit's own schema has none yet."""
    if settings.version_table_schema != DEFAULT_SCHEMA:
        return None
    q = connection.exec_driver_sql
    if q("SELECT to_regclass(%s)", (_version_name(settings),)).scalar() is not None:
        return None
    row = q(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid = to_regclass(%s)",
        (quote_ident(settings.version_table),),
    ).fetchone()
    return str(row[0]) if row else None


def prepare_bookkeeping(connection: Connection, settings: Settings) -> None:
    """Run :func:`bookkeeping_prepare` (in the caller's transaction)."""
    from sqlalchemy.exc import DBAPIError

    for stmt in bookkeeping_prepare(settings):
        try:
            # exec_driver_sql hands psycopg a parameter tuple: '%' must be doubled
            connection.exec_driver_sql(stmt.replace("%", "%%"))
        except DBAPIError as exc:
            raise bookkeeping_setup_failed(settings, str(exc.orig or exc)) from None


def bookkeeping_setup_failed(settings: Settings, reason: str) -> BookkeepingError:
    """The bookkeeping schema or tables could not be made (nothing was changed)."""
    return BookkeepingError(
        f"rlskit cannot set up its bookkeeping schema "
        f"{settings.version_table_schema!r}: {' '.join(reason.split())}. Nothing was changed.",
        "Run migrations as a role that may create schemas in the database (the "
        "database owner), or name an existing schema that role owns with "
        "version_table_schema in [rlskit] of alembic.ini.",
    )


def _run_with_connection(
    context: Any, config: Config, connection: Connection, settings: Settings
) -> None:
    external = connection.in_transaction()
    context.configure(connection=connection, **_configure_kwargs(settings))
    mctx: MigrationContext = context.get_context()
    readonly = bool(mctx.opts.get("dont_mutate"))
    action = config.attributes.get(ATTR_ACTION)
    if readonly and action is None:
        legacy = legacy_schema(connection, settings)
        if not external and connection.in_transaction():
            connection.rollback()
        if legacy is not None:  # not moved yet: read it where it is
            legacy_settings = settings.with_overrides(version_table_schema=legacy)
            context.configure(connection=connection, **_configure_kwargs(legacy_settings))
        with context.begin_transaction():
            context.run_migrations()
        return
    with migration_lock(connection, settings, config, commit=not external):
        prepare_bookkeeping(connection, settings)
        if action is not None:
            action(mctx)
            if not external and connection.in_transaction():
                connection.commit()
            return
        verify_checksums(connection, config, settings)
        before = mctx.get_current_heads()
        _check_steps(config, mctx, settings, before)
        if not external and connection.in_transaction():
            connection.commit()
        try:
            _run_with_retries(context, config, settings, allow_retry=not external)
        except _BookkeepingStatementFailed as exc:
            now: tuple[str, ...] | None
            try:
                if connection.in_transaction():
                    connection.rollback()
                now = tuple(mctx.get_current_heads())
                connection.rollback()
            except Exception:  # the connection is gone after all
                now = None
            raise bookkeeping_failed(settings, exc, now, before) from None
        except SqlStatementError as exc:
            if isinstance(exc, LockTimeout):
                raise
            raise _with_rollback_note(exc, settings, connection, mctx, before, external) from (
                exc.__cause__
            )
        after = mctx.get_current_heads()
        if not external and connection.in_transaction():
            connection.commit()
        _report(config)(
            Event(
                "done",
                f"at {', '.join(after) or 'base'} (was {', '.join(before) or 'base'})",
                {"before": list(before), "after": list(after)},
            )
        )


def _check_steps(
    config: Config, mctx: MigrationContext, settings: Settings, heads: Sequence[str]
) -> None:
    """Read and check every file the run will execute, before anything runs:
    transaction control, syntax, missing files, no-transaction without --per-revision."""
    fn = mctx.opts.get("fn")
    if fn is None:
        return
    try:
        steps = list(fn(tuple(heads), mctx))
    except RlskitError:
        raise
    except Exception:
        return  # Alembic reports its own resolution errors when it runs
    project = project_for(config)
    for step in steps:
        script = getattr(step, "revision", None)
        up = getattr(step, "is_upgrade", None)
        module = getattr(script, "module", None)
        if module is None or up is None:
            continue
        rev = sql_revision_of(module)
        if rev is None:
            continue
        sqlfile = rev.load(project, "up" if up else "down")
        if not sqlfile.transactional and not settings.per_revision:
            raise NonTransactionalRevision(rev.revision, sqlfile.display)


def _run_with_retries(context: Any, config: Config, settings: Settings, allow_retry: bool) -> None:
    from sqlalchemy.exc import DBAPIError

    report = _report(config)
    attempt = 0
    while True:
        attempt += 1
        try:
            try:
                with context.begin_transaction():
                    context.run_migrations()
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise _BookkeepingStatementFailed(str(exc.orig or exc)) from None
                # Typically the rollback after a failure, on a connection that is gone:
                # then a statement of the migrations failed first and COMMIT was not sent.
                sent = False if exc.__context__ is not None else None
                raise connection_lost(settings, exc.__context__ or exc, commit_sent=sent) from None
            return
        except SqlStatementError as exc:
            if exc.sqlstate != "55P03" or not exc.failure.in_transaction:
                raise  # a no-transaction revision is never re-run: part of it is committed
            lock_retry(exc, attempt, settings, report, allow_retry)


def lock_retry(
    exc: SqlStatementError,
    attempt: int,
    settings: Settings,
    report: Report,
    allow_retry: bool = True,
) -> None:
    """After a lock timeout on ``attempt``: say so and wait before the next attempt,
    or raise :class:`LockTimeout` when no retry is left."""
    if not allow_retry or attempt > settings.lock_retries:
        raise LockTimeout(
            exc.failure, attempt, pg_duration(settings.lock_timeout)
        ) from exc.__cause__
    delay = settings.retry_backoff * (2 ** (attempt - 1))
    report(
        Event(
            "retry",
            f"lock timeout at {exc.failure.path}:{exc.failure.line}; "
            f"retrying in {delay:.1f}s (attempt {attempt + 1} of "
            f"{settings.lock_retries + 1})",
            {"attempt": attempt, "delay": delay},
        )
    )
    time.sleep(delay)


def connection_lost(
    settings: Settings,
    cause: BaseException,
    now: tuple[str, ...] | None = None,
    before: Sequence[str] = (),
    commit_sent: bool | None = None,
) -> RlskitError:
    """The connection died mid-upgrade. ``now``: the revision read back on a new
    connection (None: not read); ``commit_sent``: whether the caller knows it had
    (not) sent COMMIT. Only what was verified is said."""
    where = ""
    if isinstance(cause, SqlStatementError):
        f = cause.failure
        where = f" while running {f.path}:{f.line} (revision {f.revision})"
    if now is not None:
        applied = (
            "nothing of this upgrade was applied"
            if list(now) == list(before)
            else "what this upgrade committed stays applied"
        )
        kept = (
            f" Read back on a new connection, the database is at {', '.join(now) or 'base'} "
            f"(was {', '.join(before) or 'base'}): {applied}."
        )
    elif settings.per_revision:
        kept = " Revisions committed before it (--per-revision) stay applied."
    elif commit_sent is False:
        kept = " rlskit had not sent COMMIT, so nothing of this upgrade was applied."
    else:
        kept = (
            " The server commits a transaction only once it receives its COMMIT; if the "
            "connection was lost while COMMIT was sent, only the database can tell: run "
            "`rlskit status`."
        )
    return RlskitError(
        f"The connection to the database was lost{where}: "
        f"{' '.join(str(getattr(cause, 'orig', None) or cause).split())[:300].rstrip('.')}. "
        f"The server rolls back a transaction whose connection ends.{kept}",
        "Check that the server is up, then run upgrade again; it continues where the database is.",
    )


def bookkeeping_failed(
    settings: Settings, cause: BaseException, now: tuple[str, ...] | None, before: Sequence[str]
) -> RlskitError:
    """rlskit's own statement failed (a revision dropped its version table, say): what
    failed and where the database is, read back (``now``); when it could not be read
    back (None), the connection is gone (:func:`connection_lost`)."""
    if now is None:
        return connection_lost(settings, cause)
    return BookkeepingError(
        "rlskit's own bookkeeping failed during the upgrade: "
        f"{' '.join(str(cause).split())[:300]}. Its transaction was rolled back; the "
        f"database is at {', '.join(now) or 'base'} (was {', '.join(before) or 'base'}).",
        "Check that no revision drops or changes rlskit's schema or tables, then run "
        "upgrade again.",
    )


class _BookkeepingStatementFailed(Exception):
    """A statement Alembic runs for rlskit (the version row) failed, the connection works."""


def _with_rollback_note(
    exc: SqlStatementError,
    settings: Settings,
    connection: Connection,
    mctx: MigrationContext,
    before: Sequence[str],
    external: bool,
) -> SqlStatementError:
    """The failure with what became of the database, as read back from it."""
    if external:
        return SqlStatementError(
            exc.failure,
            "The statements ran in the caller's transaction, which is now aborted: roll it "
            "back (nothing of it is committed until then).",
        )
    try:
        if connection.in_transaction():
            connection.rollback()
        now: tuple[str, ...] | None = tuple(mctx.get_current_heads())
        connection.rollback()
    except Exception:  # the connection is gone: the server rolls back an open transaction
        now = None
    return rollback_note(exc, settings, now, before)


def rollback_note(
    exc: SqlStatementError, settings: Settings, now: tuple[str, ...] | None, before: Sequence[str]
) -> SqlStatementError:
    """The failure with what became of the database: ``now`` is the revision read back
    after the rollback (None: the connection failed while reading it)."""
    f = exc.failure
    if now is None:
        return SqlStatementError(
            f,
            "The connection failed while reading back the database's revision; check it "
            "with `rlskit status` before running upgrade again.",
        )
    at = ", ".join(now) or "base"
    was = ", ".join(before) or "base"
    parts: list[str] = []
    if not f.in_transaction:
        if f.committed:
            parts.append(
                f"Revision {f.revision} is marked no-transaction, so its statements commit "
                f"one by one: {f.committed} of its {f.total} statement(s) before the failing "
                f"one were committed and stay in the database (the last: {f.last_committed}); "
                "the revision is not recorded as applied."
            )
        else:
            parts.append(
                f"Revision {f.revision} is marked no-transaction; none of its statements "
                "was committed before the failing one, and it is not recorded as applied."
            )
        hint = (
            "Make those statements safe to run again (IF NOT EXISTS / IF EXISTS) or undo "
            "them by hand, fix the file, then run upgrade again."
        )
    elif settings.per_revision:
        parts.append(f"Revision {f.revision} was rolled back.")
        hint = "Fix the file and run upgrade again."
    else:
        hint = "Fix the file and run upgrade again."
    if now == tuple(before) and f.in_transaction and not settings.per_revision:
        parts.append(
            f"Everything this command did was rolled back: the database is at {at}, as before."
        )
    elif now == tuple(before):
        parts.append(f"The database is at revision {at}, as before.")
    else:
        parts.append(
            f"The database is now at revision {at} (was {was}): the revisions before it "
            "stay applied."
        )
    return SqlStatementError(f, " ".join([*parts, hint]))


@contextlib.contextmanager
def migration_lock(
    connection: Connection, settings: Settings, config: Config, commit: bool
) -> Iterator[None]:
    """Hold the session advisory lock that serialises upgrades (FINDINGS §3)."""
    from sqlalchemy.exc import DBAPIError

    def q(sql: str, *params: Any) -> Any:
        return connection.exec_driver_sql(sql, params).fetchone()

    def unavailable(exc: BaseException) -> bool:
        import psycopg

        return isinstance(exc, DBAPIError) and isinstance(exc.orig, psycopg.errors.LockNotAvailable)

    def done() -> None:
        if commit:  # a caller's own transaction stays the caller's
            connection.commit()

    def release() -> None:
        if commit and connection.in_transaction():
            connection.rollback()

    with hold_migration_lock(
        q, settings, _report(config), done, connection.rollback, release, unavailable
    ):
        yield


@contextlib.contextmanager
def hold_migration_lock(
    q: Callable[..., Any],
    settings: Settings,
    report: Report,
    commit: Callable[[], None],
    rollback: Callable[[], None],
    release: Callable[[], None],
    unavailable: Callable[[BaseException], bool],
) -> Iterator[None]:
    """The migration lock on any connection: ``q`` runs one statement and returns its
    row; ``commit`` ends the lock's transaction, ``rollback`` the wait that timed out
    (``unavailable`` recognises the driver's lock-timeout error), ``release`` what the
    work left open before unlocking. Waiting is reported with the holder named."""
    key = advisory_key(settings)
    if not q("SELECT pg_try_advisory_lock(%s)", key)[0]:
        holder = _lock_holder(q, key)
        report(
            Event(
                "waiting",
                f"another upgrade holds the migration lock ({holder}); waiting",
                {"holder": holder},
            )
        )
        started = time.monotonic()
        try:
            q(
                "SELECT set_config('lock_timeout', %s, false)",
                pg_duration(settings.migration_lock_wait),
            )
            q("SELECT pg_advisory_lock(%s)", key)
            q("SELECT set_config('lock_timeout', '0', false)")
        except Exception as exc:
            if not unavailable(exc):
                raise
            rollback()
            q("SELECT set_config('lock_timeout', '0', false)")
            commit()
            raise MigrationLockTimeout(time.monotonic() - started, holder) from None
    commit()
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            release()
            q("SELECT pg_advisory_unlock(%s)", key)
            commit()


def _lock_holder(q: Callable[..., Any], key: int) -> str:
    row = q(
        "SELECT a.pid, a.usename, a.application_name, a.client_addr::text, a.state, "
        "extract(epoch FROM now() - a.backend_start)::int, "
        "to_char(a.query_start, 'YYYY-MM-DD HH24:MI:SS TZ'), "
        "extract(epoch FROM now() - coalesce(a.state_change, a.query_start))::int, a.query "
        "FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
        "WHERE l.locktype = 'advisory' AND l.granted "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
        key,
    )
    if not row:
        return "a session that has just released it"
    pid, user, app, addr, state, connected, qstart, in_state, query = row
    text = " ".join(str(query or "").split())[:80]
    return (
        f"pid {pid}, user {user}, application {app or '-'}, client {addr or 'local socket'}, "
        f"connected {connected}s, state {state or '?'} for {in_state}s, query started "
        f"{qstart or '-'}: {text!r}; if the upgrade that started it is gone (killed, lost "
        f"machine), end that session with SELECT pg_terminate_backend({pid})"
    )


@dataclass(frozen=True)
class AppliedFile:
    """A row of the checksum table: which file of which revision was applied, when."""

    revision: str
    path: str
    checksum: str
    applied_at: str
    applied_by: str
    content_hash: str | None = None  # sha256 of the bytes applied (None: recorded before)

    @property
    def version(self) -> str:
        """The checksum algorithm of the record (``v1``, ``v2``)."""
        return self.checksum.split(":")[0]

    def differs(self, current: SqlFile) -> bool:
        """Was the file edited since? Compared with the record's own algorithm;
        a checksum of an algorithm rlskit does not know cannot count as an edit."""
        mine = current.checksum_as(self.version)
        if mine is None:
            return False
        return mine != self.checksum


def applied_files(connection: Connection, settings: Settings) -> list[AppliedFile]:
    """The checksum table's rows, oldest first; none before the first upgrade made it.

    Before the next upgrade moves them, an earlier rlskit's tables in the search
    path are read where they are."""
    table = _book_name(settings)
    q = connection.exec_driver_sql
    if q("SELECT to_regclass(%s)", (table,)).scalar() is None:
        legacy = legacy_schema(connection, settings)
        if legacy is None:
            return []
        table = quote_qualified(legacy, BOOK_TABLE)
        if q("SELECT to_regclass(%s)", (table,)).scalar() is None:
            return []
    has_hash = q(
        "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attname = 'content_hash' AND NOT attisdropped",
        (table,),
    ).fetchone()
    rows = q(
        "SELECT revision, path, checksum, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS TZ'), "
        f"applied_by, {'content_hash' if has_hash else 'NULL'} FROM {table} "
        "ORDER BY applied_at, revision"
    ).fetchall()
    return [AppliedFile(*row) for row in rows]


def find_script(script: Any, revision: str) -> Any:
    """The revision's Script, or None when the project no longer has it."""
    try:
        return script.get_revision(revision)
    except Exception:
        return None


def sql_revision_for(script: Any, revision: str) -> SqlRevision | None:
    """The :class:`SqlRevision` of a revision id, if it is one."""
    sc = find_script(script, revision)
    return sql_revision_of(sc.module) if sc is not None else None


def verify_checksums(connection: Connection, config: Config, settings: Settings) -> None:
    """Refuse when a recorded, applied file differs from the file on disk; records
    of an older checksum algorithm that still match are rewritten in the current one."""
    from alembic.script import ScriptDirectory

    records = applied_files(connection, settings)
    if not records:
        return
    project = project_for(config)
    script = ScriptDirectory.from_config(config)
    for rec in records:
        rev = sql_revision_for(script, rec.revision)
        if rev is not None:
            recheck(
                rec,
                rev.path(project, "up"),
                functools.partial(rev.load, project, "up"),
                connection.exec_driver_sql,
                settings,
            )


def recheck(
    rec: AppliedFile,
    path: Path,
    load: Callable[[], SqlFile],
    execute: Callable[[str, tuple[str, ...]], Any],
    settings: Settings,
) -> None:
    """Refuse an applied file (at ``path``) that was edited since ``rec``; rewrite a
    record of an older checksum algorithm, or of other bytes with the same statements,
    with ``execute``. The very bytes recorded are not parsed again."""
    if rec.content_hash and rec.version == pgsql.FINGERPRINT_VERSION:
        with contextlib.suppress(OSError):
            if content_hash(path.read_bytes()) == rec.content_hash:
                return
    sqlfile = load()
    if rec.differs(sqlfile):
        raise ChecksumMismatch(rec.revision, sqlfile.display, rec.applied_at, rec.applied_by)
    if rec.checksum != sqlfile.checksum or rec.content_hash != sqlfile.content_hash:
        execute(
            f"UPDATE {_book_name(settings)} SET checksum = %s, content_hash = %s "
            "WHERE revision = %s AND checksum = %s",
            (sqlfile.checksum, sqlfile.content_hash, rec.revision, rec.checksum),
        )
