"""Issue 11, case 5: downgrades never lose data without asking, and generated
down scripts restore exactly the state before their revision."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlskit import cli as cli_mod
from rlskit import commands

from .conftest import Database, Server, alembic_process, rlskit, write_revision

VAULT_UP = """
CREATE SCHEMA vault;
CREATE TABLE vault.items (id int PRIMARY KEY);
CREATE TABLE vault.empty (id int);
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A new rlskit project (rlskit init) without revisions."""
    root = tmp_path / "small"
    commands.init(root)
    return root


def _vault(small: Path, database: Database, rows: int = 3) -> None:
    write_revision(small, "0001", VAULT_UP, "DROP SCHEMA vault CASCADE;\n", message="vault")
    assert rlskit("upgrade", project=small, url=database.url).exit_code == 0
    with database.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO vault.items SELECT generate_series(1, %s)", (rows,))


# -- 5b: destructive downgrades stop and ask ------------------------------------------------
def test_downgrade_dropping_a_schema_with_rows_refuses_without_a_terminal(
    small: Path, database: Database
) -> None:
    _vault(small, database)
    res = rlskit("downgrade", "-1", project=small, url=database.url)
    assert res.exit_code == 6, res.output
    err = " ".join(res.stderr.split())
    assert "sql/0001_vault.down.sql:1 `DROP SCHEMA vault CASCADE`" in err
    assert '"vault"."items" (3 rows)' in err
    assert "vault.empty" not in err  # empty tables do not count
    assert "--yes" in err and "alembic -x yes=1 downgrade" in err
    # independent check: nothing happened
    assert database.version() == ["0001"]
    assert database.scalar("SELECT count(*) FROM vault.items") == 3

    res = rlskit("downgrade", "-1", "--yes", project=small, url=database.url)
    assert res.exit_code == 0, res.output
    assert database.scalar("SELECT to_regnamespace('vault')") is None
    assert database.version() == []


def test_empty_tables_drop_without_asking(small: Path, database: Database) -> None:
    _vault(small, database, rows=0)
    res = rlskit("downgrade", "base", project=small, url=database.url)
    assert res.exit_code == 0, res.output
    assert database.scalar("SELECT to_regnamespace('vault')") is None


@pytest.mark.parametrize(
    ("down", "lost"),
    [
        ("DROP TABLE IF EXISTS vault.gone, vault.items;", '"vault"."items" (3 rows)'),
        ("SET search_path = vault;\nDROP TABLE items;", "down.sql:2 `DROP TABLE items`"),
        ("TRUNCATE vault.items;", '"vault"."items" (3 rows)'),
        ("TRUNCATE vault.items CASCADE;", '"vault"."child" (1 rows)'),
        ("DROP OWNED BY vault_owner;", '"vault"."owned" (1 rows)'),
    ],
)
def test_every_way_of_dropping_rows_is_found(
    small: Path, database: Database, down: str, lost: str
) -> None:
    _vault(small, database)
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE vault_owner NOLOGIN")
        # only TRUNCATE ... CASCADE runs with a referencing table (the others would fail)
        fk = "REFERENCES vault.items" if "CASCADE" in down else ""
        conn.execute(f"CREATE TABLE vault.child (id int {fk})")
        conn.execute("INSERT INTO vault.child VALUES (1)")
        conn.execute("CREATE TABLE vault.owned (id int)")
        conn.execute("INSERT INTO vault.owned VALUES (1)")
        conn.execute("ALTER TABLE vault.owned OWNER TO vault_owner")
    write_revision(small, "0002", "SELECT 1;", down, message="second")
    assert rlskit("upgrade", project=small, url=database.url).exit_code == 0
    res = rlskit("downgrade", "-1", project=small, url=database.url)
    assert res.exit_code == 6, res.output
    assert lost in " ".join(res.stderr.split())
    assert database.scalar("SELECT count(*) FROM vault.items") == 3
    assert database.scalar("SELECT count(*) FROM vault.owned") == 1
    assert database.version() == ["0002"]


def test_row_security_cannot_hide_rows_from_the_count(small: Path, database: Database) -> None:
    """Run as the table's owner under FORCE ROW LEVEL SECURITY with a policy that
    shows nothing: a plain count would see 0 rows and drop without asking."""
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE deployer LOGIN PASSWORD 'deploy-pw'")
        conn.execute(f'GRANT CREATE ON DATABASE "{database.name}" TO deployer')
        conn.execute("GRANT CREATE ON SCHEMA public TO deployer")
    url = database.server.url(database.name, user="deployer", password="deploy-pw")
    up = (
        "CREATE SCHEMA vault;\nCREATE TABLE vault.secret (id int);\n"
        "ALTER TABLE vault.secret ENABLE ROW LEVEL SECURITY;\n"
        "ALTER TABLE vault.secret FORCE ROW LEVEL SECURITY;\n"
        "CREATE POLICY nothing ON vault.secret USING (false);\n"
    )
    write_revision(small, "0001", up, "DROP TABLE vault.secret;\n", message="secret")
    res = rlskit("upgrade", project=small, url=url)
    assert res.exit_code == 0, res.output
    with database.connect(autocommit=True) as conn:  # superuser: bypasses RLS
        conn.execute("INSERT INTO vault.secret VALUES (1), (2)")
    res = rlskit("downgrade", "-1", project=small, url=url)
    assert res.exit_code == 6, res.output
    assert '"vault"."secret" (rows could not be counted)' in " ".join(res.stderr.split())
    assert database.scalar("SELECT count(*) FROM vault.secret") == 2


def test_interactive_downgrade_asks_and_honours_the_answer(
    small: Path, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _vault(small, database)
    monkeypatch.setattr(cli_mod, "_interactive", lambda: True)
    from click.testing import CliRunner

    args = ["-p", str(small), "--url", database.url, "downgrade", "-1"]
    res = CliRunner().invoke(cli_mod.cli, args, input="n\n")
    assert res.exit_code == 6
    assert '"vault"."items" (3 rows)' in res.stderr and "Nothing has been dropped yet" in res.stderr
    assert database.scalar("SELECT count(*) FROM vault.items") == 3
    res = CliRunner().invoke(cli_mod.cli, args, input="y\n")
    assert res.exit_code == 0, res.output
    assert database.scalar("SELECT to_regnamespace('vault')") is None


def test_plain_alembic_downgrade_refuses_unless_x_yes(small: Path, database: Database) -> None:
    _vault(small, database)
    env = {"RLSKIT_DATABASE_URL": database.url}
    res = alembic_process("downgrade", "-1", cwd=small, env=env)
    assert res.returncode != 0
    assert '"vault"."items" (3 rows)' in " ".join(res.stderr.split())
    assert database.scalar("SELECT count(*) FROM vault.items") == 3
    res = alembic_process("-x", "yes=1", "downgrade", "-1", cwd=small, env=env)
    assert res.returncode == 0, res.stderr
    assert database.scalar("SELECT to_regnamespace('vault')") is None


# -- 5a: generated down scripts restore exactly the state before ----------------------------
HAND_WRITTEN = """
CREATE ROLE dg_user NOLOGIN;
CREATE SCHEMA app;
GRANT USAGE ON SCHEMA app TO dg_user;
CREATE TABLE app.memberships (user_id bigint, organisation_id bigint);
CREATE TABLE app.customers (id int PRIMARY KEY, organisation_id bigint, name text);
GRANT SELECT ON app.customers TO dg_user;
-- the helper a later generated revision replaces (same name and arguments)
CREATE FUNCTION app.customers_tenant_ids(bigint) RETURNS bigint[]
    LANGUAGE sql STABLE AS $$ SELECT ARRAY[nullif(current_setting('app.tenant_id', true), '')::bigint] $$;
