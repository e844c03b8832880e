"""Scratch databases: a throw-away database with the migrations applied.

Roles are cluster-wide, so by default the scratch database lives on a cluster
of its own (``<project>/.rlskit/scratch``) where nothing else creates them.
Every role the migrations created is dropped again afterwards. A project's
``scratch_setup`` files (what its platform provides) are applied to every new
scratch database first, by the superuser; with ``migrate_as`` the migrating role
exists by then and ``rlskit.migrate_as`` names it.

There is one scratch server per project. A command that needs it starts it
(about 0.1-0.5 s; the first time ``initdb`` adds about 1.3 s) and the last
command using it stops it when done, so none keeps running between commands
(``RLSKIT_KEEP_SCRATCH=1`` keeps it). ``rlskit db status`` shows it and
``rlskit db stop`` stops it too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from rlskit.errors import DatabaseUnavailable, RlskitError
from rlskit.project import Project
from rlskit.quoting import quote_ident, quote_literal
from rlskit.urls import libpq_url, mask_url

if TYPE_CHECKING:
    from rlskit.servers import EmbeddedServer


def scratch_server(project: Project) -> EmbeddedServer:
    """The project's scratch server (``.rlskit/scratch``); it runs as its own OS user as root."""
    from rlskit.servers import EmbeddedServer

    return EmbeddedServer(project.root / ".rlskit" / "scratch", fast=True, kind="scratch")


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(libpq_url(url))
    return urlunsplit(parts._replace(path="/" + database))


def _with_user(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(
        parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}")
    )


#: set while ``scratch_setup`` files run: the ``migrate_as`` role ('' without one), so
#: a platform's file can grant it what the platform grants its migrating role
MIGRATE_AS_SETTING = "rlskit.migrate_as"

# scratch database URL -> the same database as the project's migrate_as role
_MIGRATOR_URLS: dict[str, str] = {}


def as_migrator(url: str) -> str:
    """``url`` as the project's ``migrate_as`` role, if the scratch database has one."""
    return _MIGRATOR_URLS.get(url, url)


def _create_migrator(admin: Any, role: str, password: str | None = None) -> str:
    """Create (or reset) ``role`` with managed-PostgreSQL rights (LOGIN CREATEROLE
    CREATEDB, no SUPERUSER/BYPASSRLS); return its password (new unless given)."""
    password = password or secrets.token_urlsafe(24)
    exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    admin.execute(
        f"{verb} ROLE {quote_ident(role)} LOGIN CREATEROLE CREATEDB NOSUPERUSER NOBYPASSRLS "
        "NOREPLICATION INHERIT PASSWORD " + quote_literal(password)
    )
    return password


