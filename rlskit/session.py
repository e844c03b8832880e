"""Act as a database role, with session settings, for exactly one transaction.

    with act_as(conn, "user:42", {"app.tenant_id": 7}):
        conn.execute("SELECT * FROM app.notes")     # RLS applies as user:42

The role and settings are set with ``set_config(name, value, true)`` in one
statement (``set_config('role', ...)`` is ``SET LOCAL ROLE``, membership check
included). They last until the transaction ends, commit or rollback, so nothing
is left behind when the connection goes back to a pool. Role names and values
are bound parameters, never string formatting (seeds 000 and 002 built
``SET ROLE "{user_id}"`` with Python f-strings).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rlskit.errors import SpecError
from rlskit.quoting import check_identifier

IDENTITY_SETTING = "rlskit.identity"


def sign_identity(
    secret: bytes, claims: Mapping[str, str | int], ttl: float = 300, now: float | None = None
) -> str:
    """A token the ``signed_identity`` template's ``claim()`` accepts until it expires.

    ``base64url(json({"c": claims, "exp": epoch})) + "." + hex(HMAC-SHA256)``. The
    secret is the one the database owner stored in ``<schema>.signing_keys``; the
    application role cannot read that table, so it cannot mint tokens itself.
    """
    if len(secret) < 32:
        raise SpecError("the signing secret must be at least 32 bytes")
    payload = {
        "c": {k: str(v) for k, v in claims.items()},
        "exp": int((time.time() if now is None else now) + ttl),
    }
    body = (
        base64.urlsafe_b64encode(
            json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        )
        .decode()
        .rstrip("=")
    )
    sig = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{sig}"


CLAIMS_SETTING = "request.jwt.claims"
_CLAIM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def claims_settings(claims: Mapping[str, Any]) -> dict[str, str]:
    """JWT-style claims as PostgREST and Supabase hand them to the database:
    ``request.jwt.claims`` (the JSON object) and ``request.jwt.claim.<name>`` (each
    scalar claim whose name can be part of a setting name)."""
    out = {CLAIMS_SETTING: json.dumps(dict(claims), sort_keys=True, separators=(",", ":"))}
    for name, value in claims.items():
        if _CLAIM_NAME.match(name) and not isinstance(value, dict | list):
            text = json.dumps(value) if isinstance(value, bool) or value is None else str(value)
            out[f"request.jwt.claim.{name}"] = "" if value is None else text
    return out


@dataclass(frozen=True)
class SettingSpec:
    """A declared session setting: its type and whether every transaction needs it."""

    name: str
    type: type = str
    required: bool = False


@dataclass
class Settings:
    """The settings an application may set; anything else is an error in development."""

    declared: dict[str, SettingSpec] = field(default_factory=dict)
    strict: bool = True

    def declare(self, name: str, type_: type = str, required: bool = False) -> None:
        self.declared[name] = SettingSpec(name, type_, required)

    @classmethod
    def from_policies(cls, directory: Any) -> Settings:
        """The settings declared in ``policies/*.yaml``, so policies and code agree."""
        from pathlib import Path

        from rlskit.policies.spec import load_dir

        types: dict[str, type] = {
            "bigint": int,
            "integer": int,
            "numeric": float,
            "boolean": bool,
            "text": str,
            "uuid": str,
        }
        out = cls()
        for name, spec in load_dir(Path(directory)).settings.items():
            out.declare(name, types[spec.type], spec.required)
        return out

    def check(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Validate and turn values into the strings set_config takes."""
        out: dict[str, str] = {}
        if self.strict and self.declared:
            unknown = sorted(set(values) - set(self.declared))
            if unknown:
                raise SpecError(
                    f"setting {unknown[0]!r} is not declared",
                    f"Declared settings: {', '.join(sorted(self.declared))}.",
                )
            missing = sorted(n for n, s in self.declared.items() if s.required and n not in values)
            if missing:
                raise SpecError(f"required setting {missing[0]!r} is missing")
        for name, value in values.items():
            spec = self.declared.get(name)
            if (
                spec is not None
                and value is not None
                and not isinstance(value, spec.type)
                and not (spec.type is float and isinstance(value, int))
            ):
                raise SpecError(
                    f"setting {name!r} must be {spec.type.__name__}, not {type(value).__name__}"
                )
            out[name] = "" if value is None else str(value)
        return out


def _setup(role: str | None, values: Mapping[str, str]) -> tuple[str, tuple[str, ...]] | None:
    """One statement (one round trip) that switches role and sets every setting for the
    rest of the transaction: ``set_config('role', name, true)`` is ``SET LOCAL ROLE``,
    with the same membership check, and every value is a bound parameter."""
    calls: list[str] = []
    params: list[str] = []
    if role is not None:
        check_identifier(role)
        calls.append("set_config('role', %s, true)")
        params.append(role)
    for name, value in values.items():
        calls.append("set_config(%s, %s, true)")
        params += [name, value]
    if not calls:
        return None
    return "SELECT " + ", ".join(calls), tuple(params)


def setup_statement(role: str | None, values: Mapping[str, str], before: str = "") -> Any:
    """:func:`_setup` as one psycopg ``Composed`` with the values quoted by psycopg
    (``sql.Literal``), so it can share a simple-protocol round trip with ``before``
    (``BEGIN``, ``SAVEPOINT x``). None when there is nothing to run."""
    from psycopg import sql

    setup = _setup(role, values)
    parts: list[sql.Composable] = [sql.SQL(before)] if before else []
    if setup is not None:
        query, params = setup
        parts.append(sql.SQL(query.replace("%s", "{}")).format(*(sql.Literal(p) for p in params)))
    return sql.SQL("; ").join(parts) if parts else None


@contextmanager
def act_as(
    conn: Any,
    role: str | None,
    settings: Mapping[str, Any] | None = None,
    declared: Settings | None = None,
    token: str | None = None,
    claims: Mapping[str, Any] | None = None,
) -> Iterator[Any]:
    """Run the block in a transaction as ``role`` with ``settings`` (psycopg 3).

    ``claims``: JWT-style claims, set as ``request.jwt.claims`` and
    ``request.jwt.claim.<name>`` the way PostgREST does (see :func:`claims_settings`).

    Opens a transaction (or a savepoint inside one); everything set here ends
    with it, also when the block raises: the block's work is committed when it
    ends normally and rolled back on an exception. Inside an outer transaction
    the role and settings in force before the block are put back when it ends.
    """
    import psycopg
    from psycopg import pq

    values = (declared or Settings(strict=False)).check(settings or {})
    if token is not None:
        values[IDENTITY_SETTING] = token
    if claims:
        values = {**claims_settings(claims), **values}
    nested = conn.info.transaction_status != pq.TransactionStatus.IDLE
    if not nested:
        with _own_transaction(conn, setup_statement(role, values, before="BEGIN")):
            yield conn
        return
    restore: tuple[str, tuple[str, ...]] | None = None
    with conn.transaction():
        # Inside an outer transaction SET LOCAL would outlive the block: remember
        # what to put back when the block ends without an error.
        names = list(values)
        row = conn.execute(
            "SELECT CASE WHEN current_user = session_user THEN 'none' "
            "ELSE current_user::text END" + "".join(", current_setting(%s, true)" for _ in names),
            names or None,
        ).fetchone()
        restore = _setup(row[0], {n: v or "" for n, v in zip(names, row[1:], strict=True)})
        setup = _setup(role, values)
        if setup is not None:
            conn.execute(*setup)
        yield conn
        if conn.info.transaction_status == pq.TransactionStatus.INERROR:
            # A statement failed and the block caught it: undo the block (the role and
            # settings with it) instead of failing on the way out.
            raise psycopg.Rollback()
        if restore is not None:
            conn.execute(*restore)


@contextmanager
def _own_transaction(conn: Any, begin: Any) -> Iterator[None]:
    """BEGIN and the setup in one round trip (a bare transaction needs one for BEGIN
    too), then COMMIT, or ROLLBACK on an error. The connection is put in autocommit
    mode meanwhile so that psycopg does not send a BEGIN of its own."""
    from psycopg import pq

    was_autocommit = conn.autocommit
    conn.autocommit = True
    try:
        try:
            conn.execute(begin)
            yield
        except BaseException:
            if conn.info.transaction_status in (
                pq.TransactionStatus.INTRANS,
                pq.TransactionStatus.INERROR,
            ):
                conn.execute("ROLLBACK")
            raise
        if conn.info.transaction_status == pq.TransactionStatus.INERROR:
            conn.execute("ROLLBACK")
        elif conn.info.transaction_status == pq.TransactionStatus.INTRANS:
            conn.execute("COMMIT")
    finally:
        if not conn.closed and conn.info.transaction_status == pq.TransactionStatus.IDLE:
            conn.autocommit = was_autocommit


@contextmanager
def act_as_sqlalchemy(
    connection: Any,
    role: str | None,
    settings: Mapping[str, Any] | None = None,
    declared: Settings | None = None,
    token: str | None = None,
) -> Iterator[Any]:
    """The same for a SQLAlchemy ``Connection``: a transaction (or savepoint) acting as
    ``role``; inside an outer transaction the previous role and settings come back
    when the block ends."""
    values = (declared or Settings(strict=False)).check(settings or {})
    if token is not None:
        values[IDENTITY_SETTING] = token
    nested = connection.in_transaction()
    restore: tuple[str, tuple[str, ...]] | None = None
    with connection.begin_nested() if nested else connection.begin():
        if nested:
            names = list(values)
            row = connection.exec_driver_sql(
                "SELECT CASE WHEN current_user = session_user THEN 'none' "
                "ELSE current_user::text END"
                + "".join(", current_setting(%s, true)" for _ in names),
                tuple(names),
            ).one()
            restore = _setup(row[0], {n: v or "" for n, v in zip(names, row[1:], strict=True)})
        setup = _setup(role, values)
        if setup is not None:
            connection.exec_driver_sql(*setup)
        yield connection
        if restore is not None:
            connection.exec_driver_sql(*restore)
