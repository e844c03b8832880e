"""rlskit baseline: adopt a database built by hand; the revision recreates it exactly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project

from .conftest import REPO, Database, Server, fresh_database, rlskit


@pytest.fixture
def handmade(database: Database, tmp_path: Path) -> Database:
    """The reference schema applied by a DBA with psql, not by rlskit."""
    ups = sorted((REPO / "sql").glob("*.up.sql"))
    script = tmp_path / "all.sql"
    script.write_text("\n".join(p.read_text().rstrip() + "\n;" for p in ups))
    proc = subprocess.run(
        [
            database.server.psql,
            "-X",
            "-q",
            "-1",
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
            str(script),
            database.url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    with database.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO django.auth_user (id, username) VALUES (1, 'alice')")
        conn.execute("INSERT INTO sales.salespeople (id, name) VALUES (1, 'Picard')")
    return database


@pytest.mark.parametrize(
    "schemas",
    [["django"], ["cms"], ["sales"], ["shop"], ["crm"], ["app", "auth"]],
    ids=lambda s: "+".join(s),
)
def test_baseline_recreates_each_seed_scheme(
    handmade: Database, scratch_server: Server, tmp_path: Path, schemas: list[str]
) -> None:
    proj = tmp_path / "adopt"
    assert rlskit("init", str(proj)).exit_code == 0
    args = ["baseline", "--mark-applied"] + [x for s in schemas for x in ("--schema", s)]
    res = rlskit(*args, project=proj, url=handmade.url)
    assert res.exit_code == 0, res.stderr
    up = next((proj / "sql").glob("0001_*.up.sql")).read_text()
    if schemas == ["django"]:
        assert 'CREATE ROLE "django:1"' in up and 'GRANT "django:1" TO "django"' in up
    if schemas == ["shop"]:
        assert 'GRANT UPDATE("phone_number") ON TABLE "shop"."account" TO "normal_account";' in up
    report = commands.drift(
        Project.find(proj), RunOptions(url=handmade.url), scratch_server.url("postgres")
    )
    assert [d.line() for d in report.differences] == []
    # recorded as applied: nothing to run there
    again = rlskit("upgrade", project=proj, url=handmade.url)
    assert again.exit_code == 0 and "Nothing to do" in again.output


def test_column_grants_and_quoted_roles_survive(
    handmade: Database, scratch_server: Server, tmp_path: Path
) -> None:
    proj = tmp_path / "adopt"
    rlskit("init", str(proj))
    assert (
        rlskit(
            "baseline", "--schema", "shop", "--schema", "django", project=proj, url=handmade.url
        ).exit_code
        == 0
    )
    up = next((proj / "sql").glob("0001_*.up.sql")).read_text()
    assert 'CREATE ROLE "django:1" NOSUPERUSER' in up
    assert 'GRANT SELECT("id") ON TABLE "shop"."store" TO "normal_account";' in up
    assert 'GRANT UPDATE("description") ON TABLE "shop"."store" TO "store_owner";' in up


def test_bad_input(handmade: Database, tmp_path: Path) -> None:
    proj = tmp_path / "adopt"
    rlskit("init", str(proj))
    res = rlskit("baseline", "--schema", "nope", project=proj, url=handmade.url)
    assert res.exit_code == 1 and "Schema 'nope' does not exist" in res.stderr
    assert not list((proj / "sql").glob("*.sql"))
    with handmade.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE peeker LOGIN PASSWORD 'pw'")
    url = handmade.server.url(handmade.name, user="peeker", password="pw")
    res = rlskit("baseline", "--schema", "app", project=proj, url=url)
    assert res.exit_code == 1 and "pg_dump could not read" in res.stderr
    assert "pw@" not in res.stderr
    # a baseline must be the first revision
    assert rlskit("baseline", "--schema", "cms", project=proj, url=handmade.url).exit_code == 0
    res = rlskit("baseline", "--schema", "cms", project=proj, url=handmade.url)
    assert res.exit_code == 2 and "first one" in res.stderr


# -- adopting a database that lives on a platform ------------------------------------
PLATFORM = """
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
GRANT USAGE ON SCHEMA public TO anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated;
CREATE SCHEMA plat;
CREATE TABLE plat.users (id int PRIMARY KEY);
"""

APP = """
CREATE ROLE fn_owner NOLOGIN;
CREATE ROLE app_reader NOLOGIN;
COMMENT ON ROLE app_reader IS 'reads reports';
GRANT USAGE ON SCHEMA public TO fn_owner, app_reader;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
CREATE TABLE public.reports (id int PRIMARY KEY REFERENCES plat.users, body text);
COMMENT ON TABLE public.reports IS 'one per user';
REVOKE ALL ON public.reports FROM anon;
GRANT SELECT ON public.reports TO app_reader;
CREATE FUNCTION public.secret() RETURNS int LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog AS 'SELECT 42';
REVOKE ALL ON FUNCTION public.secret() FROM anon, PUBLIC;
CREATE FUNCTION public.owned() RETURNS int LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog AS 'SELECT 1';
ALTER FUNCTION public.owned() OWNER TO fn_owner;
CREATE FUNCTION public.on_user() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
SET lock_timeout = 0;
ALTER TABLE public.reports OWNER TO "postgres";
RETURN NEW;
END
$fn$;
CREATE TRIGGER on_user AFTER INSERT ON plat.users FOR EACH ROW EXECUTE FUNCTION public.on_user();
ALTER TABLE plat.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_row ON plat.users FOR SELECT TO authenticated USING (id > 0);
CREATE PUBLICATION app_changes FOR TABLE public.reports WITH (publish = 'insert');
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET search_path = "$user", public, plat', current_database());
  EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO app_reader', current_database());
