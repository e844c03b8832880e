"""What a project's ``migrations/env.py`` and revision modules call at run time.

``run_env()`` is the whole of env.py. It resolves the database, takes the
migration lock (a session advisory lock, FINDINGS §3), refuses when an applied
file was edited, and runs the pending revisions in one transaction (or one per
revision), retrying on lock timeouts. ``SqlRevision`` runs a revision's .sql
file statement by statement, online, or writes it verbatim, offline.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlskit import pgsql
from rlskit.errors import (
    Blocker,
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
)
from rlskit.project import Project, Settings, check_url, env_url, parse_duration, pg_duration
from rlskit.quoting import comment_text, quote_literal, quote_qualified
from rlskit.sqlfile import SqlFile
from rlskit.urls import mask_url, sqlalchemy_url

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Connection

log = logging.getLogger("rlskit")

BOOK_TABLE = "rlskit_applied_files"
LOCK_NAMESPACE = "rlskit-migrations"
ATTR_SETTINGS = "rlskit.settings"
ATTR_REPORT = "rlskit.report"
ATTR_URL = "url"
ATTR_ACTION = "rlskit.action"


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
            if item.startswith("url="):
                return check_url(item[4:], "-x url"), "-x url"
    found = env_url()
    if found:
        return found
    if project.ini_url:
        return check_url(project.ini_url, "sqlalchemy.url in alembic.ini"), "alembic.ini"
    if settings.embedded:
        from rlskit.embedded import EmbeddedServer

        server = EmbeddedServer(project.embedded_home)
        server.start()
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


# -- bookkeeping SQL (identical online and offline) --------------------------
def _book_name(settings: Settings) -> str:
    return quote_qualified(settings.version_table_schema or "", BOOK_TABLE)


def bookkeeping_create(settings: Settings) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the checksum table."""
    return (
        f"CREATE TABLE IF NOT EXISTS {_book_name(settings)} ("
        "revision text NOT NULL, path text NOT NULL, checksum text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now(), "
        "applied_by text NOT NULL DEFAULT current_user, "
        "PRIMARY KEY (revision, path))"
    )


def bookkeeping_record(settings: Settings, revision: str, path: str, checksum: str) -> list[str]:
    """Statements recording that ``path`` of ``revision`` was applied."""
    t = _book_name(settings)
    return [
        bookkeeping_create(settings),
        f"DELETE FROM {t} WHERE revision = {quote_literal(revision)}",
        f"INSERT INTO {t} (revision, path, checksum) VALUES "
        f"({quote_literal(revision)}, {quote_literal(path)}, {quote_literal(checksum)})",
    ]


def bookkeeping_forget(settings: Settings, revision: str) -> list[str]:
    """Statements forgetting ``revision`` (after its downgrade)."""
    return [
        bookkeeping_create(settings),
        f"DELETE FROM {_book_name(settings)} WHERE revision = {quote_literal(revision)}",
    ]


def lock_timeout_sql(settings: Settings) -> str:
    """The per-revision ``lock_timeout`` (transaction-local)."""
    value = quote_literal(pg_duration(settings.lock_timeout))
    return f"SELECT set_config('lock_timeout', {value}, true)"


