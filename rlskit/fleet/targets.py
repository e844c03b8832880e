"""The fleet file: which databases (or schemas) a fleet command runs on.

Pure: reads YAML, expands ``${VAR}`` from the environment and validates. A
password may come from an environment variable or libpq's passfile, never from
the fleet file itself, so the file can be committed.

.. code-block:: yaml

    targets:
      - name: eu-1
        url: postgresql://deploy@db-eu-1/app      # password: ~/.pgpass or PGPASSWORD
        tags: [eu, prod]
      - name: us-1
        url: ${US1_DATABASE_URL}                 # the whole URL from the environment
    queries:                                     # targets listed by a control database
      - url: ${CONTROL_DATABASE_URL}
        sql: SELECT name, url, tags FROM fleet.databases
    schemas:                                     # schema-per-tenant: one database
      - url: ${APP_DATABASE_URL}
        names: [tenant_a, tenant_b]
        sql: SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant%'
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from rlskit.errors import SpecError
from rlskit.policies.yamlload import Located, load_yaml
from rlskit.urls import mask_url

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KEYS = {"targets", "queries", "schemas"}


@dataclass(frozen=True)
class Target:
    """One database, or one schema of a database, that a fleet command runs on."""

    name: str
    url: str = field(repr=False)  # may hold a password from the environment: never print it
    tags: tuple[str, ...] = ()
    schema: str | None = None  # schema-per-tenant: migrations run with search_path = schema

    @property
    def display_url(self) -> str:
        """The URL with any password masked."""
        return mask_url(self.url)


@dataclass(frozen=True)
class QuerySource:
    """Targets listed by a query on a control database (columns name, url[, tags])."""

    url: str = field(repr=False)
    sql: str
    where: str  # file:line, for errors


@dataclass(frozen=True)
class SchemaSource:
    """Schemas of one database, listed by name and/or by a query returning names."""

    url: str = field(repr=False)
    names: tuple[str, ...]
    sql: str | None
    tags: tuple[str, ...]
    where: str


@dataclass(frozen=True)
class FleetFile:
    """A parsed fleet file: literal targets plus the sources that list more."""

    path: Path
    targets: tuple[Target, ...]
    queries: tuple[QuerySource, ...]
    schemas: tuple[SchemaSource, ...]


def expand(value: str, where: str, environ: dict[str, str] | None = None) -> str:
    """Replace ``${VAR}`` by the environment's value; a missing variable is an error."""
    env = os.environ if environ is None else environ

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env or not env[name].strip():
            raise SpecError(
                f"{where}: the environment variable {name} is not set (or is empty).",
                "Export it before running the fleet command; nothing was run.",
            )
        return env[name]

    return _VAR.sub(sub, value)


def refuse_literal_password(raw: str, where: str) -> None:
    """A URL written in the fleet file must not carry a password itself."""
    if "://" not in raw:
        if re.search(r"(^|\s)password\s*=", raw):
            raise _password_error(where)
        return
    try:
        parts = urlsplit(raw)
    except ValueError:
        raise SpecError(f"{where}: {mask_url(raw)!r} is not a database URL.") from None
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo:
        secret = userinfo.split(":", 1)[1]
        if _VAR.sub("", secret):
            raise _password_error(where)
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "password" and _VAR.sub("", value):
            raise _password_error(where)


def _password_error(where: str) -> SpecError:
    return SpecError(
        f"{where}: the URL holds a password; a fleet file must not.",
        "Put the password in the environment (postgresql://user:${PGPASSWORD_EU}@host/db) "
        "or in libpq's passfile (~/.pgpass); nothing was run.",
    )


def _url(raw: object, where: str, environ: dict[str, str] | None) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise SpecError(f"{where}: url must be a non-empty string.")
    refuse_literal_password(raw, where)
    url = expand(raw.strip(), where, environ).strip()
    if "://" in url and urlsplit(url).scheme not in (
        "postgres",
        "postgresql",
        "postgresql+psycopg",
    ):
        raise SpecError(f"{where}: {mask_url(url)!r} is not a PostgreSQL URL.")
    return url


