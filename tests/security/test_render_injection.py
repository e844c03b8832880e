"""Attacks on generated SQL: values from policies/*.yaml must never become SQL.

Issue 12 items 1 and 2. Each value that reaches generated SQL (identifiers,
literals, comments, function bodies) goes through rlskit.quoting; a value
either is refused with a spec error or ends up inside one identifier, string
constant or comment. Checked by PostgreSQL's own scanner and parser (pglast,
through rlskit.pgsql) against the same document with benign values, and on a
real server with the exploits from the review.
"""

from __future__ import annotations

import typing
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from rlskit import pgsql
from rlskit.errors import SpecError
from rlskit.policies.render import render, to_sql
from rlskit.policies.spec import BUILTIN, Document, PolicySet, load_text

from ..conftest import Database, rlskit

# -- a benign document per template, reaching every optional part ---------------
EXAMPLES: list[dict[str, Any]] = [
    {
        "template": "tenant_isolation",
        "name": "ti",
        "description": "tenant rows",
        "table": "app.customers",
        "column": "organisation_id",
        "setting": "app.tenant_id",
        "type": "bigint",
        "roles": ["app_user"],
        "commands": ["SELECT", "UPDATE"],
    },
    {
        "template": "tenant_isolation",
        "name": "tm",
        "table": "crm.customers",
        "column": "organisation_id",
        "membership": {
            "table": "crm.memberships",
            "user_column": "user_id",
            "tenant_column": "organisation_id",
            "user": {"claim": "user_id", "claims_schema": "auth", "type": "bigint"},
        },
        "roles": ["app_user"],
    },
    {
        "template": "owner_only",
        "name": "oo",
        "table": "app.notes",
        "column": "owner_id",
        "owner": {"role_prefix": "user:", "type": "bigint"},
        "roles": ["app_user"],
        "commands": ["SELECT", "INSERT"],
    },
    {
        "template": "owner_only",
        "name": "ot",
        "table": "shop.product",
        "column": "store_id",
        "owner": {"setting": "app.user_id"},
        "through": {"table": "shop.store", "key": "id", "owner_column": "owner_id"},
        "roles": ["store_owner"],
    },
    {
        "template": "rbac",
        "name": "rb",
        "table": "cms.articles",
        "roles": ["editor"],
        "permissions": {
            "table": "cms.perms",
            "role_column": "role",
            "permission_column": "permission",
        },
        "role_setting": "app.role",
        "rules": {
            "SELECT": [{"permission": "read", "where": {"column": "status", "equals": "pub"}}],
            "INSERT": [{"permission": "create", "where": {"column": "kind", "in": ["a", "b"]}}],
            "DELETE": [{"permission": "delete"}],
        },
    },
    {
        "template": "allow_all",
        "name": "aa",
        "table": "shop.catalog",
        "roles": ["app_user"],
        "commands": ["SELECT"],
    },
    {
        "template": "role_hierarchy",
        "name": "rh",
        "roles": {"store_owner": {"member_of": ["normal_account"], "inherit": True}},
        "grants": [
            {"schema": "shop", "to": "normal_account", "privileges": ["USAGE"]},
            {"table": "shop.store", "to": "normal_account", "columns": {"SELECT": ["id"]}},
            {"table": "shop.item", "to": "normal_account", "privileges": ["SELECT"]},
            {"sequence": "shop.store_id_seq", "to": "store_owner", "privileges": ["USAGE"]},
        ],
        "admin": {"role": "super_admin", "tables": ["shop.store"], "sequences": ["shop.s"]},
    },
    {
        "template": "shadow_roles",
        "name": "sr",
        "users_table": "django.auth_user",
        "id_column": "id",
        "role_prefix": "django:",
        "group_role": "django_users",
        "login_role": "django",
        "drop_on_delete": True,
    },
    {
        "template": "signed_identity",
        "name": "si",
        "schema": "auth",
        "roles": ["app_user"],
        "setting": "rlskit.identity",
    },
    {
        "template": "tenant_isolation",
        "name": "tp",
        "table": "crm.customers",
        "column": "organisation_id",
        "membership": {
            "table": "crm.memberships",
            "user_column": "user_id",
            "tenant_column": "organisation_id",
            "user": {"role_prefix": "u_", "type": "integer"},
        },
        "roles": ["app_user"],
    },
    {
        "template": "tenant_isolation",
        "name": "ts",
        "table": "crm.customers",
        "column": "organisation_id",
        "membership": {
            "table": "crm.memberships",
            "user_column": "user_id",
            "tenant_column": "organisation_id",
            "user": {"setting": "app.user_id", "type": "uuid"},
        },
        "roles": ["app_user"],
    },
    {
        "template": "owner_only",
        "name": "oc",
        "table": "app.docs",
        "column": "owner_id",
        "owner": {"claim": "sub", "claims_schema": "auth", "type": "text"},
        "roles": ["app_user"],
    },
]
# Every block may carry a description.
for _ex in EXAMPLES:
    _ex.setdefault("description", "what it is for")
