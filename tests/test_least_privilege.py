"""A least-privilege deploy role: owns its schemas, has no CREATE on the database."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from tests.conftest import Database, rlskit, write_revision


def test_deploy_role_without_create_on_the_database_can_upgrade_and_downgrade(
    tmp_path: Path, database: Database
) -> None:
    proj = tmp_path / "p"
    assert rlskit("init", str(proj)).exit_code == 0
    write_revision(proj, "0001", "CREATE TABLE app.t (id int);\n", "DROP TABLE app.t;\n")
    write_revision(
        proj, "0002", "ALTER TABLE app.t ADD COLUMN x int;\n", "ALTER TABLE app.t DROP COLUMN x;\n"
    )
    with database.connect(autocommit=True) as c:
        c.execute("DROP ROLE IF EXISTS lp_deployer")
        c.execute("CREATE ROLE lp_deployer LOGIN PASSWORD 'lp-secret-1'")
        c.execute(f'REVOKE CREATE ON DATABASE "{database.name}" FROM PUBLIC, lp_deployer')
        c.execute("CREATE SCHEMA app AUTHORIZATION lp_deployer")
        c.execute("CREATE SCHEMA rlskit AUTHORIZATION lp_deployer")
        has = c.execute(
            "SELECT has_database_privilege('lp_deployer', current_database(), 'CREATE')"
        ).fetchone()
        assert has is not None and has[0] is False
    parts = urlsplit(database.url)
    url = f"postgresql://lp_deployer:lp-secret-1@{parts.hostname}:{parts.port}/{database.name}"
    try:
        r = rlskit("upgrade", project=proj, url=url)
        assert r.exit_code == 0, r.output
        assert database.version() == ["0002"]
        r = rlskit("downgrade", "0001", project=proj, url=url)
        assert r.exit_code == 0, r.output
        assert database.version() == ["0001"]
    finally:
        with database.connect(autocommit=True) as c:
            c.execute("DROP SCHEMA app, rlskit CASCADE")
            c.execute("DROP OWNED BY lp_deployer")
            c.execute("DROP ROLE lp_deployer")