def _tags(raw: object, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(t, str) and t for t in raw):
        raise SpecError(f"{where}: tags must be a list of names.")
    return tuple(raw)


def _mapping(
    doc: Located, path: tuple[str | int, ...], value: object, keys: set[str]
) -> dict[str, Any]:
    where = f"{doc.source}:{doc.line(path)}"
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected a mapping with keys {', '.join(sorted(keys))}.")
    unknown = set(value) - keys
    if unknown:
        raise SpecError(
            f"{where}: unknown key {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(keys))}."
        )
    return value


def parse(text: str, path: Path, environ: dict[str, str] | None = None) -> FleetFile:
    """Parse a fleet file's text; errors name the file and line."""
    doc = load_yaml(text, str(path))
    data = _mapping(doc, (), doc.data or {}, _KEYS)
    targets: list[Target] = []
    for i, item in enumerate(data.get("targets") or []):
        t = _mapping(doc, ("targets", i), item, {"name", "url", "tags"})
        where = f"{doc.source}:{doc.line(('targets', i))}"
        name = t.get("name")
        if not isinstance(name, str) or not name.strip():
            raise SpecError(f"{where}: every target needs a name.")
        at_url = f"{doc.source}:{doc.line(('targets', i, 'url'))}"
        targets.append(
            Target(name, _url(t.get("url"), at_url, environ), _tags(t.get("tags"), where))
        )
    queries: list[QuerySource] = []
    for i, item in enumerate(data.get("queries") or []):
        q = _mapping(doc, ("queries", i), item, {"url", "sql"})
        where = f"{doc.source}:{doc.line(('queries', i))}"
        if not isinstance(q.get("sql"), str):
            raise SpecError(f"{where}: a query source needs sql returning name, url[, tags].")
        queries.append(QuerySource(_url(q.get("url"), where, environ), q["sql"], where))
    schemas: list[SchemaSource] = []
    for i, item in enumerate(data.get("schemas") or []):
        s = _mapping(doc, ("schemas", i), item, {"url", "names", "sql", "tags"})
        where = f"{doc.source}:{doc.line(('schemas', i))}"
        names = s.get("names") or []
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise SpecError(f"{where}: names must be a list of schema names.")
        sql = s.get("sql")
        if sql is not None and not isinstance(sql, str):
            raise SpecError(f"{where}: sql must be a query returning schema names.")
        if not names and sql is None:
            raise SpecError(f"{where}: a schemas entry needs names, sql or both.")
        schemas.append(
            SchemaSource(
                _url(s.get("url"), where, environ),
                tuple(names),
                sql,
                _tags(s.get("tags"), where),
                where,
            )
        )
    fleet = FleetFile(path, tuple(targets), tuple(queries), tuple(schemas))
    unique(fleet.targets)
    return fleet


def load(path: Path, environ: dict[str, str] | None = None) -> FleetFile:
    """Read and parse the fleet file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(
            f"Cannot read the fleet file {path}: {exc.strerror}.",
            "Pass --fleet FILE (default: fleet.yaml in the project).",
        ) from None
    return parse(text, path, environ)


def unique(targets: tuple[Target, ...] | list[Target]) -> None:
    """Target names must be unique: the state file and the report key on them."""
    seen: set[str] = set()
    for t in targets:
        if t.name in seen:
            raise SpecError(f"The fleet lists the target {t.name!r} twice; names must be unique.")
        seen.add(t.name)


def schema_target(source: SchemaSource, schema: str) -> Target:
    """The target for ``schema`` of ``source``'s database (named db-less: the schema)."""
    return Target(schema, source.url, source.tags, schema=schema)


def select(
    targets: list[Target], names: tuple[str, ...] = (), tags: tuple[str, ...] = ()
) -> list[Target]:
    """Targets named in ``names`` (all when empty) having every tag in ``tags``."""
    if names:
        known = {t.name for t in targets}
        missing = [n for n in names if n not in known]
        if missing:
            raise SpecError(
                f"The fleet has no target named {missing[0]!r}.",
                "`rlskit fleet status` lists the targets.",
            )
    return [
        t for t in targets if (not names or t.name in names) and all(tag in t.tags for tag in tags)
    ]