END $$;
"""


def _psql(server: Server, url: str, sql: str) -> None:
    proc = subprocess.run(
        [server.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def _platform_project(tmp_path: Path, setup: bool = True) -> Path:
    proj = tmp_path / "adopt"
    assert rlskit("init", str(proj)).exit_code == 0
    (proj / "platform.sql").write_text(PLATFORM)
    if setup:
        ini = proj / "alembic.ini"
        ini.write_text(
            ini.read_text().replace("[rlskit]\n", "[rlskit]\nscratch_setup = platform.sql\n")
        )
    return proj


def test_rebuild_on_a_platform_is_exact_never_wider(
    database: Database, scratch_server: Server, tmp_path: Path
) -> None:
    _psql(database.server, database.url, PLATFORM + APP)
    proj = _platform_project(tmp_path)
    res = rlskit("baseline", "--scratch-url", scratch_server.url(), project=proj, url=database.url)
    assert res.exit_code == 0, res.output + res.stderr
    assert "matches the source" in res.output
    assert "public.secret()" in res.stderr  # owned by the migrating role: said so
    up = next((proj / "sql").glob("0001_*.up.sql")).read_text()
    assert 'CREATE SCHEMA "public"' not in up
    assert 'OWNER TO "fn_owner"' in up

    with fresh_database(scratch_server) as rebuild:
        # the target already has app_reader, with other attributes
        _psql(scratch_server, rebuild.url, PLATFORM + "CREATE ROLE app_reader LOGIN;")
        res = rlskit("upgrade", project=proj, url=rebuild.url)
        assert res.exit_code == 0, res.output + res.stderr
        for db in (database, rebuild):
            assert (
                db.scalar("SELECT has_function_privilege('anon', 'public.secret()', 'EXECUTE')")
                is False
            )
            assert (
                db.scalar("SELECT has_function_privilege('public', 'public.secret()', 'EXECUTE')")
                is False
            )
            assert (
                db.scalar("SELECT has_function_privilege('anon', 'public.owned()', 'EXECUTE')")
                is True
            )
            assert (
                db.scalar("SELECT has_table_privilege('anon', 'public.reports', 'SELECT')") is False
            )
            assert (
                db.scalar("SELECT has_table_privilege('authenticated', 'public.reports', 'DELETE')")
                is True
            )
            assert (
                db.scalar("SELECT has_table_privilege('app_reader', 'public.reports', 'SELECT')")
                is True
            )
            assert (
                db.scalar("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'app_reader'") is False
            )
            assert (
                db.scalar("SELECT shobj_description('app_reader'::regrole, 'pg_authid')")
                == "reads reports"
            )
            assert db.scalar("SELECT obj_description('public.reports'::regclass)") == "one per user"
            assert (
                db.scalar("SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'owned'")
                == "fn_owner"
            )
            assert db.scalar("SELECT count(*) FROM pg_trigger WHERE tgname = 'on_user'") == 1
            assert db.scalar("SELECT count(*) FROM pg_policy WHERE polname = 'own_row'") == 1
            assert (
                db.scalar(
                    "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'app_changes'"
                )
                == 1
            )
            assert (
                db.scalar(
                    "SELECT array_to_string(setconfig, ';') FROM pg_db_role_setting "
                    "WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
                == 'search_path="$user", public, plat'
            )
            assert (
                db.scalar(
                    "SELECT array_to_string(defaclacl, ',') FROM pg_default_acl WHERE defaclnamespace = 0"
                )
                == "postgres=X/postgres"
            )


def test_baseline_settings_end_with_the_revision(
    database: Database, scratch_server: Server, tmp_path: Path
) -> None:
    from rlskit.sqlfile import SqlFile

    _psql(database.server, database.url, PLATFORM + APP)
    proj = _platform_project(tmp_path)
    assert (
        rlskit(
            "baseline", "--scratch-url", scratch_server.url(), project=proj, url=database.url
        ).exit_code
        == 0
    )
    up = next((proj / "sql").glob("0001_*.up.sql"))
    with fresh_database(scratch_server) as rebuild:
        _psql(scratch_server, rebuild.url, PLATFORM)
        with rebuild.connect() as conn:
            conn.execute("SET LOCAL lock_timeout = '5s'")
            for st in SqlFile.from_text(up.read_text(), "up").statements:
                conn.execute(st.text)
            assert conn.execute("SHOW check_function_bodies").fetchone() == ("on",)
            assert conn.execute("SHOW lock_timeout").fetchone() == ("5s",)
            conn.rollback()


def test_baseline_refuses_what_it_cannot_rebuild(
    database: Database, scratch_server: Server, tmp_path: Path
) -> None:
    _psql(database.server, database.url, PLATFORM + APP)
    proj = _platform_project(tmp_path, setup=False)  # the platform is not declared
    res = rlskit("baseline", "--scratch-url", scratch_server.url(), project=proj, url=database.url)
    assert res.exit_code == 1
    assert "does not apply to a scratch database" in res.stderr and "scratch_setup" in res.stderr
    assert not list((proj / "sql").glob("*.sql"))
    res = rlskit(
        "baseline", "--force", "--scratch-url", scratch_server.url(), project=proj, url=database.url
    )
    assert res.exit_code == 0
    assert "written with --force" in res.stderr and "plat" in res.stderr
    assert "Not carried: policy own_row on plat.users" in res.stderr


def test_hostile_names_round_trip(
    database: Database, scratch_server: Server, tmp_path: Path
) -> None:
    from rlskit.quoting import quote_ident, quote_literal

    role, schema = "o'brien$rlskit$", 'Odd "S"'
    r, sch = quote_ident(role), quote_ident(schema)
    with database.connect(autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {r} NOLOGIN")
        conn.execute(f"CREATE SCHEMA {sch}")
        conn.execute(f"CREATE TABLE {sch}.t (id int)")
        conn.execute(f"GRANT USAGE ON SCHEMA {sch} TO {r}")
        conn.execute(f"GRANT SELECT ON {sch}.t TO {r}")
        conn.execute(f"COMMENT ON ROLE {r} IS {quote_literal('it' + chr(39) + 's $$ hostile')}")
    proj = tmp_path / "adopt"
    rlskit("init", str(proj))
    res = rlskit(
        "baseline",
        "--schema",
        schema,
        "--scratch-url",
        scratch_server.url(),
        project=proj,
        url=database.url,
    )
    assert res.exit_code == 0, res.output + res.stderr
    assert "matches the source" in res.output
    with fresh_database(scratch_server) as rebuild:
        assert rlskit("upgrade", project=proj, url=rebuild.url).exit_code == 0
        table = f"{sch}.t"
        assert rebuild.scalar("SELECT has_table_privilege(%s, %s, 'SELECT')", role, table) is True
        assert (
            rebuild.scalar(
                "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s", role
            )
            == "it's $$ hostile"
        )


def test_a_rebuild_that_differs_is_refused_with_the_differences(
    database: Database, scratch_server: Server, tmp_path: Path
) -> None:
    """A publication's row filter is not carried: the self-check sees the rebuild differ."""
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE public.events (id int PRIMARY KEY, kind text)")
        conn.execute("CREATE PUBLICATION audit FOR TABLE public.events WHERE (kind = 'login')")
    proj = tmp_path / "adopt"
    rlskit("init", str(proj))
    args = ["baseline", "--scratch-url", scratch_server.url()]
    res = rlskit(*args, project=proj, url=database.url)
    assert res.exit_code == 1
    assert "does not rebuild the source" in res.stderr
    assert "-publication table: audit public.events:" in res.stderr
    assert not list((proj / "sql").glob("*.sql"))
    res = rlskit(*args, "--force", project=proj, url=database.url)
    assert res.exit_code == 0
    assert "row filter or column list of public.events is not carried" in res.stderr
    assert "written with --force" in res.stderr
