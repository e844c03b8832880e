"""Issue 15: fast deploys keep every guarantee. A revision's statements go to the
server in one pipeline, a deploy with nothing to do is decided without Alembic, and
applied files unchanged byte for byte are not parsed again. Oracles: hashlib on the
files, the catalog, a process's own import log."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest

from rlskit.project import Settings
from rlskit.runtime import advisory_key

from .conftest import HEAD, REVISIONS, Database, rlskit, rlskit_imports, write_revision


def _hashes(db: Database) -> dict[str, str]:
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT revision, content_hash FROM rlskit.rlskit_applied_files"
        ).fetchall()
    return {str(r): str(h) for r, h in rows}


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _up(project: Path, stem_prefix: str) -> Path:
    return next((project / "sql").glob(f"{stem_prefix}_*.up.sql"))


def test_applied_files_record_the_sha256_of_their_bytes(project: Path, database: Database) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    hashes = _hashes(database)
    assert hashes and hashes["0002"] == _sha(_up(project, "0002"))
    assert all(h == _sha(_up(project, r)) for r, h in hashes.items())


def test_noop_upgrade_imports_neither_alembic_nor_sqlalchemy_nor_pglast(
    project: Path, database: Database
) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    # --url: the console script leaves it to click, and the click path's no-op check
    proc, imported = rlskit_imports(["-p", str(project), "--url", database.url, "upgrade"], project)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"Nothing to do: at {HEAD} (was {HEAD})." in proc.stdout
    assert "click" in imported and not {"alembic", "sqlalchemy", "pglast"} & imported


def test_noop_still_refuses_an_edited_applied_file(project: Path, database: Database) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    path = _up(project, "0002")
    path.write_text(path.read_text() + "\nCREATE TABLE app.sneaky (id int);\n")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 5 and "0002_tenancy.up.sql was edited" in res.stderr


def test_a_comment_only_edit_is_verified_by_tokens_and_its_bytes_recorded(
    project: Path, database: Database
) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    path = _up(project, "0002")
    path.write_text("-- reviewed\n" + path.read_text())
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    assert "Nothing to do" in res.output
    assert _hashes(database)["0002"] == _sha(path)  # the next no-op takes the fast path


def test_repair_then_reverting_the_file_is_still_an_edit(project: Path, database: Database) -> None:
    """The recorded bytes follow the recorded checksum: after repair accepted an
    edit, putting the old bytes back differs from what is recorded."""
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    path = _up(project, "0002")
    original = path.read_bytes()
    path.write_bytes(original + b"\nCREATE TABLE app.later (id int);\n")
    assert rlskit("repair", "--yes", project=project, url=database.url).exit_code == 0
    assert _hashes(database)["0002"] == _sha(path)
    path.write_bytes(original)
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 5, res.output + res.stderr


def test_noop_with_a_stray_grant_on_the_bookkeeping_takes_the_full_path(
    project: Path, database: Database
) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    with database.connect(autocommit=True) as conn:
        conn.execute("GRANT SELECT ON rlskit.alembic_version TO PUBLIC")
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    assert not database.scalar(
        "SELECT has_table_privilege('public', 'rlskit.alembic_version', 'SELECT')"
    )


def test_pending_revision_behind_a_held_lock_is_never_called_nothing_to_do(
    project: Path, database: Database
) -> None:
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    write_revision(project, "0100", "CREATE TABLE app.after (id int);", message="after")
    key = advisory_key(Settings(version_table_schema="rlskit"))
    with psycopg.connect(database.url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        res = rlskit("upgrade", "--wait", "1s", project=project, url=database.url)
    assert res.exit_code == 4, res.output + res.stderr
    assert "Nothing to do" not in res.output
    assert database.scalar("SELECT to_regclass('app.after')") is None


def test_a_failure_deep_in_a_batch_names_its_line_and_rolls_everything_back(
    project: Path, database: Database
) -> None:
    lines = [f"CREATE TABLE app.b{i} (id int);" for i in range(1500)]
    lines.append("SELECT format('%I', 'x'), ':name', $$ ; $$;")
    lines.append("INSERT INTO app.b0 VALUES (1/0);")
    lines += [f"CREATE TABLE app.c{i} (id int);" for i in range(10)]
    lines.append("SELECT 1")  # no trailing semicolon
    write_revision(project, "0100", "\n".join(lines) + "\n", message="big")
    write_revision(project, "0101", "CREATE TABLE app.next (id int);", message="next")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 1
    err = " ".join(res.stderr.split())
    assert "sql/0100_big.up.sql:1502" in err and "division by zero" in err
    assert "INSERT INTO app.b0 VALUES (1/0)" in err
    assert database.version() == []  # all-or-nothing from base: nothing recorded
    assert database.scalar("SELECT to_regclass('app.b0')") is None
    # fixed, it runs verbatim
    (project / "sql" / "0100_big.up.sql").write_text(
        "\n".join(x for x in lines if "1/0" not in x) + "\n"
    )
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    assert (
        database.scalar(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'app' AND tablename ~ '^[bc][0-9]+$'"
        )
        == 1510
    )


def test_fast_status_matches_the_full_path_and_skips_alembic(
    project: Path, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlskit import commands, noop
    from rlskit.commands import RunOptions
    from rlskit.project import Project

    proj = Project.find(project)
    opts = RunOptions(url=database.url)
    assert rlskit("upgrade", "0005", project=project, url=database.url).exit_code == 0
    for _ in range(2):
        fast = commands.status(proj, opts)
        with monkeypatch.context() as m:
            m.setattr(noop, "status_rows", lambda *a: None)
            full = commands.status(proj, opts)
        assert fast == full
        assert [i.applied for i in fast].count(True) in (5, len(REVISIONS))
        assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    proc, imported = rlskit_imports(["-p", str(project), "--url", database.url, "status"], project)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "click" in imported and not {"alembic", "sqlalchemy", "pglast"} & imported
    assert f"{len(REVISIONS)} applied, 0 pending" in proc.stdout


def test_status_prints_messages_as_written(project: Path, database: Database) -> None:
    """The plain table that replaced rich: markup-like text is text."""
    write_revision(project, "0100", "CREATE TABLE app.m (id int);", message="[bold]alarm")
    res = rlskit("status", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    assert "[bold]alarm" in res.output
    assert "0100" in res.output and "pending" in res.output


def test_a_transactional_file_reaches_the_server_as_one_query(
    project: Path, database: Database
) -> None:
    """The server sees the whole file as one query (``current_query()``), verbatim."""
    body = (
        "CREATE TABLE app.seen AS SELECT current_query() AS q;\n"
        "SELECT format('%I', 'x'), ':name', $$ ; $$;\n"
        "SELECT 1"
    )
    write_revision(project, "0100", body + "\n", message="one query")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    seen = str(database.scalar("SELECT q FROM app.seen"))
    assert seen.startswith(body)


def test_a_failure_is_located_from_a_savepoint_and_nothing_is_doubled(
    project: Path, database: Database
) -> None:
    """After a failure the file runs again from a savepoint, statement by statement:
    nothing is doubled, and when the second run passes (here: a sequence moved on), its work stands once."""
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    write_revision(project, "0100", "CREATE SEQUENCE app.flaky;\n", message="seq")
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    write_revision(
        project,
        "0101",
        "CREATE TABLE app.once (id int);\nINSERT INTO app.once VALUES (1);\n"
        "SELECT 1 / (nextval('app.flaky') - 1);\n",
        message="flaky",
    )
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.stderr
    assert database.scalar("SELECT count(*) FROM app.once") == 1
    assert database.version() == ["0101"]
