"""rlskit's commands: plain functions taking a :class:`Project` and options.

The click layer (``rlskit.cli``) only parses arguments, calls these, formats
what they return and maps :class:`~rlskit.errors.RlskitError` to exit codes.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlskit.errors import (
    ProjectError,
    RevisionError,
    RlskitError,
    SqlStatementError,
    SqlSyntaxError,
)
from rlskit.project import INI_NAME, Project, Settings
from rlskit.quoting import comment_text, sql_comment
from rlskit.runtime import (
    ATTR_ACTION,
    ATTR_REPORT,
    ATTR_SETTINGS,
    ATTR_URL,
    AppliedFile,
    Event,
    Report,
    SqlRevision,
    applied_files,
    find_script,
    sql_revision_for,
    sql_revision_of,
)
from rlskit.status import RevisionInfo
from rlskit.term import escape

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import Script, ScriptDirectory

SCAFFOLD = Path(__file__).parent / "scaffold"


@dataclass
class RunOptions:
    """Options shared by the commands that talk to a database."""

    url: str | None = None
    settings: Settings | None = None
    report: Report | None = None
    # downgrade: True (--yes) or the schema.table names confirmed to lose their rows
    accept_data_loss: bool | frozenset[str] = False


# -- init / new --------------------------------------------------------------
def init(directory: Path) -> list[Path]:
    """Scaffold a project in ``directory``; refuses to overwrite anything."""
    directory = directory.absolute()
    targets = {
        directory / INI_NAME: SCAFFOLD / "alembic.ini",
        directory / "migrations" / "env.py": SCAFFOLD / "env.py",
        directory / "migrations" / "script.py.mako": SCAFFOLD / "script.py.mako",
    }
    existing = [p for p in targets if p.exists()]
    if existing:
        raise ProjectError(
            f"{existing[0]} already exists; rlskit init never overwrites files.",
            "Run it in an empty folder, or remove the file first.",
        )
    created: list[Path] = []
    for dest, src in targets.items():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        created.append(dest)
    for sub in ("migrations/versions", "sql", "policies"):
        d = directory / sub
        d.mkdir(parents=True, exist_ok=True)
        keep = d / ".gitkeep"
        keep.touch()
        created.append(d)
    gi = directory / ".gitignore"
    if not gi.exists():
        shutil.copyfile(SCAFFOLD / "gitignore", gi)
        created.append(gi)
    return created


def slugify(message: str) -> str:
    """``"Add tenant policies!"`` -> ``"add_tenant_policies"``."""
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")
    return slug[:40].rstrip("_") or "revision"


def _next_rev_id(script: ScriptDirectory) -> str:
    numbers = [int(r.revision) for r in script.walk_revisions() if r.revision.isdigit()]
    return f"{(max(numbers) if numbers else 0) + 1:04d}"


@dataclass(frozen=True)
class NewRevision:
    """What ``rlskit new`` created."""

    revision: str
    module: Path
    up: Path
    down: Path


def new(
    project: Project,
    message: str,
    rev_id: str | None = None,
    up_sql: str | None = None,
    down_sql: str | None = None,
    heads: tuple[str, ...] | None = None,
) -> NewRevision:
    """Create a revision: two .sql files and a thin Alembic module applying them.

    ``heads``: the revisions it follows (a merge); default: the single head.
    """
    from alembic.script import ScriptDirectory

    if not message.strip():
        raise RevisionError('A revision needs a message (rlskit new "add tenant policies").')
    cfg = alembic_config(project, RunOptions())
    script = ScriptDirectory.from_config(cfg)
    script.messaging_opts = {"quiet": True}  # we print our own lines
    with _alembic_errors():
        current_heads = script.get_heads()
        if heads is None and len(current_heads) > 1:
            raise RevisionError(
                f"The project has {len(current_heads)} heads ({', '.join(current_heads)}), so a "
                "new revision would not know what it follows.",
                "Merge them first with `rlskit merge` (or `alembic merge heads -m merge`).",
            )
        rev = rev_id or _next_rev_id(script)
        if not re.fullmatch(r"[A-Za-z0-9_]+", rev):
            raise RevisionError(f"Revision id {rev!r} may hold only letters, digits and _.")
        if find_script(script, rev) is not None:
            raise RevisionError(f"Revision {rev} exists already; choose another --rev-id.")
        stem = f"{rev}_{slugify(message)}"
        up = project.sql_dir / f"{stem}.up.sql"
        down = project.sql_dir / f"{stem}.down.sql"
        for p in (up, down):
            if p.exists():
                raise RevisionError(f"{project.display(p)} exists already.")
        project.sql_dir.mkdir(parents=True, exist_ok=True)
        up.write_text(
            up_sql
            if up_sql is not None
            else f"-- {comment_text(message)}\n-- Revision {rev}: write the change as plain SQL statements.\n"
        )
        down.write_text(
            down_sql
            if down_sql is not None
            else f"-- Revert: {comment_text(message)}\n-- Revision {rev}: undo exactly what the .up.sql did.\n"
        )
        sc = script.generate_revision(
            rev, message, head=list(heads) if heads else "head", refresh=True, stem=stem
        )
    assert sc is not None
    module = Path(sc.path)
    if module.name != f"{stem}.py":  # Alembic cuts long slugs its own way: keep the stems equal
        module = module.rename(module.with_name(f"{stem}.py"))
    return NewRevision(rev, module, up, down)


def _merge_sql(heads: tuple[str, ...], direction: str) -> str:
    return (
        f"-- Merge of heads {comment_text(', '.join(heads))}: the revision only joins the branches.\n"
        f"-- Nothing to run {direction}; add statements here only if the merge needs them.\n"
    )


def merge(project: Project, message: str = "merge", rev_id: str | None = None) -> NewRevision:
    """A revision following every head, with empty .sql files: joins the branches."""
    from alembic.script import ScriptDirectory

    cfg = alembic_config(project, RunOptions())
    script = ScriptDirectory.from_config(cfg)
    script.messaging_opts = {"quiet": True}
    with _alembic_errors():
        heads = tuple(sorted(script.get_heads()))
    if len(heads) < 2:
        raise RevisionError(
            f"The project has {len(heads)} head(s); there is nothing to merge.",
            "Nothing was created.",
        )
    return new(
        project,
        message,
        rev_id,
        up_sql=_merge_sql(heads, "up"),
        down_sql=_merge_sql(heads, "down"),
        heads=heads,
    )


def template_stem(config: Any, revision: str, message: str | None, down_revision: Any) -> str:
    """For plain ``alembic revision``/``alembic merge``: write the .sql files, return the stem.

    Called from ``script.py.mako`` when rlskit did not pass a stem. Existing files
    are kept as they are.
    """
    from rlskit.runtime import project_for

    project = project_for(config)
    text = (message or "").strip() or "revision"
    stem = f"{revision}_{slugify(text)}"
    parents = tuple(down_revision) if isinstance(down_revision, tuple | list) else ()
    project.sql_dir.mkdir(parents=True, exist_ok=True)
    for direction in ("up", "down"):
        path = project.sql_dir / f"{stem}.{direction}.sql"
        if path.exists():
            continue
        if len(parents) > 1:
            path.write_text(_merge_sql(parents, direction))
        elif direction == "up":
            path.write_text(
                sql_comment(text, f"Revision {revision}: write the change as plain SQL statements.")
                + "\n"
            )
        else:
            path.write_text(
                sql_comment(
                    f"Revert: {text}", f"Revision {revision}: undo exactly what the .up.sql did."
                )
                + "\n"
            )
    return stem


def docstring_text(message: str | None) -> str:
    """``message`` safe inside a revision module's ``\"\"\"`` docstring: backslashes and
    quotes escaped, so a message cannot end the docstring and become Python."""
    text = (message or "").replace("\\", "\\\\").replace('"', '\\"')
    return escape(text, keep_newlines=True)


# -- Alembic plumbing --------------------------------------------------------
def alembic_config(project: Project, opts: RunOptions, buffer: io.StringIO | None = None) -> Config:
    """An Alembic Config for ``project`` carrying rlskit's options as attributes."""
    from alembic.config import Config

    cfg = Config(str(project.ini), output_buffer=buffer) if buffer else Config(str(project.ini))
    cfg.attributes["rlskit.project"] = project
    cfg.attributes["rlskit.cli"] = True
    if opts.url is not None:
        cfg.attributes[ATTR_URL] = opts.url
    cfg.attributes[ATTR_SETTINGS] = opts.settings or project.settings
    if opts.report:
        cfg.attributes[ATTR_REPORT] = opts.report
    if opts.accept_data_loss:
        from rlskit.guard import ATTR_ACCEPT

        cfg.attributes[ATTR_ACCEPT] = opts.accept_data_loss
    return cfg


