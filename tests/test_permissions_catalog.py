"""permissions, the catalog side (issue 13 item 5): an owner's own privileges are
direct, never "inherited", whatever its INHERIT flag; PostgreSQL 17's MAINTAIN is
shown. Checked against has_table_privilege as the oracle."""

from __future__ import annotations

from rlskit.permissions import report

from .conftest import Database


def test_owner_privileges_are_direct_and_maintain_is_shown(database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE lone_owner NOLOGIN NOINHERIT")
        conn.execute("CREATE ROLE owners_group NOLOGIN")
        conn.execute("GRANT owners_group TO lone_owner")
        conn.execute("CREATE TABLE public.mine (id int)")
        conn.execute("ALTER TABLE public.mine OWNER TO lone_owner")  # ACL stays NULL
        conn.execute("CREATE TABLE public.groups (id int)")
        conn.execute("ALTER TABLE public.groups OWNER TO owners_group")
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        rep = report(conn, "lone_owner", schemas=["public"])
        oracle = conn.execute(
            "SELECT has_table_privilege('lone_owner', 'public.groups', 'SELECT')"
        ).fetchone()[0]
    tables = {t.table: t for t in rep.tables}
    mine = tables["public.mine"]
    assert set(mine.privileges.values()) == {"direct"}, mine.privileges
    assert "SELECT" in mine.privileges
    if int(version) >= 170000:
        assert mine.privileges.get("MAINTAIN") == "direct"
    # NOINHERIT: the group's ownership gives lone_owner nothing without SET ROLE
    assert oracle is False
    assert tables["public.groups"].privileges == {}
