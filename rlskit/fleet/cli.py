"""``rlskit fleet``: the click layer of fleet commands (parse, call, format)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rlskit.term import escape

if TYPE_CHECKING:
    from rlskit.fleet.run import FleetReport
    from rlskit.fleet.state import Outcome
    from rlskit.fleet.targets import Target
    from rlskit.project import Project


def _common(f: Any) -> Any:
    f = click.argument("names", nargs=-1, metavar="[TARGET]...")(f)
    f = click.option(
        "--fleet",
        "fleet_file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="The fleet file (default: fleet.yaml in the project).",
    )(f)
    f = click.option("--only", "tags", multiple=True, metavar="TAG", help="Targets with this tag.")(
        f
    )
    f = click.option("--jobs", "-j", type=click.IntRange(1, 64), default=4, show_default=True)(f)
    f = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")(f)
    return f


def _run_flags(f: Any) -> Any:
    f = click.option(
        "--canary", type=click.IntRange(0), default=0, help="Run the first K targets alone first."
    )(f)
    f = click.option(
        "--max-failures", type=click.IntRange(1), help="Start no new target after M failures."
    )(f)
    f = click.option(
        "--state",
        "state_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="State file for resuming (default: .rlskit/fleet-state.json).",
    )(f)
    f = click.option("--fresh", is_flag=True, help="Ignore outcomes of earlier runs.")(f)
    return f


def _project(ctx: click.Context) -> Project:
    return ctx.find_root().obj.project()  # type: ignore[no-any-return]


def _targets(
    project: Project, fleet_file: Path | None, names: tuple[str, ...], tags: tuple[str, ...]
) -> list[Target]:
    from rlskit.fleet import resolve, targets

    path = fleet_file or project.root / "fleet.yaml"
    chosen = targets.select(resolve.targets(targets.load(path)), names, tags)
    if not chosen:
        from rlskit.errors import SpecError

        raise SpecError("No target of the fleet matches.", "Check TARGET names and --only tags.")
    return chosen


class _Progress:
    """A progress bar on a terminal, one line per target otherwise (stderr)."""

    def __init__(self, total: int, fmt: str) -> None:
        self.total = total
        self.n = 0
        self.bar: Any = None
        if fmt == "text" and sys.stderr.isatty():
            self.bar = click.progressbar(length=total, file=sys.stderr, label="fleet")
            self.bar.__enter__()

    def __call__(self, out: Outcome) -> None:
        self.n += 1
        if self.bar is not None:
            self.bar.update(1)
            return
        mark = " (earlier run)" if out.earlier else ""
        click.echo(
            f"[{self.n}/{self.total}] {escape(out.name)}: {out.status}{mark} {escape(out.detail)}",
            err=True,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _print(report: FleetReport, fmt: str, verb: str) -> None:
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "command": verb,
                    "ok": report.ok,
                    "stopped": report.stopped,
                    "totals": _totals(report),
                    "targets": [o.to_json() for o in report.outcomes],
                },
                indent=2,
            )
        )
    else:
        width = max([len(escape(o.name)) for o in report.outcomes] + [6])
        click.echo(f"{'target':<{width}}  {'status':<11}  detail")
        for o in report.outcomes:
            status = o.status + ("*" if o.earlier else "")
            click.echo(f"{escape(o.name):<{width}}  {status:<11}  {escape(o.detail)}")
        t = _totals(report)
        earlier = f" ({t['earlier']} in an earlier run, marked *)" if t["earlier"] else ""
        click.echo(
            f"{verb}: {t['ok']} succeeded{earlier}, {t['failed']} failed, "
            f"{t['unreachable']} unreachable, {t['skipped']} skipped, of {t['total']} target(s)."
        )
        if report.stopped:
            click.echo(f"Stopped early: {report.stopped}.")
    if not report.ok:
        sys.exit(1)


def _totals(report: FleetReport) -> dict[str, int]:
    return {
        "total": len(report.outcomes),
        "ok": report.count("ok"),
        "earlier": sum(1 for o in report.outcomes if o.earlier),
        "failed": report.count("failed"),
        "unreachable": report.count("unreachable"),
        "skipped": report.count("skipped"),
    }


@click.group()
def fleet() -> None:
    """Run a command on every database (or schema) of a fleet file."""


@fleet.command("status")
@_common
@click.pass_context
def status_cmd(
    ctx: click.Context,
    names: tuple[str, ...],
    fleet_file: Path | None,
    tags: tuple[str, ...],
    jobs: int,
    fmt: str,
) -> None:
    """Revision, pending and edited revisions, reachability, per target."""
    import functools

    from rlskit.fleet import jobs as fleet_jobs
    from rlskit.fleet.run import run

    project = _project(ctx)
    chosen = _targets(project, fleet_file, names, tags)
    progress = _Progress(len(chosen), fmt)
    try:
        report = run(
            chosen,
            functools.partial(fleet_jobs.status, str(project.ini)),
            jobs=jobs,
            on_done=progress,
        )
    finally:
        progress.close()
    _print(report, fmt, "status")


@fleet.command("upgrade")
@_common
@_run_flags
@click.option("--to", "goal", default="heads", show_default=True, help="Target revision.")
@click.pass_context
def upgrade_cmd(
    ctx: click.Context,
    names: tuple[str, ...],
    fleet_file: Path | None,
    tags: tuple[str, ...],
    jobs: int,
    fmt: str,
    canary: int,
    max_failures: int | None,
    state_path: Path | None,
    fresh: bool,
    goal: str,
) -> None:
    """Apply pending revisions on every target (resumes an interrupted run)."""
    import functools

    from rlskit import commands
    from rlskit.fleet import jobs as fleet_jobs
    from rlskit.fleet.run import run
    from rlskit.fleet.state import StateFile

    project = _project(ctx)
    chosen = _targets(project, fleet_file, names, tags)
    heads = ",".join(sorted(i.revision for i in commands.history(project) if i.is_head))
    state = StateFile(
        state_path or project.root / ".rlskit" / "fleet-state.json", "upgrade", f"{goal}@{heads}"
    )
    if fresh:
        state.forget()
    progress = _Progress(len(chosen), fmt)
    try:
        report = run(
            chosen,
            functools.partial(fleet_jobs.upgrade, str(project.ini), goal=goal),
            jobs=jobs,
            canary=canary,
            max_failures=max_failures,
            state=state,
            on_done=progress,
        )
    finally:
        progress.close()
    _print(report, fmt, "upgrade")


@fleet.command("drift")
@_common
@click.pass_context
def drift_cmd(
    ctx: click.Context,
    names: tuple[str, ...],
    fleet_file: Path | None,
    tags: tuple[str, ...],
    jobs: int,
    fmt: str,
) -> None:
    """Compare every target with a scratch build of its own revision."""
    import functools

    from rlskit.fleet import jobs as fleet_jobs
    from rlskit.fleet.run import run

    project = _project(ctx)
    chosen = _targets(project, fleet_file, names, tags)
    progress = _Progress(len(chosen), fmt)
    try:
        report = run(
            chosen,
            functools.partial(fleet_jobs.drift, str(project.ini)),
            jobs=jobs,
            on_done=progress,
        )
    finally:
        progress.close()
    _print(report, fmt, "drift")


@fleet.command("test")
@_common
@click.pass_context
def test_cmd(
    ctx: click.Context,
    names: tuple[str, ...],
    fleet_file: Path | None,
    tags: tuple[str, ...],
    jobs: int,
    fmt: str,
) -> None:
    """The access matrices at each target's revision, on scratch databases (never on the target)."""
    import functools

    from rlskit.fleet import jobs as fleet_jobs
    from rlskit.fleet.run import FleetReport, run
    from rlskit.fleet.state import Outcome
    from rlskit.fleet.targets import Target

    project = _project(ctx)
    chosen = _targets(project, fleet_file, names, tags)
    where = run(chosen, functools.partial(fleet_jobs.status, str(project.ini)), jobs=jobs)
    revisions = sorted({o.data["revision"] for o in where.outcomes if o.ok})
    probes = [Target(rev, "") for rev in revisions]
    tested = run(probes, functools.partial(_test_probe, str(project.ini)), jobs=jobs)
    by_rev = {o.name: o for o in tested.outcomes}
    report = FleetReport()
    for o in where.outcomes:
        if not o.ok:
            report.outcomes.append(o)
            continue
        r = by_rev[o.data["revision"]]
        report.outcomes.append(Outcome(o.name, r.status, r.detail, r.seconds, dict(r.data)))
    _print(report, fmt, "test")


def _test_probe(ini: str, probe: Target) -> Outcome:
    from rlskit.fleet import jobs as fleet_jobs

    return fleet_jobs.test_revision(ini, probe.name, probe.name)
