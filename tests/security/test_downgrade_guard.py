"""Issue 11 case 5b, red-team findings: the downgrade guard observes what a
transactional down script did (tables gone, emptied, columns lost) instead of
predicting it from the statements, so renames, ``set_config``, ``RESET ALL``,
partitions, ``DROP OWNED BY CURRENT_USER``, ``DROP TYPE ... CASCADE`` and
dynamic SQL cannot slip past it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlskit import cli as cli_mod
from rlskit import commands

from ..conftest import Database, alembic_process, rlskit, write_revision

APP = """
CREATE SCHEMA app;
CREATE TABLE app.t (id int);
INSERT INTO app.t VALUES (1), (2), (3);
"""
PARTS = """
CREATE SCHEMA app;
CREATE SCHEMA parts;
CREATE TABLE app.parent (id int) PARTITION BY RANGE (id);
CREATE TABLE parts.p1 PARTITION OF app.parent FOR VALUES FROM (0) TO (100);
INSERT INTO app.parent VALUES (1), (2);
"""
TYPE = """
CREATE SCHEMA app;
CREATE SCHEMA other;
CREATE TYPE app.mood AS ENUM ('sad', 'ok');
CREATE TABLE other.m (id int, mood app.mood);
INSERT INTO other.m VALUES (1, 'ok'), (2, 'sad');
"""
VICTIM = """
CREATE SCHEMA parts;
CREATE TABLE public.victim (id int);
INSERT INTO public.victim VALUES (1);
"""
OWNED = """
CREATE ROLE r2_guard NOLOGIN;
CREATE SCHEMA s AUTHORIZATION r2_guard;
CREATE TABLE s.t (id int);
INSERT INTO s.t VALUES (1), (2);
"""

CASES = {
    "rename-then-drop": (
        APP,
        "ALTER TABLE app.t RENAME TO t_old;\nDROP TABLE app.t_old;\n",
        '"app"."t" (3 rows)',
        "app.t",
    ),
    "set-schema-then-drop": (
        APP,
        "CREATE SCHEMA trash;\nALTER TABLE app.t SET SCHEMA trash;\nDROP SCHEMA trash CASCADE;\n",
        '"app"."t" (3 rows)',
        "app.t",
    ),
    "set-config-search-path": (
        APP,
        "SELECT set_config('search_path', 'app', false);\nDROP TABLE t;\n",
        '"app"."t" (3 rows)',
        "app.t",
    ),
    "set-config-search-path-local": (
        APP,
        "SELECT set_config('search_path', 'app, public', true);\nDROP TABLE t;\n",
        '"app"."t" (3 rows)',
        "app.t",
    ),
    "partition-only-schema": (
        PARTS,
        "DROP SCHEMA parts CASCADE;\n",
        '"parts"."p1" (2 rows)',
        "app.parent",
    ),
    "drop-owned-schema-owner": (
        OWNED,
        "DROP OWNED BY r2_guard CASCADE;\n",
        '"s"."t" (2 rows)',
        "s.t",
    ),
    "drop-type-cascade": (
        TYPE,
        "DROP TYPE app.mood CASCADE;\n",
        '"other"."m" (2 rows) lost column "mood"',
        "other.m",
    ),
    "reset-all": (
        VICTIM,
        "SET search_path TO parts;\nRESET ALL;\nDROP TABLE victim;\n",
        '"public"."victim" (1 rows)',
        "public.victim",
    ),
    "delete-every-row": (APP, "DELETE FROM app.t;\n", '"app"."t" (3 rows) emptied', "app.t"),
    "drop-column": (
        APP,
        "ALTER TABLE app.t ADD COLUMN extra int;\nALTER TABLE app.t DROP COLUMN id;\n",
        '"app"."t" (3 rows) lost column "id"',
        "app.t",
    ),
    "dynamic-sql": (
        APP,
        "DO $$ BEGIN EXECUTE 'DROP TABLE app.t'; END $$;\n",
        '"app"."t" (3 rows)',
        "app.t",
    ),
}


@pytest.fixture
def small(tmp_path: Path) -> Path:
    root = tmp_path / "small"
    commands.init(root)
    return root


def _prepare(small: Path, database: Database, setup: str, down: str) -> None:
    write_revision(small, "0001", "SELECT 1;\n", down, message="guarded")
    assert rlskit("upgrade", project=small, url=database.url).exit_code == 0
    with database.connect(autocommit=True) as conn:
        conn.execute(setup)


@pytest.mark.parametrize("case", list(CASES))
def test_down_script_that_loses_rows_stops(small: Path, database: Database, case: str) -> None:
    setup, down, lost, table = CASES[case]
    _prepare(small, database, setup, down)
    before = database.scalar(f"SELECT count(*) FROM {table}")
    res = rlskit("downgrade", "-1", project=small, url=database.url)
    assert res.exit_code == 6, res.output
    err = " ".join(res.stderr.split())
    assert lost in err, err
    assert "sql/0001_guarded.down.sql:" in err
    assert "--yes" in err
    # independent checks: the rows and the revision are still there
    assert database.scalar(f"SELECT count(*) FROM {table}") == before
    assert database.version() == ["0001"]
    if case == "drop-type-cascade":
        assert database.scalar("SELECT count(mood) FROM other.m") == 2
    res = rlskit("downgrade", "-1", "--yes", project=small, url=database.url)
    assert res.exit_code == 0, res.output
    assert database.version() == []


def test_statement_is_named_even_when_reached_by_rename(small: Path, database: Database) -> None:
    _prepare(
        small,
        database,
        APP,
        "SELECT 1;\nALTER TABLE app.t RENAME TO t_old;\nDROP TABLE app.t_old;\n",
    )
    res = rlskit("downgrade", "-1", project=small, url=database.url)
    assert res.exit_code == 6
    assert "down.sql:3 `DROP TABLE app.t_old`" in " ".join(res.stderr.split())


def test_drop_owned_by_current_user_as_a_deployer(small: Path, database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE deployer_g LOGIN PASSWORD 'deploy-pw'")
        conn.execute(f'GRANT CREATE ON DATABASE "{database.name}" TO deployer_g')
    url = database.server.url(database.name, user="deployer_g", password="deploy-pw")
    write_revision(
        small,
        "0001",
        "CREATE SCHEMA d;\nCREATE TABLE d.x (id int);\n",
        "DROP OWNED BY CURRENT_USER;\n",
        message="owned",
    )
    assert rlskit("upgrade", project=small, url=url).exit_code == 0
    with database.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO d.x VALUES (1), (2)")
    res = rlskit("downgrade", "-1", project=small, url=url)
    assert res.exit_code == 6, res.output
    assert '"d"."x" (2 rows)' in " ".join(res.stderr.split())
    assert database.scalar("SELECT count(*) FROM d.x") == 2


def test_partial_delete_is_not_a_loss(small: Path, database: Database) -> None:
    """Documented limit: rows deleted while others stay are not seen."""
    _prepare(small, database, APP, "DELETE FROM app.t WHERE id > 1;\n")
    res = rlskit("downgrade", "-1", project=small, url=database.url)
    assert res.exit_code == 0, res.output
    assert database.scalar("SELECT count(*) FROM app.t") == 1


def test_moved_and_renamed_tables_keep_their_rows_without_asking(
    small: Path, database: Database
) -> None:
    _prepare(
        small,
        database,
        APP,
        "CREATE SCHEMA keep;\nALTER TABLE app.t SET SCHEMA keep;\nALTER TABLE keep.t RENAME COLUMN id TO ident;\n",
    )
    res = rlskit("downgrade", "-1", project=small, url=database.url)
    assert res.exit_code == 0, res.output
    assert database.scalar("SELECT count(ident) FROM keep.t") == 3


def test_plain_alembic_sees_dynamic_sql(small: Path, database: Database) -> None:
    _prepare(small, database, APP, "DO $$ BEGIN EXECUTE 'DROP TABLE app.t'; END $$;\n")
    env = {"RLSKIT_DATABASE_URL": database.url}
    res = alembic_process("downgrade", "-1", cwd=small, env=env)
    assert res.returncode != 0
    assert '"app"."t" (3 rows)' in " ".join(res.stderr.split())
    assert database.scalar("SELECT count(*) FROM app.t") == 3
    res = alembic_process("-x", "yes=1", "downgrade", "-1", cwd=small, env=env)
    assert res.returncode == 0, res.stderr
    assert database.scalar("SELECT to_regclass('app.t')") is None


def test_prompt_escapes_control_characters_and_quotes_names(
    small: Path, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """L1 + L6: a table named with an escape sequence is shown escaped; "a"."b.c"
    and "a.b"."c" are two tables, and confirming one does not confirm the other."""
    setup = (
        'CREATE SCHEMA a; CREATE SCHEMA "a.b";\n'
        'CREATE TABLE a."b.c" (id int); CREATE TABLE "a.b".c (id int);\n'
        'CREATE TABLE a."evil\x1b[2J" (id int);\n'
        'INSERT INTO a."b.c" VALUES (1); INSERT INTO a."evil\x1b[2J" VALUES (1);\n'
        'INSERT INTO "a.b".c VALUES (1), (2);\n'
    )
    _prepare(small, database, setup, 'DROP TABLE a."b.c", "a.b".c, a."evil\x1b[2J";\n')
    monkeypatch.setattr(cli_mod, "_interactive", lambda: True)
    from click.testing import CliRunner

    args = ["-p", str(small), "--url", database.url, "downgrade", "-1"]
    res = CliRunner().invoke(cli_mod.cli, args, input="n\n")
    assert res.exit_code == 6
    assert "\x1b" not in res.stderr
    assert '"a"."b.c" (1 rows)' in res.stderr
    assert '"a.b"."c" (2 rows)' in res.stderr  # two tables, two names
    # quote_ident writes a name with control characters as a Unicode-escape identifier
    assert '"a".U&"evil\\001B[2J" (1 rows)' in res.stderr
    assert database.scalar('SELECT count(*) FROM a."b.c"') == 1


def test_confirming_one_name_does_not_confirm_its_lookalike(
    small: Path, database: Database
) -> None:
    from rlskit import guard
    from rlskit.errors import DataLoss

    loss = DataLoss('"a"."b.c"', 1)
    assert loss.table != '"a.b"."c"'
    assert guard.qualified("a", "b.c") != guard.qualified("a.b", "c")


def test_offline_downgrade_warns_in_the_script(small: Path, database: Database) -> None:
    _prepare(small, database, APP, "DROP TABLE app.t;\n")
    res = rlskit("downgrade", "0001:base", "--sql", project=small)
    assert res.exit_code == 0, res.output
    assert "-- rlskit: WARNING" in res.output
    assert "DROP TABLE app.t" in res.output


# -- no-transaction down scripts cannot be observed then undone: they are predicted ----------
NO_TX = "-- rlskit: no-transaction\n"


@pytest.mark.parametrize(
    ("setup", "down", "lost", "table"),
    [
        (PARTS, NO_TX + "DROP SCHEMA parts CASCADE;\n", '"parts"."p1" (2 rows)', "app.parent"),
        (OWNED, NO_TX + "DROP OWNED BY r2_guard CASCADE;\n", '"s"."t" (2 rows)', "s.t"),
    ],
    ids=["partition-only-schema", "drop-owned-schema-owner"],
)
def test_no_transaction_down_script_is_predicted(
    small: Path, database: Database, setup: str, down: str, lost: str, table: str
) -> None:
    _prepare(small, database, setup, down)
    res = rlskit("downgrade", "-1", "--per-revision", project=small, url=database.url)
    assert res.exit_code == 6, res.output
    assert lost in " ".join(res.stderr.split())
    assert "None of that script ran" in " ".join(res.stderr.split())
    assert database.scalar(f"SELECT count(*) FROM {table}") == 2


def test_no_transaction_drop_owned_by_current_user(small: Path, database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE deployer_n LOGIN PASSWORD 'deploy-pw'")
        conn.execute(f'GRANT CREATE ON DATABASE "{database.name}" TO deployer_n')
    url = database.server.url(database.name, user="deployer_n", password="deploy-pw")
    write_revision(
        small,
        "0001",
        "CREATE SCHEMA d;\nCREATE TABLE d.x (id int);\n",
        NO_TX + "DROP OWNED BY CURRENT_USER;\n",
        message="owned",
    )
    assert rlskit("upgrade", project=small, url=url).exit_code == 0
    with database.connect(autocommit=True) as conn:
        conn.execute("INSERT INTO d.x VALUES (1), (2)")
    res = rlskit("downgrade", "-1", "--per-revision", project=small, url=url)
    assert res.exit_code == 6, res.output
    assert '"d"."x" (2 rows)' in " ".join(res.stderr.split())
    assert database.scalar("SELECT count(*) FROM d.x") == 2
