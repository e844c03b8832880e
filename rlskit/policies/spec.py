"""The YAML policy spec as pydantic models, and its loader.

A file ``policies/*.yaml`` holds::

    settings:                      # session settings policies read (declared once)
      app.tenant_id: {type: bigint}
    policies:                      # blocks, each rendered by one template
      - template: tenant_isolation
        table: app.customers
        column: organisation_id
        setting: app.tenant_id
        roles: [app_user]

Validation errors name the file, line and key, say what was expected and
suggest the closest valid name. Pure: no database access.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from rlskit.errors import IdentifierError, SpecError
from rlskit.policies.yamlload import Located, load_yaml
from rlskit.quoting import check_identifier, check_role_name

COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
SETTING_TYPES = ("bigint", "integer", "text", "uuid", "boolean", "numeric")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT", "UPDATE")
SCHEMA_PRIVILEGES = ("USAGE", "CREATE")
_SETTING = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _ident(v: str) -> str:
    try:
        return check_identifier(v)
    except IdentifierError as exc:
        raise ValueError(exc.reason) from None


def _role(v: str) -> str:
    try:
        return check_role_name(v)
    except IdentifierError as exc:
        raise ValueError(exc.reason) from None


def _setting(v: str) -> str:
    if not _SETTING.match(v):
        raise ValueError(
            "a custom setting name is two or more words joined by dots, like app.tenant_id"
        )
    return v


def _command(v: str) -> str:
    up = v.upper()
    if up not in COMMANDS:
        raise ValueError(f"expected one of {', '.join(COMMANDS)}")
    return up


def _table(v: str) -> str:
    parts = v.split(".")
    if len(parts) > 2:
        raise ValueError("a table is 'name' or 'schema.name'")
    for p in parts:
        _ident(p)
    return v


Ident = Annotated[str, AfterValidator(_ident)]
RoleName = Annotated[str, AfterValidator(_role)]
SettingName = Annotated[str, AfterValidator(_setting)]
Command = Annotated[str, AfterValidator(_command)]
TableName = Annotated[str, AfterValidator(_table)]


def split_table(name: str) -> tuple[str, str]:
    """``'app.t'`` -> ``('app', 't')``; ``'t'`` -> ``('public', 't')``."""
    schema, _, table = name.rpartition(".")
    return (schema or "public", table)


class Model(BaseModel):
    """Strict: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Setting(Model):
    """A session setting the application sets per transaction."""

    type: Literal["bigint", "integer", "text", "uuid", "boolean", "numeric"] = "text"
    required: bool = False  # every transaction must set it (checked by rlskit.session)
    description: str = ""


