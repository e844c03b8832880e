"""rlskit's bookkeeping: where it lives and the SQL that keeps it (identical online
and offline), the migration lock's key, and what every migration connection sets.
Light on purpose: the no-op check imports it without Alembic or psycopg."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from rlskit.project import Settings, pg_duration
from rlskit.quoting import quote_ident, quote_literal, quote_qualified

BOOK_TABLE = "rlskit_applied_files"
LOCK_NAMESPACE = "rlskit-migrations"
DEFAULT_SCHEMA = "rlskit"  # where bookkeeping lives unless the project names another schema


# What every migration statement of rlskit's own starts from (a file may leave a role set).
SESSION_RESET = ("RESET SESSION AUTHORIZATION", "RESET ROLE", "RESET ALL")


def content_hash(data: bytes) -> str:
    """The bookkeeping's record of a file's exact bytes (``sha256:<hex>``)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


# Startup options of the migration connection (session defaults, so RESET ALL keeps
# them): a backend whose client died (kill -9, lost machine) ends within seconds
# instead of holding the migration lock until its statement finishes.
ORPHAN_OPTIONS = (
    ("client_connection_check_interval", "5s"),
    ("idle_in_transaction_session_timeout", "5min"),
)
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


# The server reads a file's strings as rlskit's parser did when it checked the file
# for transaction control: a database set to standard_conforming_strings = off reads
# 'a\', ';COMMIT; ...' as a string and a COMMIT where the parser sees one string.
LEXER_OPTIONS = (("standard_conforming_strings", "on"),)


def session_options(given: str, orphan: bool = True) -> str:
    """The ``options`` of a migration connection: the URL's own, then
    :data:`LEXER_OPTIONS` and :data:`ORPHAN_OPTIONS` (``client_connection_check_interval``
    needs PostgreSQL 14+: without ``orphan`` it is left out, for older servers)."""
    ours = " ".join(
        f"-c {k}={v}"
        for k, v in (*LEXER_OPTIONS, *ORPHAN_OPTIONS)
        if orphan or k != "client_connection_check_interval"
    )
    return f"{given} {ours}".strip()


# -- bookkeeping SQL (identical online and offline) --------------------------
def _book_name(settings: Settings) -> str:
    if not settings.version_table_schema:
        return quote_ident(BOOK_TABLE)
    return quote_qualified(settings.version_table_schema, BOOK_TABLE)


def _version_name(settings: Settings) -> str:
    if not settings.version_table_schema:
        return quote_ident(settings.version_table)
    return quote_qualified(settings.version_table_schema, settings.version_table)


def version_move(settings: Settings, old: str | None, new: str) -> str:
    """The statement moving the version row as Alembic does: INSERT from base, else
    UPDATE of the one row at ``old`` (the caller checks that it matched one row)."""
    vt = _version_name(settings)
    if old is None:
        return f"INSERT INTO {vt} (version_num) VALUES ({quote_literal(new)})"
    return (
        f"UPDATE {vt} SET version_num = {quote_literal(new)} "
        f"WHERE {vt}.version_num = {quote_literal(old)}"
    )


def legacy_bookkeeping_query(settings: Settings) -> str | None:
    """A query answering true when there is no version table where this rlskit keeps
    it but an earlier rlskit's in the search path (the full path moves it); None when
    the project keeps its bookkeeping elsewhere (nothing to move)."""
    if settings.version_table_schema != DEFAULT_SCHEMA:
        return None
    legacy = quote_literal(quote_ident(settings.version_table))
    return (
        f"SELECT to_regclass({quote_literal(_version_name(settings))}) IS NULL "
        f"AND to_regclass({legacy}) IS NOT NULL"
    )


def _dollar(body: str) -> str:
    """``body`` dollar-quoted with a tag that does not occur in it."""
    n = 0
    while f"$rlskit{n}$" in body:
        n += 1
    return f"$rlskit{n}${body}$rlskit{n}$"