def migrator_url(admin_url: str, role: str) -> str:
    """``admin_url`` (a superuser's, e.g. the embedded server's) as ``role``, created
    with managed-PostgreSQL rights and made owner of the URL's database, as scratch
    databases do. The role gets the server's own password, so concurrent commands
    agree on it and no new secret is stored."""
    import psycopg

    parts = urlsplit(libpq_url(admin_url))
    database = parts.path.lstrip("/") or "postgres"
    try:
        admin = psycopg.connect(libpq_url(admin_url), autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(mask_url(admin_url), " ".join(str(exc).split())) from None
    with admin:
        password = _create_migrator(admin, role, unquote(parts.password or "") or None)
        admin.execute(f"ALTER DATABASE {quote_ident(database)} OWNER TO {quote_ident(role)}")
    return _with_user(libpq_url(admin_url), role, password)


@contextlib.contextmanager
def scratch_database(project: Project | None, server_url: str | None = None) -> Iterator[str]:
    """Yield the URL of a new, empty database; drop it (and new roles) afterwards.

    Without ``server_url`` the database goes on the project's own scratch server.
    """
    with scratch_server_url(project, server_url) as url, _database_on(url, project) as database:
        yield database


@contextlib.contextmanager
def scratch_server_url(project: Project | None, server_url: str | None = None) -> Iterator[str]:
    """``server_url``, or the URL of the project's scratch server, started and held
    for the block (the last holder stops it), for commands that make several
    scratch databases."""
    if server_url is not None:
        yield server_url
        return
    if project is None:
        raise RlskitError("A scratch database needs a project or a server URL.")
    server = scratch_server(project)
    with server.lease(keep=bool(os.environ.get("RLSKIT_KEEP_SCRATCH"))):
        yield server.url("postgres")


@contextlib.contextmanager
def _database_on(server_url: str, project: Project | None) -> Iterator[str]:
    import psycopg

    admin_url = _with_database(server_url, "postgres")
    name = "rlskit_scratch_" + uuid.uuid4().hex[:10]
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(mask_url(admin_url), " ".join(str(exc).split())) from None
    with admin:
        before = {r[0] for r in admin.execute("SELECT rolname FROM pg_roles").fetchall()}
        try:
            admin.execute(f"CREATE DATABASE {quote_ident(name)}")
        except psycopg.Error as exc:
            raise RlskitError(
                f"Cannot create a scratch database on {mask_url(admin_url)}: "
                f"{' '.join(str(exc).split())}.",
                "The scratch server needs a role with CREATEDB.",
            ) from None
        url = _with_database(server_url, name)
        try:
            migrator = project.settings.migrate_as if project is not None else None
            password = None
            if migrator:  # first: the platform's files may grant it what the platform does
                password = _create_migrator(admin, migrator)
                admin.execute(
                    f"ALTER DATABASE {quote_ident(name)} OWNER TO {quote_ident(migrator)}"
                )
            if project is not None:
                for path in project.scratch_setup_files:
                    apply_sql(
                        url,
                        path.read_text(encoding="utf-8"),
                        project.display(path),
                        {MIGRATE_AS_SETTING: migrator or ""},
                    )
            if migrator and password:
                _MIGRATOR_URLS[url] = _with_user(url, migrator, password)
            yield url
        finally:
            _MIGRATOR_URLS.pop(url, None)
            admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
            after = {r[0] for r in admin.execute("SELECT rolname FROM pg_roles").fetchall()}
            left = sorted(after - before)
            while left:  # roles granted by others go first
                dropped = []
                for role in left:
                    try:
                        admin.execute(f"DROP ROLE {quote_ident(role)}")
                        dropped.append(role)
                    except psycopg.Error:
                        pass
                if not dropped:
                    break
                left = [r for r in left if r not in dropped]


def apply_sql(url: str, sql: str, display: str, settings: dict[str, str] | None = None) -> None:
    """Run ``sql`` on ``url`` statement by statement, in one transaction, with
    ``settings`` set for that transaction.

    A failure names the file, line and statement; nothing stays applied.
    """
    import psycopg

    from rlskit.sqlfile import SqlFile

    f = SqlFile.from_text(sql, display)
    with psycopg.connect(url, connect_timeout=10) as conn, conn.cursor() as cur:
        for key, value in (settings or {}).items():
            cur.execute("SELECT set_config(%s, %s, true)", (key, value))
        for st in f.statements:
            try:
                cur.execute(st.text)
            except psycopg.Error as exc:
                why = _not_allowed(conn, url) if exc.sqlstate == "42501" else ""
                raise RlskitError(
                    f"{display}:{st.line}: {' '.join(str(exc).split())} "
                    f"(statement: {' '.join(st.text.split())[:200]}){why}.",
                    "Fix the file and run again; nothing of it stayed applied.",
                ) from None


def _not_allowed(conn: Any, url: str) -> str:
    """Why a statement was refused a privilege, when it ran as the ``migrate_as`` role."""
    if url not in _MIGRATOR_URLS.values():
        return ""
    conn.rollback()
    role = conn.execute("SELECT current_user").fetchone()[0]
    return (
        f"; it ran as {quote_ident(role)}, the [rlskit] migrate_as role (no SUPERUSER, "
        "no BYPASSRLS, as a managed platform's migrating role): the platform refuses it "
        f"too unless it grants {quote_ident(role)} this; what the platform does grant "
        "its migrating role belongs in a scratch_setup file (rlskit.migrate_as names "
        "the role there)"
    )