@contextmanager
def _alembic_errors() -> Iterator[None]:
    """Turn Alembic's revision errors into one-paragraph RevisionErrors."""
    from alembic.script.revision import ResolutionError
    from alembic.util import CommandError

    try:
        yield
    except RlskitError:
        raise
    except (CommandError, ResolutionError) as exc:
        text = str(exc)
        if "Multiple head" in text or "multiple heads" in text.lower():
            raise RevisionError(
                f"The project has several heads, so 'head' is ambiguous: {text}",
                "Merge them (`rlskit merge`, or `alembic merge heads -m merge`) or name a target; "
                "nothing was changed.",
            ) from None
        if "Can't locate revision" in text or "No such revision" in text:
            raise RevisionError(
                f"Unknown revision: {text}",
                "`rlskit history` lists the revisions; nothing was changed.",
            ) from None
        raise RevisionError(f"{text}", "Nothing was changed.") from None


# -- upgrade / downgrade -----------------------------------------------------
@dataclass
class RunResult:
    """What an upgrade or downgrade did."""

    events: list[Event] = field(default_factory=list)
    script: str | None = None  # offline mode: the SQL script

    @property
    def revisions(self) -> list[Event]:
        """Events of revisions that ran."""
        return [e for e in self.events if e.kind == "revision"]


