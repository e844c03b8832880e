"""The click layer of ``rlskit review`` and ``rlskit explain`` (registered in
``rlskit.cli``): parse options, call :mod:`rlskit.review` / :mod:`rlskit.explain`,
format, choose the exit code."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rlskit.cli import Ctx


def _settings(ctx: Ctx) -> Any:
    return ctx.project().settings


@click.command("review")
@click.option("--git", "git_ref", metavar="REF", help="Compare with the project at a git ref.")
@click.option(
    "--from",
    "from_rev",
    metavar="REV",
    help="Compare two revisions of the migrations (with --to).",
)
@click.option("--to", "to_rev", metavar="REV", default="heads", show_default=True)
@click.option("--update", is_flag=True, help="Write tests/rls/access.lock.json.")
@click.option("--check", is_flag=True, help="Exit 1 when the access differs from the lock file.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text")
@click.option("--timing", is_flag=True, help="Print where the time went.")
@click.pass_obj
def review_cmd(
    ctx: Ctx,
    git_ref: str | None,
    from_rev: str | None,
    to_rev: str,
    update: bool,
    check: bool,
    fmt: str,
    timing: bool,
) -> None:
    """Who gains or loses access: every actor of tests/rls/*.yaml x table x command.

    Without --git/--from, compares the working tree with tests/rls/access.lock.json.
    Builds run in scratch databases (--url: on that server); nothing is kept.
    """
    import time

    from rlskit import review

    if git_ref is not None and from_rev is not None:
        raise click.UsageError("--git and --from are exclusive")
    project = ctx.project()
    started = time.perf_counter()
    result = review.review(
        project,
        url=ctx.url,
        git_ref=git_ref,
        revisions=(from_rev, to_rev) if from_rev is not None else None,
        settings=project.settings,
    )
    seconds = time.perf_counter() - started
    render = {"text": review.as_text, "markdown": review.as_markdown, "json": review.as_json}[fmt]
    click.echo(render(result.changes, result.title))
    for note in result.notes:
        click.secho(f"note: {note}", fg="yellow", err=True)
    if timing:
        parts = ", ".join(f"{k} {v:.2f}s" for k, v in result.seconds.items())
        click.echo(f"review took {seconds:.2f}s ({parts})", err=True)
    lock = project.display(result.lock_path)
    if update:
        text = review.dumps(result.matrix)
        old = result.lock_path.read_text(encoding="utf-8") if result.lock_path.is_file() else None
        quiet = fmt == "json"  # keep stdout one JSON document
        if old == text:
            click.echo(f"{lock} is up to date.", err=quiet)
        else:
            result.lock_path.parent.mkdir(parents=True, exist_ok=True)
            result.lock_path.write_text(text, encoding="utf-8")
            click.echo(f"wrote {lock}", err=quiet)
    elif check:
        if result.lock_differs is None:
            click.secho(
                f"{lock} does not exist: run `rlskit review --update` and commit it.",
                fg="red",
                err=True,
            )
            sys.exit(1)
        if result.lock_differs:
            click.secho(
                f"The access differs from {lock}. If the change is intended, run "
                "`rlskit review --update` and commit the lock file.",
                fg="red",
                err=True,
            )
            sys.exit(1)
        click.echo(f"The access matches {lock}.", err=fmt == "json")


def find_actor(suites: list[Any], name: str) -> tuple[Any, Any, str]:
    """(suite, actor, key) for ``name`` (``actor`` if unique, else ``file:actor``)."""
    from rlskit.errors import SpecError
    from rlskit.review import actor_key

    hits = [
        (suite, actor, actor_key(display, n))
        for suite, display in suites
        for n, actor in suite.actors.items()
        if name in (n, actor_key(display, n))
    ]
    if len(hits) == 1:
        return hits[0]
    keys = sorted(actor_key(display, n) for suite, display in suites for n in suite.actors)
    if not hits:
        raise SpecError(f"No actor {name!r} in tests/rls/*.yaml.", f"Actors: {', '.join(keys)}.")
    raise SpecError(
        f"Actor {name!r} is in several files.",
        f"Name one of: {', '.join(h[2] for h in hits)}.",
    )


def parse_settings(items: tuple[str, ...], option: str = "--setting") -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise click.UsageError(f"{option} takes NAME=VALUE, not {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


@click.command("explain")
@click.argument("args", nargs=-1, required=True, metavar="[ACTOR] STATEMENT")
@click.option("--role", help="Act as this role instead of an actor of tests/rls/*.yaml.")
@click.option("--setting", "settings", multiple=True, metavar="NAME=VALUE", help="With --role.")
@click.option(
    "--claim",
    "claims",
    multiple=True,
    metavar="NAME=VALUE",
    help="With --role: a JWT-style claim (request.jwt.claims, request.jwt.claim.NAME).",
)
@click.option(
    "--fixtures",
    "fixtures",
    type=click.Path(dir_okay=False),
    help="With --role: load the fixtures of this access-matrix file.",
)
@click.option("--row", "rows", multiple=True, metavar="COLUMN=VALUE", help="Judge only this row.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def explain_cmd(
    ctx: Ctx,
    args: tuple[str, ...],
    role: str | None,
    settings: tuple[str, ...],
    claims: tuple[str, ...],
    fixtures: str | None,
    rows: tuple[str, ...],
    fmt: str,
) -> None:
    """Why ACTOR sees or changes these rows: privileges, RLS, policies, row by row.

    Builds the project in a scratch database, loads the actor's fixtures, and runs
    everything (the statement too, to check the verdict) in a rolled-back
    transaction. Exit 1 when PostgreSQL's result disagrees with the explanation.
    """
    from pathlib import Path

    import psycopg

    from rlskit import explain, review
    from rlskit.access import load_suite
    from rlskit.commands import RunOptions, upgrade
    from rlskit.scratch import scratch_database

    if len(args) > 2:
        raise click.UsageError('quote the statement: rlskit explain ACTOR "UPDATE ..."')
    actor, statement = (None, args[0]) if len(args) == 1 else args
    from rlskit.session import claims_settings

    project = ctx.project()
    claimed = parse_settings(claims, "--claim")
    values = {**(claims_settings(claimed) if claimed else {}), **parse_settings(settings)}
    fixture_sql = ""
    if role is None:
        if actor is None:
            raise click.UsageError("name an ACTOR of tests/rls/*.yaml, or use --role")
        suite, found, key = find_actor(review.load_suites(project), actor)
        role, values, fixture_sql, name = (
            found.role,
            review.actor_settings(found),
            suite.fixtures,
            key,
        )
    else:
        if actor is not None:
            raise click.UsageError("give either an ACTOR or --role, not both")
        name = role
        if fixtures is not None:
            fixture_sql = load_suite(Path(fixtures), fixtures).fixtures
    server = review.scratch_server_url(project, ctx.url)
    with scratch_database(None, server) as url:
        upgrade(project, "heads", RunOptions(url=url, settings=project.settings))
        with psycopg.connect(url) as conn, conn.transaction(force_rollback=True):
            if fixture_sql.strip():
                conn.execute(fixture_sql)
            result = explain.explain(
                conn, role, values, statement, parse_settings(rows, "--row"), name
            )
    click.echo(explain.as_json(result) if fmt == "json" else explain.as_text(result))
    if not result.agrees and result.predicted != explain.NOT_PREDICTED:
        sys.exit(1)


def test_quality(
    ctx: Ctx,
    paths: tuple[Any, ...],
    coverage: bool,
    mutate: bool,
    fmt: str,
    fail_under: float | None,
) -> None:
    """``rlskit test --coverage`` / ``--mutate`` on a scratch build of the project."""
    import json
    import time

    import psycopg

    from rlskit import mutate as mutate_mod
    from rlskit import review
    from rlskit.commands import RunOptions, upgrade
    from rlskit.scratch import scratch_database

    project = ctx.project()
    suites = review.load_suites(project, list(paths) or None)
    server = review.scratch_server_url(project, ctx.url)
    out: dict[str, Any] = {}
    failed = False
    started = time.perf_counter()
    with scratch_database(None, server) as url:
        upgrade(project, "heads", RunOptions(url=url, settings=project.settings))
        build = time.perf_counter() - started
        with psycopg.connect(url) as conn:
            if coverage:
                entries, notes = mutate_mod.coverage(conn, suites)
                out["coverage"] = [{**e.__dict__, "status": e.status} for e in entries]
                if fmt != "json":
                    click.echo("Policy coverage (policy x command x role):")
                    for e in entries:
                        mark = {"admits and filters": "ok "}.get(e.status, "-- ")
                        click.echo(
                            f"  {mark}{e.table} {e.policy} {e.command} TO {e.role}: {e.status}"
                            + (f" ({len(e.cases)} case(s))" if e.cases else "")
                        )
                    for n in notes:
                        click.echo(f"  note: {n}")
                    full = sum(1 for e in entries if e.status == "admits and filters")
                    missing = sum(1 for e in entries if not e.cases)
                    click.echo(
                        f"{full}/{len(entries)} seen to admit and filter; "
                        f"{missing} not exercised by any case."
                    )
            if mutate:
                rep = mutate_mod.mutate(conn, suites)
                out["mutation"] = {
                    "score": rep.score,
                    "killed": len(rep.killed),
                    "survived": [r.mutant.label for r in rep.survived],
                    "invalid": [f"{r.mutant.label}: {r.invalid}" for r in rep.results if r.invalid],
                    "equivalent": [
                        f"{r.mutant.label}: {r.equivalent}" for r in rep.results if r.equivalent
                    ],
                    "survivor_changes": {r.mutant.label: r.changes for r in rep.survived},
                    "baseline_failures": rep.baseline_failures,
                    "seconds": rep.seconds,
                }
                if fmt != "json":
                    for label in rep.baseline_failures:
                        click.secho(f"FAILS WITHOUT MUTATION {label} (left out)", fg="red")
                    for r in rep.survived:
                        click.secho(f"SURVIVED {r.mutant.label}", fg="yellow")
                        for change in r.changes:
                            click.echo(f"    changes {change}")
                    for r in rep.results:
                        if r.equivalent:
                            click.echo(f"equivalent {r.mutant.label}: {r.equivalent}")
                    for r in rep.results:
                        if r.invalid:
                            click.echo(f"not applicable {r.mutant.label}: {r.invalid}")
                    click.echo(
                        f"mutation score {rep.score:.1%}: {len(rep.killed)} killed, "
                        f"{len(rep.survived)} survived, "
                        f"{sum(1 for r in rep.results if r.equivalent)} equivalent "
                        f"in {rep.seconds:.2f}s "
                        f"(+ {build:.2f}s build)"
                    )
                failed = bool(rep.baseline_failures) or (
                    fail_under is not None and rep.score * 100 < fail_under
                )
    if fmt == "json":
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    if failed:
        sys.exit(1)