SETTINGS: dict[str, Any] = {"app.tenant_id": {"type": "bigint", "description": "the tenant"}}

Path_ = tuple[Any, ...]


def _string_slots(node: Any, path: Path_ = ()) -> list[tuple[Path_, str]]:
    """Every place a string sits in ``node``: ("value", path) or ("key", path)."""
    out: list[tuple[Path_, str]] = []
    if isinstance(node, str):
        out.append((path, "value"))
    elif isinstance(node, dict):
        for k, v in node.items():
            out.append(((*path, k), "key"))
            out.extend(_string_slots(v, (*path, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_string_slots(v, (*path, i)))
    return out


def _replace(node: Any, path: Path_, how: str, new: str) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(node, list):
        return [_replace(v, rest, how, new) if i == head else v for i, v in enumerate(node)]
    assert isinstance(node, dict)
    if how == "key" and not rest:
        return {(new if k == head else k): v for k, v in node.items()}
    return {k: (_replace(v, rest, how, new) if k == head else v) for k, v in node.items()}


def _document(block: dict[str, Any] | None, settings_: dict[str, Any]) -> dict[str, Any]:
    return {"settings": settings_, "policies": [block] if block is not None else []}


def _mapping_fields() -> set[str]:
    """Schema paths whose value is a dict keyed by user data (roles, rules, columns)."""
    paths: set[str] = set()

    def walk(tp: Any, prefix: str) -> None:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is typing.Annotated:
            walk(args[0], prefix)
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            for name, field in tp.model_fields.items():
                walk(field.annotation, f"{prefix}.{field.alias or name}")
        elif origin in (typing.Union, __import__("types").UnionType):
            for a in args:
                walk(a, prefix)
        elif origin is list:
            walk(args[0], prefix)
        elif origin is dict:
            paths.add(prefix)
            walk(args[1], f"{prefix}.*")

    for template, model in BUILTIN.items():
        walk(model, template)
    return paths


MAPPINGS = _mapping_fields()


def _is_mapping_field(template: str, path: Path_) -> bool:
    parts = [template]
    for j, p in enumerate(path):
        if isinstance(p, int):
            continue
        parts.append("*" if ".".join(parts) in MAPPINGS else str(p))
        del j
    return ".".join(parts) in MAPPINGS


# Every string of every example and of the document's settings: values, and the keys
# of mappings keyed by user data (role names, commands, privileges, setting names).
SLOTS: list[tuple[int, Path_, str]] = [
    (i, path, how)
    for i, ex in enumerate(EXAMPLES)
    for path, how in _string_slots(ex)
    if path != ("template",)
    and (how == "value" or _is_mapping_field(str(ex["template"]), path[:-1]))
] + [(-1, path, how) for path, how in _string_slots(SETTINGS) if how == "value" or len(path) == 1]


def _hostile_document(slot: tuple[int, Path_, str], value: str) -> dict[str, Any]:
    i, path, how = slot
    if i == -1:
        return _document(None, _replace(SETTINGS, path, how, value))
    return _document(_replace(EXAMPLES[i], path, how, value), {})


def _benign_document(slot: tuple[int, Path_, str]) -> dict[str, Any]:
    i = slot[0]
    return _document(None, SETTINGS) if i == -1 else _document(EXAMPLES[i], {})


def render_doc(doc: dict[str, Any]) -> str:
    text = yaml.safe_dump(doc, allow_unicode=False)
    s, b = load_text(text, "policies/t.yaml", Path("/nonexistent"))
    return to_sql(render(PolicySet(settings=s, blocks=b)))


# -- the oracle ---------------------------------------------------------------------
def _shape(sql: str) -> Counter[tuple[str, ...]]:
    """The statements of ``sql`` as sequences of token kinds (a multiset: objects
    are sorted by name, so a different name may reorder them). Dollar-quoted
    bodies are scanned too, so a value that leaves its identifier or constant
    inside a function body changes the shape. A name or constant written in an
    escaped form (``U&"a\\001B"``, ``U&'...'``, with or without ``UESCAPE '!'``)
    is still one name or constant."""
    stmts: list[tuple[str, ...]] = []
    current: list[str] = []
    toks = pgsql.tokens(sql)
    for i, (kind, text) in enumerate(toks):
        if kind == "UESCAPE" or (i and toks[i - 1][0] == "UESCAPE"):
            continue
        kind = {"UIDENT": "IDENT", "USCONST": "SCONST"}.get(kind, kind)
        if kind == "ASCII_59":
            stmts.append(tuple(current))
            current = []
            continue
        if kind == "SCONST" and text.startswith("$"):
            tag = text[: text.index("$", 1) + 1]
            body = text[len(tag) : -len(tag)]
            inner = _shape(body)
            current.append("BODY" + repr(sorted(inner.items())))
            continue
        current.append(kind)
    if current:
        stmts.append(tuple(current))
    return Counter(stmts)


def _statement_kinds(sql: str) -> Counter[str]:
    return Counter(next(iter(s["stmt"])) for s in pgsql.parse_json(sql))


def assert_same_statements(benign: str, hostile: str) -> None:
    """``hostile`` is ``benign`` with other names and constants, and nothing else."""
    assert _statement_kinds(hostile) == _statement_kinds(benign)
    assert _shape(hostile) == _shape(benign)


def check(slot: tuple[int, Path_, str], value: str) -> None:
    benign = render_doc(_benign_document(slot))
    try:
        hostile = render_doc(_hostile_document(slot, value))
    except SpecError:
        return  # refused, with a message naming the file and key: fine
    assert_same_statements(benign, hostile)


FRAGMENTS = [
    "\n",
    "\r",
    "--",
    "/*",
    "*/",
    "'",
    '"',
    ";",
    "$",
    "$$",
    "$rlskit$",
    "$rlskit_1$",
    "\\",
    "\x00",
    "é",
    "日本",
    "\u2028",
    "\u2029",
    "\u0085",
    "\x1b[2K",
    "\x9b",
    "\u202e",
    "\x07",
    "\t",
    "E'",
    'U&"',
    "DROP TABLE app.victim",
    "x",
]
EXPLOITS = [
    "auth\nDROP TABLE app.victim;--",
    "x\rDROP TABLE app.victim;--",
    "x\u2028DROP TABLE app.victim;--",
    "$rlskit$;CREATE ROLE evil SUPERUSER LOGIN;SELECT $rlskit$",
    "$rlskit$",
    "x'); DROP TABLE app.victim; --",
    'x"; DROP TABLE app.victim; --',
    "*/ DROP TABLE app.victim; /*",
    "\\'; DROP TABLE app.victim; --",
    "$$;DROP TABLE app.victim;$$",
]


def _slot_id(slot: tuple[int, Path_, str]) -> str:
    i, path, how = slot
    where = "settings" if i == -1 else f"{EXAMPLES[i]['template']}#{i}"
    return f"{where}:{'.'.join(map(str, path))}:{how}"


@pytest.mark.parametrize("slot", SLOTS, ids=[_slot_id(s) for s in SLOTS])
def test_known_exploits_in_every_field(slot: tuple[int, Path_, str]) -> None:
    for value in EXPLOITS:
        check(slot, value)


hostile_values = st.lists(
    st.sampled_from(FRAGMENTS) | st.text(min_size=1, max_size=3), min_size=1, max_size=6
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slot=st.sampled_from(SLOTS), value=hostile_values)
def test_hostile_values_in_every_field(slot: tuple[int, Path_, str], value: str) -> None:
    check(slot, value)


def test_benign_examples_render_and_parse() -> None:
    for i in range(len(EXAMPLES)):
        sql = render_doc(_document(EXAMPLES[i], SETTINGS))
        assert pgsql.parse_json(sql)


# -- every string field of the spec is exercised --------------------------------------
def _schema_paths(tp: Any, prefix: str, out: set[str]) -> None:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        _schema_paths(args[0], prefix, out)
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, field in tp.model_fields.items():
            key = field.alias or name
            _schema_paths(field.annotation, f"{prefix}.{key}", out)
    elif origin in (typing.Union, __import__("types").UnionType):
        for a in args:
            _schema_paths(a, prefix, out)
    elif origin is list:
        _schema_paths(args[0], prefix, out)
    elif origin is dict:
        _schema_paths(args[0], f"{prefix}.<key>", out)
        _schema_paths(args[1], f"{prefix}.*", out)
    elif tp is str or (origin is typing.Literal and all(isinstance(a, str) for a in args)):
        out.add(prefix)


def _example_paths() -> set[str]:
    found: set[str] = set()
    docs = [(EXAMPLES[i]["template"], EXAMPLES[i]) for i in range(len(EXAMPLES))]
    for template, ex in docs:
        for path, how in _string_slots(ex):
            parts = [template]
            for j, p in enumerate(path):
                if isinstance(p, int):
                    continue
                last = j == len(path) - 1
                parent_is_dict_field = _is_mapping_field(template, path[:j])
                if parent_is_dict_field:
                    parts.append("<key>" if (last and how == "key") else "*")
                else:
                    parts.append(str(p))
            found.add(".".join(parts))
    for path, how in _string_slots(SETTINGS):
        found.add("settings." + ("<key>" if how == "key" and len(path) == 1 else "*." + path[-1]))
    return found


def test_every_string_field_of_every_template_is_exercised() -> None:
    """Adding a string field to the spec without covering it here fails this test."""
    wanted: set[str] = set()
    for template, model in BUILTIN.items():
        _schema_paths(model, template, wanted)
    settings_paths: set[str] = set()
    _schema_paths(Document.model_fields["settings"].annotation, "settings", settings_paths)
    wanted |= settings_paths
    wanted = {w for w in wanted if not w.endswith(".template")}
    missing = wanted - _example_paths()
    assert not missing, f"string fields not exercised by EXAMPLES: {sorted(missing)}"


# -- the exploits from the review, on a real server --------------------------------------
def _project(tmp_path: Path, setup_sql: str, policy: dict[str, Any]) -> Path:
    proj = tmp_path / "proj"
    assert rlskit("init", str(proj)).exit_code == 0
    assert rlskit("new", "setup", "--rev-id", "0001", project=proj).exit_code == 0
    up = next((proj / "sql").glob("0001_*.up.sql"))
    up.write_text(setup_sql)
    (proj / "policies" / "app.yaml").write_text(yaml.safe_dump({"policies": [policy]}))
    return proj


def _deploy(proj: Path, db: Database) -> bool:
    """What a user does: render, make a revision of the policies, upgrade."""
    if rlskit("render", project=proj).exit_code != 0:
        return False
    made = rlskit("new", "policies", "--rev-id", "0002", "--from-policies", project=proj)
    if made.exit_code != 0:
        return False
    return rlskit("upgrade", project=proj, url=db.url).exit_code == 0


def test_newline_in_signed_identity_schema_does_not_drop_a_table(
    tmp_path: Path, database: Database
) -> None:
    schema = "auth\nDROP TABLE app.victim;--"
    proj = _project(
        tmp_path,
        "CREATE SCHEMA app;\nCREATE TABLE app.victim (id int);\nCREATE ROLE app_user NOLOGIN;\n",
        {"template": "signed_identity", "schema": schema, "roles": ["app_user"]},
    )
    applied = _deploy(proj, database)
    assert database.scalar("SELECT to_regclass('app.victim') IS NOT NULL") is True
    if applied:  # the schema has exactly the name the YAML gave
        assert database.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = %s", schema) == 1


def test_dollar_tag_in_a_column_name_does_not_end_the_function_body(
    tmp_path: Path, database: Database
) -> None:
    column = "$rlskit$;CREATE ROLE evil SUPERUSER LOGIN;SELECT $rlskit$"
    # A baseline from `rlskit baseline` keeps pg_dump's check_function_bodies = false
    # (made SET LOCAL), so the rest of the deploy's transaction creates bodies unchecked.
    proj = _project(
        tmp_path,
        "SET LOCAL check_function_bodies = false;\n"
        "CREATE SCHEMA app;\n"
        "CREATE TABLE app.customers (id int, organisation_id bigint);\n"
        "CREATE TABLE app.members (user_id bigint, organisation_id bigint);\n"
        "CREATE ROLE app_user NOLOGIN;\n",
        {
            "template": "tenant_isolation",
            "table": "app.customers",
            "column": "organisation_id",
            "membership": {
                "table": "app.members",
                "user_column": "user_id",
                "tenant_column": column,
                "user": {"setting": "app.user_id"},
            },
            "roles": ["app_user"],
        },
    )
    try:
        applied = _deploy(proj, database)
        assert database.scalar("SELECT count(*) FROM pg_roles WHERE rolname = 'evil'") == 0
        assert applied
        # The function reads the column with exactly the name the YAML gave.
        body = database.scalar("SELECT prosrc FROM pg_proc WHERE proname = 'customers_tenant_ids'")
        assert f'm."{column}"' in str(body)
    finally:
        with database.connect(autocommit=True) as conn:
            conn.execute("DROP ROLE IF EXISTS evil")


def test_dollar_quote_never_uses_a_tag_inside_the_body() -> None:
    from rlskit.quoting import dollar_quote

    assert dollar_quote("SELECT 1") == "$rlskit$\nSELECT 1\n$rlskit$"
    body = "x $rlskit$ y $rlskit_1$ z"
    quoted = dollar_quote(body)
    assert quoted == f"$rlskit_2$\n{body}\n$rlskit_2$"
    assert pgsql.tokens(f"SELECT {quoted};") == [
        ("SELECT", "SELECT"),
        ("SCONST", quoted),
        ("ASCII_59", ";"),
    ]


def test_newline_in_a_revision_message_stays_in_the_comment(
    tmp_path: Path, database: Database
) -> None:
    """`rlskit new MESSAGE` writes the message as a comment at the top of the .sql files."""
    proj = _project(
        tmp_path,
        "CREATE SCHEMA app;\nCREATE TABLE app.victim (id int);\n",
        {"template": "allow_all", "table": "app.victim", "roles": ["app_user"]},
    )
    made = rlskit("new", "tidy\nDROP TABLE app.victim;--", "--rev-id", "0002", project=proj)
    assert made.exit_code == 0
    assert rlskit("upgrade", project=proj, url=database.url).exit_code == 0
    assert database.scalar("SELECT to_regclass('app.victim') IS NOT NULL") is True
