"""Issue 11, case 5: downgrades never lose data without asking, and generated
down scripts restore exactly the state before their revision."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlskit import cli as cli_mod
from rlskit import commands

from .conftest import Database, alembic_process, rlskit, write_revision

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
    assert "vault.items (3 rows)" in err
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
        ("DROP TABLE IF EXISTS vault.gone, vault.items;", "vault.items (3 rows)"),
        ("SET search_path = vault;\nDROP TABLE items;", "down.sql:2 `DROP TABLE items`"),
        ("TRUNCATE vault.items;", "vault.items (3 rows)"),
        ("TRUNCATE vault.items CASCADE;", "vault.child (1 rows)"),
        ("DROP OWNED BY vault_owner;", "vault.owned (1 rows)"),
    ],
)
def test_every_way_of_dropping_rows_is_found(
    small: Path, database: Database, down: str, lost: str
) -> None:
    _vault(small, database)
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE vault_owner NOLOGIN")
        conn.execute("CREATE TABLE vault.child (id int REFERENCES vault.items)")
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
    assert "vault.secret (rows could not be counted)" in " ".join(res.stderr.split())
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
    assert "vault.items (3 rows)" in res.stderr and "Nothing has been dropped yet" in res.stderr
    assert database.scalar("SELECT count(*) FROM vault.items") == 3
    res = CliRunner().invoke(cli_mod.cli, args, input="y\n")
    assert res.exit_code == 0, res.output
    assert database.scalar("SELECT to_regnamespace('vault')") is None


def test_plain_alembic_downgrade_refuses_unless_x_yes(small: Path, database: Database) -> None:
    _vault(small, database)
    env = {"RLSKIT_DATABASE_URL": database.url}
    res = alembic_process("downgrade", "-1", cwd=small, env=env)
    assert res.returncode != 0
    assert "vault.items (3 rows)" in " ".join(res.stderr.split())
    assert database.scalar("SELECT count(*) FROM vault.items") == 3
    res = alembic_process("-x", "yes=1", "downgrade", "-1", cwd=small, env=env)
    assert res.returncode == 0, res.stderr
    assert database.scalar("SELECT to_regnamespace('vault')") is None
