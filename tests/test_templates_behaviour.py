"""Behaviour of every template in the reference schema, on a real server, as
every role involved: allowed and denied cases for each command.

Each expectation is a row count (rows seen or affected), ``"rls"`` (new row
violates row-level security) or ``"denied"`` (missing privilege). Every
"denied"/0 case sits next to an "allowed" one for the same command, so a
policy that silently matches nothing cannot pass (FINDINGS §9).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project
from rlskit.scratch import as_migrator, scratch_database

from .conftest import REPO, Database, Server, fresh_database

FIXTURES = """
INSERT INTO django.auth_user (id, username, is_superuser) VALUES
    (1, 'alice', false), (2, 'bob', false), (3, 'root', true);

INSERT INTO cms.articles VALUES
    (1, 'How to not get murdered.', '2020-01-01', 'published'),
    (2, 'World peace in three easy steps.', '2020-01-01', 'draft'),
    (3, 'Secrets about Roswell.', '2020-01-01', 'deleted');

INSERT INTO sales.salespeople (id, name) VALUES (1, 'Picard'), (2, 'Crusher');
INSERT INTO sales.clients (name, salesperson_id) VALUES
    ('client1', 1), ('client2', 2), ('client3', 2);
SELECT setval('sales.clients_id_seq', 100);

INSERT INTO shop.account (username, password, phone_number, role) VALUES
    ('storeowner1', 'secret', '123-456-7890', 'store_owner'),
    ('storeowner2', 'secret', '123-456-7891', 'store_owner'),
    ('guest1', 'secret', '123-456-7892', 'normal_account'),
    ('guest2', 'secret', '123-456-7893', 'normal_account'),
    ('me', 'secret', '123-456-0000', 'super_admin');
INSERT INTO shop.store (name, owner_id) VALUES ('store1', 1), ('store2', 2);
INSERT INTO shop.product (name, store_id) VALUES ('p1', 1), ('p2', 2);

