"""What a fleet command does on one target; runs in a worker process.

Each job is a top-level function of (alembic.ini path, target, ...) returning an
:class:`~rlskit.fleet.state.Outcome`: errors become outcomes (with file, line
and statement when a revision failed), never exceptions, so one target's
failure cannot stop the others. Every upgrade goes through ``rlskit.commands``
and so takes that target's own migration lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from rlskit.errors import DatabaseUnavailable, RlskitError, SqlStatementError
from rlskit.fleet.state import Outcome
from rlskit.fleet.targets import Target
from rlskit.project import Project
from rlskit.quoting import quote_ident
from rlskit.urls import libpq_url, mask_url


def target_url(target: Target) -> str:
    """The URL to migrate: a schema target gets ``search_path`` as a startup option.

    A startup option is the session default, so it survives ``RESET ALL``.
    """
    if target.schema is None:
        return target.url
    parts = urlsplit(libpq_url(target.url))
    query = parse_qsl(parts.query, keep_blank_values=True)
    ident = quote_ident(target.schema).replace("\\", "\\\\").replace(" ", "\\ ")
    setting = f"-c search_path={ident}"
    options = [v for k, v in query if k == "options"]
    rest = [(k, v) for k, v in query if k != "options"]
    value = " ".join([*options, setting])
    query_text = urlencode([*rest, ("options", value)], quote_via=quote)  # libpq: no '+'
    return urlunsplit(parts._replace(query=query_text))


def _settings(project: Project, target: Target) -> Any:
    if target.schema is None:
        return project.settings
    return project.settings.with_overrides(version_table_schema=target.schema)


def _guard(target: Target, fn: Callable[[], Outcome]) -> Outcome:
    started = time.perf_counter()
    try:
        out = fn()
    except DatabaseUnavailable as exc:
        out = Outcome(target.name, "unreachable", _clean(str(exc), target))
    except SqlStatementError as exc:
        f = exc.failure
        out = Outcome(
            target.name,
            "failed",
            _clean(str(exc), target),
            data={
                "revision": f.revision,
                "file": f.path,
                "line": f.line,
                "statement": f.statement[:500],
                "sqlstate": f.sqlstate,
            },
        )
    except RlskitError as exc:
        out = Outcome(target.name, "failed", _clean(str(exc), target))
    except Exception as exc:  # a driver error rlskit did not anticipate: report, go on
        text = " ".join(str(getattr(exc, "orig", None) or exc).split())
        out = Outcome(target.name, "failed", _clean(f"{type(exc).__name__}: {text}", target))
    out.seconds = time.perf_counter() - started
    return out


def secrets_of(url: str) -> list[str]:
    """Every form in which ``url``'s password could be quoted back: as written,
    percent-decoded and percent-encoded (userinfo, an unencoded ``@`` included, or a
    ``password=`` query parameter or conninfo key)."""
    from urllib.parse import quote, unquote

    from rlskit.urls import libpq_env

    try:
        _, env = libpq_env(url)
    except Exception:  # not even parseable: mask what looks like one
        env = {}
    found = [v for v in (env.get("PGPASSWORD", ""),) if v]
    out: list[str] = []
    for pw in found:
        out += [pw, unquote(pw), quote(pw, safe="")]
    return sorted({p for p in out if p}, key=len, reverse=True)


def _clean(text: str, target: Target) -> str:
    """Never let a password through, in whatever form the error quoted it: every
    form of the password first, then URLs masked."""
    for secret in secrets_of(target.url):
        text = text.replace(secret, "***")
    return " ".join(mask_url(text).split())


def _ensure_schema(target: Target) -> bool:
    """Create a schema target's schema when missing; True when it was created."""
    import psycopg

    from rlskit.runtime import connect_error

    assert target.schema is not None
    try:
        conn = psycopg.connect(libpq_url(target.url), autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise connect_error(target.url, exc) from None
    with conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (target.schema,)
        ).fetchone()
        if exists:
            return False
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(target.schema)}")
        return True


def upgrade(ini: str, target: Target, goal: str) -> Outcome:
    """Apply the pending revisions up to ``goal`` on ``target``."""
    from rlskit import commands

    def run() -> Outcome:
        project = Project.load(Path(ini))
        created = _ensure_schema(target) if target.schema is not None else False
        opts = commands.RunOptions(url=target_url(target), settings=_settings(project, target))
        result = commands.upgrade(project, goal, opts)
        revs = [str(e.data["revision"]) for e in result.revisions]
        done = [e for e in result.events if e.kind == "done"]
        after = done[-1].data.get("after", []) if done else []
        detail = f"applied {', '.join(revs)}" if revs else "nothing to do"
        if created:
            detail = f"created schema {target.schema}; {detail}"
        return Outcome(
            target.name, "ok", detail, data={"applied": revs, "revision": ",".join(after)}
        )

    return _guard(target, run)


def status(ini: str, target: Target) -> Outcome:
    """Revision, pending and edited revisions of ``target``."""
    from rlskit import commands

    def run() -> Outcome:
        project = Project.load(Path(ini))
        opts = commands.RunOptions(url=target_url(target), settings=_settings(project, target))
        infos = commands.status(project, opts)
        applied = [i.revision for i in infos if i.applied]
        heads = commands.current(project, opts)
        pending = [i.revision for i in infos if not i.applied]
        edited = [i.revision for i in infos if i.edited]
        data = {
            "revision": ",".join(heads) or "base",
            "applied": len(applied),
            "pending": pending,
            "edited": edited,
        }
        detail = f"at {data['revision']}, {len(pending)} pending"
        if edited:
            detail += f", EDITED applied files: {', '.join(edited)}"
        return Outcome(target.name, "ok", detail, data=data)

    return _guard(target, run)


def drift(ini: str, target: Target) -> Outcome:
    """Compare ``target`` with a scratch build of its revision."""
    from rlskit import commands

    def run() -> Outcome:
        project = Project.load(Path(ini))
        opts = commands.RunOptions(url=target_url(target), settings=_settings(project, target))
        report = commands.drift(project, opts)
        n = len(report.differences)
        rev = ",".join(report.revision) or "base"
        if n:
            kinds = sorted({str(getattr(d, "kind", "difference")) for d in report.differences})
            return Outcome(
                target.name,
                "failed",
                f"{n} difference(s) from revision {rev}: {', '.join(kinds)}",
                data={"revision": rev, "differences": n},
            )
        return Outcome(
            target.name, "ok", f"matches revision {rev}", data={"revision": rev, "differences": 0}
        )

    return _guard(target, run)


def test_revision(ini: str, revision: str, name: str) -> Outcome:
    """The project's access matrices on a scratch database built to ``revision``."""
    from rlskit import commands

    probe = Target(name, "")

    def run() -> Outcome:
        project = Project.load(Path(ini))
        report = commands.test(project, target=revision)
        failed = report.failed
        total = len(report.results)
        if failed or report.refused:
            first = failed[0] if failed else None
            where = f"{first.file}: {first.case} as {first.actor}" if first else report.refused[0]
            return Outcome(
                name,
                "failed",
                f"{len(failed)} of {total} case(s) failed at {revision}; first: {where}",
                data={"revision": revision, "passed": report.passed, "failed": len(failed)},
            )
        return Outcome(
            name,
            "ok",
            f"{report.passed} case(s) passed at {revision}",
            data={"revision": revision, "passed": report.passed, "failed": 0},
        )

    return _guard(probe, run)
