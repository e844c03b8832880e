"""Passwords never on a command line nor in output (issue 12, item 11)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
import pytest

from rlskit import baseline
from rlskit.urls import libpq_env, mask_url

from ..conftest import Database, rlskit

SECRET = "se@cret99"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:se@cret99@db.example:5432/app",  # '@' not percent-encoded
        "postgresql://app:se%40cret99@db.example:5432/app",
        "postgresql+psycopg://app:se@cret99@db.example/app",
        "postgresql://app@db.example/app?sslmode=require&password=se@cret99",
        "postgresql://app@db.example/app?password=se%40cret99",
        "host=db.example user=app password=se@cret99 dbname=app",
        "host=db.example user=app password='se@cret99 x' dbname=app",
        "host=db.example password = se@cret99",
    ],
)
def test_every_form_of_password_is_masked(url: str) -> None:
    masked = mask_url(url)
    assert "cret99" not in masked and "se%40" not in masked
    assert "db.example" in masked and "***" in masked


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:se@cret99@127.0.0.1:1/app",
        "postgresql://app@127.0.0.1:1/app?password=se@cret99",
        "host=127.0.0.1 port=1 user=app password=se@cret99 dbname=app",
    ],
)
def test_connection_errors_do_not_print_the_password(tmp_path: Path, url: str) -> None:
    proj = tmp_path / "p"
    rlskit("init", str(proj))
    res = rlskit("status", project=proj, url=url)
    assert res.exit_code != 0
    assert "cret99" not in res.output and "se%40" not in res.output


@pytest.fixture
def dumper(database: Database) -> str:
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE dumper LOGIN SUPERUSER PASSWORD 'se@cret99'")
        conn.execute("CREATE TABLE public.t (id int)")
    parts = urlsplit(database.url)
    return f"postgresql://dumper:{SECRET}@{parts.hostname}:{parts.port}/{database.name}"


def test_pg_dump_gets_no_password_on_its_command_line(
    database: Database, dumper: str, tmp_path: Path
) -> None:
    real = database.server.embedded.tool("pg_dump")
    record = tmp_path / "argv"
    wrapper = tmp_path / "pg_dump"
    # what every local user can read in /proc/<pid>/cmdline
    wrapper.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\nexec {real} "$@"\n', encoding="utf-8"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    # the server checks the password: a wrong one is refused
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dumper.replace(SECRET, "wrong"), connect_timeout=5).close()
    encoded = dumper.replace(SECRET, quote(SECRET, safe=""))
    for url in (dumper, encoded, f"{dumper.replace(':' + SECRET, '')}?password={SECRET}"):
        with psycopg.connect(encoded, autocommit=True) as conn:
            result = baseline.build(conn, url, ["public"], str(wrapper))
        assert 'CREATE TABLE "public"."t"' in result.up  # it did connect
        argv = record.read_text()
        assert "cret99" not in argv and "se%40" not in argv, argv
    assert "PGPASSWORD" not in os.environ


def test_libpq_env_keeps_everything_but_the_password() -> None:
    conninfo, env = libpq_env("postgresql+psycopg://app:se@cret99@h:5/d?sslmode=require")
    assert env == {"PGPASSWORD": SECRET}
    assert conninfo == "postgresql://app@h:5/d?sslmode=require"
    conninfo, env = libpq_env("host=h user=app password='se@cret99' dbname=d")
    assert env == {"PGPASSWORD": SECRET} and "cret99" not in conninfo and "dbname=d" in conninfo
    assert libpq_env("postgresql://app@h/d") == ("postgresql://app@h/d", {})