def advisory_key(settings: Settings) -> int:
    """A stable 63-bit key per version table, for the migration lock."""
    name = f"{LOCK_NAMESPACE}:{settings.version_table_schema or ''}.{settings.version_table}"
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


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
    if direction == "up":
        book = bookkeeping_record(settings, rev.revision, sqlfile.display, sqlfile.checksum)
    else:
        book = bookkeeping_forget(settings, rev.revision)

    if ctx.as_sql:
        if not sqlfile.transactional and not settings.per_revision:
            raise NonTransactionalRevision(rev.revision, sqlfile.display)
        out = ctx.impl.static_output
        out(
            f"-- rlskit: revision {comment_text(rev.revision)} {direction}: {comment_text(sqlfile.display)}"
        )
        if sqlfile.transactional:
            out(lock_timeout_sql(settings) + ";")
            out(sqlfile.script)
        else:
            out("COMMIT;")
            out(f"SET lock_timeout = {quote_literal(pg_duration(settings.lock_timeout))};")
            for st in sqlfile.statements:
                out(st.text + "\n;")
            out("RESET lock_timeout;")
            out("BEGIN;")
        for stmt in book:
            out(stmt + ";")
        return

    started = time.perf_counter()
    if direction == "down":  # stop before dropping tables that hold rows, unless confirmed
        from rlskit import guard

        accept = guard.accepted(config)
        guard.check_down(
            _driver_connection(ctx), sqlfile, rev.revision, accept, settings.per_revision
        )
    if sqlfile.transactional:
        _execute(ctx, [lock_timeout_sql(settings)], None, rev.revision)
        _execute(ctx, sqlfile.statements, sqlfile, rev.revision)
    else:
        if not settings.per_revision:
            raise NonTransactionalRevision(rev.revision, sqlfile.display)
        with ctx.autocommit_block():
            timeout = quote_literal(pg_duration(settings.lock_timeout))
            _execute(ctx, [f"SET lock_timeout = {timeout}"], None, rev.revision)
            try:
                _execute(ctx, sqlfile.statements, sqlfile, rev.revision)
            finally:
                with contextlib.suppress(Exception):
                    _execute(ctx, ["RESET lock_timeout"], None, rev.revision)
    _execute(ctx, book, None, rev.revision)
    elapsed = time.perf_counter() - started
    report(
        Event(
            "revision",
            f"{'applied' if direction == 'up' else 'reverted'} {rev.revision} "
            f"{sqlfile.display} ({len(sqlfile.statements)} statements, {elapsed * 1000:.0f} ms)",
            {
                "revision": rev.revision,
                "direction": direction,
                "path": sqlfile.display,
                "statements": len(sqlfile.statements),
                "seconds": elapsed,
            },
        )
    )


def _driver_connection(ctx: MigrationContext) -> Any:
    assert ctx.connection is not None
    return ctx.connection.connection.driver_connection


def _execute(
    ctx: MigrationContext,
    statements: Sequence[str | pgsql.Statement],
    sqlfile: SqlFile | None,
    revision: str,
) -> None:
    """Run statements one by one on the raw psycopg connection.

    Text goes to the server untouched (no bind-parameter parsing of ``:name``
    or ``%I``, FINDINGS §1), and a failure names its file, line and statement.
    """
    import psycopg

    dconn = _driver_connection(ctx)
    with dconn.cursor() as cur:
        for item in statements:
            text = item.text if isinstance(item, pgsql.Statement) else item
            try:
                cur.execute(text)
            except psycopg.Error as exc:
                diag = exc.diag
                pos = int(diag.statement_position) if diag.statement_position else None
                line = 0
                if sqlfile is not None and isinstance(item, pgsql.Statement):
                    line = sqlfile.line_of(item, pos)
                failure = StatementFailure(
                    path=sqlfile.display if sqlfile else "(rlskit bookkeeping)",
                    line=line,
                    statement=text,
                    sqlstate=diag.sqlstate or "?????",
                    pg_message=diag.message_primary or str(exc).strip(),
                    revision=revision,
                    detail=diag.message_detail,
                    pg_hint=diag.message_hint,
                )
                if failure.sqlstate == "55P03":
                    failure.blockers = find_blockers(dconn, text)
                raise SqlStatementError(failure, "") from exc


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
    with context.begin_transaction():
        context.run_migrations()


def _run_online(context: Any, config: Config, project: Project, settings: Settings) -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        _run_with_connection(context, config, conn, settings)
        return
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.pool import NullPool

    url, source = resolve_url(config, project, settings)
    engine = create_engine(
        sqlalchemy_url(url), poolclass=NullPool, connect_args={"connect_timeout": 10}
    )
    try:
        try:
            connection = engine.connect()
        except DBAPIError as exc:
            raise connect_error(url, exc) from None
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


def _run_with_connection(
    context: Any, config: Config, connection: Connection, settings: Settings
) -> None:
    external = connection.in_transaction()
    context.configure(connection=connection, **_configure_kwargs(settings))
    mctx: MigrationContext = context.get_context()
    readonly = bool(mctx.opts.get("dont_mutate"))
    action = config.attributes.get(ATTR_ACTION)
    if readonly and action is None:
        with context.begin_transaction():
            context.run_migrations()
        return
    with migration_lock(connection, settings, config, commit=not external):
        if action is not None:
            action(mctx)
            if not external and connection.in_transaction():
                connection.commit()
            return
        verify_checksums(connection, config, settings)
        before = mctx.get_current_heads()
        if not external and connection.in_transaction():
            connection.commit()
        _run_with_retries(context, config, settings, allow_retry=not external)
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
                # Typically the rollback after a failure, on a connection that is gone.
                raise connection_lost(settings, exc.__context__ or exc) from None
            return
        except SqlStatementError as exc:
            if exc.sqlstate != "55P03":
                raise _with_rollback_note(exc, settings) from exc.__cause__
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