INSERT INTO crm.organisations (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO crm.memberships VALUES (10, 1), (10, 2), (20, 3);
INSERT INTO crm.customers (organisation_id, name) VALUES (1, 'c1'), (2, 'c2'), (3, 'c3');
INSERT INTO crm.teams (name) VALUES ('t1'), ('t2');

INSERT INTO app.organisations (name) VALUES ('o1'), ('o2');
INSERT INTO app.customers (organisation_id, name) VALUES (1, 'x'), (1, 'y'), (2, 'z');
INSERT INTO app.users (username, organisation_id) VALUES ('u1', 1), ('u2', 2);
INSERT INTO app.notes (owner_id, body) VALUES (1, 'n1'), (1, 'n2'), (2, 'n3');
"""


@pytest.fixture(scope="module", params=["superuser", "managed"])
def seeded(
    request: pytest.FixtureRequest,
    server: Server,
    scratch_server: Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Database]:
    """The reference schema migrated by a superuser, or by a managed-PostgreSQL-like
    role (``migrate_as``: CREATEROLE, no SUPERUSER/BYPASSRLS), which then owns the
    tables and the SECURITY DEFINER helpers; the rows are inserted by a superuser."""
    if request.param == "superuser":
        with fresh_database(server) as db:
            commands.upgrade(Project.find(REPO), "head", RunOptions(url=db.url))
            with db.connect() as conn:
                conn.execute(FIXTURES)
            yield db
        return
    dest = tmp_path_factory.mktemp("managed")
    for name in ("migrations", "sql", "policies"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    ini = (REPO / "alembic.ini").read_text()
    (dest / "alembic.ini").write_text(ini.replace("[rlskit]\n", "[rlskit]\nmigrate_as = m\n", 1))
    project = Project.find(dest)
    with scratch_database(project, scratch_server.url()) as url:
        commands.upgrade(project, "head", RunOptions(url=as_migrator(url)))
        db = Database(scratch_server, urlsplit(url).path.lstrip("/"))
        with db.connect() as conn:
            assert conn.execute(
                "SELECT rolsuper FROM pg_roles r JOIN pg_class c ON c.relowner = r.oid "
                "WHERE c.oid = 'shop.store'::regclass"
            ).fetchone() == (False,)
            conn.execute(FIXTURES)
        yield db


def act(db: Database, role: str, settings: dict[str, str], sql: str) -> int | str:
    """Run ``sql`` as ``role`` with ``settings`` in a transaction that is rolled back."""
    with db.connect() as conn:
        try:
            conn.execute(psycopg.sql.SQL("SET LOCAL ROLE {}").format(psycopg.sql.Identifier(role)))
            for k, v in settings.items():
                conn.execute("SELECT set_config(%s, %s, true)", (k, v))
            cur = conn.execute(sql)
            if cur.description is not None and sql.lstrip().upper().startswith("SELECT"):
                return len(cur.fetchall())
            return cur.rowcount
        except psycopg.errors.InsufficientPrivilege as exc:
            return "rls" if "row-level security" in str(exc) else "denied"
        finally:
            conn.rollback()


CASES: list[tuple[str, str, dict[str, str], str, int | str]] = [
    # -- seed 000: per-user roles from a trigger, own row, superuser sees all --------
    ("000 own row", "django:1", {}, "SELECT * FROM django.auth_user", 1),
    ("000 superuser sees all", "django:3", {}, "SELECT * FROM django.auth_user", 3),
    ("000 update own", "django:1", {}, "UPDATE django.auth_user SET email = 'a@x' WHERE id = 1", 1),
    (
        "000 update other",
        "django:1",
        {},
        "UPDATE django.auth_user SET email = 'a@x' WHERE id = 2",
        0,
    ),
    (
        "000 no superuser flag edit",
        "django:1",
        {},
        "UPDATE django.auth_user SET is_superuser = true WHERE id = 1",
        "denied",
    ),
    (
        "000 no insert",
        "django:1",
        {},
        "INSERT INTO django.auth_user (username) VALUES ('x')",
        "denied",
    ),
    ("000 no delete", "django:1", {}, "DELETE FROM django.auth_user", "denied"),
    ("000 login role holds nothing", "django", {}, "SELECT * FROM django.auth_user", "denied"),
    # -- seed 001: RBAC by myapp.role -----------------------------------------------
    (
        "001 USER reads published",
        "mister_nobody",
        {"myapp.role": "USER"},
        "SELECT * FROM cms.articles",
        1,
    ),
    (
        "001 EDITOR reads all",
        "mister_nobody",
        {"myapp.role": "EDITOR"},
        "SELECT * FROM cms.articles",
        3,
    ),
    (
        "001 ADMIN reads all",
        "mister_nobody",
        {"myapp.role": "ADMIN"},
        "SELECT * FROM cms.articles",
        3,
    ),
    ("001 unset reads nothing, no error", "mister_nobody", {}, "SELECT * FROM cms.articles", 0),
    (
        "001 USER cannot insert",
        "mister_nobody",
        {"myapp.role": "USER"},
        "INSERT INTO cms.articles (id, title, status) VALUES (4, 'evil', 'published')",
        "rls",
    ),
    (
        "001 EDITOR inserts",
        "mister_nobody",
        {"myapp.role": "EDITOR"},
        "INSERT INTO cms.articles (id, title, status) VALUES (4, 'ok', 'draft')",
        1,
    ),
    (
        "001 USER update affects 0",
        "mister_nobody",
        {"myapp.role": "USER"},
        "UPDATE cms.articles SET title = 'foo'",
        0,
    ),
    (
        "001 EDITOR updates",
        "mister_nobody",
        {"myapp.role": "EDITOR"},
        "UPDATE cms.articles SET title = 'foo'",
        3,
    ),
    (
        "001 EDITOR cannot delete",
        "mister_nobody",
        {"myapp.role": "EDITOR"},
        "DELETE FROM cms.articles",
        0,
    ),
    ("001 ADMIN deletes", "mister_nobody", {"myapp.role": "ADMIN"}, "DELETE FROM cms.articles", 3),
    (
        "001 permission table is not readable",
        "mister_nobody",
        {"myapp.role": "ADMIN"},
        "SELECT * FROM cms.auth_role_permission",
        "denied",
    ),
    # -- seed 002: a role per salesperson -------------------------------------------
    ("002 Picard sees his client", "salesperson:1", {}, "SELECT * FROM sales.clients", 1),
    ("002 Crusher sees hers", "salesperson:2", {}, "SELECT * FROM sales.clients", 2),
    (
        "002 insert own client",
        "salesperson:1",
        {},
        "INSERT INTO sales.clients (name, salesperson_id) VALUES ('new', 1)",
        1,
    ),
    (
        "002 insert for another",
        "salesperson:1",
        {},
        "INSERT INTO sales.clients (name, salesperson_id) VALUES ('new', 2)",
        "rls",
    ),
    ("002 no update grant", "salesperson:1", {}, "UPDATE sales.clients SET name = 'x'", "denied"),
    ("002 group role alone sees nothing", "salespeople", {}, "SELECT * FROM sales.clients", 0),
    # -- seed 003: role hierarchy, column grants, owner rows --------------------------
    (
        "003 guest sees own account",
        "normal_account",
        {"auth.current_account_id": "3"},
        "SELECT * FROM shop.account",
        1,
    ),
    ("003 unset sees no account", "normal_account", {}, "SELECT * FROM shop.account", 0),
    (
        "003 guest updates own phone",
        "normal_account",
        {"auth.current_account_id": "3"},
        "UPDATE shop.account SET phone_number = '0' WHERE id = 3",
        1,
    ),
    (
        "003 guest cannot update other",
        "normal_account",
        {"auth.current_account_id": "3"},
        "UPDATE shop.account SET phone_number = '0' WHERE id = 1",
        0,
    ),
    (
        "003 guest cannot change own role",
        "normal_account",
        {"auth.current_account_id": "3"},
        "UPDATE shop.account SET role = 'super_admin' WHERE id = 3",
        "denied",
    ),
    (
        "003 guest cannot insert account",
        "normal_account",
        {"auth.current_account_id": "3"},
        "INSERT INTO shop.account (username, password, phone_number, role) "
        "VALUES ('n', 'n', 'n', 'super_admin')",
        "denied",
    ),
    ("003 guest lists stores", "normal_account", {}, "SELECT id, name FROM shop.store", 2),
    ("003 guest cannot read rank", "normal_account", {}, "SELECT rank FROM shop.store", "denied"),
    (
        "003 owner reads rank",
        "store_owner",
        {"auth.current_account_id": "1"},
        "SELECT rank FROM shop.store",
        2,
    ),
    (
        "003 owner renames own store",
        "store_owner",
        {"auth.current_account_id": "1"},
        "UPDATE shop.store SET name = 'n' WHERE id = 1",
        1,
    ),
    (
        "003 owner cannot rename other",
        "store_owner",
        {"auth.current_account_id": "1"},
        "UPDATE shop.store SET name = 'n' WHERE id = 2",
        0,
    ),
    (
        "003 owner cannot hand over store",
        "store_owner",
        {"auth.current_account_id": "1"},
        "UPDATE shop.store SET owner_id = 2 WHERE id = 1",
        "denied",
    ),
    (
        "003 owner adds product to own store",
        "store_owner",
        {"auth.current_account_id": "1"},
        "INSERT INTO shop.product (name, store_id) VALUES ('p', 1)",
        1,
    ),
    (
        "003 owner cannot add to other store",
        "store_owner",
        {"auth.current_account_id": "1"},
        "INSERT INTO shop.product (name, store_id) VALUES ('p', 2)",
        "rls",
    ),
    (
        "003 owner deletes own product",
        "store_owner",
        {"auth.current_account_id": "1"},
        "DELETE FROM shop.product",
        1,
    ),
    (
        "003 owner cannot move product away",
        "store_owner",
        {"auth.current_account_id": "1"},
        "UPDATE shop.product SET stock = 5 WHERE store_id = 2",
        0,
    ),
    ("003 everyone lists products", "normal_account", {}, "SELECT * FROM shop.product", 2),
    (
        "003 guest cannot delete products",
        "normal_account",
        {},
        "DELETE FROM shop.product",
        "denied",
    ),
    ("003 admin sees all accounts", "super_admin", {}, "SELECT * FROM shop.account", 5),
    (
        "003 admin inserts account",
        "super_admin",
        {},
        "INSERT INTO shop.account (username, password, phone_number, role) "
        "VALUES ('n', 'n', 'n', 'normal_account')",
        1,
    ),
    ("003 admin deletes store", "super_admin", {}, "DELETE FROM shop.store WHERE id = 2", 1),
    # -- seed 004: tenants through memberships, RBAC with enum tables -----------------
    (
        "004 user 10 sees two tenants",
        "application",
        {"row_level_security.user_id": "10"},
        "SELECT * FROM crm.customers",
        2,
    ),
    (
        "004 user 20 sees one",
        "application",
        {"row_level_security.user_id": "20"},
        "SELECT * FROM crm.customers",
        1,
    ),
    ("004 unset sees nothing", "application", {}, "SELECT * FROM crm.customers", 0),
    (
        "004 insert into own tenant",
        "application",
        {"row_level_security.user_id": "10"},
        "INSERT INTO crm.customers (organisation_id, name) VALUES (1, 'n')",
        1,
    ),
    (
        "004 insert into other tenant",
        "application",
        {"row_level_security.user_id": "10"},
        "INSERT INTO crm.customers (organisation_id, name) VALUES (3, 'n')",
        "rls",
    ),
    (
        "004 move row to other tenant",
        "application",
        {"row_level_security.user_id": "10"},
        "UPDATE crm.customers SET organisation_id = 3 WHERE id = 1",
        "rls",
    ),
    (
        "004 update other tenant's row",
        "application",
        {"row_level_security.user_id": "10"},
        "UPDATE crm.customers SET name = 'n' WHERE id = 3",
        0,
    ),
    (
        "004 delete own tenant's row",
        "application",
        {"row_level_security.user_id": "10"},
        "DELETE FROM crm.customers WHERE id = 1",
        1,
    ),
    (
        "004 ManageTeam reads teams",
        "application",
        {"row_level_security.role": "SystemAdministrator"},
        "SELECT * FROM crm.teams",
        2,
    ),
    (
        "004 without ManageTeam",
        "application",
        {"row_level_security.role": "Administrator"},
        "SELECT * FROM crm.teams",
        0,
    ),
    (
        "004 ManageTeam inserts",
        "application",
        {"row_level_security.role": "SystemAdministrator"},
        "INSERT INTO crm.teams (name) VALUES ('t')",
        1,
    ),
    (
        "004 others cannot insert",
        "application",
        {"row_level_security.role": "Collaborator"},
        "INSERT INTO crm.teams (name) VALUES ('t')",
        "rls",
    ),
    # -- reference app schema: tenant by setting, column grants, per-user roles --------
    ("app tenant 1", "app_user", {"app.tenant_id": "1"}, "SELECT id, name FROM app.customers", 2),
    ("app tenant 2", "app_user", {"app.tenant_id": "2"}, "SELECT id, name FROM app.customers", 1),
    ("app no tenant", "app_user", {}, "SELECT id, name FROM app.customers", 0),
    (
        "app notes column is admin-only",
        "app_user",
        {"app.tenant_id": "1"},
        "SELECT notes FROM app.customers",
        "denied",
    ),
    ("app user:1 notes", "user:1", {}, "SELECT * FROM app.notes", 2),
    ("app user:2 notes", "user:2", {}, "SELECT * FROM app.notes", 1),
    (
        "app user:2 cannot take note",
        "user:2",
        {},
        "UPDATE app.notes SET owner_id = 2 WHERE owner_id = 1",
        0,
    ),
    (
        "app user:2 cannot give note away",
        "user:2",
        {},
        "UPDATE app.notes SET owner_id = 1 WHERE owner_id = 2",
        "rls",
    ),
]


@pytest.mark.parametrize(
    ("label", "role", "settings", "sql", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_access(
    seeded: Database, label: str, role: str, settings: dict[str, str], sql: str, expected: int | str
) -> None:
    assert act(seeded, role, settings, sql) == expected


def test_shadow_role_triggers_create_and_drop_roles(seeded: Database) -> None:
    with seeded.connect() as conn:
        members = conn.execute(
            "SELECT r.rolname, m.rolname FROM pg_auth_members am "
            "JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member "
            "WHERE r.rolname LIKE 'django%' OR m.rolname LIKE 'django%'"
        ).fetchall()
        assert ("django_users", "django:1") in members
        assert ("django:1", "django") in members
        assert conn.execute(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'django:2'"
        ).fetchone() == (False,)
        # The login role switches to the user's role (membership), then acts as it.
        conn.execute('SET ROLE django; SET ROLE "django:2"')
        assert conn.execute("SELECT username FROM django.auth_user").fetchall() == [("bob",)]
        conn.execute("RESET ROLE")
        conn.execute("DELETE FROM django.auth_user WHERE id = 2")
        assert conn.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = 'django:2'"
        ).fetchone() == (0,)
        conn.rollback()


def test_rendered_sql_is_deterministic_and_parses() -> None:
    from rlskit import pgsql

    project = Project.find(REPO)
    first = commands.render(project).sql
    assert first == commands.render(project).sql
    pgsql.parse(first)
    assert Path(REPO / "policies" / "rendered.json").exists()
    # The reference revisions are up to date with the YAML.
    assert commands.policy_changes(project)[2] == []
