"""Scratch databases: a throw-away database with the migrations applied.

Roles are cluster-wide, so by default the scratch database lives on a cluster
of its own (``<project>/.rlskit/scratch``) where nothing else creates them.
Every role the migrations created is dropped again afterwards.

There is one scratch server per project. A command that needs it starts it
(about 0.1-0.5 s; the first time ``initdb`` adds about 1.3 s) and the last
command using it stops it when done, so none keeps running between commands
(``RLSKIT_KEEP_SCRATCH=1`` keeps it). ``rlskit db status`` shows it and
``rlskit db stop`` stops it too.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from rlskit.errors import DatabaseUnavailable, RlskitError
from rlskit.project import Project
from rlskit.quoting import quote_ident
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


@contextlib.contextmanager
def scratch_database(project: Project | None, server_url: str | None = None) -> Iterator[str]:
    """Yield the URL of a new, empty database; drop it (and new roles) afterwards.

    Without ``server_url`` the database goes on the project's own scratch server.
    """
    with scratch_server_url(project, server_url) as url, _database_on(url) as database:
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
def _database_on(server_url: str) -> Iterator[str]:
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
        try:
            yield _with_database(server_url, name)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
            after = {r[0] for r in admin.execute("SELECT rolname FROM pg_roles").fetchall()}
            for role in sorted(after - before):
                with contextlib.suppress(psycopg.Error):
                    admin.execute(f"DROP ROLE {quote_ident(role)}")