def connection_lost(settings: Settings, cause: BaseException) -> RlskitError:
    """The connection died mid-upgrade: the server rolled the open transaction back."""
    where = ""
    if isinstance(cause, SqlStatementError):
        f = cause.failure
        where = f" while running {f.path}:{f.line} (revision {f.revision})"
    kept = (
        " Revisions committed before it (--per-revision) stay applied."
        if settings.per_revision
        else " Nothing of this upgrade was applied."
    )
    return RlskitError(
        f"The connection to the database was lost{where}: "
        f"{' '.join(str(getattr(cause, 'orig', None) or cause).split())[:300]}. The server rolls "
        f"back a transaction whose connection ends.{kept}",
        "Check that the server is up, then run upgrade again; it continues where the database is.",
    )


def _with_rollback_note(exc: SqlStatementError, settings: Settings) -> SqlStatementError:
    if settings.per_revision:
        note = (
            f"Revision {exc.failure.revision} was rolled back; the revisions before it stay "
            "applied (--per-revision). Fix the file and run upgrade again."
        )
    else:
        note = (
            "Everything this command did was rolled back; the database is as it was before. "
            "Fix the file and run upgrade again."
        )
    return SqlStatementError(exc.failure, note)


@contextlib.contextmanager
def migration_lock(
    connection: Connection, settings: Settings, config: Config, commit: bool
) -> Iterator[None]:
    """Hold the session advisory lock that serialises upgrades (FINDINGS §3)."""
    from sqlalchemy.exc import DBAPIError

    key = advisory_key(settings)

    def q(sql: str, *params: Any) -> Any:
        return connection.exec_driver_sql(sql, params).fetchone()

    got = q("SELECT pg_try_advisory_lock(%s)", key)[0]
    if not got:
        holder = _lock_holder(q, key)
        _report(config)(
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
        except DBAPIError as exc:
            import psycopg

            if isinstance(exc.orig, psycopg.errors.LockNotAvailable):
                connection.rollback()
                q("SELECT set_config('lock_timeout', '0', false)")
                if commit:
                    connection.commit()
                raise MigrationLockTimeout(time.monotonic() - started, holder) from None
            raise
    if commit:
        connection.commit()
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            if commit and connection.in_transaction():
                connection.rollback()
            q("SELECT pg_advisory_unlock(%s)", key)
            if commit:
                connection.commit()


def _lock_holder(q: Callable[..., Any], key: int) -> str:
    row = q(
        "SELECT a.pid, a.usename, a.application_name, "
        "extract(epoch FROM now() - a.backend_start)::int "
        "FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
        "WHERE l.locktype = 'advisory' AND l.granted "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
        key,
    )
    if not row:
        return "a session that has just released it"
    return f"pid {row[0]}, user {row[1]}, application {row[2] or '-'}, connected {row[3]}s"


@dataclass(frozen=True)
class AppliedFile:
    """A row of the checksum table: which file of which revision was applied, when."""

    revision: str
    path: str
    checksum: str
    applied_at: str
    applied_by: str

    def differs(self, current: str) -> bool:
        """Was the file edited since? Checksums of another algorithm version cannot be
        compared and do not count as an edit."""
        if current.split(":")[0] != self.checksum.split(":")[0]:
            return False
        return current != self.checksum


def applied_files(connection: Connection, settings: Settings) -> list[AppliedFile]:
    """The checksum table's rows, oldest first; none before the first upgrade made it."""
    table = f"{settings.version_table_schema or 'public'}.{BOOK_TABLE}"
    if connection.exec_driver_sql("SELECT to_regclass(%s)", (table,)).scalar() is None:
        return []
    rows = connection.exec_driver_sql(
        "SELECT revision, path, checksum, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS TZ'), "
        f"applied_by FROM {_book_name(settings)} ORDER BY applied_at, revision"
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
    """Refuse when a recorded, applied file differs from the file on disk."""
    from alembic.script import ScriptDirectory

    records = applied_files(connection, settings)
    if not records:
        return
    project = project_for(config)
    script = ScriptDirectory.from_config(config)
    for rec in records:
        rev = sql_revision_for(script, rec.revision)
        if rev is None:
            continue
        sqlfile = rev.load(project, "up")
        if rec.differs(sqlfile.checksum):
            raise ChecksumMismatch(rec.revision, sqlfile.display, rec.applied_at, rec.applied_by)