def bookkeeping_prepare(settings: Settings) -> list[str]:
    """Create rlskit's bookkeeping where it belongs (idempotent, online and offline).

    The tables live in their own schema (default ``rlskit``) with no privilege for
    anyone but their owner, the migrating role: a migration's ``GRANT ... ON ALL
    TABLES IN SCHEMA public`` or a platform's default privileges cannot reach them.
    Tables an earlier rlskit made in the search path (``public``) are moved there.
    """
    schema = settings.version_table_schema
    out: list[str] = []
    if schema and schema != "public":
        # not CREATE SCHEMA IF NOT EXISTS: that needs CREATE on the database even when
        # the schema exists, which a least-privilege deploy role does not have
        exists = f"SELECT FROM pg_namespace WHERE nspname = {quote_literal(schema)}"
        out += [
            "DO "
            + _dollar(
                f"\nBEGIN\n  IF NOT EXISTS ({exists}) THEN\n"
                f"    CREATE SCHEMA {quote_ident(schema)};\n  END IF;\nEND\n"
            ),
            f"REVOKE ALL ON SCHEMA {quote_ident(schema)} FROM PUBLIC",
        ]
    if schema == DEFAULT_SCHEMA:
        moves = []
        for table in (settings.version_table, BOOK_TABLE):
            new = quote_literal(quote_qualified(schema, table))
            old = quote_literal(quote_ident(table))
            moves.append(
                f"  IF to_regclass({new}) IS NULL AND to_regclass({old}) IS NOT NULL THEN\n"
                f"    EXECUTE format('ALTER TABLE %s SET SCHEMA %I', to_regclass({old}), "
                f"{quote_literal(schema)});\n  END IF;\n"
            )
        out.append("DO " + _dollar("\nBEGIN\n" + "".join(moves) + "END\n"))
    vt = _version_name(settings)
    pk = quote_ident(f"{settings.version_table}_pkc")
    out += [
        f"CREATE TABLE IF NOT EXISTS {vt} (version_num VARCHAR(32) NOT NULL, "
        f"CONSTRAINT {pk} PRIMARY KEY (version_num))",
        bookkeeping_create(settings),
        f"ALTER TABLE {_book_name(settings)} ADD COLUMN IF NOT EXISTS content_hash text",
    ]
    tables = ", ".join(f"to_regclass({quote_literal(n)})" for n in (vt, _book_name(settings)))
    schema_acl = ""
    if schema and schema != "public":
        schema_acl = (
            "  FOR r IN SELECT a.grantee FROM pg_namespace n, aclexplode(n.nspacl) a\n"
            f"      WHERE n.nspname = {quote_literal(schema)} AND a.grantee <> n.nspowner LOOP\n"
            "    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %s', "
            f"{quote_literal(schema)}, CASE WHEN r.grantee = 0 THEN 'PUBLIC' "
            "ELSE quote_ident(pg_get_userbyid(r.grantee)) END);\n  END LOOP;\n"
        )
    out.append(
        "DO "
        + _dollar(
            "\nDECLARE r record;\nBEGIN\n"
            "  FOR r IN SELECT c.oid::regclass AS rel, a.grantee FROM pg_class c, "
            "aclexplode(c.relacl) a\n"
            f"      WHERE c.oid IN ({tables}) AND a.grantee <> c.relowner LOOP\n"
            "    EXECUTE format('REVOKE ALL ON %s FROM %s', r.rel, CASE WHEN r.grantee = 0 "
            "THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END);\n  END LOOP;\n"
            + schema_acl
            + "END\n"
        )
    )
    return out


def offline_guard(settings: Settings, start: Sequence[str]) -> str:
    """A statement that stops an offline script run on a database not at ``start``."""
    expected = "ARRAY[" + ", ".join(quote_literal(r) for r in sorted(start)) + "]::text[]"
    label = quote_literal(", ".join(sorted(start)) or "base")
    hint = quote_literal(
        "Generate the script for this database's revision: rlskit upgrade --sql FROM:TO "
        "(rlskit current shows FROM). Nothing was changed."
    )
    return "DO " + _dollar(
        "\nDECLARE at text[] := ARRAY(SELECT version_num::text FROM "
        f"{_version_name(settings)} ORDER BY 1);\nBEGIN\n"
        f"  IF at IS DISTINCT FROM {expected} THEN\n"
        "    RAISE EXCEPTION 'rlskit: this script starts at revision %, but the database is "
        f"at %', {label}, coalesce(nullif(array_to_string(at, ', '), ''), 'base') "
        f"USING HINT = {hint};\n  END IF;\nEND\n"
    )


def bookkeeping_create(settings: Settings) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the checksum table."""
    return (
        f"CREATE TABLE IF NOT EXISTS {_book_name(settings)} ("
        "revision text NOT NULL, path text NOT NULL, checksum text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now(), "
        "applied_by text NOT NULL DEFAULT current_user, content_hash text, "
        "PRIMARY KEY (revision, path))"
    )


def bookkeeping_record(
    settings: Settings, revision: str, path: str, checksum: str, content_hash: str = ""
) -> list[str]:
    """Statements recording that ``path`` of ``revision`` was applied."""
    t = _book_name(settings)
    sha = quote_literal(content_hash) if content_hash else "NULL"
    return [
        bookkeeping_create(settings),
        f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS content_hash text",
        f"DELETE FROM {t} WHERE revision = {quote_literal(revision)}",
        f"INSERT INTO {t} (revision, path, checksum, content_hash) VALUES "
        f"({quote_literal(revision)}, {quote_literal(path)}, {quote_literal(checksum)}, {sha})",
    ]


def bookkeeping_forget(settings: Settings, revision: str) -> list[str]:
    """Statements forgetting ``revision`` (after its downgrade)."""
    return [
        bookkeeping_create(settings),
        f"DELETE FROM {_book_name(settings)} WHERE revision = {quote_literal(revision)}",
    ]


def lock_timeout_sql(settings: Settings) -> str:
    """The per-revision ``lock_timeout`` (transaction-local)."""
    value = quote_literal(pg_duration(settings.lock_timeout))
    return f"SELECT set_config('lock_timeout', {value}, true)"


def advisory_key(settings: Settings) -> int:
    """A stable 63-bit key per version table, for the migration lock."""
    name = f"{LOCK_NAMESPACE}:{settings.version_table_schema or ''}.{settings.version_table}"
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
