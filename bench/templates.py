"""Query cost of each built-in template on 1,000,000 rows, as the ratio of the
same query with a hand-written WHERE (run without RLS) measured in the same run."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import yaml

from rlskit.policies.render import render
from rlskit.policies.spec import PolicySet, load_text

if TYPE_CHECKING:
    from bench.__main__ import Bench

ROWS = 1_000_000

SETUP = f"""
CREATE ROLE bench_app NOLOGIN;
CREATE ROLE "buser:7" NOLOGIN IN ROLE bench_app;
CREATE TABLE items (
    id bigint PRIMARY KEY, tenant_id bigint NOT NULL, owner_id bigint NOT NULL,
    store_id bigint NOT NULL, status text NOT NULL, payload text);
INSERT INTO items
SELECT g, g % 1000, g % 10000, g % 5000,
       CASE WHEN g % 2 = 0 THEN 'published' ELSE 'draft' END, 'payload ' || g
FROM generate_series(1, {ROWS}) AS g;
CREATE TABLE memberships (user_id bigint, tenant_id bigint, PRIMARY KEY (user_id, tenant_id));
INSERT INTO memberships VALUES (7, 42), (7, 43), (8, 44);
CREATE TABLE stores (id bigint PRIMARY KEY, owner_id bigint NOT NULL);
INSERT INTO stores SELECT g, g % 1000 FROM generate_series(1, 5000) AS g;
CREATE INDEX stores_owner_idx ON stores (owner_id);
CREATE TABLE perms (role text, permission text);
INSERT INTO perms VALUES ('USER', 'read'), ('EDITOR', 'read'), ('EDITOR', 'edit');
GRANT SELECT, UPDATE ON items TO bench_app;
"""

# name, YAML block, session settings, role to act as, hand-written WHERE, a visible id
TEMPLATES: list[tuple[str, dict[str, object], dict[str, str], str, str, int]] = [
    (
        "tenant_isolation (setting)",
        {
            "template": "tenant_isolation",
            "table": "items",
            "column": "tenant_id",
            "setting": "app.tenant_id",
            "roles": ["bench_app"],
        },
        {"app.tenant_id": "42"},
        "bench_app",
        "tenant_id = 42",
        42,
    ),
    (
        "tenant_isolation (membership table)",
        {
            "template": "tenant_isolation",
            "table": "items",
            "column": "tenant_id",
            "membership": {
                "table": "memberships",
                "user_column": "user_id",
                "tenant_column": "tenant_id",
                "user": {"setting": "app.user_id"},
            },
            "roles": ["bench_app"],
        },
        {"app.user_id": "7"},
        "bench_app",
        "tenant_id IN (SELECT tenant_id FROM memberships WHERE user_id = 7)",
        42,
    ),
    (
        "owner_only (setting)",
        {
            "template": "owner_only",
            "table": "items",
            "column": "owner_id",
            "owner": {"setting": "app.user_id"},
            "roles": ["bench_app"],
        },
        {"app.user_id": "7"},
        "bench_app",
        "owner_id = 7",
        7,
    ),
    (
        "owner_only (per-user role)",
        {
            "template": "owner_only",
            "table": "items",
            "column": "owner_id",
            "owner": {"role_prefix": "buser:"},
            "roles": ["bench_app"],
        },
        {},
        "buser:7",
        "owner_id = 7",
        7,
    ),
    (
        "owner_only (through a parent table)",
        {
            "template": "owner_only",
            "table": "items",
            "column": "store_id",
            "owner": {"setting": "app.user_id"},
            "through": {"table": "stores", "key": "id", "owner_column": "owner_id"},
            "roles": ["bench_app"],
        },
        {"app.user_id": "7"},
        "bench_app",
        "store_id IN (SELECT id FROM stores WHERE owner_id = 7)",
        7,
    ),
    (
        "rbac (permission table + row filter)",
        {
            "template": "rbac",
            "table": "items",
            "roles": ["bench_app"],
            "permissions": {"table": "perms"},
            "role_setting": "app.role",
            "rules": {
                "SELECT": [
                    {"permission": "read", "where": {"column": "status", "equals": "published"}},
                    {"permission": "edit"},
                ],
                "UPDATE": [
                    {"permission": "read", "where": {"column": "status", "equals": "published"}}
                ],
            },
        },
        {"app.role": "USER"},
        "bench_app",
        "status = 'published'",
        2,
    ),
    (
        "allow_all",
        {
            "template": "allow_all",
            "table": "items",
            "roles": ["bench_app"],
            "commands": ["SELECT", "UPDATE"],
        },
        {},
        "bench_app",
        "true",
        2,
    ),
]

QUERIES = [
    ("count(*)", "SELECT count(*) FROM items{w}", 5),
    ("by id", "SELECT * FROM items WHERE id = {id}{a}", 300),
    ("ORDER BY id LIMIT 50", "SELECT * FROM items{w} ORDER BY id LIMIT 50", 100),
    ("UPDATE 1 row", "UPDATE items SET payload = 'y' WHERE id = {id}{a}", 300),
]


def _objects(block: dict[str, object]) -> list[object]:
    settings, blocks = load_text(
        yaml.safe_dump({"policies": [block]}), "bench.yaml", Path("/nonexistent")
    )
    return render(PolicySet(settings=settings, blocks=blocks))  # type: ignore[return-value]


def _run_once(
    conn: psycopg.Connection[tuple[object, ...]],
    sql: str,
    role: str | None,
    settings: dict[str, str],
) -> float:
    with conn.transaction(force_rollback=True):
        if role:
            conn.execute(psycopg.sql.SQL("SET LOCAL ROLE {}").format(psycopg.sql.Identifier(role)))
        for k, v in settings.items():
            conn.execute("SELECT set_config(%s, %s, true)", (k, v))
        t = time.perf_counter()
        cur = conn.execute(sql)
        if cur.description:
            cur.fetchall()
        return time.perf_counter() - t


def _time_pair(
    conn: psycopg.Connection[tuple[object, ...]],
    rls_sql: str,
    floor_sql: str,
    n: int,
    role: str,
    settings: dict[str, str],
) -> tuple[float, float]:
    """Medians of the RLS query and its floor, run alternately so drift hits both."""
    rls, floor = [], []
    for i in range(n + 3):
        r = _run_once(conn, rls_sql, role, settings)
        f = _run_once(conn, floor_sql, None, {})
        if i >= 3:  # warm-up runs are not counted
            rls.append(r)
            floor.append(f)
    return statistics.median(rls), statistics.median(floor)


def _first_visible(conn: psycopg.Connection[tuple[object, ...]], where: str) -> int:
    row = conn.execute(f"SELECT min(id) FROM items WHERE {where}").fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


def run_templates(b: Bench) -> None:
    url = b.fresh_db("bench_tpl")
    with psycopg.connect(b.server.url("postgres"), autocommit=True) as c:
        c.execute('DROP ROLE IF EXISTS "buser:7"')
        c.execute("DROP ROLE IF EXISTS bench_app")
    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        conn.execute(SETUP)
        conn.execute("VACUUM (ANALYZE)")  # hint bits and visibility map set before timing
        print(f"  (setup of {ROWS:,} rows: {time.perf_counter() - t:.1f} s)")
        worst = 0.0
        for name, block, settings, role, where, _ in TEMPLATES:
            objs = _objects(block)
            for o in objs:
                conn.execute(o.create)  # type: ignore[attr-defined]
            conn.execute("ANALYZE items")
            vid = _first_visible(conn, where)
            # the policy must really filter: RLS count equals the hand-written count
            with conn.transaction(force_rollback=True):
                conn.execute(
                    psycopg.sql.SQL("SET LOCAL ROLE {}").format(psycopg.sql.Identifier(role))
                )
                for k, v in settings.items():
                    conn.execute("SELECT set_config(%s, %s, true)", (k, v))
                rls_count = conn.execute("SELECT count(*) FROM items").fetchone()
            hand = conn.execute(f"SELECT count(*) FROM items WHERE {where}").fetchone()
            assert rls_count == hand, (name, rls_count, hand)
            for qname, q, n in QUERIES:
                rls_sql = q.format(w="", a="", id=vid)
                floor_sql = q.format(w=f" WHERE {where}", a=f" AND {where}", id=vid)
                r, f = _time_pair(conn, rls_sql, floor_sql, n, role, settings)
                worst = max(worst, r / f)
                b.add(
                    "templates",
                    f"{name}: {qname}",
                    f"{r * 1000:.2f} ms",
                    f"{f * 1000:.2f} ms",
                    r / f,
                    "<= 1.25x",
                    f"{(r - f) * 1e6:+.0f} us per query",
                )
            for o in reversed(objs):
                if o.kind != "index":  # type: ignore[attr-defined]
                    conn.execute(o.drop)  # type: ignore[attr-defined]
        print(f"  worst template ratio: {worst:.2f}x")