def _collecting(opts: RunOptions, result: RunResult) -> RunOptions:
    outer = opts.report

    def report(event: Event) -> None:
        result.events.append(event)
        if outer:
            outer(event)

    return replace(opts, report=report)


def _migrate(
    verb: str, project: Project, target: str, opts: RunOptions | None, sql: bool
) -> RunResult:
    from alembic import command

    opts = opts or RunOptions()
    result = RunResult()
    buffer = io.StringIO() if sql else None
    cfg = alembic_config(project, _collecting(opts, result), buffer)
    with _alembic_errors():
        getattr(command, verb)(cfg, target, sql=sql)
    if buffer is not None:
        result.script = buffer.getvalue()
    return result


def upgrade(
    project: Project, target: str = "head", opts: RunOptions | None = None, sql: bool = False
) -> RunResult:
    """Apply pending revisions up to ``target`` (or write them as a script)."""
    if not sql and target in ("head", "heads") and not os.environ.get("RLSKIT_NO_FAST_PATH"):
        done = _nothing_to_do(project, target, opts or RunOptions())
        if done is None:
            done = _direct(project, opts or RunOptions())
        if done is not None:
            return done
    return _migrate("upgrade", project, target, opts, sql)


def _direct(project: Project, opts: RunOptions) -> RunResult | None:
    """An upgrade to head without Alembic (:mod:`rlskit.engine`) when the project
    is plain and linear; None when the Alembic path must run (nothing was done)."""
    from rlskit import engine
    from rlskit.runtime import embedded_url

    if engine.linear_plan(project) is None:
        return None
    settings = opts.settings or project.settings
    url, source = project.given_url(opts.url) or embedded_url(project, settings)
    result = RunResult()
    report = _collecting(opts, result).report
    assert report is not None
    return result if engine.upgrade(project, settings, url, source, report) else None


def _nothing_to_do(project: Project, target: str, opts: RunOptions) -> RunResult | None:
    """The result of an upgrade with nothing pending, verified without Alembic
    (:mod:`rlskit.noop`); None when the full path must run."""
    from rlskit import noop
    from rlskit.urls import mask_url

    given = project.given_url(opts.url)
    if given is None:
        return None  # the embedded server: the full path starts it
    url, source = given
    if noop.declined(project, url):
        return None  # the console script has just checked
    heads = noop.at_heads(project, url, opts.settings or project.settings)
    if heads is None or (target == "head" and len(heads) != 1):
        return None
    at = ", ".join(heads)
    result = RunResult()
    events = [
        Event(
            "connected",
            f"database {mask_url(url)} ({source})",
            {"url": mask_url(url), "source": source},
        ),
        Event("done", f"at {at} (was {at})", {"before": list(heads), "after": list(heads)}),
    ]
    for event in events:
        result.events.append(event)
        if opts.report:
            opts.report(event)
    return result


def downgrade(
    project: Project, target: str, opts: RunOptions | None = None, sql: bool = False
) -> RunResult:
    """Revert revisions down to ``target`` (``-1``, a revision, or ``base``)."""
    return _migrate("downgrade", project, target, opts, sql)


def migrate_scratch(
    project: Project, url: str, target: str = "heads", settings: Settings | None = None
) -> RunResult:
    """Apply the migrations to a scratch database (lint, test, drift, the pytest
    plugin): all-or-nothing, or revision by revision when a no-transaction
    revision needs it (refused before anything runs, so the retry starts clean)."""
    from rlskit.errors import NonTransactionalRevision
    from rlskit.scratch import as_migrator

    s = settings or project.settings
    url = as_migrator(url)  # [rlskit] migrate_as: as the managed-PostgreSQL-like role
    try:
        return upgrade(project, target, RunOptions(url=url, settings=s))
    except NonTransactionalRevision:
        return upgrade(
            project, target, RunOptions(url=url, settings=s.with_overrides(per_revision=True))
        )


def _with_context(project: Project, opts: RunOptions, fn: Any, *, lock: bool) -> None:
    """Run ``fn(migration_context)`` inside env.py (with or without the lock)."""
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config(project, opts)
    script = ScriptDirectory.from_config(cfg)

    if lock:
        cfg.attributes[ATTR_ACTION] = fn
        with EnvironmentContext(cfg, script, fn=lambda rev, ctx: []):
            script.run_env()
    else:

        def inner(rev: Any, ctx: Any) -> list[Any]:
            fn(ctx)
            return []

        with EnvironmentContext(cfg, script, fn=inner, dont_mutate=True):
            script.run_env()


def current(project: Project, opts: RunOptions | None = None) -> tuple[str, ...]:
    """The revisions the database is at."""
    heads: list[tuple[str, ...]] = []
    with _alembic_errors():
        _with_context(
            project,
            opts or RunOptions(),
            lambda ctx: heads.append(ctx.get_current_heads()),
            lock=False,
        )
    return heads[0] if heads else ()


