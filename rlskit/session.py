"""Act as a database role, with session settings, for exactly one transaction.

    with act_as(conn, "user:42", {"app.tenant_id": 7}):
        conn.execute("SELECT * FROM app.notes")     # RLS applies as user:42

The role and settings are set with ``set_config(name, value, true)`` in one
statement (``set_config('role', ...)`` is ``SET LOCAL ROLE``, membership check
included). They last until the transaction ends, commit or rollback, so nothing
is left behind when the connection goes back to a pool. Role names and values
are bound parameters (server-side: a token is never in the query text that other
sessions see in ``pg_stat_activity``), never string formatting (seeds 000 and 002
built ``SET ROLE "{user_id}"`` with Python f-strings).

The block is checked when it ends: a random marker set with the role tells
whether the transaction is still the one act_as began (``commit()``, ``COMMIT``
or ``ROLLBACK`` inside the block end it), the role and settings must be the ones
act_as set, and after COMMIT the session must be as before the block (``SET``
without ``LOCAL`` or ``set_config(..., false)`` would outlive it). Anything else
raises :class:`~rlskit.errors.ActAsError`. SQL in the block can still switch to
any role the login role is a member of: give the login role only the
application's roles.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rlskit.errors import ActAsError, SpecError
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
            out[check_setting_name(name)] = "" if value is None else str(value)
        return out


# -- names act_as never sets ---------------------------------------------------------------
# ``set_config('role', 'none')`` is RESET ROLE, and a setting named ``role`` or
# ``session_authorization`` (GUC names ignore case) switches role: neither may come
# from a caller. MARKER is act_as's own: a random value per block, set LOCAL, that
# tells whether the block's transaction (or savepoint) is still the one it began.
RESERVED_SETTINGS = frozenset({"role", "session_authorization"})
MARKER = "rlskit.act_as"


def check_setting_name(name: str) -> str:
    """Refuse setting names that would switch role (one check for act_as, ``rlskit
    test`` actors and ``permissions --setting``)."""
    key = name.strip().lower()
    if key in RESERVED_SETTINGS or key == MARKER or not key:
        raise SpecError(
            f"setting name {name!r} is reserved: it would switch role or undo act_as's checks",
            "Pass the role as the role argument; settings are for application values "
            "such as app.tenant_id.",
        )
    return name


def check_role_name(role: str) -> str:
    """Refuse role names that mean "no role" to ``set_config('role', ...)``."""
    check_identifier(role)
    if role.strip().lower() == "none":
        raise SpecError(
            f"role name {role!r} is reserved: set_config('role', 'none') means RESET ROLE, "
            "the login role",
            "Name the application role to act as.",
        )
    return role


def _setup(role: str | None, values: Mapping[str, str]) -> tuple[str, tuple[str, ...]] | None:
    """One statement that switches role and sets every setting for the rest of the
    transaction: ``set_config('role', name, true)`` is ``SET LOCAL ROLE``, with the
    same membership check. Names and values are bound parameters (``%s``): with
    psycopg's server-side binding they never appear in the query text, so a token
    is not visible in ``pg_stat_activity.query`` nor written to the server log."""
    calls: list[str] = []
    params: list[str] = []
    if role is not None:
        calls.append("set_config('role', %s, true)")
        params.append(role)
    for name, value in values.items():
        calls.append("set_config(%s, %s, true)")
        params += [name, value]
    if not calls:
        return None
    return "SELECT " + ", ".join(calls), tuple(params)


def setup_statement(role: str | None, values: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """:func:`_setup` after checking the names (reserved roles and settings): the query
    and its parameters, for ``psycopg.Cursor(conn).execute(query, params)``."""
    _check_names(role, values)
    return _setup(role, values) or ("SELECT", ())


def _check_names(role: str | None, values: Mapping[str, str]) -> None:
    if role is not None:
        check_role_name(role)
    for name in values:
        check_setting_name(name)


def _with_marker(role: str | None, values: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    """The setup of a block: the checked role and settings plus a new MARKER value."""
    _check_names(role, values)
    values[MARKER] = secrets.token_hex(16)
    setup = _setup(role, values)
    assert setup is not None
    return setup


def _state_query(names: list[str]) -> str:
    """current_user, session_user and each setting (NULL when never set)."""
    return "SELECT current_user::text, session_user::text" + "".join(
        ", current_setting(%s, true)" for _ in names
    )


@dataclass(frozen=True)
class _State:
    current_user: str
    session_user: str
    settings: dict[str, str]

    @classmethod
    def of(cls, row: Any, names: list[str]) -> _State:
        return cls(row[0], row[1], {n: v or "" for n, v in zip(names, row[2:], strict=True)})

    def differences(self, other: _State, what: str) -> list[str]:
        """What ``other`` (the state now) has that differs from this one (``what``)."""
        out = []
        if other.session_user != self.session_user:
            out.append(
                f"the session user is {other.session_user} instead of {self.session_user} "
                f"({what}; SET SESSION AUTHORIZATION)"
            )
        if other.current_user != self.current_user:
            out.append(f"the role is {other.current_user} instead of {self.current_user} ({what})")
        for name, value in self.settings.items():
            if other.settings.get(name, "") != value:
                if name == IDENTITY_SETTING:  # never show a token
                    out.append(f"setting {name} holds another token ({what})")
                else:
                    out.append(
                        f"setting {name} is {other.settings[name]!r} instead of {value!r} ({what})"
                    )
        return out


def _read_state(conn: Any, names: list[str]) -> _State:
    import psycopg

    with psycopg.Cursor(conn) as cur:
        row = cur.execute(_state_query(names), names or None).fetchone()
    return _State.of(row, names)


def _restore(conn: Any, before: _State, names: list[str], local: bool) -> None:
    """Put back the role and the settings of ``before`` (LOCAL: until the transaction
    ends; otherwise for the session)."""
    import psycopg

    role = "none" if before.current_user == before.session_user else before.current_user
    values = {n: before.settings.get(n, "") for n in names}
    query, params = _setup(role, values) or ("SELECT", ())
    if not local:
        query = query.replace(", true)", ", false)")
    with psycopg.Cursor(conn) as cur:
        cur.execute(query, params)


_ENDED = (
    "the block ended act_as's transaction (commit(), COMMIT, ROLLBACK or a savepoint "
    "command), so what ran after that ran as the login role, outside act_as"
)
_CAUGHT = (
    "a statement in the block failed and the block caught the error and ended "
    "normally, so its transaction could not commit"
)
_LEAK = (
    "the block changed the session with SET (not SET LOCAL), set_config(..., false) "
    "or SET SESSION AUTHORIZATION"
)


def _end(conn: Any, commit: bool) -> None:
    """COMMIT (when asked and possible) or ROLLBACK whatever transaction is open."""
    from psycopg import pq

    status = conn.info.transaction_status
    if status == pq.TransactionStatus.IDLE:
        return
    if commit and status == pq.TransactionStatus.INTRANS:
        conn.commit()
    else:
        conn.rollback()


def _check_block(
    conn: Any, expected: _State, names: list[str], rollback_caught_errors: bool = False
) -> list[str]:
    """At the end of the block, still inside its transaction: is it the one act_as
    began (the marker), in a good state, with the role and settings act_as set?"""
    from psycopg import pq

    status = conn.info.transaction_status
    if status == pq.TransactionStatus.INERROR:
        return [] if rollback_caught_errors else [_CAUGHT]
    if status != pq.TransactionStatus.INTRANS:
        return [_ENDED]
    now = _read_state(conn, names)
    if now.settings[MARKER] != expected.settings[MARKER]:
        return [_ENDED]
    return expected.differences(now, "the one act_as set")


@contextmanager
def act_as(
    conn: Any,
    role: str | None,
    settings: Mapping[str, Any] | None = None,
    declared: Settings | None = None,
    token: str | None = None,
    *,
    claims: Mapping[str, Any] | None = None,
    rollback_caught_errors: bool = False,
) -> Iterator[Any]:
    """Run the block in a transaction as ``role`` with ``settings`` (psycopg 3).

    Opens a transaction (or a savepoint inside one); everything set here ends with
    it: the block's work is committed when it ends normally and rolled back on an
    exception. Raises :class:`~rlskit.errors.ActAsError` when the block ended the
    transaction, changed the role or a setting act_as set, caught a failed
    statement and ended normally (the work is rolled back), or left a session-level
    change that would outlive it in a pool (the session is put back). Works on
    autocommit connections too: act_as begins the transaction itself.
    ``claims``: JWT-style claims, set as ``request.jwt.claims`` and
    ``request.jwt.claim.<name>`` the way PostgREST does (see :func:`claims_settings`).
    ``rollback_caught_errors`` (for tests that assert a statement fails inside the
    block) rolls such a block back without raising.
    """
    from psycopg import pq

    values = (declared or Settings(strict=False)).check(settings or {})
    if token is not None:
        values[IDENTITY_SETTING] = token
    if claims:
        values = {**claims_settings(claims), **values}
    setup = _with_marker(role, values)
    names = list(values)
    run = _top_level if conn.info.transaction_status == pq.TransactionStatus.IDLE else _nested
    with run(conn, role, setup, names, values, rollback_caught_errors):
        yield conn


def _begin(conn: Any, setup: tuple[str, tuple[str, ...]], names: list[str]) -> _State:
    """The state before and the setup in one statement (the CTE is read before the
    set_config calls run) and, when psycopg sends a BEGIN, in one round trip with it
    (a pipeline: the values stay bound parameters)."""
    import psycopg

    query, params = setup
    before = "WITH before AS MATERIALIZED (" + _state_query(names) + ") "
    combined = before + "SELECT before.*, " + query.removeprefix("SELECT ") + " FROM before"
    with psycopg.Cursor(conn) as cur:
        with conn.pipeline():
            cur.execute(combined, (*names, *params))
        row = cur.fetchone()
    assert row is not None
    return _State.of(row[: 2 + len(names)], names)


_CHECK = "rlskit act_as check "


def _finish(
    conn: Any, expected: _State, names: list[str], rollback_caught_errors: bool
) -> tuple[list[str], _State]:
    """End the block's transaction: COMMIT if it is the one act_as began with the role
    and settings act_as set, else ROLLBACK. Returns the problems and the session's
    state afterwards. In the usual case this is one round trip: a check that fails
    with an error (which skips the rest of the pipeline) when the state is wrong,
    COMMIT, and the state after it."""
    import psycopg
    from psycopg import pq

    status = conn.info.transaction_status
    if status != pq.TransactionStatus.INTRANS:
        conn.rollback()
        caught = status == pq.TransactionStatus.INERROR
        return ([] if caught and rollback_caught_errors else [_CAUGHT if caught else _ENDED]), (
            _read_state_idle(conn, names)
        )
    # One round trip (a pipeline of prepared statements): a check that fails with an
    # error when the state is wrong, which makes the server skip the rest; COMMIT;
    # and the state after it. Values are compared by their SHA-256, so that the
    # token is not sent again.
    eq = ", ".join(
        "sha256(convert_to(coalesce(current_setting(%s, true), ''), 'UTF8')) = %s" for _ in names
    )
    check = (
        "SELECT CASE WHEN cu = %s AND su = %s AND true = ALL (eq) THEN NULL ELSE "
        f"('{_CHECK}' || json_build_array(cu, su, eq)::text)::int END FROM ("
        f"SELECT current_user::text AS cu, session_user::text AS su, ARRAY[{eq}] AS eq) AS s"
    )
    params: list[Any] = [expected.current_user, expected.session_user]
    for n in names:
        params += [n, hashlib.sha256(expected.settings[n].encode()).digest()]
    try:
        with psycopg.Cursor(conn) as cur, psycopg.Cursor(conn) as after:
            with conn.pipeline():
                cur.execute(check, params)
                cur.execute("COMMIT")
                after.execute(_state_query(names), names)
            return [], _State.of(after.fetchone(), names)
    except psycopg.errors.InvalidTextRepresentation as exc:
        message = exc.diag.message_primary or ""
        if _CHECK not in message:
            raise
    conn.rollback()
    cu, su, eq_flags = json.loads(message[message.index("[") : message.rindex("]") + 1])
    found = dict(zip(names, eq_flags, strict=True))
    if not found[MARKER]:
        problems = [_ENDED]
    else:
        problems = [
            f"setting {n} was changed inside the block" for n in names if not found[n]
        ] + expected.differences(_State(cu, su, expected.settings), "the one act_as set")
    return problems, _read_state_idle(conn, names)


def _read_state_idle(conn: Any, names: list[str]) -> _State:
    """The session's state outside any transaction."""
    was = conn.autocommit
    conn.autocommit = True
    try:
        return _read_state(conn, names)
    finally:
        conn.autocommit = was


