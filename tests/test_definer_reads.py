"""SECURITY DEFINER helpers that read FORCE RLS tables work whoever migrates.

Owned by a superuser a helper bypasses RLS; owned by a managed-PostgreSQL
migrating role (CREATEROLE, no SUPERUSER/BYPASSRLS), which also owns the tables,
FORCE applies to it and the helper saw no rows. The templates give the
helper's owner (the migrating role, ``TO CURRENT_USER``) a SELECT policy of its
own on each such table: nobody else gains a row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from rlskit import commands, pgsql
from rlskit.commands import RunOptions
from rlskit.errors import SpecError
from rlskit.policies.render import SqlObject, render
from rlskit.policies.spec import PolicySet, load_dir, load_text
from rlskit.project import Project
from rlskit.scratch import as_migrator, scratch_database

from .conftest import REPO, Database, Server, rlskit

ROLE = "app_migrator"
DATA = """
INSERT INTO django.auth_user (id, username, is_superuser) VALUES
    (1, 'alice', false), (2, 'bob', false), (3, 'root', true);
INSERT INTO shop.account (id, username, password, phone_number, role) VALUES
    (1, 'o1', 's', '1', 'store_owner'), (2, 'o2', 's', '2', 'store_owner');
INSERT INTO shop.store (id, name, owner_id) VALUES (1, 's1', 1), (2, 's2', 2), (3, 's3', 1);
INSERT INTO shop.product (id, name, store_id) VALUES (1, 'p1', 1), (2, 'p2', 2);
"""
# tables a template's SECURITY DEFINER helper reads, and which have FORCE RLS
READ_BY_HELPERS = ("django.auth_user", "shop.store")


@pytest.fixture(params=["superuser", "managed"])
def built(
    request: pytest.FixtureRequest, project: Path, scratch_server: Server
) -> Iterator[tuple[str, Project]]:
    """A scratch database of the reference schema with rows, migrated by a superuser
    or by a managed-PostgreSQL-like role; yields its superuser URL and the project."""
    if request.param == "managed":
        ini = project / "alembic.ini"
        ini.write_text(ini.read_text().replace("[rlskit]\n", f"[rlskit]\nmigrate_as = {ROLE}\n", 1))
    proj = Project.find(project)
    with scratch_database(proj, scratch_server.url()) as url:
        commands.upgrade(proj, "heads", RunOptions(url=as_migrator(url)))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(DATA)
            owner = conn.execute(
                "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'shop.store'::regclass"
            ).fetchone()
            assert owner == (ROLE if request.param == "managed" else "postgres",)
        yield url, proj


def _as(conn: psycopg.Connection[tuple[object, ...]], role: str, query: str) -> object:
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        conn.execute("SELECT set_config('auth.current_account_id', '1', true)")
        row = conn.execute(query).fetchone()
        assert row is not None
        return row[0]


def test_helpers_answer_right_whoever_migrated(built: tuple[str, Project]) -> None:
    with psycopg.connect(built[0], autocommit=True) as conn:
        su = "SELECT django.auth_user_superuser_is_superuser(3)"
        assert _as(conn, "django:3", su) is True
        assert _as(conn, "django:1", "SELECT django.auth_user_superuser_is_superuser(1)") is False
        assert _as(conn, "django:3", "SELECT count(*) FROM django.auth_user") == 3
        assert _as(conn, "django:1", "SELECT count(*) FROM django.auth_user") == 1
        owned = "SELECT shop.product_of_own_store_owned_store_ids(1)"
        assert _as(conn, "store_owner", owned) == [1, 3]


def test_nobody_but_the_helper_owner_reads_through_the_new_policy(
    built: tuple[str, Project],
) -> None:
    with psycopg.connect(built[0], autocommit=True) as conn:
        # a role with SELECT on the tables (directly and through PUBLIC) but no policy
        conn.execute("CREATE ROLE intruder NOLOGIN")
        conn.execute("GRANT USAGE ON SCHEMA django, shop TO PUBLIC")
        for table in READ_BY_HELPERS:
            conn.execute(f"GRANT SELECT ON {table} TO intruder, PUBLIC")
        conn.execute("CREATE ROLE bystander NOLOGIN")  # holds only what PUBLIC holds
        try:
            for table in READ_BY_HELPERS:
                for role in ("intruder", "bystander", "django_users", "django"):
                    assert _as(conn, role, f"SELECT count(*) FROM {table}") == 0, (role, table)
            # the application roles see what their own policies give, nothing more
            assert _as(conn, "django:1", "SELECT count(*) FROM django.auth_user") == 1
            assert _as(conn, "django:2", "SELECT count(*) FROM django.auth_user") == 1
            assert _as(conn, "store_owner", "SELECT count(*) FROM shop.product") == 2
            # the only policies for a role that is not an application role are the
            # helper owner's, SELECT only, on exactly the tables its helpers read
            me = conn.execute(
                "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'shop.store'::regclass"
            ).fetchone()
            rows = conn.execute(
                "SELECT polrelid::regclass::text, polcmd, polroles::regrole[]::text[] FROM pg_policy "
                "WHERE %s = ANY (polroles::regrole[]::text[]) ORDER BY 1",
                (me[0] if me else None,),
            ).fetchall()
            assert rows == [(t, "r", [me[0] if me else ""]) for t in READ_BY_HELPERS]
        finally:
            conn.execute("REVOKE ALL ON django.auth_user, shop.store FROM intruder, PUBLIC")
            conn.execute("REVOKE USAGE ON SCHEMA django, shop FROM PUBLIC")
            conn.execute("DROP ROLE intruder")
            conn.execute("DROP ROLE bystander")


ACCESS = """
SELECT r.rolname, c.oid::regclass::text, p.priv,
       has_table_privilege(r.oid, c.oid, p.priv)
