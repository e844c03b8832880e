"""Findings, rules and the lint configuration. Pure: no database access."""

from __future__ import annotations

import configparser
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlskit.lint.model import Loc, Model, Node, walk

SEVERITIES = ("error", "warning")


@dataclass(frozen=True)
class Finding:
    """One problem a rule found."""

    rule: str
    severity: str
    message: str
    loc: Loc
    key: str  # the object it is about, to merge static and catalog findings
    static_only: bool = False  # about something the catalog cannot show (DO block, file text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "file": self.loc.file,
            "line": self.loc.line,
            "object": self.loc.obj,
            "key": self.key,
            "fingerprint": self.fingerprint,
        }

    @property
    def fingerprint(self) -> str:
        """Stable under line shifts: the rule, the object and the message."""
        import hashlib

        text = f"{self.rule}\0{self.key}\0{self.message}"
        return hashlib.sha256(text.encode()).hexdigest()[:20]


# Platform profiles (``profile = supabase`` in ``[rlskit.lint]``): who is admin, who is
# a low-trust API caller, which settings carry a verified identity.
_JWT_SETTINGS = {
    "request.jwt.claims",
    "request.jwt.claim",
    "request.jwt.claim.*",  # PostgREST < 9: one setting per claim of the verified JWT
    "request.jwt.claim.sub",
    "request.jwt.claim.role",
    "request.jwt.claim.email",
}
PROFILES: dict[str, dict[str, set[str]]] = {
    "postgrest": {
        "low_trust_roles": {"anon", "web_anon", "authenticated"},
        "anonymous_roles": {"anon", "web_anon"},
        "trusted_settings": set(_JWT_SETTINGS),
    },
    "supabase": {
        "admin_roles": {
            "service_role",
            "postgres",
            "supabase_admin",
            "supabase_auth_admin",
            "supabase_storage_admin",
            "dashboard_user",
        },
        "low_trust_roles": {"anon", "authenticated"},
        "anonymous_roles": {"anon"},
        "migrator": {"postgres"},  # runs the migrations, owns the tables; BYPASSRLS
        "trusted_settings": set(_JWT_SETTINGS),
        "platform_schemas": {
            "auth",
            "storage",
            "extensions",
            "graphql",
            "graphql_public",
            "realtime",
            "supabase_functions",
            "vault",
            "pgsodium",
        },
    },
}


