"""Issue 11, cases 6 and 12: where the database comes from, and the CLI's small promises."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rlskit.cli import cli

from .conftest import HEAD, Database, alembic_process, rlskit, rlskit_process

DB_COMMANDS = (
    "upgrade",
    "downgrade",
    "current",
    "status",
    "plan",
    "repair",
    "lint",
    "drift",
    "test",
    "permissions",
    "baseline",
)


# -- case 6: no silent fallback to the embedded server ------------------------------------
@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"RLSKIT_DATABASE_URL": ""}, "RLSKIT_DATABASE_URL is set but empty"),
        ({"RLSKIT_DATABASE_URL": "   "}, "RLSKIT_DATABASE_URL is set but empty"),
        ({"DATABASE_URL": ""}, "DATABASE_URL is set but empty"),
        ({"DATABASE_URL": "postgres//typo@host/db"}, "cannot be used"),
        ({"RLSKIT_DATABASE_URL": "postgresql://u@host:notaport/db"}, "cannot be used"),
    ],
)
def test_empty_or_unparsable_url_is_an_error_not_the_embedded_server(
    project: Path, env: dict[str, str], needle: str
) -> None:
    res = rlskit_process("upgrade", cwd=project, env=env, timeout=60)
    assert res.returncode == 2, res.stdout + res.stderr
    assert needle in res.stderr
    assert "nothing was changed" in res.stderr
    assert not (project / ".rlskit").exists()  # the embedded server was never created
    # plain Alembic goes through the same resolution
    res = alembic_process("upgrade", "head", cwd=project, env=env, timeout=60)
    assert res.returncode != 0 and needle in res.stderr
    assert not (project / ".rlskit").exists()


def test_empty_url_option_and_x_url_are_errors(project: Path) -> None:
    for args in (("--url", "", "upgrade"), ("upgrade", "--url", "")):
        res = rlskit_process(*args, cwd=project, timeout=60)
        assert res.returncode == 2 and "--url is set but empty" in res.stderr, res.stderr
    res = alembic_process("-x", "url=", "upgrade", "head", cwd=project, timeout=60)
    assert res.returncode != 0 and "-x url is set but empty" in res.stderr
    assert not (project / ".rlskit").exists()


def test_embedded_false_forbids_the_fallback(project: Path) -> None:
    ini = project / "alembic.ini"
    text = ini.read_text()
    assert "\nembedded = true\n" in text
    ini.write_text(text.replace("\nembedded = true\n", "\nembedded = false\n"))
    res = rlskit_process("upgrade", cwd=project, timeout=60)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "embedded default is switched off" in res.stderr
    assert not (project / ".rlskit").exists()


def test_first_output_line_names_the_database_masked(project: Path, database: Database) -> None:
    url = database.server.url(database.name)
    res = rlskit_process("upgrade", cwd=project, env={"RLSKIT_DATABASE_URL": url})
    assert res.returncode == 0, res.stderr
    first = res.stdout.splitlines()[0]
    assert first.startswith("Database: ") and "postgresql://" in first and database.name in first
    assert "(RLSKIT_DATABASE_URL)" in first
    password = database.server.embedded._load().password  # type: ignore[union-attr]
    assert password not in res.stdout + res.stderr and ":***@" in first


# -- case 12: --url after the subcommand -----------------------------------------------------
@pytest.mark.parametrize("command", DB_COMMANDS)
def test_every_database_command_takes_url_after_it(command: str) -> None:
    res = CliRunner().invoke(cli, [command, "--help"])
    assert res.exit_code == 0 and "--url TEXT" in res.output, res.output


def test_url_after_the_subcommand_is_used(project: Path, database: Database) -> None:
    res = rlskit("upgrade", "--url", database.url, project=project)
    assert res.exit_code == 0, res.output
    assert database.version() == [HEAD]
    res = rlskit("current", "--url", database.url, project=project)
    assert res.exit_code == 0 and res.output.strip() == HEAD
    res = rlskit("downgrade", "-1", "--url", database.url, project=project)
    assert res.exit_code == 0, res.output
    assert database.version() != [HEAD]
    # after the subcommand wins over before it
    res = rlskit("status", "--url", database.url, project=project, url="postgresql://nobody@x/y")
    assert res.exit_code == 0, res.output


# -- case 12: status --check, missing .down.sql ---------------------------------------------
def test_status_check_exits_non_zero_with_pending_revisions(
    project: Path, database: Database
) -> None:
    assert rlskit("status", project=project, url=database.url).exit_code == 0
    res = rlskit("status", "--check", project=project, url=database.url)
    assert res.exit_code == 1 and "pending" in res.output
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    res = rlskit("status", "--check", project=project, url=database.url)
    assert res.exit_code == 0, res.output
    up = next((project / "sql").glob("0002_*.up.sql"))
    up.write_text(up.read_text() + "\nCREATE TABLE app.edited_after (id int);\n")
    res = rlskit("status", "--check", project=project, url=database.url)
    assert res.exit_code == 5 and "EDITED" in res.output


def test_status_reports_a_missing_down_file(project: Path, database: Database) -> None:
    down = next((project / "sql").glob("0003_*.down.sql"))
    down.unlink()
    assert rlskit("upgrade", project=project, url=database.url).exit_code == 0
    res = rlskit("status", project=project, url=database.url)
    assert res.exit_code == 0
    assert "1 without a .down.sql" in res.output
    assert f"missing: sql/{down.name}" in res.stderr
    res = rlskit("status", "--check", project=project, url=database.url)
    assert res.exit_code == 1
    res = rlskit("status", "--format", "json", project=project, url=database.url)
    assert '"down_missing": true' in res.output


# -- case 12: run from a subfolder, NO_COLOR -------------------------------------------------
def test_run_from_a_subfolder_finds_the_project(project: Path) -> None:
    for sub in (project / "sql", project / "migrations" / "versions"):
        res = rlskit_process("history", cwd=sub, timeout=60)
        assert res.returncode == 0, res.stderr
        assert f"{HEAD} (head)" in res.stdout
    # -p names the folder exactly: no walking up from there
    res = rlskit_process("-p", str(project / "sql"), "history", cwd=project, timeout=60)
    assert res.returncode == 2 and "not an rlskit project" in res.stderr


def test_no_color_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["-p", str(tmp_path), "history"]  # not a project: a red error
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = CliRunner().invoke(cli, args, color=True)
    assert coloured.exit_code == 2 and "\x1b[" in coloured.stderr
    monkeypatch.setenv("NO_COLOR", "1")
    plain = CliRunner().invoke(cli, args, color=True)
    assert plain.exit_code == 2 and "\x1b[" not in plain.stderr
    assert "not an rlskit project" in plain.stderr


def test_unparsable_url_in_alembic_ini_is_an_error(project: Path) -> None:
    ini = project / "alembic.ini"
    text = ini.read_text()
    ini.write_text(text.replace("[alembic]\n", "[alembic]\nsqlalchemy.url = postgres//oops\n", 1))
    res = rlskit_process("upgrade", cwd=project, timeout=60)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "sqlalchemy.url in alembic.ini" in res.stderr and "cannot be used" in res.stderr
    assert not (project / ".rlskit").exists()