class Identity(Model):
    """Who the caller is: from a session setting, from their role's name, or from a
    claim of a signed identity token (``signed_identity`` template) that no client
    can forge."""

    setting: SettingName | None = None
    role_prefix: str | None = Field(default=None, min_length=1, max_length=40)
    claim: Ident | None = None
    claims_schema: Ident = "auth"
    type: Literal["bigint", "integer", "text", "uuid"] = "bigint"

    @model_validator(mode="after")
    def _one(self) -> Identity:
        given = [x for x in (self.setting, self.role_prefix, self.claim) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'setting', 'role_prefix' or 'claim'")
        if self.role_prefix is not None and "\x00" in self.role_prefix:
            raise ValueError("role_prefix cannot contain NUL")
        return self


class Block(Model):
    """Fields every template block has."""

    name: Ident | None = None  # policy-name prefix; defaults to the table name
    description: str = ""


class TenantMembership(Model):
    """A user -> tenant table: rows are visible for every tenant the user belongs to."""

    table: TableName
    user_column: Ident
    tenant_column: Ident
    user: Identity


class TenantIsolation(Block):
    """Rows belong to a tenant; a caller sees the tenant(s) it is in."""

    template: Literal["tenant_isolation"]
    table: TableName
    column: Ident
    roles: list[RoleName] = Field(min_length=1)
    commands: list[Command] = Field(default_factory=lambda: list(COMMANDS), min_length=1)
    setting: SettingName | None = None
    type: Literal["bigint", "integer", "text", "uuid"] | None = None
    membership: TenantMembership | None = None
    index: bool = True

    @model_validator(mode="after")
    def _one(self) -> TenantIsolation:
        if (self.setting is None) == (self.membership is None):
            raise ValueError("give exactly one of 'setting' or 'membership'")
        return self


class Through(Model):
    """Ownership through a parent row: ``row.column -> parent.key``, owned by ``parent.owner_column``."""

    table: TableName
    key: Ident = "id"
    owner_column: Ident


class OwnerOnly(Block):
    """Rows whose owner column is the caller; WITH CHECK keeps rows from being handed over."""

    template: Literal["owner_only"]
    table: TableName
    column: Ident
    owner: Identity
    roles: list[RoleName] = Field(min_length=1)
    commands: list[Command] = Field(default_factory=lambda: list(COMMANDS), min_length=1)
    through: Through | None = None
    index: bool = True


class RowFilter(Model):
    """A condition on the row: ``column = value`` or ``column IN (values)``."""

    column: Ident
    equals: str | int | bool | None = None
    in_: list[str | int] | None = Field(default=None, alias="in")

    @model_validator(mode="after")
    def _one(self) -> RowFilter:
        if (self.equals is None) == (self.in_ is None):
            raise ValueError("give exactly one of 'equals' or 'in'")
        return self


class Rule(Model):
    """Allowed when the caller's role has ``permission`` (and the row matches ``where``)."""

    permission: str = Field(min_length=1)
    where: RowFilter | None = None


class PermissionTable(Model):
    """The role -> permission table (seed 001's auth_role_permission, seed 004's roles_permissions)."""

    table: TableName
    role_column: Ident = "role"
    permission_column: Ident = "permission"


class Rbac(Block):
    """Role-based access via a role -> permission table, per command."""

    template: Literal["rbac"]
    table: TableName
    roles: list[RoleName] = Field(min_length=1)
    permissions: PermissionTable
    role_setting: SettingName
    rules: dict[Command, list[Rule]]


class AllowAll(Block):
    """Every row, for the listed roles and commands (a public catalog, an admin)."""

    template: Literal["allow_all"]
    table: TableName
    roles: list[RoleName] = Field(min_length=1)
    commands: list[Command] = Field(default_factory=lambda: list(COMMANDS), min_length=1)


class RoleDef(Model):
    """A group role and the roles whose privileges it inherits."""

    member_of: list[RoleName] = Field(default_factory=list)
    inherit: bool = True


class Grant(Model):
    """Schema, table, column or sequence privileges for one role."""

    to: RoleName
    schema_: Ident | None = Field(default=None, alias="schema")
    table: TableName | None = None
    sequence: TableName | None = None
    privileges: list[str] | None = None
    columns: dict[str, list[Ident]] | None = None  # privilege -> columns

    @model_validator(mode="after")
    def _check(self) -> Grant:
        targets = [t for t in (self.schema_, self.table, self.sequence) if t is not None]
        if len(targets) != 1:
            raise ValueError("give exactly one of 'schema', 'table' or 'sequence'")
        if self.schema_ is not None:
            allowed: tuple[str, ...] = SCHEMA_PRIVILEGES
        elif self.table is not None:
            allowed = TABLE_PRIVILEGES
        else:
            allowed = SEQUENCE_PRIVILEGES
        privs = [p.upper() for p in (self.privileges or [])]
        for p in privs + [p.upper() for p in (self.columns or {})]:
            if p not in (*allowed, "ALL"):
                raise ValueError(f"unknown privilege {p!r}; expected one of {', '.join(allowed)}")
        if (self.sequence or self.schema_) and self.columns:
            raise ValueError("only tables have column privileges")
        for p in self.columns or {}:
            if p.upper() not in ("SELECT", "INSERT", "UPDATE", "REFERENCES"):
                raise ValueError(f"{p} cannot be granted on columns")
        if not privs and not self.columns:
            raise ValueError("give 'privileges' or 'columns'")
        return self


class Admin(Model):
    """A role that may do anything on the listed tables (ALL + a permissive FOR ALL policy)."""

    role: RoleName
    tables: list[TableName] = Field(min_length=1)
    sequences: list[TableName] = Field(default_factory=list)


class RoleHierarchy(Block):
    """Group roles inheriting from each other, with table/column/sequence grants."""

    template: Literal["role_hierarchy"]
    roles: dict[RoleName, RoleDef] = Field(default_factory=dict)
    grants: list[Grant] = Field(default_factory=list)
    admin: Admin | None = None


class ShadowRoles(Block):
    """A NOLOGIN database role per application user, made by a SECURITY DEFINER trigger."""

    template: Literal["shadow_roles"]
    users_table: TableName
    id_column: Ident = "id"
    role_prefix: str = Field(min_length=1, max_length=40)
    group_role: RoleName
    login_role: RoleName
    drop_on_delete: bool = True


class SignedIdentity(Block):
    """Unforgeable identity: the application signs claims with a secret (HMAC-SHA256),
    sets the token with ``set_config('rlskit.identity', token, true)``, and policies
    read claims through ``<schema>.claim(name)``, which verifies the signature and
    expiry with the secret in ``<schema>.signing_keys`` (readable only by its owner)."""

    template: Literal["signed_identity"]
    schema_: Ident = Field(default="auth", alias="schema")
    roles: list[RoleName] = Field(min_length=1)  # who may call claim()
    setting: SettingName = "rlskit.identity"


class Custom(Block):
    """A project template ``<name>.sql.j2`` next to the YAML; other keys are its parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)
    template: str
    name: Ident  # required for custom blocks

    @property
    def params(self) -> dict[str, Any]:
        """The block's own keys."""
        return dict(self.model_extra or {})


BUILTIN: dict[str, type[Block]] = {
    "tenant_isolation": TenantIsolation,
    "owner_only": OwnerOnly,
    "rbac": Rbac,
    "allow_all": AllowAll,
    "role_hierarchy": RoleHierarchy,
    "shadow_roles": ShadowRoles,
    "signed_identity": SignedIdentity,
}


class Document(Model):
    """One YAML file."""

    settings: dict[SettingName, Setting] = Field(default_factory=dict)
    policies: list[dict[str, Any]] = Field(default_factory=list)


class LoadedBlock(BaseModel):
    """A validated block with where it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    block: Block
    source: str  # "policies/app.yaml:12"
    directory: Path  # where custom templates are looked up


class PolicySet(BaseModel):
    """Every block of every YAML file of a project, plus the declared settings."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    settings: dict[str, Setting]
    blocks: list[LoadedBlock]


def custom_templates(directory: Path) -> dict[str, Path]:
    """Project templates next to the YAML files (``*.sql.j2``, also in ``templates/``)."""
    found: dict[str, Path] = {}
    for d in (directory, directory / "templates"):
        if d.is_dir():
            for p in sorted(d.glob("*.sql.j2")):
                found.setdefault(p.name[: -len(".sql.j2")], p)
    return found


def _format_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(x) for x in loc if x not in ("function-after",)) or "(top)"