FROM pg_roles r, pg_class c, unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p(priv)
WHERE c.relkind = 'r' AND c.relnamespace::regnamespace::text IN ('app', 'auth', 'cms', 'crm',
      'django', 'sales', 'shop')
  AND NOT r.rolsuper AND r.rolname <> %s AND r.rolname NOT LIKE 'pg\\_%%'
ORDER BY 1, 2, 3
"""


def _count(conn: psycopg.Connection[tuple[object, ...]], role: str, table: str) -> object:
    try:
        return _as(conn, role, f"SELECT count(*) FROM {table}")
    except psycopg.errors.InsufficientPrivilege:
        return "denied"


APP_ROLES = ("django:1", "django:3", "django_users", "django", "normal_account", "store_owner")
# what each application role sees at head, whoever migrated (set: account 1)
HEAD_ROWS = {
    **{f"{r} {t}": "denied" for r in APP_ROLES[:4] for t in ("shop.store", "shop.product")},
    **{f"{r} django.auth_user": "denied" for r in APP_ROLES[4:]},
    "django:1 django.auth_user": 1,
    "django:3 django.auth_user": 3,
    "django_users django.auth_user": 0,
    "django django.auth_user": "denied",  # the login role holds nothing itself
    "normal_account shop.store": 3,
    "normal_account shop.product": 2,
    "store_owner shop.store": 3,
    "store_owner shop.product": 2,
}


def _access(conn: psycopg.Connection[tuple[object, ...]], me: str) -> tuple[object, ...]:
    """Every non-superuser role's privileges on the project's tables, and the rows
    each application role sees of the tables the helpers read."""
    privileges = conn.execute(ACCESS, (me,)).fetchall()
    rows = {
        f"{role} {table}": _count(conn, role, table)
        for role in APP_ROLES
        for table in (*READ_BY_HELPERS, "shop.product")
    }
    return privileges, rows


def test_revision_0010_gives_application_roles_nothing(built: tuple[str, Project]) -> None:
    """Independent oracle: has_table_privilege of every role other than the migrating
    one, and the rows each application role sees, at head and after downgrading the
    new revision. Privileges never change; rows do only where the migrating role is
    no superuser, and only back to what the superuser's build gives (the helper of
    "superusers see all" saw nothing); the migrating role sees the helpers' rows."""
    url, proj = built
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'shop.store'::regclass"
        ).fetchone()
        me = str(row[0]) if row else ""
        managed = me == ROLE
        head_privileges, head_rows = _access(conn, me)
        migrator_sees = _count(conn, me, "shop.store") if managed else None
        commands.downgrade(proj, "0009", RunOptions(url=as_migrator(url)))
        gone = "SELECT count(*) FROM pg_policy WHERE polname LIKE '%definer%'"
        assert conn.execute(gone).fetchone() == (0,)
        privileges, rows = _access(conn, me)
        if managed:
            assert (migrator_sees, _count(conn, me, "shop.store")) == (3, 0)
    assert head_rows == HEAD_ROWS
    assert head_privileges == privileges
    changed = {k: (v, rows[k]) for k, v in head_rows.items() if rows[k] != v}
    assert changed == ({"django:3 django.auth_user": (3, 1)} if managed else {})