def _repair(conn: Any, before: _State, after: _State, names: list[str]) -> list[str]:
    """Put the session back to ``before`` if ``after`` differs; say what differed."""
    leaks = before.differences(after, "the one before the block")
    if leaks:
        was = conn.autocommit
        conn.autocommit = True
        try:
            if after.session_user != before.session_user:
                conn.execute("RESET SESSION AUTHORIZATION")
            _restore(conn, before, names, local=False)
        finally:
            conn.autocommit = was
    return leaks


def _outcome(problems: list[str], leaks: list[str]) -> str:
    """What happened to the work of a block that broke its contract."""
    if _ENDED in problems:
        out = (
            "What the block did before it ended the transaction was committed or rolled "
            "back by the block itself; what it did after that was rolled back"
        )
    else:
        out = "The block's work was rolled back"
    return out + ("; the session was put back." if leaks else ".")


def _expected(before: _State, role: str | None, values: Mapping[str, str]) -> _State:
    """The state act_as set: its role (or the one before), the same session user."""
    return _State(role or before.current_user, before.session_user, dict(values))


@contextmanager
def _top_level(
    conn: Any,
    role: str | None,
    setup: tuple[str, tuple[str, ...]],
    names: list[str],
    values: Mapping[str, str],
    rollback_caught_errors: bool = False,
) -> Iterator[None]:
    """A transaction of its own. The connection is not in autocommit mode meanwhile:
    after a COMMIT inside the block psycopg opens a new transaction, which act_as
    rolls back, instead of running the rest of the block in autocommit."""
    was_autocommit = conn.autocommit
    conn.autocommit = False
    try:
        before = _begin(conn, setup, names)
        try:
            yield
        except BaseException as exc:
            if not _usable(conn):
                raise
            _end(conn, commit=False)
            leaks = _repair(conn, before, _read_state_idle(conn, names), names)
            if leaks:
                raise ActAsError(
                    [*leaks, _LEAK], "The block's work was rolled back; the session was put back."
                ) from exc
            raise
        problems, after = _finish(
            conn, _expected(before, role, values), names, rollback_caught_errors
        )
        leaks = _repair(conn, before, after, names)
        if problems:
            raise ActAsError(problems + leaks, _outcome(problems, leaks))
        if leaks:
            raise ActAsError(
                [*leaks, _LEAK],
                "The block's work was committed; the connection's role and settings "
                "were put back as they were before the block.",
            )
    finally:
        if _usable(conn):
            _end(conn, commit=False)
            conn.autocommit = was_autocommit


