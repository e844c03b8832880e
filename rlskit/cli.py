"""The ``rlskit`` command line. Parses arguments, calls ``rlskit.commands``,
formats results and maps errors to exit codes. Heavy imports stay lazy so
``rlskit --help`` starts fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rlskit.errors import RlskitError
from rlskit.fleet.cli import fleet
from rlskit.review_cli import explain_cmd, review_cmd
from rlskit.term import escape

if TYPE_CHECKING:
    from rlskit.commands import RunOptions
    from rlskit.project import Project
    from rlskit.runtime import Event


class Ctx:
    """What the group options collect."""

    def __init__(self, project_dir: Path | None, config: Path | None, url: str | None) -> None:
        self.project_dir = project_dir
        self.config = config
        self.url = url

    def project(self) -> Project:
        from rlskit.project import Project

        return Project.find(self.project_dir, self.config)


def _echo_event(event: Event) -> None:
    from rlskit.messages import event_line

    found = event_line(event.kind, event.message, event.data)
    if found is not None:
        click.echo(found[0], err=found[1])


def _opts(
    ctx: Ctx,
    project: Project,
    *,
    lock_timeout: str | None = None,
    lock_retries: int | None = None,
    wait: str | None = None,
    per_revision: bool | None = None,
    quiet: bool = False,
) -> RunOptions:
    from rlskit.commands import RunOptions
    from rlskit.project import parse_duration

    settings = project.settings.with_overrides(
        lock_timeout=parse_duration(lock_timeout, "--lock-timeout") if lock_timeout else None,
        lock_retries=lock_retries,
        migration_lock_wait=parse_duration(wait, "--wait") if wait else None,
        per_revision=per_revision or None,
    )
    return RunOptions(url=ctx.url, settings=settings, report=None if quiet else _echo_event)


class RlskitGroup(click.Group):
    """Maps RlskitError to its exit code and a one-paragraph message."""

    def invoke(self, ctx: click.Context) -> Any:
        if os.environ.get("NO_COLOR"):  # https://no-color.org: any non-empty value
            ctx.color = False
        try:
            return super().invoke(ctx)
        except RlskitError as exc:
            from rlskit.messages import error_line

            click.secho(error_line(exc), fg="red", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted; the running transaction was rolled back.", err=True)
            sys.exit(130)
        except Exception as exc:
            # A database error rlskit did not anticipate: still one paragraph, no traceback.
            module = type(exc).__module__.split(".")[0]
            if module not in ("psycopg", "sqlalchemy", "alembic"):
                raise
            text = " ".join(str(getattr(exc, "orig", None) or exc).split())
            click.secho(
                f"Error: the database reported: {text[:500]}. Any open transaction "
                "was rolled back.",
                fg="red",
                err=True,
            )
            sys.exit(1)


@click.group(cls=RlskitGroup)
@click.option(
    "--project",
    "-p",
    "project_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Project folder (default: current folder, or RLSKIT_PROJECT).",
)
@click.option(
    "--config",
    "-c",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Path to the project's alembic.ini.",
)
@click.option(
    "--url",
    envvar=None,
    callback=lambda ctx, param, value: _checked_url(value),
    help="Database URL (default: RLSKIT_DATABASE_URL, DATABASE_URL, alembic.ini, "
    "else the embedded server).",
)
@click.version_option(package_name="rlskit")
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None, config: Path | None, url: str | None) -> None:
    """rlskit: versioned SQL migrations for PostgreSQL roles, grants and RLS policies."""
    ctx.obj = Ctx(project_dir, config, url)


pass_ctx = click.make_pass_decorator(Ctx)


def _checked_url(value: str | None) -> str | None:
    """A --url that is given must be a usable URL (an empty one is an error)."""
    if value is None:
        return None
    from rlskit.project import check_url

    try:
        return check_url(value, "--url")
    except RlskitError as exc:
        raise click.BadParameter(str(exc), param_hint="--url") from None


def _url_after(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Ctx).url = _checked_url(value)


def url_option(f: Any) -> Any:
    """``--url`` accepted after the subcommand too (``rlskit upgrade --url ...``)."""
    return click.option(
        "--url",
        expose_value=False,
        callback=_url_after,
        help="Database URL (as `rlskit --url ...`).",
    )(f)


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=".")
def init(directory: Path) -> None:
    """Create a project: alembic.ini, migrations/, sql/, policies/."""
    from rlskit import commands

    for path in commands.init(directory):
        click.echo(f"created {path}")
    click.echo('Next: rlskit new "first revision", edit the .sql files, rlskit upgrade.')


@cli.command()
@click.argument("message")
@click.option("--rev-id", help="Revision id (default: next number, 0001, 0002, ...).")
@click.option(
    "--from-policies",
    is_flag=True,
    help="Fill the revision with the policy changes since the last such revision.",
)
@click.option(
    "--scratch-url",
    help="--from-policies: server for the scratch build that checks the down script "
    "(default: rlskit's own scratch server). Must not hold the project's roles.",
)
@pass_ctx
def new(
    ctx: Ctx, message: str, rev_id: str | None, from_policies: bool, scratch_url: str | None
) -> None:
    """Create a revision: sql/<rev>_<slug>.up.sql, .down.sql and its Alembic module."""
    from rlskit import commands

    project = ctx.project()
    summary: list[str] = []
    if from_policies:
        rev, summary = commands.new_from_policies(project, message, rev_id, scratch_url)
    else:
        rev = commands.new(project, message, rev_id)
    click.echo(f"revision {rev.revision}")
    for p in (rev.up, rev.down, rev.module):
        click.echo(f"  created {project.display(p)}")
    for line in summary:
        click.echo(f"  {escape(line)}")


@cli.command()
@click.option("-m", "--message", default="merge", show_default=True)
@click.option("--rev-id", help="Revision id (default: next number).")
@pass_ctx
def merge(ctx: Ctx, message: str, rev_id: str | None) -> None:
    """Join the project's heads: a revision following all of them, with empty .sql files."""
    from rlskit import commands

    project = ctx.project()
    rev = commands.merge(project, message, rev_id)
    click.echo(f"revision {rev.revision} (merges the heads)")
    for p in (rev.up, rev.down, rev.module):
        click.echo(f"  created {project.display(p)}")