@dataclass
class LintConfig:
    """``[rlskit.lint]`` in alembic.ini."""

    ignore: set[str] = field(default_factory=set)
    admin_roles: set[str] = field(default_factory=set)
    trusted_settings: set[str] = field(default_factory=set)
    public_tables: set[str] = field(default_factory=set)
    lock_timeout: float = 5.0  # the project's per-revision lock_timeout (0: none)
    low_trust_roles: set[str] = field(default_factory=set)  # API callers (anon, ...)
    platform_schemas: set[str] = field(default_factory=set)  # not the project's objects
    anonymous_roles: set[str] = field(default_factory=set)  # callers without an identity (anon)
    migrator: str | None = None  # the platform's migrating role, which bypasses RLS
    migrate_as: str | None = None  # [rlskit] migrate_as: a migrating role RLS applies to
    profile: str | None = None

    def trusts(self, setting: str) -> bool:
        """Is ``setting`` set only by a trusted layer? Entries ending in ``.*`` are prefixes."""
        return setting in self.trusted_settings or any(
            t.endswith(".*") and setting.startswith(t[:-1]) for t in self.trusted_settings
        )

    def apply_profile(self, name: str) -> None:
        """Add a platform's roles and settings (``supabase``, ``postgrest``)."""
        preset = PROFILES[name]
        self.profile = name
        self.admin_roles |= preset.get("admin_roles", set())
        self.low_trust_roles |= preset.get("low_trust_roles", set())
        self.trusted_settings |= preset.get("trusted_settings", set())
        self.platform_schemas |= preset.get("platform_schemas", set())
        self.anonymous_roles |= preset.get("anonymous_roles", set())
        self.migrator = next(iter(preset.get("migrator", set())), self.migrator)

    @classmethod
    def from_ini(cls, ini: Path | None, lock_timeout: float = 5.0) -> LintConfig:
        cfg = cls(lock_timeout=lock_timeout)
        if ini is None or not ini.is_file():
            return cfg
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(ini)
        cfg.migrate_as = parser.get("rlskit", "migrate_as", fallback="").strip() or None
        if not parser.has_section("rlskit.lint"):
            return cfg

        def items(key: str) -> set[str]:
            raw = parser.get("rlskit.lint", key, fallback="")
            return {x for x in re.split(r"[\s,]+", raw) if x}

        cfg.ignore = {x.upper() for x in items("ignore")}
        cfg.admin_roles = items("admin_roles")
        cfg.trusted_settings = items("trusted_settings")
        cfg.public_tables = items("public_tables")
        cfg.low_trust_roles = items("low_trust_roles")
        cfg.platform_schemas = items("platform_schemas")
        cfg.anonymous_roles = items("anonymous_roles")
        profile = parser.get("rlskit.lint", "profile", fallback="").strip().lower()
        if profile:
            if profile not in PROFILES:
                from rlskit.errors import RlskitError

                raise RlskitError(
                    f"{ini}: [rlskit.lint] profile = {profile} is not a known profile.",
                    f"Use one of: {', '.join(sorted(PROFILES))}, or leave it out.",
                )
            cfg.apply_profile(profile)
        return cfg


