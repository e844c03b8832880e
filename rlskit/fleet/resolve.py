"""Turn a fleet file into targets: run its query sources and list its schemas."""

from __future__ import annotations

from rlskit.errors import DatabaseUnavailable, SpecError
from rlskit.fleet.targets import FleetFile, Target, expand, refuse_literal_password, schema_target
from rlskit.fleet.targets import unique as unique_names
from rlskit.urls import libpq_url, mask_url


def _rows(url: str, sql: str, where: str) -> list[tuple[object, ...]]:
    import psycopg

    try:
        conn = psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(mask_url(url), " ".join(str(exc).split())[:300]) from None
    with conn:
        try:
            return list(conn.execute(sql.encode()).fetchall())
        except psycopg.Error as exc:
            raise SpecError(
                f"{where}: the fleet query failed: {' '.join(str(exc).split())}.",
                "Fix the query in the fleet file; nothing was run.",
            ) from None


def targets(fleet: FleetFile) -> list[Target]:
    """Every target of the fleet, in file order: literal, then queried, then schemas."""
    out = list(fleet.targets)
    for q in fleet.queries:
        for row in _rows(q.url, q.sql, q.where):
            if len(row) < 2 or not isinstance(row[0], str) or not isinstance(row[1], str):
                raise SpecError(f"{q.where}: the query must return name text, url text[, tags].")
            where = f"{q.where} (row {row[0]!r})"
            refuse_literal_password(row[1], where)
            tags = row[2] if len(row) > 2 and isinstance(row[2], list) else []
            out.append(Target(row[0], expand(row[1], where), tuple(str(t) for t in tags)))
    for s in fleet.schemas:
        names = list(s.names)
        if s.sql is not None:
            for row in _rows(s.url, s.sql, s.where):
                if not row or not isinstance(row[0], str):
                    raise SpecError(f"{s.where}: the schema query must return schema names.")
                if row[0] not in names:
                    names.append(row[0])
        out.extend(schema_target(s, n) for n in names)
    unique_names(out)
    return out