def _raise(located: Located, path: tuple[Any, ...], msg: str, hint: str | None = None) -> None:
    line = located.line(path)
    key = _format_loc(path)
    raise SpecError(f"{msg} at {located.source}:{line} (key {key})", hint)


def _validation_error(located: Located, base: tuple[Any, ...], exc: ValidationError) -> None:
    errors = exc.errors()
    # A typo gives "unknown key" and "missing key": the first says more.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
    path = (*base, *loc)
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        parent = path[:-1]
        bad = str(path[-1])
        _raise(
            located, path, f"unknown key {bad!r}", _did_you_mean(bad, _keys_for(located, parent))
        )
    if kind == "missing":
        _raise(located, path[:-1] or path, f"missing key {str(path[-1])!r}")
    value = err.get("input")
    shown = f" (got {value!r})" if isinstance(value, str | int | float | bool) else ""
    _raise(located, path, f"invalid value: {msg}{shown}")


def _keys_for(located: Located, parent: tuple[Any, ...]) -> list[str]:
    node: Any = located.data
    for p in parent:
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            return []
    if isinstance(node, dict) and "template" in node and node["template"] in BUILTIN:
        return list(BUILTIN[str(node["template"])].model_fields)
    if len(parent) == 0:
        return list(Document.model_fields)
    return []


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"Did you mean {close[0]!r}?" if close else None


def load_text(
    text: str, source: str, directory: Path
) -> tuple[dict[str, Setting], list[LoadedBlock]]:
    """Validate one YAML document."""
    located = load_yaml(text, source)
    if not isinstance(located.data, dict):
        raise SpecError(
            f"{source}:1: expected a mapping with 'settings' and 'policies' keys.",
        )
    try:
        doc = Document.model_validate(located.data)
    except ValidationError as exc:
        _validation_error(located, (), exc)
        raise AssertionError("unreachable") from exc
    customs = custom_templates(directory)
    blocks: list[LoadedBlock] = []
    for i, raw in enumerate(doc.policies):
        path: tuple[Any, ...] = ("policies", i)
        if not isinstance(raw, dict):
            _raise(located, path, "each policy block must be a mapping")
        name = raw.get("template")
        if not isinstance(name, str):
            _raise(
                located,
                path,
                "missing key 'template'",
                f"Built-in templates: {', '.join(BUILTIN)}.",
            )
        assert isinstance(name, str)
        model: type[Block]
        if name in BUILTIN:
            model = BUILTIN[name]
        elif name in customs:
            model = Custom
        else:
            choices = [*BUILTIN, *customs]
            hint = _did_you_mean(name, choices) or f"Known templates: {', '.join(choices)}."
            _raise(located, (*path, "template"), f"unknown template {name!r}", hint)
            raise AssertionError("unreachable")
        try:
            block = model.model_validate(raw)
        except ValidationError as exc:
            _validation_error(located, path, exc)
            raise AssertionError("unreachable") from exc
        blocks.append(
            LoadedBlock(block=block, source=f"{source}:{located.line(path)}", directory=directory)
        )
    return dict(doc.settings), blocks


def load_dir(directory: Path, display: str | None = None) -> PolicySet:
    """Load every ``*.yaml``/``*.yml`` in ``directory`` (sorted, so output is deterministic)."""
    settings: dict[str, Setting] = {}
    blocks: list[LoadedBlock] = []
    if directory.is_dir():
        files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    else:
        files = []
    for f in files:
        shown = f"{display or directory.name}/{f.name}"
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise SpecError(f"{shown}: the file is not valid UTF-8.") from None
        s, b = load_text(text, shown, directory)
        for key, value in s.items():
            if key in settings and settings[key] != value:
                raise SpecError(f"{shown}: setting {key!r} is declared twice, differently.")
            settings[key] = value
        blocks.extend(b)
    return PolicySet(settings=settings, blocks=blocks)
