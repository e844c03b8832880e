"""Run one job on many targets: bounded parallelism, canaries, a failure budget.

Jobs run in worker processes (Alembic's ``context`` and ``op`` are process
globals, so two migrations cannot share a process). A worker dies with the
fleet process (``PR_SET_PDEATHSIG``): after ``kill -9`` of the fleet, the
server rolls back what a worker had open, and a rerun resumes from the state
file; each target's own migration lock keeps two fleet runs from applying a
revision twice.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from rlskit.fleet.state import Outcome, StateFile
from rlskit.fleet.targets import Target

Job = Callable[[Target], Outcome]


@dataclass
class FleetReport:
    """Every target's outcome, in fleet order, and the totals."""

    outcomes: list[Outcome] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early, if it did

    def count(self, status: str) -> int:
        """How many targets ended with ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        """True when every target succeeded (now or in an earlier run)."""
        return all(o.ok for o in self.outcomes)


def _die_with_parent() -> None:
    """Worker initializer: end this worker when the fleet process dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: workers end when their queue closes
        pass


def run(
    targets: list[Target],
    job: Job,
    *,
    jobs: int = 1,
    canary: int = 0,
    max_failures: int | None = None,
    state: StateFile | None = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> FleetReport:
    """Run ``job`` on every target; returns the report in ``targets`` order.

    ``canary``: the first K targets run first, alone; if any fails the rest are
    skipped. ``max_failures``: after that many failures no new target starts.
    ``state``: targets that finished in an earlier run are not run again.
    """
    done: dict[str, Outcome] = {}
    earlier = state.finished() if state is not None else {}
    todo: list[Target] = []
    for t in targets:
        if t.name in earlier:
            done[t.name] = earlier[t.name]
            if on_done:
                on_done(earlier[t.name])
        else:
            todo.append(t)
    report = FleetReport()
    failures = 0

    def finish(out: Outcome) -> None:
        nonlocal failures
        done[out.name] = out
        if not out.ok:
            failures += 1
        if state is not None:
            state.record(out)
        if on_done:
            on_done(out)

    def skip(rest: Iterable[Target], why: str) -> None:
        for t in rest:
            finish(Outcome(t.name, "skipped", why))

    if todo:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            max_workers=max(1, min(jobs, len(todo))), mp_context=ctx, initializer=_die_with_parent
        ) as pool:
            first, rest = todo[: max(canary, 0)], todo[max(canary, 0) :]
            if first:
                _batch(pool, first, job, jobs, finish, lambda: False)
                bad = [t.name for t in first if not done[t.name].ok]
                if bad:
                    report.stopped = f"canary failed on {', '.join(bad)}"
                    skip(rest, report.stopped)
                    rest = []
            budget_hit = (
                (lambda: failures >= max_failures) if max_failures is not None else (lambda: False)
            )
            left = _batch(pool, rest, job, jobs, finish, budget_hit)
            if left:
                report.stopped = f"stopped after {failures} failure(s) (--max-failures)"
                skip(left, report.stopped)
    report.outcomes = [done[t.name] for t in targets]
    return report


def _batch(
    pool: ProcessPoolExecutor,
    targets: list[Target],
    job: Job,
    jobs: int,
    finish: Callable[[Outcome], None],
    stop: Callable[[], bool],
) -> list[Target]:
    """Keep at most ``jobs`` targets running; returns the targets never started."""
    queue = list(targets)
    running: dict[Future[Outcome], Target] = {}
    while queue or running:
        while queue and len(running) < max(1, jobs) and not stop():
            t = queue.pop(0)
            running[pool.submit(job, t)] = t
        if not running:
            break
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for fut in finished:
            t = running.pop(fut)
            try:
                out = fut.result()
            except Exception as exc:  # the worker died (killed, out of memory)
                out = Outcome(t.name, "failed", f"the worker process failed: {type(exc).__name__}")
            finish(out)
    return queue
