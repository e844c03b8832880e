"""Issue 11, case 7: two heads can be merged, by rlskit and by plain Alembic."""

from __future__ import annotations

import ast
import contextlib
from pathlib import Path

from rlskit.sqlfile import SqlFile

from .conftest import HEAD, Database, alembic_process, rlskit, write_revision


def _two_heads(project: Path) -> None:
    write_revision(
        project,
        "0101",
        "CREATE TABLE app.branch_a (id int);\n",
        "DROP TABLE app.branch_a;\n",
        down_revision=HEAD,
        message="branch a",
    )
    write_revision(
        project,
        "0102",
        "CREATE TABLE app.branch_b (id int);\n",
        "DROP TABLE app.branch_b;\n",
        down_revision=HEAD,
        message="branch b",
    )


def _module(project: Path, pattern: str) -> tuple[Path, dict[str, object]]:
    (path,) = (project / "migrations" / "versions").glob(pattern)
    values: dict[str, object] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            with contextlib.suppress(ValueError):
                values[node.targets[0].id] = ast.literal_eval(node.value)
    return path, values


def _empty_sql(path: Path) -> None:
    assert path.is_file(), path
    assert SqlFile.load(path, path.name).statements == ()


def test_alembic_merge_heads_and_revision_work(project: Path, database: Database) -> None:
    _two_heads(project)
    assert len(alembic_process("heads", cwd=project).stdout.split("\n")) >= 2
    res = alembic_process("merge", "heads", "-m", "merge", cwd=project)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "FAILED" not in res.stdout + res.stderr
    _, mod = _module(project, "*_merge.py")
    assert sorted(mod["down_revision"]) == ["0101", "0102"]  # type: ignore[call-overload]
    merge_rev = str(mod["revision"])
    for direction in ("up", "down"):
        _empty_sql(project / "sql" / f"{merge_rev}_merge.{direction}.sql")
    heads = alembic_process("heads", cwd=project).stdout.strip().splitlines()
    assert heads == [f"{merge_rev} (head)"]

    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.output
    assert database.version() == [merge_rev]
    assert (
        database.scalar(
            "SELECT to_regclass('app.branch_a') IS NOT NULL "
            "AND to_regclass('app.branch_b') IS NOT NULL"
        )
        is True
    )
    res = rlskit("downgrade", "0101", project=project, url=database.url)
    assert res.exit_code == 0, res.output
    assert database.version() == ["0101", "0102"]  # the merge is reverted, the branches stay
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0

    # plain `alembic revision` after the merge: files made, one head, it applies
    res = alembic_process("revision", "-m", "after merge", cwd=project)
    assert res.returncode == 0, res.stdout + res.stderr
    _, mod = _module(project, "*_after_merge.py")
    assert mod["down_revision"] == merge_rev
    up = project / "sql" / f"{mod['revision']}_after_merge.up.sql"
    assert up.is_file() and (project / "sql" / f"{mod['revision']}_after_merge.down.sql").is_file()
    up.write_text("CREATE TABLE app.after_merge (id int);\n")
    res = alembic_process("-x", f"url={database.url}", "upgrade", "head", cwd=project)
    assert res.returncode == 0, res.stderr
    assert database.scalar("SELECT to_regclass('app.after_merge') IS NOT NULL") is True


def test_rlskit_merge(project: Path, database: Database) -> None:
    res = rlskit("merge", project=project)
    assert res.exit_code == 2 and "nothing to merge" in res.output
    _two_heads(project)
    res = rlskit("new", "blocked", project=project)
    assert res.exit_code == 2 and "rlskit merge" in res.output
    res = rlskit("merge", "-m", "join branches", project=project)
    assert res.exit_code == 0, res.output
    assert res.output.startswith("revision 0103")
    _, mod = _module(project, "0103_join_branches.py")
    assert sorted(mod["down_revision"]) == ["0101", "0102"]  # type: ignore[call-overload]
    for direction in ("up", "down"):
        _empty_sql(project / "sql" / f"0103_join_branches.{direction}.sql")
    heads = alembic_process("heads", cwd=project).stdout.strip().splitlines()
    assert heads == ["0103 (head)"]
    assert rlskit("new", "after", project=project).output.startswith("revision 0104")
    res = rlskit("upgrade", project=project, url=database.url)
    assert res.exit_code == 0, res.output
    assert database.version() == ["0104"]
    res = rlskit("downgrade", "0103", project=project, url=database.url)
    assert res.exit_code == 0, res.output
    assert database.version() == ["0103"]