ALTER TABLE app.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY hand_tenant ON app.customers FOR SELECT TO dg_user
    USING (organisation_id = ANY (app.customers_tenant_ids(0)));
"""
POLICIES = """
policies:
  - template: tenant_isolation
    table: app.customers
    column: organisation_id
    membership:
      table: app.memberships
      user_column: user_id
      tenant_column: organisation_id
      user: {setting: app.user_id}
    roles: [dg_user]
  - template: role_hierarchy
    grants:
      - {table: app.customers, to: dg_user, privileges: [SELECT, INSERT]}
"""


def _dump(database: Database) -> str:
    import subprocess

    out = subprocess.run(
        [database.server.embedded.tool("pg_dump"), "--schema-only", "-d", database.url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "\n".join(
        x for x in out.splitlines() if not x.startswith(("\\restrict", "\\unrestrict"))
    )


def _tenant_rows(database: Database, tenant: int) -> object:
    with database.connect() as conn:
        conn.execute("SET LOCAL ROLE dg_user")
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))
        return conn.execute("SELECT count(*) FROM app.customers").fetchone()[0]  # type: ignore[index]


def test_generated_down_restores_exactly_the_hand_written_state(
    small: Path, database: Database, scratch_server: Server
) -> None:
    write_revision(small, "0001", HAND_WRITTEN, "SELECT 1;\n", message="hand written")
    (small / "policies" / "app.yaml").write_text(POLICIES)
    res = rlskit(
        "new",
        "tenant rules",
        "--from-policies",
        "--scratch-url",
        scratch_server.url(),
        project=small,
    )
    assert res.exit_code == 0, res.output
    down = next((small / "sql").glob("0002_*.down.sql")).read_text()

    assert rlskit("upgrade", "0001", project=small, url=database.url).exit_code == 0
    with database.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO app.customers VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 2, 'c')")
    before, dump_before = database.snapshot(), _dump(database)
    assert _tenant_rows(database, 1) == 1

    assert rlskit("upgrade", project=small, url=database.url).exit_code == 0
    assert database.snapshot() != before
    res = rlskit("downgrade", "-1", project=small, url=database.url)
    assert res.exit_code == 0, res.output

    assert database.snapshot().diff(before) == [], down
    assert _dump(database) == dump_before, down  # independent oracle
    assert _tenant_rows(database, 1) == 1  # RLS still on: tenant 1 sees its one row
    assert (
        database.scalar(
            "SELECT relrowsecurity AND NOT relforcerowsecurity FROM pg_class "
            "WHERE oid = 'app.customers'::regclass"
        )
        is True
    )
    assert database.scalar("SELECT has_table_privilege('dg_user', 'app.customers', 'SELECT')")
    assert not database.scalar("SELECT has_table_privilege('dg_user', 'app.customers', 'INSERT')")
    assert "current_setting('app.tenant_id'" in str(
        database.scalar("SELECT prosrc FROM pg_proc WHERE proname = 'customers_tenant_ids'")
    )


def test_generated_down_on_a_fresh_table_still_drops_what_it_made(
    small: Path, database: Database, scratch_server: Server
) -> None:
    """Nothing existed before: the down removes everything (no restore needed)."""
    hand = HAND_WRITTEN.split("-- the helper")[0]
    write_revision(small, "0001", hand, "SELECT 1;\n", message="hand written")
    (small / "policies" / "app.yaml").write_text(POLICIES)
    res = rlskit(
        "new",
        "tenant rules",
        "--from-policies",
        "--scratch-url",
        scratch_server.url(),
        project=small,
    )
    assert res.exit_code == 0, res.output
    assert rlskit("upgrade", "0001", project=small, url=database.url).exit_code == 0
    before, dump_before = database.snapshot(), _dump(database)
    assert rlskit("upgrade", project=small, url=database.url).exit_code == 0
    assert rlskit("downgrade", "-1", project=small, url=database.url).exit_code == 0
    assert database.snapshot().diff(before) == []
    assert _dump(database) == dump_before


def test_generated_revision_is_refused_when_its_down_cannot_be_exact(
    small: Path, scratch_server: Server
) -> None:
    """An index of the generated name made by hand: the rendered down would drop it,
    and no catalog restore brings it back, so the pg_dump check refuses."""
    hand = HAND_WRITTEN.split("-- the helper")[0] + (
        "CREATE INDEX customers_organisation_id_rls_idx ON app.customers (organisation_id);\n"
    )
    write_revision(small, "0001", hand, "SELECT 1;\n", message="hand written")
    (small / "policies" / "app.yaml").write_text(POLICIES)
    res = rlskit(
        "new",
        "tenant rules",
        "--from-policies",
        "--scratch-url",
        scratch_server.url(),
        project=small,
    )
    assert res.exit_code == 2, res.output
    assert "cannot write a down script that restores exactly" in res.output
    assert "customers_organisation_id_rls_idx" in res.output
    assert not list((small / "sql").glob("0002_*"))
    assert not (small / "policies" / "rendered.json").exists()