def _usable(conn: Any) -> bool:
    """False when the connection is closed or lost: nothing to roll back or check."""
    return not conn.closed and not getattr(conn, "broken", False)


@contextmanager
def _nested(
    conn: Any,
    role: str | None,
    setup: tuple[str, tuple[str, ...]],
    names: list[str],
    values: Mapping[str, str],
    rollback_caught_errors: bool = False,
) -> Iterator[None]:
    """A savepoint of the caller's transaction. SET LOCAL would outlive the block, so
    the role and settings in force before it are put back when it ends."""
    import psycopg
    from psycopg import pq

    with conn.transaction(savepoint_name=f"rlskit_act_as_{values[MARKER][:8]}"):
        before = _begin(conn, setup, names)
        yield
        problems = _check_block(
            conn, _expected(before, role, values), names, rollback_caught_errors
        )
        if problems:
            raise ActAsError(
                problems,
                "The block's work was rolled back to the savepoint act_as made"
                + (" (if the transaction still exists)." if _ENDED in problems else "."),
            )
        if conn.info.transaction_status == pq.TransactionStatus.INERROR:
            raise psycopg.Rollback()  # rollback_caught_errors: back to the savepoint
        _restore(conn, before, names, local=True)


def _driver(connection: Any) -> Any:
    """The psycopg 3 connection under a SQLAlchemy ``Connection``."""
    import psycopg

    driver = connection.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise SpecError(
            "act_as_sqlalchemy needs the psycopg (3) driver",
            "Use a postgresql+psycopg:// URL (rlskit.urls.sqlalchemy_url makes one).",
        )
    return driver


