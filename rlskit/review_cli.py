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
        if old == text:
            click.echo(f"{lock} is up to date.")
        else:
            result.lock_path.parent.mkdir(parents=True, exist_ok=True)
            result.lock_path.write_text(text, encoding="utf-8")
            click.echo(f"wrote {lock}")
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
        click.echo(f"The access matches {lock}.")