def test_rendered_definer_policies_are_select_for_current_user_only() -> None:
    """Pure: the templates' output gives no application role anything new."""
    objects = render(load_dir(REPO / "policies"))
    reads = [o for o in objects if o.kind == "policy" and "TO CURRENT_USER" in o.create]
    assert sorted(o.key for o in reads) == [
        "policy:django.auth_user:auth_user_definer_select",
        "policy:shop.store:store_definer_select",
    ]
    for o in reads:
        assert "FOR SELECT TO CURRENT_USER\n    USING (true);" in o.create


def test_drift_compares_the_owner_policy_by_who_migrated(
    project: Path, database: Database, scratch_server: Server
) -> None:
    """Live migrated by a managed role, the project's scratch build by the superuser:
    ``TO CURRENT_USER`` names a different role on each side, and that is no drift;
    the restore of a dropped one says CURRENT_USER and brings drift to zero."""
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE deployer LOGIN CREATEROLE CREATEDB PASSWORD 'pw'")
        conn.execute(f'ALTER DATABASE "{database.name}" OWNER TO deployer')
    url = database.server.url(database.name, user="deployer", password="pw")
    res = rlskit("upgrade", project=project, url=url)
    assert res.exit_code == 0, res.output + res.stderr
    proj = Project.find(project)
    report = commands.drift(proj, RunOptions(url=url), scratch_server.url())
    assert [d.line() for d in report.differences] == []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute('DROP POLICY "store_definer_select" ON shop.store')
    report = commands.drift(proj, RunOptions(url=url), scratch_server.url())
    assert [(d.kind, d.object, d.change) for d in report.differences] == [
        ("policy", "shop.store.store_definer_select", "missing")
    ]
    restore = report.differences[0].restore
    assert "TO CURRENT_USER" in restore
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(restore)
        roles = conn.execute(
            "SELECT polroles::regrole[]::text[] FROM pg_policy WHERE polname = 'store_definer_select'"
        ).fetchone()
    assert roles == (["deployer"],)
    report = commands.drift(proj, RunOptions(url=url), scratch_server.url())
    assert [d.line() for d in report.differences] == []


MEMBERSHIP_AND_RBAC = """
policies:
  - template: tenant_isolation
    table: crm.customers
    column: organisation_id
    membership:
      table: crm.memberships
      user_column: user_id
      tenant_column: organisation_id
      user: {setting: app.user_id}
    roles: [app_user]
  - template: rbac
    table: cms.articles
    roles: [app_user]
    permissions: {table: cms.grants}
    role_setting: app.role
    rules:
      SELECT: [{permission: read}]
"""
FORCED_LOOKUPS = """
  - template: owner_only
    table: crm.memberships
    column: user_id
    owner: {setting: app.user_id}
    roles: [app_user]
    commands: [SELECT]
  - template: allow_all
    table: cms.grants
    roles: [app_admin]
    commands: [SELECT]
"""


def _objects(text: str, directory: Path | None = None) -> list[SqlObject]:
    settings, blocks = load_text(text, "policies/t.yaml", directory or Path("/nonexistent"))
    return render(PolicySet(settings=settings, blocks=blocks))


def _definer_policies(text: str, directory: Path | None = None) -> list[str]:
    return [o.key for o in _objects(text, directory) if "TO CURRENT_USER" in o.create]