@cli.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the SQL to this file instead of printing it.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 when policies/*.yaml changed since the last --from-policies revision.",
)
@pass_ctx
def render(ctx: Ctx, out: Path | None, check: bool) -> None:
    """Validate policies/*.yaml and print the SQL they render to."""
    from rlskit import commands

    project = ctx.project()
    if check:
        _, _, summary, _ = commands.policy_changes(project)
        if summary:
            click.echo("policies/*.yaml changed since the last --from-policies revision:")
            for line in summary:
                click.echo(f"  {escape(line)}")
            click.echo('Run `rlskit new "..." --from-policies` to make a revision of them.')
            sys.exit(1)
        click.echo("policies are up to date with the revisions")
        return
    rendered = commands.render(project)
    if out is not None:
        out.write_text(rendered.sql)
        click.echo(f"wrote {len(rendered.objects)} objects to {out}")
    else:
        click.echo(rendered.sql, nl=False)


def _run_options(f: Any) -> Any:
    f = click.option("--lock-timeout", help="Per-statement lock wait, e.g. 5s (FINDINGS §4).")(f)
    f = click.option("--lock-retries", type=int, help="Retries after a lock timeout.")(f)
    f = click.option("--wait", help="How long to wait for another upgrade's lock, e.g. 300s.")(f)
    f = click.option(
        "--per-revision",
        is_flag=True,
        help="Commit each revision on its own instead of all-or-nothing.",
    )(f)
    f = click.option(
        "--sql",
        "offline",
        is_flag=True,
        help="Print the SQL script instead of running it (offline mode).",
    )(f)
    return f


def _interactive() -> bool:
    """May we ask a question? Not without a terminal, and never in CI."""
    return sys.stdin.isatty() and sys.stdout.isatty() and not os.environ.get("CI")


def _migrate(
    ctx: Ctx, verb: str, target: str, offline: bool, yes: bool = False, **options: Any
) -> None:
    """Shared body of upgrade and downgrade: run, then print the script or a summary."""
    import dataclasses
    import time

    from rlskit import commands
    from rlskit.errors import DestructiveDowngrade

    project = ctx.project()
    opts = _opts(ctx, project, quiet=offline, **options)
    if yes:
        opts = dataclasses.replace(opts, accept_data_loss=True)
    started = time.perf_counter()
    run = commands.upgrade if verb == "upgrade" else commands.downgrade
    while True:
        try:
            result = run(project, target, opts, sql=offline)
            break
        except DestructiveDowngrade as exc:
            if not _interactive():
                raise
            click.secho("This downgrade would lose data:", fg="yellow", err=True)
            for found in exc.found:
                click.echo(f"  {escape(found.describe())}", err=True)
            click.echo("Nothing has been dropped yet.", err=True)
            if not click.confirm("Drop these tables and their rows?", default=False, err=True):
                raise
            confirmed = frozenset(exc.tables) | (
                opts.accept_data_loss if isinstance(opts.accept_data_loss, frozenset) else set()
            )
            opts = dataclasses.replace(opts, accept_data_loss=frozenset(confirmed))
    if offline:
        click.echo(result.script, nl=False)
        return
    _summary(result, time.perf_counter() - started, verb)


def _summary(result: Any, seconds: float, verb: str) -> None:
    from rlskit.messages import summary_line

    done = [e for e in result.events if e.kind == "done"]
    where = done[-1].message if done else ""
    counts = [e.data["statements"] for e in result.revisions]
    click.echo(summary_line(counts, where, seconds, verb))


@cli.command()
@click.argument("target", default="head")
@_run_options
@url_option
@pass_ctx
def upgrade(ctx: Ctx, /, target: str, offline: bool, **options: Any) -> None:
    """Apply pending revisions up to TARGET (default: head)."""
    _migrate(ctx, "upgrade", target, offline, **options)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("target")
@_run_options
@click.option(
    "--yes",
    is_flag=True,
    help="Run down scripts that drop or empty tables holding rows without asking "
    "(without it: asked on a terminal, refused otherwise, exit 6).",
)
@url_option
@pass_ctx
def downgrade(ctx: Ctx, /, target: str, offline: bool, yes: bool, **options: Any) -> None:
    """Revert revisions down to TARGET (a revision, -1, or base)."""
    _migrate(ctx, "downgrade", target, offline, yes, **options)


@cli.command()
@url_option
@pass_ctx
def current(ctx: Ctx) -> None:
    """Print the revision(s) the database is at."""
    from rlskit import commands

    project = ctx.project()
    heads = commands.current(project, _opts(ctx, project, quiet=True))
    click.echo("\n".join(escape(h) for h in heads) if heads else "base (nothing applied)")


@cli.command()
@pass_ctx
def history(ctx: Ctx) -> None:
    """List revisions, oldest first, with their files."""
    from rlskit import commands

    for info in commands.history(ctx.project()):
        head = " (head)" if info.is_head else ""
        click.echo(f"{info.revision}{head}  {escape(info.message)}")
        if info.up:
            click.echo(f"    {escape(info.up)}")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 when revisions are pending or a .down.sql is missing (5: an applied "
    "file was edited, with or without --check).",
)
@url_option
@pass_ctx
def status(ctx: Ctx, fmt: str, check: bool) -> None:
    """Show applied and pending revisions with their files."""
    from rlskit import commands

    project = ctx.project()
    infos = commands.status(project, _opts(ctx, project, quiet=True))
    pending = sum(1 for i in infos if not i.applied)
    edited = [i for i in infos if i.edited]
    no_down = [i for i in infos if i.down_missing]
    if fmt == "json":
        import json

        click.echo(json.dumps([i.__dict__ for i in infos], indent=2))
    else:
        from rlskit.status import status_text

        out, err, _ = status_text(infos)
        click.echo(out, nl=False)
        click.echo(err, nl=False, err=True)
    if edited:
        sys.exit(5)
    if check and (pending or no_down):
        sys.exit(1)


@cli.command()
@click.argument("target", default="head")
@url_option
@pass_ctx
def plan(ctx: Ctx, target: str) -> None:
    """Print the SQL the next upgrade would run; applies nothing."""
    from rlskit import commands

    project = ctx.project()
    script = commands.plan(project, target, _opts(ctx, project, quiet=True))
    if not script:
        click.echo("-- nothing pending")
    else:
        click.echo(script, nl=False)


@cli.command()
@click.option("--yes", is_flag=True, help="Confirm that the edited files were reviewed.")
@url_option
@pass_ctx
def repair(ctx: Ctx, yes: bool) -> None:
    """Accept edits to already-applied .sql files (after review)."""
    from rlskit import commands

    if not yes:
        raise click.UsageError(
            "repair records the edited files as applied without running them; "
            "review them, then run `rlskit repair --yes`."
        )
    project = ctx.project()
    changed = commands.repair(project, _opts(ctx, project, quiet=True))
    for rev, path in changed:
        click.echo(f"accepted {path} (revision {rev})")
    click.echo(f"{len(changed)} file(s) accepted.")


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "sarif", "junit"]),
    default="text",
)
@click.option(
    "--baseline",
    "baseline",
    type=click.Path(dir_okay=False),
    help="Accepted findings (JSON): only findings not in it are reported and fail.",
)
@click.option(
    "--update-baseline", is_flag=True, help="Write every current finding to --baseline; exit 0."
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    help="Lowest severity that makes the exit code 1 (default: error).",
)
@click.option(
    "--db/--no-db",
    "with_db",
    default=True,
    help="Also apply the migrations to a scratch database and check its catalog "
    "(default). --no-db: SQL files only, no server needed.",
)
@click.option("--explain", "explain", metavar="RLSnnn", help="Show what a rule checks and the fix.")
@click.option("--list", "list_rules", is_flag=True, help="List the rules.")
@url_option
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=False))
@pass_ctx
def lint(
    ctx: Ctx,
    paths: tuple[str, ...],
    fmt: str,
    baseline: str | None,
    update_baseline: bool,
    fail_on: str,
    with_db: bool,
    explain: str | None,
    list_rules: bool,
) -> None:
    """Check sql/ files (and the applied catalog) for RLS mistakes.

    With PATHS (e.g. from pre-commit), the whole project is linted but only
    findings in those files are reported. Exit codes: 0 no findings (at
    --fail-on or above), 1 findings, 2 usage or tool error."""
    from rlskit.lint.rules import ALL_RULES, RULES_BY_ID

    if explain:
        rule = RULES_BY_ID.get(explain.upper())
        if rule is None:
            raise click.UsageError(f"unknown rule {explain}; `rlskit lint --list` lists them")
        click.echo(f"{rule.id} {rule.name} ({rule.severity})\n\n{rule.doc}")
        return
    if list_rules:
        for r in ALL_RULES:
            click.echo(
                f"{r.id}  {r.severity:<7}  {r.name}: {r.doc.splitlines()[0].split(': ', 1)[-1]}"
            )
        return
    from rlskit import commands
    from rlskit.lint import output

    if update_baseline and not baseline:
        raise click.UsageError("--update-baseline needs --baseline FILE")
    try:
        project = ctx.project()
        report = commands.lint(project, _opts(ctx, project, quiet=True), with_database=with_db)
    except RlskitError as exc:  # a tool error, not a finding: exit 2
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    findings = report.findings
    if paths:
        root = project.root.resolve()
        wanted = set()
        for p in paths:
            full = (Path(p) if Path(p).is_absolute() else Path.cwd() / p).resolve()
            wanted.add(full.relative_to(root).as_posix() if full.is_relative_to(root) else p)
        findings = [f for f in findings if f.loc.file in wanted]
    if baseline:
        path = Path(baseline)
        if update_baseline:
            path.write_text(output.baseline_dump(findings), encoding="utf-8")
            click.echo(f"{len(findings)} finding(s) recorded in {path}.")
            return
        if path.is_file():
            try:
                accepted = output.baseline_fingerprints(path.read_text(encoding="utf-8"))
            except (ValueError, KeyError, TypeError) as exc:
                click.echo(f"Error: {path} is not an rlskit baseline ({exc}).", err=True)
                sys.exit(2)
            findings = [f for f in findings if f.fingerprint not in accepted]
    if fmt == "json":
        click.echo(output.as_json(findings))
    elif fmt == "github":
        if findings:
            click.echo(output.github(findings))
    elif fmt == "sarif":
        click.echo(output.sarif(findings, list(ALL_RULES)))
    elif fmt == "junit":
        click.echo(output.junit(findings, list(ALL_RULES)))
    else:
        click.echo(output.text(findings, click.style))
    if any(f.severity == "error" or fail_on == "warning" for f in findings):
        sys.exit(1)


@cli.command()
@click.option(
    "--scratch-url",
    help="Server for the scratch database (default: rlskit's own "
    "scratch server in .rlskit/scratch). Must not hold the project's roles.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@url_option
@pass_ctx
def drift(ctx: Ctx, scratch_url: str | None, fmt: str) -> None:
    """Compare the live database with what its migrations produce; exit 1 on drift."""
    from rlskit import commands

    project = ctx.project()
    report = commands.drift(project, _opts(ctx, project, quiet=True), scratch_url)
    if fmt == "json":
        import json

        click.echo(json.dumps([d.__dict__ for d in report.differences], indent=2))
    elif not report.differences:
        rev = escape(", ".join(report.revision)) or "base"
        click.echo(f"No drift: the database matches its migrations at revision {rev}.")
    else:
        for d in report.differences:
            click.secho(escape(d.line()), fg="yellow")
        click.echo("\n-- SQL that restores what the migrations expect (review before running):")
        for d in report.differences:
            click.echo(d.restore)  # exact and printable: rlskit.quoting
        click.echo(f"\n{len(report.differences)} difference(s).")
    if report.differences:
        sys.exit(1)


@cli.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text")
@click.option("--coverage", is_flag=True, help="Which policy x command x role the cases exercise.")
@click.option("--mutate", is_flag=True, help="Mutation-test the cases; print the score.")
@click.option("--fail-under", type=float, metavar="PCT", help="With --mutate: exit 1 below PCT.")
@url_option
@pass_ctx
def test_cmd(
    ctx: Ctx,
    paths: tuple[Path, ...],
    fmt: str,
    coverage: bool = False,
    mutate: bool = False,
    fail_under: float | None = None,
) -> None:
    """Run access-matrix tests (tests/rls/*.yaml) on a freshly migrated database.

    With --url the fresh database is created on that server (it must not hold
    the project's roles yet); by default rlskit's own scratch server is used.
    """
    import time

    from rlskit import commands

    if coverage or mutate:
        from rlskit.review_cli import test_quality

        test_quality(ctx, paths, coverage, mutate, fmt, fail_under)
        return

    project = ctx.project()
    started = time.perf_counter()
    report = commands.test(project, list(paths) or None, _opts(ctx, project, quiet=True))
    seconds = time.perf_counter() - started
    if fmt == "junit":
        from rlskit.junit import as_junit

        click.echo(as_junit(report, seconds))
    elif fmt == "json":
        import json

        click.echo(
            json.dumps(
                {
                    "passed": report.passed,
                    "failed": len(report.failed),
                    "refused": report.refused,
                    "results": [r.__dict__ for r in report.results],
                },
                indent=2,
            )
        )
    else:
        for r in report.refused:
            click.secho(f"REFUSED {escape(str(r))}", fg="red")
        for r in report.failed:
            click.secho(
                escape(
                    f"FAILED {r.file}::{r.case} [{r.actor}] expected {r.expected}, "
                    f"got {r.got}" + (f" ({r.detail})" if r.detail else "")
                ),
                fg="red",
            )
            if r.probe:
                click.echo(f"    probe: {escape(' '.join(r.probe.split()))}")
        click.echo(
            f"{report.passed} passed, {len(report.failed)} failed"
            + (f", {len(report.refused)} refused" if report.refused else "")
            + f" in {seconds:.2f}s"
        )
    if report.failed or report.refused:
        sys.exit(1)


@cli.command()
@click.argument("role")
@click.option(
    "--setting",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Session setting for the row counts (repeatable).",
)
@click.option(
    "--claim",
    "claims",
    multiple=True,
    metavar="NAME=VALUE",
    help="A JWT-style claim for the row counts: request.jwt.claims and request.jwt.claim.NAME.",
)
@click.option("--schema", "schemas", multiple=True, help="Only these schemas (repeatable).")
@click.option(
    "--count",
    is_flag=True,
    help="Count rows the role sees/updates/deletes (SELECTs only, in a read-only "
    "transaction: no trigger fires).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]), default="text"
)
@url_option
@pass_ctx
def permissions(
    ctx: Ctx,
    role: str,
    settings: tuple[str, ...],
    schemas: tuple[str, ...],
    count: bool,
    fmt: str,
    claims: tuple[str, ...] = (),
) -> None:
    """Show what ROLE can do on each table: privileges, policies, row counts."""
    from rlskit import commands
    from rlskit import permissions as perms

    parsed = {}
    for item in settings:
        if "=" not in item:
            raise click.UsageError(f"--setting takes NAME=VALUE, not {item!r}")
        k, v = item.split("=", 1)
        parsed[k.strip()] = v
    if claims:
        from rlskit.review_cli import parse_settings
        from rlskit.session import claims_settings

        parsed = {**claims_settings(parse_settings(claims, "--claim")), **parsed}
    project = ctx.project()
    rep = commands.permissions(
        project, role, parsed, list(schemas), count, _opts(ctx, project, quiet=True)
    )
    render = {
        "json": perms.as_json,
        "markdown": perms.as_markdown,
        "html": perms.as_html,
        "text": perms.as_text,
    }[fmt]
    click.echo(render(rep))


@cli.command()
@click.option(
    "--schema", "schemas", multiple=True, help="Schemas to adopt (repeatable; default: public)."
)
@click.option(
    "--mark-applied",
    is_flag=True,
    help="Record the revision as applied on that database, without running it.",
)
@click.option("-m", "--message", default="baseline", show_default=True)
@click.option("--rev-id", help="Revision id (default 0001).")
@click.option(
    "--scratch-url",
    help="Server for the self-check's scratch database (default: rlskit's own scratch server).",
)
@click.option(
    "--force", is_flag=True, help="Write the revision even if its rebuild differs from the source."
)
@url_option
@pass_ctx
def baseline(
    ctx: Ctx,
    schemas: tuple[str, ...],
    mark_applied: bool,
    message: str,
    rev_id: str | None,
    scratch_url: str | None,
    force: bool,
) -> None:
    """Write the first revision from an existing database (--url)."""
    from rlskit import commands

    project = ctx.project()
    rev = commands.baseline(
        project,
        list(schemas),
        _opts(ctx, project, quiet=True),
        mark_applied,
        message,
        rev_id,
        scratch_url=scratch_url,
        force=force,
    )
    for note in rev.notes:
        click.secho(f"note: {note}", fg="yellow", err=True)
    if rev.differences:
        click.secho(
            f"warning: written with --force; a rebuild differs from the source in "
            f"{len(rev.differences)} line(s):",
            fg="red",
            err=True,
        )
        for d in rev.differences:
            click.echo(f"  {d}", err=True)
    elif rev.checked:
        click.echo("checked: a scratch database built from it matches the source")
    click.echo(f"revision {rev.revision}")
    for p in (rev.up, rev.down, rev.module):
        click.echo(f"  created {project.display(p)}")
    if mark_applied:
        click.echo(f"  recorded {rev.revision} as applied on that database")


# -- the embedded server -------------------------------------------------------
@cli.group()
def db() -> None:
    """Manage the embedded PostgreSQL server of this project (.rlskit/pg).

    status and stop also cover the scratch server (.rlskit/scratch) that
    lint, test and drift start while they run.
    """


def _server(ctx: Ctx) -> Any:
    from rlskit.embedded import EmbeddedServer

    return EmbeddedServer(ctx.project().embedded_home)


@db.command("start")
@pass_ctx
def db_start(ctx: Ctx) -> None:
    """Create (first time) and start the embedded server."""
    import time

    t = time.perf_counter()
    server = _server(ctx)
    st = server.start()
    click.echo(
        f"embedded PostgreSQL {st.version} running on 127.0.0.1:{st.port} "
        f"({(time.perf_counter() - t) * 1000:.0f} ms)"
    )


@db.command("stop")
@pass_ctx
def db_stop(ctx: Ctx) -> None:
    """Stop the embedded server and the scratch server."""
    from rlskit.scratch import scratch_server

    click.echo("stopped" if _server(ctx).stop() else "not running")
    if scratch_server(ctx.project()).stop():
        click.echo("scratch server: stopped")


@db.command("status")
@pass_ctx
def db_status(ctx: Ctx) -> None:
    """Show whether the embedded server (and the scratch server) exist and run.

    Exit 1 when the embedded server is not running.
    """
    from rlskit.scratch import scratch_server

    def describe(st: Any) -> str:
        return (
            f"{'running' if st.running else 'stopped'}: PostgreSQL {st.version}, "
            f"port {st.port}, data {st.data_dir}"
            + (f", runs as OS user {st.os_user}" if st.os_user else "")
        )

    st = _server(ctx).status()
    if st.initialised:
        click.echo(describe(st))
    else:
        click.echo("not created (rlskit db start, or any command without --url, creates it)")
    scratch = scratch_server(ctx.project()).status()
    if scratch.running:
        click.echo(
            f"scratch server: {describe(scratch)} (lint, test or drift is using it, "
            "or one was killed; `rlskit db stop` stops it)"
        )
    elif scratch.initialised:
        click.echo("scratch server: stopped (lint, test and drift run it while they need it)")
    if not st.running:
        sys.exit(1)


@db.command("url")
@click.option("--show-password", is_flag=True, help="Print the password instead of ***.")
@pass_ctx
def db_url(ctx: Ctx, show_password: bool) -> None:
    """Print the embedded server's URL (password masked unless asked)."""
    from rlskit.urls import mask_url

    url = _server(ctx).url()
    click.echo(url if show_password else mask_url(url))


@db.command("psql", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@pass_ctx
def db_psql(ctx: Ctx, args: tuple[str, ...]) -> None:
    """Open psql on the embedded server (extra ARGS go to psql)."""
    server = _server(ctx)
    server.start()
    proc = subprocess.run([server.tool("psql"), *args], env=server.psql_env(), check=False)
    sys.exit(proc.returncode)


cli.add_command(fleet)
cli.add_command(review_cmd)
cli.add_command(explain_cmd)


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    cli(prog_name="rlskit")


if __name__ == "__main__":
    main()