# -- history / status --------------------------------------------------------
def _revisions(project: Project) -> list[Script]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(project, RunOptions()))
    with _alembic_errors():
        return list(reversed(list(script.walk_revisions())))


def _info(project: Project, sc: Script) -> RevisionInfo:
    rev: SqlRevision | None = sql_revision_of(sc.module)
    down = sc.down_revision
    downs = tuple(down) if isinstance(down, tuple | list) else ((down,) if down else ())
    return RevisionInfo(
        revision=sc.revision,
        down_revision=downs,
        message=(sc.doc or "").strip(),
        up=project.display(rev.path(project, "up")) if rev else None,
        down=project.display(rev.path(project, "down")) if rev else None,
        is_head=sc.is_head,
        down_missing=rev is not None and not rev.path(project, "down").is_file(),
    )


def history(project: Project) -> list[RevisionInfo]:
    """All revisions, base first. Needs no database."""
    return [_info(project, sc) for sc in _revisions(project)]


def status(project: Project, opts: RunOptions | None = None) -> list[RevisionInfo]:
    """Every revision with whether it is applied, when, and whether its file was edited."""
    opts = opts or RunOptions()
    url = project.given_url(opts.url)
    if url is not None:  # a linear history, unchanged files: read without Alembic
        from rlskit import noop

        rows = noop.status_rows(project, url[0], opts.settings or project.settings)
        if rows is not None:
            return [RevisionInfo(**row) for row in rows]
    from alembic.script import ScriptDirectory

    from rlskit.sqlfile import SqlFile

    scripts = _revisions(project)
    state: dict[str, Any] = {}

    def read(ctx: MigrationContext) -> None:
        heads = ctx.get_current_heads()
        sd = ScriptDirectory.from_config(alembic_config(project, RunOptions()))
        applied = {s.revision for s in sd.iterate_revisions(heads, "base")} if heads else set()
        state["applied"] = applied
        assert ctx.connection is not None
        records = applied_files(ctx.connection, opts.settings or project.settings)
        state["book"] = {r.revision: r for r in records}

    with _alembic_errors():
        _with_context(project, opts, read, lock=False)
    out = []
    for sc in scripts:
        info = _info(project, sc)
        rec: AppliedFile | None = state["book"].get(sc.revision)
        edited = False
        if rec is not None and info.up:
            path = project.root / info.up
            edited = not path.is_file() or rec.differs(SqlFile.load(path, info.up))
        out.append(
            RevisionInfo(
                **{
                    **info.__dict__,
                    "applied": sc.revision in state["applied"],
                    "applied_at": rec.applied_at if rec else None,
                    "edited": edited,
                }
            )
        )
    return out


# -- plan / repair -----------------------------------------------------------
def plan(project: Project, target: str = "head", opts: RunOptions | None = None) -> str:
    """The SQL that ``upgrade`` would run now; applies nothing."""
    opts = opts or RunOptions()
    heads = current(project, opts)
    if len(heads) > 1:
        raise RevisionError("The database is at several heads; plan needs one starting point.")
    start = heads[0] if heads else "base"
    if start != "base":
        applied_to_target = _is_at(project, start, target)
        if applied_to_target:
            return ""
    result = upgrade(project, f"{start}:{target}", RunOptions(None, opts.settings), sql=True)
    return result.script or ""


def _is_at(project: Project, start: str, target: str) -> bool:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(project, RunOptions()))
    with _alembic_errors():
        targets = script.get_revisions(target)
    return all(t is not None and t.revision == start for t in targets)


def repair(project: Project, opts: RunOptions | None = None) -> list[tuple[str, str]]:
    """Accept edited applied files: store their current checksums. Returns (revision, path)."""
    from alembic.script import ScriptDirectory

    from rlskit.bookkeeping import _book_name

    opts = opts or RunOptions()
    settings = opts.settings or project.settings
    changed: list[tuple[str, str]] = []

    def action(ctx: MigrationContext) -> None:
        conn = ctx.connection
        assert conn is not None
        sd = ScriptDirectory.from_config(alembic_config(project, RunOptions()))
        for rec in applied_files(conn, settings):
            rev = sql_revision_for(sd, rec.revision)
            if rev is None:
                continue
            f = rev.load(project, "up")
            if (
                f.checksum != rec.checksum
                or f.display != rec.path
                or f.content_hash != rec.content_hash
            ):
                conn.exec_driver_sql(
                    f"UPDATE {_book_name(settings)} SET checksum = %s, path = %s, "
                    "content_hash = %s, applied_by = current_user WHERE revision = %s",
                    (f.checksum, f.display, f.content_hash or None, rec.revision),
                )
                if rec.differs(f) or f.display != rec.path:  # not a mere algorithm upgrade
                    changed.append((rec.revision, f.display))

    with _alembic_errors():
        _with_context(project, opts, action, lock=True)
    return changed