def test_a_policy_only_where_the_set_forces_rls_on_what_a_helper_reads() -> None:
    # the lookup tables have no RLS from the set: the helpers read them as before
    assert _definer_policies(MEMBERSHIP_AND_RBAC) == []
    assert _definer_policies(MEMBERSHIP_AND_RBAC + FORCED_LOOKUPS) == [
        "policy:cms.grants:grants_definer_select",
        "policy:crm.memberships:memberships_definer_select",
    ]


def test_a_project_template_declares_what_its_helper_reads(tmp_path: Path) -> None:
    (tmp_path / "reader.sql.j2").write_text(
        "{% block create %}{{ table | definer_reads }}SELECT {{ 1 }};{% endblock %}"
        "{% block drop %}SELECT 2;{% endblock %}"
    )
    text = """
policies:
  - {template: reader, name: r, table: app.people}
  - {template: allow_all, table: app.people, roles: [app_admin], commands: [SELECT]}
"""
    assert _definer_policies(text, tmp_path) == ["policy:app.people:people_definer_select"]
    # a hostile name stays one quoted name, in one statement
    evil = 'app.pe"ople; DROP TABLE x; --'
    hostile = text.replace("app.people", evil)
    objects = [o for o in _objects(hostile, tmp_path) if "TO CURRENT_USER" in o.create]
    assert len(objects) == 1
    assert [next(iter(s["stmt"])) for s in pgsql.parse_json(objects[0].create)] == [
        "CreatePolicyStmt"
    ]
    assert '"app"."pe""ople; DROP TABLE x; --"' in objects[0].create
    # a name without its schema is public's, as elsewhere in the templates
    bare = text.replace("table: app.people}", "table: people}").replace(
        "app.people", "public.people"
    )
    assert _definer_policies(bare, tmp_path) == ["policy:public.people:people_definer_select"]
    with pytest.raises(SpecError):  # an invalid name is refused like any other
        _definer_policies(text.replace("table: app.people}", 'table: "app.a\\0b"}', 1), tmp_path)


def test_baseline_writes_the_owner_policy_for_whoever_migrates(
    project: Path, database: Database, scratch_server: Server, tmp_path: Path
) -> None:
    """Adopting a database a managed role migrated: the policy names that role in the
    catalog and in pg_dump; the baseline says CURRENT_USER, so a scratch database
    built by another role reproduces it (it failed: role "deployer" does not exist)."""
    with database.connect(autocommit=True) as conn:
        conn.execute("CREATE ROLE deployer LOGIN CREATEROLE CREATEDB PASSWORD 'pw'")
        conn.execute(f'ALTER DATABASE "{database.name}" OWNER TO deployer')
    url = database.server.url(database.name, user="deployer", password="pw")
    assert rlskit("upgrade", project=project, url=url).exit_code == 0
    with database.connect(autocommit=True) as conn:  # as if built by hand
        conn.execute("DROP TABLE rlskit.alembic_version")
    adopt = tmp_path / "adopt"
    assert rlskit("init", str(adopt)).exit_code == 0
    res = rlskit("baseline", "--schema", "shop", "--mark-applied", project=adopt, url=url)
    assert res.exit_code == 0, res.output + res.stderr
    up = next((adopt / "sql").glob("0001_*.up.sql")).read_text()
    assert (
        'CREATE POLICY "store_definer_select" ON "shop"."store" FOR SELECT TO CURRENT_USER '
        "USING (true);" in up
    )
    assert '"deployer"' not in up
    report = commands.drift(Project.find(adopt), RunOptions(url=url), scratch_server.url())
    assert [d.line() for d in report.differences] == []


def test_coverage_does_not_ask_cases_for_the_owner_policy(
    project: Path, scratch_server: Server
) -> None:
    """No actor is the migrating role: its policy is not 'not exercised'."""
    suites = str(REPO / "tests" / "rls")
    res = rlskit("test", suites, "--coverage", project=project, url=scratch_server.url())
    assert res.exit_code == 0, res.output
    assert "definer_select" not in res.output
    assert "not exercised" in res.output  # the report itself is there
