"""What lint rules look at: tables, policies, grants, roles and functions.

The same :class:`Model` is built two ways: statically from a project's SQL files
(:func:`from_files`, no database) and from an applied database's catalog
(``rlskit.lint.catalog``). Expressions are PostgreSQL parse trees as plain
dicts (``rlskit.pgsql.parse_json``), so rules never import the parser.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from rlskit import pgsql

Node = dict[str, Any]
COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Loc:
    """Where something is: a file and line, or a catalog object."""

    file: str | None
    line: int | None
    obj: str

    def __str__(self) -> str:
        if self.file:
            return f"{self.file}:{self.line}"
        return self.obj


@dataclass
class Table:
    name: str  # schema.table
    columns: set[str] = field(default_factory=set)
    rls_enabled: bool = False
    rls_forced: bool = False
    owner: str | None = None
    loc: Loc | None = None
    rls_loc: Loc | None = None
    serials: set[str] = field(default_factory=set)  # sequences behind serial columns
    column_order: list[str] = field(default_factory=list)
    indexes: list[tuple[str, ...]] = field(default_factory=list)  # indexed columns, in order
    column_types: dict[str, str] = field(default_factory=dict)  # column -> type name
    parents: list[str] = field(default_factory=list)  # inherited from / partition of
    partitioned: bool = False


@dataclass
class View:
    """A view or materialized view and the relations its query reads."""

    name: str
    materialized: bool
    options: set[str]  # security_invoker, security_barrier (set to true)
    reads: set[str]
    loc: Loc
    filters_by_caller: bool = False  # its WHERE depends on who reads (current_user, a setting)


@dataclass
class DefaultPrivilege:
    """``ALTER DEFAULT PRIVILEGES [IN SCHEMA s] GRANT ... ON <kind> TO grantee``."""

    kind: str  # table, sequence, function, schema, type
    schema: str | None  # None: every schema
    privileges: set[str]
    grantee: str
    loc: Loc
    owner: str | None = None  # the role whose future objects these are (FOR ROLE)


@dataclass
class Policy:
    table: str
    name: str
    command: str  # ALL, SELECT, INSERT, UPDATE, DELETE
    permissive: bool
    roles: list[str]  # "PUBLIC" when no TO clause
    using: Node | None
    check: Node | None
    loc: Loc

    @property
    def key(self) -> str:
        return f"policy:{self.table}:{self.name}"

    def applies_to(self, command: str) -> bool:
        return self.command in ("ALL", command)


@dataclass
class Grant:
    kind: str  # table, sequence, schema, function
    target: str
    privileges: set[str]
    grantee: str
    columns: tuple[str, ...] = ()
    loc: Loc | None = None


@dataclass
class Role:
    name: str
    superuser: bool = False
    bypassrls: bool = False
    login: bool = False
    password_in_sql: bool = False
    loc: Loc | None = None


@dataclass
class Function:
    name: str  # schema.name
    language: str
    security_definer: bool
    search_path: str | None
    returns_trigger: bool
    body: str
    params: list[str]
    plpgsql: Node | None
    public_execute: bool  # PUBLIC may execute it (the default until revoked)
    inlinable: bool
    loc: Loc
    volatility: str = "v"  # i, s, v (pg_proc.provolatile)
    leakproof: bool = False
    owner: str | None = None  # None: the role that ran the migrations (static)
    executors: set[str] | None = None  # catalog: roles holding EXECUTE (PUBLIC included)
    trees: list[Any] | None = field(default=None, repr=False, compare=False)  # parsed once


@dataclass
class Model:
    """Everything rules need; ``source`` is "static" or "catalog"."""

    source: str
    tables: dict[str, Table] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    roles: dict[str, Role] = field(default_factory=dict)
    memberships: set[tuple[str, str]] = field(default_factory=set)  # (role, member)
    functions: dict[str, Function] = field(default_factory=dict)
    inserted: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    lock_timeout_off: list[Loc] = field(default_factory=list)
    # (where, query, loc, variables of the block that only ever hold string constants)
    dynamic_sql: list[tuple[str, str, Loc, frozenset[str]]] = field(default_factory=list)
    parse_errors: list[tuple[Loc, str]] = field(default_factory=list)
    views: dict[str, View] = field(default_factory=dict)
    migrator: str | None = None  # the role that ran the migrations (catalog)
    default_privileges: list[DefaultPrivilege] = field(default_factory=list)
    transaction_control: list[tuple[Loc, str]] = field(default_factory=list)  # static only
    passwords: list[tuple[Loc, str]] = field(default_factory=list)  # (where, role): static only
    # (where, command, table): UPDATE/DELETE/MERGE/INSERT ... SELECT reading or changing
    # a table that had FORCE ROW LEVEL SECURITY when the statement ran: static only
    forced_data_changes: list[tuple[Loc, str, str]] = field(default_factory=list)
    _grants_by_table: dict[str, list[Grant]] | None = field(default=None, repr=False)
    _grants_seen: int = field(default=-1, repr=False)

    def table(self, name: str) -> Table:
        if name not in self.tables:
            self.tables[name] = Table(name)
        return self.tables[name]

    def roles_of(self, member: str) -> set[str]:
        """``member`` and every role it is (transitively) a member of."""
        out = {member}
        todo = [member]
        while todo:
            m = todo.pop()
            for role, mem in self.memberships:
                if mem == m and role not in out:
                    out.add(role)
                    todo.append(role)
        return out

    def table_grants(self, table: str) -> list[Grant]:
        if self._grants_by_table is None or self._grants_seen != len(self.grants):
            index: dict[str, list[Grant]] = {}
            for g in self.grants:
                if g.kind == "table":
                    index.setdefault(g.target, []).append(g)
            self._grants_by_table, self._grants_seen = index, len(self.grants)
        return self._grants_by_table.get(table, [])

    def function(self, name: str) -> Function | None:
        if name in self.functions:
            return self.functions[name]
        short = name.rsplit(".", 1)[-1]
        for f in self.functions.values():
            if f.name.rsplit(".", 1)[-1] == short:
                return f
        return None


# -- expression helpers (parse trees as dicts) --------------------------------------
_WALKED: dict[int, tuple[Any, list[tuple[str, Node]]]] = {}


def walk(node: Any) -> list[tuple[str, Node]]:
    """Every ``(node_type, fields)`` pair below ``node`` (memoised per tree: rules
    walk the same policy expressions many times)."""
    key = id(node)
    hit = _WALKED.get(key)
    if hit is not None and hit[0] is node:
        return hit[1]
    out: list[tuple[str, Node]] = []
    stack: list[Any] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            for k, v in n.items():
                if isinstance(v, dict):
                    if k[:1].isupper():
                        out.append((k, v))
                    stack.append(v)
                elif isinstance(v, list):
                    stack.append(v)
        elif isinstance(n, list):
            stack.extend(reversed(n))
    if isinstance(node, dict | list):
        _WALKED[key] = (node, out)
    return out


def forget_walks() -> None:
    """Drop the memo (after a lint run)."""
    _WALKED.clear()


def names(parts: list[Node]) -> list[str]:
    """``[{'String': {'sval': 'a'}}, ...]`` -> ``['a', ...]``."""
    return [p["String"]["sval"] for p in parts if "String" in p]


def func_name(call: Node) -> str:
    return ".".join(names(call.get("funcname", [])))


def calls(expr: Any) -> list[Node]:
    """Function calls in an expression."""
    return [n for t, n in walk(expr) if t == "FuncCall"]


def is_true(expr: Node | None) -> bool:
    if not expr or "A_Const" not in expr:
        return False
    c = expr["A_Const"]
    return bool(c.get("boolval", {}).get("boolval")) if "boolval" in c else False


def column_refs(expr: Any) -> list[list[str]]:
    return [names(n.get("fields", [])) for t, n in walk(expr) if t == "ColumnRef"]


def caller_dependent(expr: Any) -> bool:
    """Does the expression depend on who runs it (user, role, setting, or a function)?"""
    for t, n in walk(expr):
        if t == "SQLValueFunction" and n.get("op") in (
            "SVFOP_CURRENT_USER",
            "SVFOP_SESSION_USER",
            "SVFOP_CURRENT_ROLE",
            "SVFOP_USER",
        ):
            return True
        if t == "FuncCall":
            return True  # current_setting, a helper, pg_has_role...
        if t == "SubLink":
            return True
    return False


def sql_name(*parts: str) -> str:
    """A dotted name as SQL, quoted only where needed (``public.t ("userId")``): for the
    statements a message suggests."""
    from pglast.stream import maybe_double_quote_name

    return ".".join(str(maybe_double_quote_name(p)) for p in parts if p)


def string_consts(expr: Any) -> list[str]:
    return [n["sval"]["sval"] for t, n in walk(expr) if t == "A_Const" and "sval" in n]


# -- static builder ----------------------------------------------------------------
def _rangevar(rv: Node) -> str:
    return f"{rv.get('schemaname') or 'public'}.{rv['relname']}"


def _role(spec: Node) -> str:
    rs = spec.get("RoleSpec", spec)
    kind = rs.get("roletype")
    if kind == "ROLESPEC_PUBLIC":
        return "PUBLIC"
    if kind == "ROLESPEC_CSTRING":
        return str(rs["rolename"])
    return kind.removeprefix("ROLESPEC_").lower() if kind else "?"


_KEYS = ("CONSTR_PRIMARY", "CONSTR_UNIQUE")
_NOT_TABLES = {"OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE", "OBJECT_INDEX", "OBJECT_TYPE"}
_ALL_PRIVILEGES = {
    "table": {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"},
    "sequence": {"USAGE", "SELECT", "UPDATE"},
    "schema": {"USAGE", "CREATE"},
    "function": {"EXECUTE"},
    "type": {"USAGE"},
}


def _qualified(parts: list[str]) -> str:
    return ".".join(parts) if len(parts) > 1 else f"public.{parts[0]}"


class StaticBuilder:
    """Replays SQL files statement by statement into a :class:`Model`."""

    def __init__(self) -> None:
        self.model = Model("static")
        self._no_public_execute: set[str | None] = set()  # schemas (None: all)
        self._transactional = True  # the current file runs in rlskit's transaction

    def add_text(self, text: str, display: str) -> None:
        """Add one file's text (already normalised)."""
        from rlskit.sqlfile import NO_TRANSACTION

        self._transactional = NO_TRANSACTION.search(text) is None
        try:
            statements = pgsql.split(text)
        except pgsql.SplitError as exc:
            self.model.parse_errors.append((Loc(display, 1, display), str(exc)))
            return
        # Fast path: one parse of the whole file; per statement only if it fails.
        try:
            whole = pgsql.parse_json(text)
        except pgsql.ParseError:
            whole = None
        if whole is not None and len(whole) == len(statements):
            for st, item in zip(statements, whole, strict=True):
                self._dispatch(item["stmt"], Loc(display, st.line, display), st.text)
            return
        for st in statements:
            loc = Loc(display, st.line, display)
            try:
                parsed = pgsql.parse_json(st.text)
            except pgsql.ParseError as exc:
                self.model.parse_errors.append((loc, str(exc)))
                continue
            for item in parsed:
                self._dispatch(item["stmt"], loc, st.text)

    def _dispatch(self, stmt: Node, loc: Loc, text: str) -> None:
        node_type, node = next(iter(stmt.items()))
        handler = getattr(self, f"on_{node_type}", None)
        if handler is not None:
            handler(node, loc, text)

    def _defaults(self, kind: str, obj: str) -> list[DefaultPrivilege]:
        schema = obj.split(".", 1)[0]
        return [
            d
            for d in self.model.default_privileges
            if d.kind == kind and d.schema in (None, schema) and d.owner is None
        ]  # FOR ROLE x defaults apply to what x creates, not to the migrating role's objects

    # -- handlers -------------------------------------------------------------------
    def on_CreateStmt(self, n: Node, loc: Loc, text: str) -> None:
        t = self.model.table(_rangevar(n["relation"]))
        t.loc = loc
        t.parents = [_rangevar(r["RangeVar"]) for r in n.get("inhRelations", []) if "RangeVar" in r]
        t.partitioned = "partspec" in n
        for parent in t.parents:
            t.columns |= self.model.table(parent).columns
        for d in self._defaults("table", t.name):
            self.model.grants.append(Grant("table", t.name, set(d.privileges), d.grantee, (), loc))
        for elt in n.get("tableElts", []):
            if "Constraint" in elt and elt["Constraint"].get("contype") in _KEYS:
                t.indexes.append(tuple(names(elt["Constraint"].get("keys", []))))
            if "ColumnDef" in elt:
                col = elt["ColumnDef"]
                t.columns.add(col["colname"])
                t.column_order.append(col["colname"])
                typ_names = names(col.get("typeName", {}).get("names", []))
                if typ_names:
                    t.column_types[col["colname"]] = typ_names[-1]
                for c in col.get("constraints", []):
                    if c.get("Constraint", {}).get("contype") in _KEYS:
                        t.indexes.append((col["colname"],))
                typ = names(col.get("typeName", {}).get("names", []))
                if typ and typ[-1] in (
                    "serial",
                    "bigserial",
                    "smallserial",
                    "serial4",
                    "serial8",
                    "serial2",
                ):
                    schema, table = t.name.split(".", 1)
                    t.serials.add(f"{schema}.{table}_{col['colname']}_seq")

    def on_IndexStmt(self, n: Node, loc: Loc, text: str) -> None:
        t = self.model.table(_rangevar(n["relation"]))
        cols = [e["IndexElem"].get("name") or "?" for e in n.get("indexParams", [])]
        t.indexes.append(tuple(cols))

    def on_ViewStmt(self, n: Node, loc: Loc, text: str) -> None:
        name = _rangevar(n["view"])
        opts = {
            o["DefElem"]["defname"]
            for o in n.get("options", [])
            if str(o["DefElem"].get("arg", {}).get("String", {}).get("sval", "true")).lower()
            in ("true", "on", "1", "yes")
        }
        self.model.views[name] = View(
            name, False, opts, tables_read(n.get("query")), loc, view_filters_by_caller(n["query"])
        )

    def on_CreateTableAsStmt(self, n: Node, loc: Loc, text: str) -> None:
        if n.get("objtype") == "OBJECT_MATVIEW":
            name = _rangevar(n["into"]["rel"])
            self.model.views[name] = View(name, True, set(), tables_read(n.get("query")), loc)

    def on_AlterDefaultPrivilegesStmt(self, n: Node, loc: Loc, text: str) -> None:
        action = n.get("action", {})
        kind = {
            "OBJECT_TABLE": "table",
            "OBJECT_SEQUENCE": "sequence",
            "OBJECT_FUNCTION": "function",
            "OBJECT_ROUTINE": "function",
            "OBJECT_SCHEMA": "schema",
            "OBJECT_TYPE": "type",
        }.get(action.get("objtype", ""), "")
        schemas: list[str | None] = [None]
        owners: list[str | None] = [None]
        for o in n.get("options", []):
            d = o["DefElem"]
            if d["defname"] == "schemas":
                schemas = list(names(d["arg"]["List"]["items"]))
            elif d["defname"] == "roles":
                owners = [_role(r) for r in d["arg"]["List"]["items"]]
        privs = {
            p["AccessPriv"]["priv_name"].upper() for p in action.get("privileges", []) or []
        } or {"ALL"}
        if "ALL" in privs:
            privs = set(_ALL_PRIVILEGES.get(kind, {"ALL"}))
        for grantee in (_role(g) for g in action.get("grantees", [])):
            for schema in schemas:
                if action.get("is_grant"):
                    for owner in owners:
                        self.model.default_privileges.append(
                            DefaultPrivilege(kind, schema, set(privs), grantee, loc, owner)
                        )
                    continue
                for d in self.model.default_privileges:
                    if d.kind == kind and d.grantee == grantee and schema in (None, d.schema):
                        d.privileges -= privs
                if grantee == "PUBLIC" and kind == "function" and "EXECUTE" in privs:
                    self._no_public_execute.add(schema)
        self.model.default_privileges = [d for d in self.model.default_privileges if d.privileges]

    def on_TransactionStmt(self, n: Node, loc: Loc, text: str) -> None:
        kind = str(n.get("kind", "")).removeprefix("TRANS_STMT_")
        if self._transactional and kind in (
            "BEGIN",
            "START",
            "COMMIT",
            "ROLLBACK",
            "COMMIT_PREPARED",
            "PREPARE",
        ):
            self.model.transaction_control.append((loc, kind.replace("_", " ")))

    def on_AlterTableStmt(self, n: Node, loc: Loc, text: str) -> None:
        name = _rangevar(n["relation"])
        if n.get("objtype") in _NOT_TABLES or (
            name in self.model.views and name not in self.model.tables
        ):
            return  # ALTER VIEW / SEQUENCE / INDEX (or ALTER TABLE on a view): not a table
        t = self.model.table(name)
        for cmd in n.get("cmds", []):
            c = cmd.get("AlterTableCmd", {})
            sub = c.get("subtype")
            if sub == "AT_EnableRowSecurity":
                t.rls_enabled, t.rls_loc = True, loc
            elif sub == "AT_DisableRowSecurity":
                t.rls_enabled = False
            elif sub == "AT_ForceRowSecurity":
                t.rls_forced = True
            elif sub == "AT_NoForceRowSecurity":
                t.rls_forced = False
            elif sub == "AT_ChangeOwner":
                t.owner = _role(c["newowner"])
            elif sub == "AT_AddColumn":
                t.columns.add(c["def"]["ColumnDef"]["colname"])
            elif sub == "AT_AddConstraint":
                con = c.get("def", {}).get("Constraint", {})
                if con.get("contype") in _KEYS:
                    t.indexes.append(tuple(names(con.get("keys", []))))

    def on_CreatePolicyStmt(self, n: Node, loc: Loc, text: str) -> None:
        table = _rangevar(n["table"])
        self.model.table(table)
        roles = [_role(r) for r in n.get("roles", [])] or ["PUBLIC"]
        p = Policy(
            table,
            n["policy_name"],
            n.get("cmd_name", "all").upper(),
            bool(n.get("permissive", False)),
            roles,
            n.get("qual"),
            n.get("with_check"),
            loc,
        )
        self.model.policies[p.key] = p

    def on_AlterPolicyStmt(self, n: Node, loc: Loc, text: str) -> None:
        key = f"policy:{_rangevar(n['table'])}:{n['policy_name']}"
        p = self.model.policies.get(key)
        if p is None:
            return
        if n.get("roles"):
            p.roles = [_role(r) for r in n["roles"]]
        if n.get("qual") is not None:
            p.using = n["qual"]
        if n.get("with_check") is not None:
            p.check = n["with_check"]

    def on_DropStmt(self, n: Node, loc: Loc, text: str) -> None:
        kind = n.get("removeType")
        for obj in n.get("objects", []):
            if kind == "OBJECT_POLICY" and "List" in obj:
                parts = names(obj["List"]["items"])
                table, policy = _qualified(parts[:-1]), parts[-1]
                self.model.policies.pop(f"policy:{table}:{policy}", None)
            elif kind == "OBJECT_TABLE" and "List" in obj:
                table = _qualified(names(obj["List"]["items"]))
                self.model.tables.pop(table, None)
                for k in [k for k, p in self.model.policies.items() if p.table == table]:
                    del self.model.policies[k]
            elif kind == "OBJECT_FUNCTION" and "ObjectWithArgs" in obj:
                fname = _qualified(names(obj["ObjectWithArgs"]["objname"]))
                self.model.functions.pop(fname, None)

    def on_AlterOwnerStmt(self, n: Node, loc: Loc, text: str) -> None:
        if n.get("objectType") not in ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE"):
            return
        obj = n.get("object", {}).get("ObjectWithArgs")
        f = self.model.functions.get(_qualified(names(obj["objname"]))) if obj else None
        if f is not None:
            f.owner = _role(n["newowner"])

    def on_GrantStmt(self, n: Node, loc: Loc, text: str) -> None:
        objtype = n.get("objtype", "")
        kind = {
            "OBJECT_TABLE": "table",
            "OBJECT_SEQUENCE": "sequence",
            "OBJECT_SCHEMA": "schema",
            "OBJECT_FUNCTION": "function",
        }.get(objtype)
        if kind is None:
            return
        grantees = [_role(g) for g in n.get("grantees", [])]
        privs: list[tuple[str, tuple[str, ...]]] = []
        for p in n.get("privileges", []) or []:
            ap = p["AccessPriv"]
            privs.append((ap["priv_name"].upper(), tuple(names(ap.get("cols", [])))))
        if not privs:
            privs = [("ALL", ())]
        targets: list[str] = []
        if n.get("targtype") == "ACL_TARGET_ALL_IN_SCHEMA":
            schemas = names(n.get("objects", []))
            targets = [f"{s}.*" for s in schemas]
            if kind == "table":
                targets += [t for t in self.model.tables if t.split(".")[0] in schemas]
        else:
            for obj in n.get("objects", []):
                if "RangeVar" in obj:
                    targets.append(_rangevar(obj["RangeVar"]))
                elif "String" in obj:
                    targets.append(obj["String"]["sval"])
                elif "ObjectWithArgs" in obj:
                    targets.append(_qualified(names(obj["ObjectWithArgs"]["objname"])))
        for target in targets:
            for grantee in grantees:
                for priv, cols in privs:
                    self._grant(kind, target, priv, cols, grantee, loc, bool(n.get("is_grant")))

    def _grant(
        self,
        kind: str,
        target: str,
        priv: str,
        cols: tuple[str, ...],
        grantee: str,
        loc: Loc,
        is_grant: bool,
    ) -> None:
        expanded = {
            "table": {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"},
            "sequence": {"USAGE", "SELECT", "UPDATE"},
            "schema": {"USAGE", "CREATE"},
            "function": {"EXECUTE"},
        }[kind]
        privileges = expanded if priv in ("ALL", "ALL PRIVILEGES") else {priv}
        if is_grant:
            self.model.grants.append(Grant(kind, target, set(privileges), grantee, cols, loc))
            if kind == "function" and grantee == "PUBLIC":
                f = self.model.function(target)
                if f is not None:
                    f.public_execute = True
            return
        for g in self.model.grants:
            if g.kind == kind and g.target == target and g.grantee == grantee and g.columns == cols:
                g.privileges -= privileges
        self.model.grants = [g for g in self.model.grants if g.privileges]
        if kind == "function" and grantee == "PUBLIC":
            f = self.model.function(target)
            if f is not None:
                f.public_execute = False

    def on_CreateRoleStmt(self, n: Node, loc: Loc, text: str) -> None:
        r = Role(n["role"], loc=loc, login=n.get("stmt_type") == "ROLESTMT_USER")
        self._role_options(r, n.get("options", []), loc)
        self.model.roles[r.name] = r

    def on_AlterRoleStmt(self, n: Node, loc: Loc, text: str) -> None:
        name = _role(n["role"])
        r = self.model.roles.setdefault(name, Role(name, loc=loc))
        self._role_options(r, n.get("options", []), loc)

    def _role_options(self, r: Role, options: list[Node], loc: Loc) -> None:
        for o in options:
            d = o["DefElem"]
            val = d.get("arg", {}).get("Boolean", {}).get("boolval", True)
            name = d["defname"]
            if name == "superuser":
                r.superuser = bool(val)
            elif name == "bypassrls":
                r.bypassrls = bool(val)
            elif name == "canlogin":
                r.login = bool(val)
            elif name == "password" and d.get("arg"):
                r.password_in_sql = True
                self.model.passwords.append((loc, r.name))
            elif name == "addroleto":
                for parent in d.get("arg", {}).get("List", {}).get("items", []):
                    self.model.memberships.add((_role(parent), r.name))

    def on_GrantRoleStmt(self, n: Node, loc: Loc, text: str) -> None:
        for granted in n.get("granted_roles", []):
            role = granted["AccessPriv"]["priv_name"]
            for member in n.get("grantee_roles", []):
                pair = (role, _role(member))
                if n.get("is_grant"):
                    self.model.memberships.add(pair)
                else:
                    self.model.memberships.discard(pair)

    def on_CreateFunctionStmt(self, n: Node, loc: Loc, text: str) -> None:
        name = _qualified(names(n["funcname"]))
        opts = {o["DefElem"]["defname"]: o["DefElem"].get("arg") for o in n.get("options", [])}
        language = (opts.get("language") or {}).get("String", {}).get("sval", "sql")
        secdef = bool((opts.get("security") or {}).get("Boolean", {}).get("boolval", False))
        volatility = (opts.get("volatility") or {}).get("String", {}).get("sval", "volatile")
        leakproof = bool((opts.get("leakproof") or {}).get("Boolean", {}).get("boolval", False))
        search_path = None
        for o in n.get("options", []):
            d = o["DefElem"]
            if d["defname"] == "set":
                vs = d["arg"]["VariableSetStmt"]
                if vs.get("name") == "search_path":
                    if vs.get("kind") == "VAR_SET_CURRENT":
                        search_path = "(from current)"
                    else:
                        search_path = ", ".join(
                            str(a.get("A_Const", {}).get("sval", {}).get("sval", "?")) or '""'
                            for a in vs.get("args", [])
                        )
        body_parts = (opts.get("as") or {}).get("List", {}).get("items", [])
        body = body_parts[0]["String"]["sval"] if body_parts else ""
        rettype = names(n.get("returnType", {}).get("names", []))
        params = [p["FunctionParameter"].get("name", "") for p in n.get("parameters", [])]
        plpgsql = pgsql.parse_plpgsql(text) if language == "plpgsql" else None
        f = Function(
            name=name,
            language=language,
            security_definer=secdef,
            search_path=search_path,
            returns_trigger=bool(rettype) and rettype[-1] in ("trigger", "event_trigger"),
            body=body,
            params=[p for p in params if p],
            plpgsql=plpgsql,
            public_execute=not ({None, name.split(".", 1)[0]} & self._no_public_execute),
            inlinable=language == "sql" and not secdef and volatility != "volatile",
            loc=loc,
            volatility=volatility[:1],
            leakproof=leakproof,
        )
        self.model.functions[name] = f
        for d in self._defaults("function", name):
            if d.grantee == "PUBLIC":
                f.public_execute = True
            self.model.grants.append(Grant("function", name, {"EXECUTE"}, d.grantee, (), loc))
        if plpgsql:
            self._dynamic(plpgsql, f"function {name}", loc)

    def on_DoStmt(self, n: Node, loc: Loc, text: str) -> None:
        tree = pgsql.parse_plpgsql(text)
        if not tree:
            return
        self._dynamic(tree, "DO block", loc)
        # The statements a DO block runs are migrations too: replay them.
        for t, node in walk(tree):
            line = (loc.line or 1) + max(int(node.get("lineno", 1)) - 1, 0)
            inner = Loc(loc.file, line, loc.obj)
            if t in ("PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback") and self._transactional:
                self.model.transaction_control.append((inner, t.rsplit("_", 1)[-1].upper()))
            elif t == "PLpgSQL_stmt_execsql":
                q = str(node.get("sqlstmt", {}).get("PLpgSQL_expr", {}).get("query", ""))
                try:
                    parsed = pgsql.parse_json(q)
                except pgsql.ParseError:
                    continue
                for item in parsed:
                    self._dispatch(item["stmt"], inner, q)

    def _dynamic(self, tree: Node, where: str, loc: Loc) -> None:
        consts = constant_variables(tree)
        for t, node in walk(tree):
            if t == "PLpgSQL_stmt_dynexecute":
                q = node.get("query", {}).get("PLpgSQL_expr", {}).get("query", "")
                line = (loc.line or 1) + max(int(node.get("lineno", 1)) - 1, 0)
                self.model.dynamic_sql.append((where, q, Loc(loc.file, line, loc.obj), consts))

    def _data_change(self, command: str, tables: set[str], loc: Loc) -> None:
        for name in sorted(tables):
            t = self.model.tables.get(name)
            if t is not None and t.rls_enabled and t.rls_forced:
                self.model.forced_data_changes.append((loc, command, name))

    def on_UpdateStmt(self, n: Node, loc: Loc, text: str) -> None:
        self._data_change("UPDATE", {_rangevar(n["relation"])} | tables_read(n), loc)

    def on_DeleteStmt(self, n: Node, loc: Loc, text: str) -> None:
        self._data_change("DELETE", {_rangevar(n["relation"])} | tables_read(n), loc)

    def on_MergeStmt(self, n: Node, loc: Loc, text: str) -> None:
        self._data_change("MERGE", {_rangevar(n["relation"])} | tables_read(n), loc)

    def on_InsertStmt(self, n: Node, loc: Loc, text: str) -> None:
        table = _rangevar(n["relation"])
        self._data_change("INSERT ... SELECT", tables_read(n.get("selectStmt")) - {table}, loc)
        cols = [c["ResTarget"]["name"] for c in n.get("cols", [])]
        if not cols and table in self.model.tables:
            cols = self.model.tables[table].column_order
        select = n.get("selectStmt", {}).get("SelectStmt", {})
        for row in select.get("valuesLists", []) or []:
            items = row.get("List", {}).get("items", [])
            for col, item in zip(cols, items, strict=False):
                if "A_Const" in item and "sval" in item["A_Const"]:
                    self.model.inserted.setdefault((table, col), set()).add(
                        item["A_Const"]["sval"]["sval"]
                    )

    def on_VariableSetStmt(self, n: Node, loc: Loc, text: str) -> None:
        if n.get("name") == "lock_timeout":
            args = n.get("args", [])
            val = args[0].get("A_Const", {}) if args else {}
            zero = (
                val.get("ival", {}).get("ival", 0) == 0
                if "ival" in val
                else str(val.get("sval", {}).get("sval", "")).strip() in ("0", "")
            )
            if n.get("kind") in ("VAR_RESET", "VAR_SET_DEFAULT") or zero:
                self.model.lock_timeout_off.append(loc)


def _constant_text(expr: Any) -> bool:
    """A string constant, or constants joined with ``||``."""
    if not isinstance(expr, dict):
        return False
    while "TypeCast" in expr and expr["TypeCast"].get("arg"):
        expr = expr["TypeCast"]["arg"]
    if "A_Const" in expr:
        return True
    a = expr.get("A_Expr")
    return (
        a is not None
        and names(a.get("name", [])) == ["||"]
        and _constant_text(a.get("lexpr"))
        and _constant_text(a.get("rexpr"))
    )


def constant_variables(tree: Node) -> frozenset[str]:
    """Variables a plpgsql body declares and only ever assigns string constants
    (``sql := 'tenant_id = ' ' ...'``): never a parameter, a query's INTO target or
    a loop variable. Concatenating them into dynamic SQL injects nothing."""
    datums = tree.get("datums", [])
    declared: dict[int, str] = {}
    for i, d in enumerate(datums):
        var = d.get("PLpgSQL_var")
        if var is None or "lineno" not in var:  # parameters and FOUND have no line
            continue
        default = var.get("default_val", {}).get("PLpgSQL_expr", {}).get("query")
        if default is not None:
            try:
                if not _constant_text(pgsql.parse_expression(str(default))):
                    continue
            except pgsql.ParseError:
                continue
        declared[i] = str(var.get("refname", ""))
    unsafe: set[int] = set()
    for t, node in walk(tree.get("action", {})):
        if t == "PLpgSQL_stmt_assign":
            q = str(node.get("expr", {}).get("PLpgSQL_expr", {}).get("query", ""))
            value = q.split(":=", 1)[-1] if ":=" in q else q.split("=", 1)[-1]
            try:
                ok = _constant_text(pgsql.parse_expression(value))
            except pgsql.ParseError:
                ok = False
            if not ok:
                unsafe.add(int(node.get("varno", -1)))
            continue
        # any other reference to a variable (INTO, FOR target, GET DIAGNOSTICS) sets it
        for key in ("varno", "dno"):
            if key in node:
                unsafe.add(int(node[key]))
        for f in node.get("fields", []) if isinstance(node.get("fields"), list) else []:
            if isinstance(f, dict) and "varno" in f:
                unsafe.add(int(f["varno"]))
    return frozenset(n for i, n in declared.items() if i not in unsafe and n)


def function_trees(f: Function) -> list[Any]:
    """Parse trees of a function's SQL: the body of a SQL function, or each
    statement and expression inside a plpgsql body. Parsed once per function:
    several rules ask, once per policy that calls it."""
    if f.trees is not None:
        return f.trees
    out: list[Any] = []
    if f.language == "sql":
        with contextlib.suppress(pgsql.ParseError):
            out.extend(s["stmt"] for s in pgsql.parse_json(f.body))
    elif f.plpgsql is not None:
        for t, n in walk(f.plpgsql):
            if t == "PLpgSQL_expr":
                q = str(n.get("query", ""))
                try:
                    if n.get("parseMode", 0) == 0:
                        out.extend(s["stmt"] for s in pgsql.parse_json(q))
                    else:
                        expr = pgsql.parse_expression(q)
                        if expr is not None:
                            out.append(expr)
                except pgsql.ParseError:
                    continue
    f.trees = out
    return out


def view_filters_by_caller(query: Any) -> bool:
    """Does a view's top-level WHERE depend on the caller (a row-filtering view)?"""
    where = (query or {}).get("SelectStmt", {}).get("whereClause")
    return where is not None and caller_dependent(where)


def tables_read(tree: Any) -> set[str]:
    """Tables named in FROM clauses below ``tree``."""
    return {
        f"{n.get('schemaname') or 'public'}.{n['relname']}"
        for t, n in walk(tree)
        if t == "RangeVar" and "relname" in n
    }