# -- policies ------------------------------------------------------------------
@dataclass(frozen=True)
class Rendered:
    """The SQL objects of a project's policies/*.yaml."""

    objects: list[Any]
    sql: str


def render(project: Project) -> Rendered:
    """Validate and render every policies/*.yaml of the project."""
    from rlskit.policies.render import render as render_objects
    from rlskit.policies.render import to_sql
    from rlskit.policies.spec import load_dir

    policy_set = load_dir(project.policies_dir, project.display(project.policies_dir))
    objects = render_objects(policy_set)
    return Rendered(objects, to_sql(objects))


def policy_changes(project: Project) -> tuple[str, str, list[str], str]:
    """Up SQL, down SQL, summary and new state since the last --from-policies revision."""
    from rlskit.policies.diff import STATE_FILE, dump_state, load_state, migration

    rendered = render(project)
    old = load_state(project.policies_dir / STATE_FILE)
    up, down, summary = migration(old, rendered.objects)
    return up, down, summary, dump_state(rendered.objects)


def _schema_dump(pg_dump: str, url: str) -> str:
    """``pg_dump --schema-only`` of a database, without its per-run random lines."""
    import os
    import subprocess

    from rlskit.urls import libpq_env

    conninfo, env = libpq_env(url)  # the password goes in the child's environment only
    proc = subprocess.run(
        [pg_dump, "--schema-only", "--no-comments", "-d", conninfo],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    if proc.returncode != 0:
        raise RlskitError(f"pg_dump of the scratch database failed: {proc.stderr.strip()}")
    return "\n".join(
        line
        for line in proc.stdout.splitlines()
        if not line.startswith(("\\restrict", "\\unrestrict", "-- Dumped"))
    )


def exact_down(
    project: Project, up_sql: str, down_steps: list[str], scratch_url: str | None = None
) -> str:
    """A down script that restores exactly the state before ``up_sql``.

    The previous revisions are built in a scratch database; ``up_sql`` runs there,
    then the rendered ``down_steps`` (a step that fails there is left out), then
    what restores anything those steps changed that existed before (RLS enabled by
    hand, grants, replaced functions). Refuses when the result is not exactly the
    state before, by catalog snapshot and by ``pg_dump --schema-only``.
    """
    import psycopg

    from rlskit import drift as drift_mod
    from rlskit import pgsql
    from rlskit.catalog import snapshot
    from rlskit.embedded import EmbeddedServer
    from rlskit.policies.diff import DOWN_TITLE, script
    from rlskit.quoting import comment_text
    from rlskit.scratch import scratch_database

    pg_dump = EmbeddedServer(project.embedded_home).tool("pg_dump")
    kept: list[str] = []
    with scratch_database(project, scratch_url) as url:
        if history(project):
            migrate_scratch(project, url, "heads")
        with psycopg.connect(url, autocommit=True) as conn:
            before, dump_before = snapshot(conn), _schema_dump(pg_dump, url)
            for st in pgsql.split(up_sql):
                try:
                    conn.execute(st.text.encode())
                except psycopg.Error as exc:
                    raise RevisionError(
                        f"The policy changes fail on a build of the previous revisions: "
                        f"{' '.join(str(exc).split())} (statement: {' '.join(st.text.split())[:200]}).",
                        "Fix policies/*.yaml or the earlier revisions; nothing was created.",
                    ) from None
            for step in down_steps:
                comment = "\n".join(x for x in step.splitlines() if x.startswith("-- "))
                ran, skipped = [], []
                for st in pgsql.split(step):
                    try:
                        with conn.transaction():
                            conn.execute(st.text.encode())
                        ran.append(st.text.strip() + ";")
                    except psycopg.Error as exc:
                        reason = comment_text(" ".join(str(exc).split())[:150])
                        what = comment_text(" ".join(st.text.split())[:150])
                        skipped.append(f"-- left out, it fails here ({reason}): {what}")
                if ran and not skipped:
                    kept.append(step)
                elif ran or skipped:
                    kept.append("\n".join([comment, *skipped, *ran]).strip())
            after = snapshot(conn)
            restore = [d.restore for d in drift_mod.compare(before, after) if d.restore.strip()]
            for sql in restore:
                for st in pgsql.split(sql):
                    conn.execute(st.text.encode())
            left = snapshot(conn).diff(before)
            dump_after = _schema_dump(pg_dump, url)
    if left or dump_after != dump_before:
        import difflib

        detail = (
            left[:5]
            if left
            else [
                line
                for line in difflib.unified_diff(
                    dump_before.splitlines(), dump_after.splitlines(), lineterm="", n=0
                )
                if line[:1] in "+-" and not line.startswith(("+++", "---"))
            ][:8]
        )
        raise RevisionError(
            "rlskit cannot write a down script that restores exactly the state before this "
            f"revision; what would still differ after it: {detail}.",
            "Write this revision by hand (rlskit new, then copy `rlskit render` output), "
            "nothing was created.",
        )
    if restore:
        kept.append(
            "-- restore what existed before this revision (found by building the previous "
            "revisions in a scratch database)\n" + "\n".join(restore)
        )
    return script(kept, DOWN_TITLE)


def new_from_policies(
    project: Project, message: str, rev_id: str | None = None, scratch_url: str | None = None
) -> tuple[NewRevision, list[str]]:
    """A revision holding exactly the policy changes since the last one; its down
    script restores exactly the state before it (checked on a scratch build)."""
    from rlskit.policies.diff import STATE_FILE, load_state, steps

    up, _, summary, state = policy_changes(project)
    if not summary:
        raise RevisionError(
            "policies/*.yaml render to the same SQL as at the last --from-policies revision.",
            "Nothing to put in a revision; nothing was created.",
        )
    _, down_steps, _ = steps(load_state(project.policies_dir / STATE_FILE), render(project).objects)
    down = exact_down(project, up, down_steps, scratch_url)
    rev = new(project, message, rev_id, up_sql=up, down_sql=down)
    (project.policies_dir / STATE_FILE).write_text(state)
    return rev, summary


# -- lint ----------------------------------------------------------------------
@dataclass
class LintReport:
    """Findings, and where the time went."""

    findings: list[Any]
    static_seconds: float = 0.0
    build_seconds: float = 0.0  # scratch database + migrations
    catalog_seconds: float = 0.0  # catalog queries + rules

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


def lint_sources(project: Project) -> list[tuple[str, str]]:
    """The project's up files in revision order, plus policy changes not yet in a revision."""
    from rlskit.sqlfile import normalise

    out: list[tuple[str, str]] = []
    for info in history(project):
        if info.up and (project.root / info.up).is_file():
            out.append((info.up, normalise((project.root / info.up).read_text(encoding="utf-8"))))
    if project.policies_dir.is_dir():
        up, _, summary, _ = policy_changes(project)
        if summary:
            out.append(("policies/*.yaml (not yet in a revision)", up))
    return out


def _apply_failure(exc: SqlStatementError) -> Any:
    """The scratch database refused a statement: a finding at its file:line."""
    from rlskit.lint.core import Finding
    from rlskit.lint.model import Loc

    path = str(exc.failure.path)
    return Finding(
        "RLS000",
        "error",
        f"the migrations do not apply to an empty database: {exc.failure.pg_message} "
        "(catalog rules were not run)",
        Loc(path, exc.failure.line, path),
        f"apply:{path}",
        static_only=True,
    )


def _unsplittable(exc: SqlSyntaxError) -> Any:
    """A file rlskit cannot run (meta-command, unterminated quote): a finding at its line."""
    from rlskit.lint.core import Finding
    from rlskit.lint.model import Loc

    return Finding(
        "RLS000",
        "error",
        f"the migrations do not apply to an empty database: {exc.reason} "
        "(catalog rules were not run)",
        Loc(exc.path, exc.line, exc.path),
        f"apply:{exc.path}",
        static_only=True,
    )


def lint(
    project: Project, opts: RunOptions | None = None, with_database: bool = True
) -> LintReport:
    """Static rules on the SQL files; with a database, catalog rules on the applied result."""
    import time

    from rlskit.lint import build_static, merge, run_rules
    from rlskit.lint.core import LintConfig

    opts = opts or RunOptions()
    settings = opts.settings or project.settings
    config = LintConfig.from_ini(project.ini, settings.lock_timeout)
    t0 = time.perf_counter()
    import dataclasses

    sources = lint_sources(project)
    model, sup = build_static(sources)
    # Policy changes not yet in a revision are not in the scratch database either:
    # the catalog cannot confirm their findings, so they stand on their own.
    pending = {name for name, _ in sources if name.startswith("policies/")}
    static = [
        dataclasses.replace(f, static_only=True) if f.loc.file in pending else f
        for f in run_rules(model, config)
    ]
    report = LintReport(
        [f for f in static if not sup.suppressed(f)], static_seconds=time.perf_counter() - t0
    )
    if not with_database:
        report.findings = merge(report.findings, [], with_catalog=False)
        return report
    import psycopg

    from rlskit.lint import catalog as lint_catalog
    from rlskit.scratch import scratch_database

    t1 = time.perf_counter()
    with scratch_database(project, opts.url) as url:
        try:
            migrate_scratch(project, url, "heads", opts.settings)
        except SqlSyntaxError as exc:  # refused before running: a finding at its file:line
            report.findings = [
                f
                for f in merge([*static, _unsplittable(exc)], [], with_catalog=False)
                if not sup.suppressed(f)
            ]
            report.build_seconds = time.perf_counter() - t1
            return report
        except SqlStatementError as exc:
            if exc.sqlstate != "42710" or opts.url is None:
                # Still worth reporting: every static finding, and the failure itself.
                report.findings = [
                    f
                    for f in merge([*static, _apply_failure(exc)], [], with_catalog=False)
                    if not sup.suppressed(f)
                ]
                report.build_seconds = time.perf_counter() - t1
                return report
            raise RlskitError(
                f"The migrations cannot be applied to a scratch database on that server: "
                f"{exc.failure.pg_message} ({exc.failure.path}:{exc.failure.line}). Roles are "
                "shared by every database of a server, so the scratch database needs a server "
                "where the project's roles do not exist yet.",
                "Leave out --url to use rlskit's own scratch server, or use --no-db.",
            ) from None
        t2 = time.perf_counter()
        with psycopg.connect(url) as conn:
            cmodel = lint_catalog.build(conn)
        found = run_rules(cmodel, config)
        report.catalog_seconds = time.perf_counter() - t2
        report.build_seconds = t2 - t1
    report.findings = [f for f in merge(static, found) if not sup.suppressed(f)]
    return report


# -- drift -----------------------------------------------------------------------
@dataclass
class DriftReport:
    """Differences between the live database and its migrations."""

    revision: tuple[str, ...]
    differences: list[Any]
    build_seconds: float
    compare_seconds: float


def drift(
    project: Project, opts: RunOptions | None = None, scratch_url: str | None = None
) -> DriftReport:
    """Build the live database's current revision in a scratch database and compare."""
    import time

    import psycopg

    from rlskit import drift as drift_mod
    from rlskit.catalog import snapshot
    from rlskit.runtime import resolve_url
    from rlskit.scratch import scratch_database
    from rlskit.urls import libpq_url

    opts = opts or RunOptions()
    heads = current(project, opts)
    t0 = time.perf_counter()
    platform = None
    with scratch_database(project, scratch_url) as url:
        if project.settings.scratch_setup:
            with psycopg.connect(url) as conn:
                platform = snapshot(conn)
        if heads:
            migrate_scratch(project, url, heads[0] if len(heads) == 1 else "heads", opts.settings)
        with psycopg.connect(url) as conn:
            expected = snapshot(conn)
            scratch_me = project.settings.migrate_as or str(
                conn.execute("SELECT current_user").fetchone()[0]  # type: ignore[index]
            )
    t1 = time.perf_counter()
    cfg = alembic_config(project, opts)
    live_url, _ = resolve_url(cfg, project, opts.settings or project.settings)
    with psycopg.connect(libpq_url(live_url), connect_timeout=10) as conn:
        live = snapshot(conn)
        live_me = str(conn.execute("SELECT current_user").fetchone()[0])  # type: ignore[index]
    diffs = drift_mod.compare(expected, live, platform, (scratch_me, live_me))
    return DriftReport(heads, diffs, t1 - t0, time.perf_counter() - t1)


# -- rlskit test ----------------------------------------------------------------------
def access_files(project: Project, paths: list[Path] | None = None) -> list[Path]:
    """The access-matrix YAML files: given paths, else tests/rls/*.yaml."""
    found: list[Path] = []
    for p in paths or [project.root / "tests" / "rls"]:
        if p.is_dir():
            found += sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        elif p.is_file():
            found.append(p)
        else:
            raise ProjectError(f"{p} does not exist.")
    if not found:
        raise ProjectError(
            "No access-matrix files found (tests/rls/*.yaml).",
            "Write one (see `rlskit test --help`) or pass paths.",
        )
    return found


def test(
    project: Project,
    paths: list[Path] | None = None,
    opts: RunOptions | None = None,
    database_url: str | None = None,
    target: str = "heads",
) -> Any:
    """Apply the migrations (up to ``target``) to a fresh database and run the access matrices.

    ``database_url``: an already migrated database to run against instead.
    """
    import psycopg

    from rlskit.access import Report, load_suite, run_suite
    from rlskit.scratch import scratch_database

    opts = opts or RunOptions()
    suites = [
        (load_suite(f, project.display(f)), project.display(f))
        for f in access_files(project, paths)
    ]
    report = Report()

    def run_on(url: str) -> None:
        with psycopg.connect(url) as conn:
            for suite, display in suites:
                run_suite(conn, suite, display, report)

    if database_url is not None:
        run_on(database_url)
        return report
    with scratch_database(project, opts.url) as url:
        if target != "base":
            migrate_scratch(project, url, target, opts.settings)
        run_on(url)
    return report


# -- permissions -----------------------------------------------------------------------
def permissions(
    project: Project,
    role: str,
    settings: dict[str, str] | None = None,
    schemas: list[str] | None = None,
    count: bool = False,
    opts: RunOptions | None = None,
) -> Any:
    """What ``role`` can do, per table, in the project's database."""
    import psycopg

    from rlskit import permissions as perms
    from rlskit.runtime import connect_error, resolve_url
    from rlskit.urls import libpq_url

    opts = opts or RunOptions()
    cfg = alembic_config(project, opts)
    url, _ = resolve_url(cfg, project, opts.settings or project.settings)
    try:
        conn = psycopg.connect(libpq_url(url), connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise connect_error(url, exc) from None
    with conn:
        return perms.report(conn, role, settings, schemas, count)


# -- baseline ------------------------------------------------------------------------
@dataclass(frozen=True)
class BaselineRevision(NewRevision):
    """What ``rlskit baseline`` created, with what its self-check found."""

    notes: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)  # rebuild vs source (with --force)
    checked: bool = False


class BaselineMismatch(RlskitError):
    """The revision does not rebuild the source; nothing was written."""

    def __init__(self, differences: list[str]) -> None:
        shown = "\n".join("  " + d for d in differences[:40])
        more = f"\n  ... and {len(differences) - 40} more" if len(differences) > 40 else ""
        super().__init__(
            f"The baseline does not rebuild the source database: a scratch database built "
            f"from it differs in {len(differences)} line(s) "
            f"(- only in the source, + only in the rebuild):\n{shown}{more}",
            "Nothing was written. If the source relies on a platform (roles, schemas, "
            "extensions it did not create), name its SQL in [rlskit] scratch_setup; "
            "--force writes the revision anyway.",
        )
        self.differences = differences


def baseline(
    project: Project,
    schemas: list[str],
    opts: RunOptions | None = None,
    mark_applied: bool = False,
    message: str = "baseline",
    rev_id: str | None = None,
    scratch_url: str | None = None,
    force: bool = False,
    check: bool = True,
) -> BaselineRevision:
    """Write the first revision from a live database; optionally record it as applied there.

    Before writing, the revision is applied to a scratch database (after the
    project's ``scratch_setup``) and compared with the source by
    :func:`rlskit.baseline.fingerprint`; a difference refuses unless ``force``.
    """
    import psycopg

    from rlskit import baseline as baseline_mod
    from rlskit.embedded import EmbeddedServer
    from rlskit.runtime import connect_error, resolve_url
    from rlskit.scratch import apply_sql, as_migrator, scratch_database
    from rlskit.urls import libpq_url

    opts = opts or RunOptions()
    if history(project):
        raise RevisionError(
            "The project already has revisions; a baseline must be the first one.",
            "Run `rlskit baseline` in a new project (rlskit init).",
        )
    cfg = alembic_config(project, opts)
    url, _ = resolve_url(cfg, project, opts.settings or project.settings)
    pg_dump = EmbeddedServer(project.embedded_home).tool("pg_dump")
    schemas = schemas or ["public"]
    try:
        conn = psycopg.connect(libpq_url(url), connect_timeout=10, autocommit=True)
    except psycopg.OperationalError as exc:
        raise connect_error(url, exc) from None
    platform = None
    if project.settings.scratch_setup:
        with scratch_database(project, scratch_url) as purl, psycopg.connect(purl) as pconn:
            platform = baseline_mod.read_platform(pconn, schemas)
    with conn:
        result = baseline_mod.build(conn, url, schemas, pg_dump, platform)
        source = (
            baseline_mod.fingerprint(conn, libpq_url(url), schemas, result.roles, pg_dump)
            if check
            else None
        )
    differences: list[str] = []
    if check:
        with scratch_database(project, scratch_url) as surl:
            try:
                apply_sql(as_migrator(surl), result.up, "the baseline revision")
            except RlskitError as exc:
                if not force:
                    raise RlskitError(
                        f"The baseline does not apply to a scratch database: {exc.message}",
                        "Nothing was written. If the source relies on a platform (roles, "
                        "schemas, extensions it did not create), name its SQL in [rlskit] "
                        "scratch_setup; --force writes the revision anyway.",
                    ) from None
                differences = [f"does not apply: {exc.message}"]
            else:
                with psycopg.connect(as_migrator(surl), autocommit=True) as sconn:
                    rebuilt = baseline_mod.fingerprint(
                        sconn, as_migrator(surl), schemas, result.roles, pg_dump
                    )
                assert source is not None
                differences = baseline_mod.compare_fingerprints(source, rebuilt, schemas)
        if differences and not force:
            raise BaselineMismatch(differences)
    rev = new(project, message, rev_id, up_sql=result.up, down_sql=result.down)
    if mark_applied:
        stamp_applied(project, rev.revision, opts)
    return BaselineRevision(
        rev.revision, rev.module, rev.up, rev.down, result.notes, differences, check
    )


def stamp_applied(project: Project, revision: str, opts: RunOptions) -> None:
    """Record ``revision`` (and its file's checksum) as applied, without running it."""
    from alembic.script import ScriptDirectory

    from rlskit.bookkeeping import bookkeeping_record

    settings = opts.settings or project.settings

    def action(ctx: MigrationContext) -> None:
        conn = ctx.connection
        assert conn is not None
        sd = ScriptDirectory.from_config(alembic_config(project, RunOptions()))
        rev = sql_revision_for(sd, revision)
        assert rev is not None
        f = rev.load(project, "up")
        for stmt in bookkeeping_record(settings, revision, f.display, f.checksum, f.content_hash):
            conn.exec_driver_sql(stmt)
        ctx.stamp(sd, revision)

    with _alembic_errors():
        _with_context(project, opts, action, lock=True)