Check = Callable[[Model, LintConfig], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """A lint rule: id, short name, severity, its check and its documentation."""

    id: str
    name: str
    severity: str
    check: Check
    doc: str
    static_only: bool = False  # sees what only the files show (passwords, BEGIN, lock_timeout)

    def finding(self, message: str, loc: Loc, key: str, static_only: bool = False) -> Finding:
        return Finding(self.id, self.severity, message, loc, key, static_only or self.static_only)


def make_rule(
    id_: str, name: str, severity: str, doc: str | None, static_only: bool = False
) -> Callable[[Check], Rule]:
    """Decorator: ``RULE = make_rule("RLS001", "name", "error", __doc__)(check)``."""
    assert severity in SEVERITIES

    def wrap(fn: Check) -> Rule:
        return Rule(id_, name, severity, fn, (doc or "").strip(), static_only)

    return wrap


def with_parents(
    node: Any, parents: tuple[str, ...] = ()
) -> Iterator[tuple[str, Node, tuple[str, ...]]]:
    """Like ``walk`` but with the node types above each node."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, dict) and k[:1].isupper():
                yield k, v, parents
                yield from with_parents(v, (*parents, k))
            else:
                yield from with_parents(v, parents)
    elif isinstance(node, list):
        for item in node:
            yield from with_parents(item, parents)


# ``TO CURRENT_USER`` / ``TO CURRENT_ROLE`` as the static model names them
CURRENT_ROLE_SPECS = frozenset({"current_user", "current_role"})


def migrator_roles(model: Model, config: LintConfig) -> set[str]:
    """The role running the migrations, under each name it has in ``model``."""
    return set(CURRENT_ROLE_SPECS) | {
        r for r in (model.migrator, config.migrator, config.migrate_as) if r
    }


def migrator_policy(model: Model, config: LintConfig, policy: Any) -> bool:
    """A policy only for the role running the migrations (``TO CURRENT_USER`` in a
    migration), such as the SELECT policy the templates give the owner of their
    SECURITY DEFINER helpers: not an application role's access."""
    return bool(policy.roles) and set(policy.roles) <= migrator_roles(model, config)


def policy_exprs(model: Model) -> Iterator[tuple[Any, str, Node]]:
    """Each policy with each of its expressions (``USING`` / ``WITH CHECK``)."""
    for p in model.policies.values():
        for label, expr in (("USING", p.using), ("WITH CHECK", p.check)):
            if expr is not None:
                yield p, label, expr


def _row_free(node: Any) -> bool:
    """An expression of the caller, not of the row: no column, but a call, a
    subquery or current_user."""
    kinds = {t for t, _ in walk(node)} | set(node) if isinstance(node, dict) else set()
    return "ColumnRef" not in kinds and bool(kinds & {"FuncCall", "SubLink", "SQLValueFunction"})


def scoping_columns(expr: Any, table: str | None = None) -> list[str]:
    """Columns a policy compares with the caller: ``col = auth.uid()``,
    ``col IN (SELECT ...)``, ``col = ANY (...)``; with ``table``, also the columns of
    that table a subquery ties to the caller (``EXISTS (... m.org_id = docs.org_id
    AND m.user_id = auth.uid())`` scopes ``docs.org_id``)."""
    out: list[str] = []
    if table is not None:
        short = table.rsplit(".", 1)[-1]
        for t, n in walk(expr):
            if t != "SubLink" or not scoping_columns(n.get("subselect")):
                continue
            for t2, n2 in walk(n.get("subselect")):
                if t2 != "A_Expr" or [
                    x.get("String", {}).get("sval") for x in n2.get("name", [])
                ] != ["="]:
                    continue
                for side in (n2.get("lexpr") or {}, n2.get("rexpr") or {}):
                    side = uncast(side)
                    parts = [
                        f.get("String", {}).get("sval")
                        for f in side.get("ColumnRef", {}).get("fields", [])
                    ]
                    if len(parts) >= 2 and parts[-2] == short and parts[-1] not in out:
                        out.append(str(parts[-1]))
    for t, n in walk(expr):
        pairs: list[tuple[Any, Any]] = []
        if (
            t == "A_Expr"
            and n.get("kind") in ("AEXPR_OP", "AEXPR_OP_ANY")
            and ([x.get("String", {}).get("sval") for x in n.get("name", [])] == ["="])
        ):
            pairs = [(n.get("lexpr"), n.get("rexpr")), (n.get("rexpr"), n.get("lexpr"))]
        elif t == "SubLink" and n.get("subLinkType") == "ANY_SUBLINK":
            pairs = [(n.get("testexpr"), n.get("subselect"))]
        for col, other in pairs:
            if not isinstance(col, dict) or not isinstance(other, dict):
                continue
            col = uncast(col)
            if "ColumnRef" in col and (_row_free(other) or "SelectStmt" in other):
                parts = [f.get("String", {}).get("sval") for f in col["ColumnRef"]["fields"]]
                if parts and parts[-1] and parts[-1] not in out:
                    out.append(parts[-1])
    return out


def uncast(node: Node) -> Node:
    """``'x'::text`` -> ``'x'``: the catalog writes casts the SQL files did not."""
    while "TypeCast" in node and node["TypeCast"].get("arg"):
        node = node["TypeCast"]["arg"]
    return node


def setting_reads(expr: Any) -> list[tuple[str | None, int]]:
    """``current_setting`` calls: (setting name or None, number of arguments / missing_ok)."""
    out: list[tuple[str | None, int]] = []
    for t, n in walk(expr):
        if (
            t == "FuncCall"
            and n.get("funcname")
            and n["funcname"][-1].get("String", {}).get("sval") == "current_setting"
        ):
            args = [uncast(a) for a in n.get("args", [])]
            name = None
            if args and "A_Const" in args[0] and "sval" in args[0]["A_Const"]:
                name = args[0]["A_Const"]["sval"]["sval"]
            missing_ok = 0
            if len(args) > 1:
                c = args[1].get("A_Const", {})
                missing_ok = 1 if c.get("boolval", {}).get("boolval") else 0
            out.append((name, missing_ok))
    return out