@contextmanager
def act_as_sqlalchemy(
    connection: Any,
    role: str | None,
    settings: Mapping[str, Any] | None = None,
    declared: Settings | None = None,
    token: str | None = None,
) -> Iterator[Any]:
    """The same for a SQLAlchemy ``Connection`` (psycopg 3 driver): a transaction (or
    savepoint) acting as ``role``, with the same checks as :func:`act_as`. A
    connection in AUTOCOMMIT mode is refused: its statements would not share the
    transaction that the role and settings last for."""
    values = (declared or Settings(strict=False)).check(settings or {})
    if token is not None:
        values[IDENTITY_SETTING] = token
    setup = _with_marker(role, values)
    names = list(values)
    driver = _driver(connection)
    if driver.autocommit:
        raise ActAsError(
            [
                "the connection is in AUTOCOMMIT mode: the role and settings would end with "
                "the statement that sets them, and the block would run as the login role"
            ],
            "Nothing ran. Use a connection without isolation_level='AUTOCOMMIT'.",
        )
    nested = connection.in_transaction()
    problems: list[str] = []
    with connection.begin_nested() if nested else connection.begin():
        before = _begin(driver, setup, names)
        yield connection
        problems = _check_block(driver, _expected(before, role, values), names)
        if problems:
            raise ActAsError(problems, _outcome(problems, []))
        if nested:
            _restore(driver, before, names, local=True)
    if not nested:
        leaks = _repair(driver, before, _read_state_idle(driver, names), names)
        if leaks:
            raise ActAsError(
                [*leaks, _LEAK],
                "The block's work was committed; the connection's role and settings "
                "were put back as they were before the block.",
            )


def reset_session(conn: Any) -> None:
    """Pool reset callback: put a returned connection back to its login role and
    settings, and raise (so the pool discards it) when that did not work.

        ConnectionPool(url, reset=reset_session)                  # psycopg_pool
        event.listen(engine, "reset", lambda c, *a: reset_session(c))  # SQLAlchemy

    ``RESET ALL`` keeps what the connection string and ``ALTER ROLE ... SET`` set.
    """
    conn = getattr(conn, "driver_connection", None) or conn
    from psycopg import pq

    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        conn.rollback()
    was = conn.autocommit
    conn.autocommit = True
    try:
        conn.execute("RESET SESSION AUTHORIZATION")
        conn.execute("RESET ALL")
        row = conn.execute(
            "SELECT current_user = session_user AND session_user = %s",
            (conn.info.user,),
        ).fetchone()
    finally:
        conn.autocommit = was
    if not row or not row[0]:
        raise ActAsError(
            ["the connection's role could not be reset to its login role"],
            "Discard the connection.",
        )
