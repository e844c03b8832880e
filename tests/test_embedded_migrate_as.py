"""migrate_as on the embedded development server (issue 13 item 3): the role is
created there with managed-PostgreSQL-like rights (LOGIN CREATEROLE CREATEDB, no
SUPERUSER, no BYPASSRLS), owns the database, and ``rlskit upgrade`` runs as it, so
a data migration on a FORCE RLS table changes 0 rows in development as it would
in production (and lint's RLS043 says so)."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg

from rlskit.embedded import EmbeddedServer

from .conftest import APP_DATA, REVISIONS, rlskit, write_revision

ROLE = "dev_migrator"


def test_reference_schema_upgrades_as_migrate_as_on_the_embedded_server(project: Path) -> None:
    ini = project / "alembic.ini"
    ini.write_text(ini.read_text().replace("[rlskit]\n", f"[rlskit]\nmigrate_as = {ROLE}\n", 1))
    server = EmbeddedServer(project / ".rlskit" / "pg")
    try:
        res = rlskit("upgrade", project=project)  # no URL: the embedded server
        assert res.exit_code == 0, res.output + res.stderr
        assert f"upgrade ran {len(REVISIONS)} revision(s)" in res.output
        drift = rlskit("drift", project=project)  # as the role, against its scratch build
        assert drift.exit_code == 0, drift.output + drift.stderr
        admin_url = server.url()  # the embedded superuser: the oracle
        with psycopg.connect(admin_url, autocommit=True) as conn:
            attrs = conn.execute(
                "SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
                "FROM pg_roles WHERE rolname = %s",
                (ROLE,),
            ).fetchone()
            assert attrs == (True, False, False, True, True)
            owners = conn.execute(
                "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'app' "
                "AND c.relkind = 'r'"
            ).fetchall()
            assert owners == [(ROLE,)]
            assert conn.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
            ).fetchone() == (ROLE,)
            conn.execute(APP_DATA)
            forced = conn.execute(
                "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'app.customers'::regclass"
            ).fetchone()
            assert forced == (True,)
        # A data migration on the FORCE RLS table: lint warns, and as the migrating
        # role it really changes no row (the superuser would have changed 3).
        write_revision(project, "9001", "UPDATE app.customers SET name = upper(name);\n")
        lint = rlskit("lint", "--no-db", project=project)
        assert "RLS043" in lint.output, lint.output
        up = rlskit("upgrade", project=project)
        assert up.exit_code == 0, up.output + up.stderr
        with psycopg.connect(admin_url) as conn:
            names = conn.execute("SELECT name FROM app.customers ORDER BY name").fetchall()
        assert names == [("x",), ("y",), ("z",)]
        again = rlskit("upgrade", project=project)  # the role already exists: reused
        assert again.exit_code == 0 and "Nothing to do" in again.output
    finally:
        server.destroy()
        shutil.rmtree(project / ".rlskit", ignore_errors=True)
