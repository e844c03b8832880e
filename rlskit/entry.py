"""The ``rlskit`` console script: the commonest deploys answered before click loads.

``rlskit upgrade`` of a plain linear project is done by :mod:`rlskit.express`
(nothing pending, or pending revisions applied in one transaction) and ``rlskit
status`` decided by :mod:`rlskit.noop`, with no Alembic, SQLAlchemy, psycopg or
click import (about a fifth of the time of a no-op deploy). Only the plainest command lines take
this way: ``[-p DIR | -c FILE] upgrade [head]`` and ``[-p DIR | -c FILE] status``,
with the URL from the environment, alembic.ini or a running embedded server.
Anything else, and any doubt on the way, hands the unchanged command line to
:mod:`rlskit.cli`, which decides and prints everything as usual. The output of
both ways is the same (tests/test_fast_deploy.py compares them);
``RLSKIT_NO_FAST_PATH=1`` switches this one off.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rlskit.project import Project

_GLOBAL = {"-p": "project", "--project": "project", "-c": "config", "--config": "config"}


def _parse(argv: list[str]) -> tuple[dict[str, Path], str] | None:
    """(global options, command) of a command line this module answers, else None."""
    opts: dict[str, Path] = {}
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        name, eq, value = argv[i].partition("=")
        key = _GLOBAL.get(name)
        if key is None or key in opts or (eq and not name.startswith("--")):
            return None
        if not eq:
            i += 1
            if i >= len(argv):
                return None
            value = argv[i]
        if not value:
            return None
        opts[key] = Path(value)
        i += 1
    rest = argv[i:]
    if rest in (["upgrade"], ["upgrade", "head"]):
        return opts, "upgrade"
    if rest == ["status"]:
        return opts, "status"
    return None


def _url(project: Project) -> tuple[str, str] | None:
    """The URL and its source as the full path would pick it, or None."""
    found = project.given_url()
    if found is not None:
        return found
    settings = project.settings
    if not settings.embedded or settings.migrate_as:
        return None
    from rlskit.servers import EmbeddedServer

    url = EmbeddedServer(project.embedded_home).running_url()
    return None if url is None else (url, "embedded")


def answer(argv: list[str]) -> tuple[str, str, int] | None:
    """(stdout, stderr, exit code) for ``argv`` decided without the full path, or None."""
    parsed = _parse(argv)
    if parsed is None:
        return None
    opts, command = parsed
    from rlskit import noop
    from rlskit.errors import RlskitError
    from rlskit.project import Project

    try:
        project = Project.find(opts.get("project"), opts.get("config"))
        given = _url(project)
    except (RlskitError, OSError, ValueError):
        return None  # the full path says what is wrong
    if given is None:
        return None
    url, source = given
    settings = project.settings
    # The embedded server was made with SCRAM: never answer another kind of request
    # (a process that took its port after a crash would get the password otherwise).
    extra = {"require_auth": "scram-sha-256"} if source == "embedded" else None
    if command == "upgrade":
        from rlskit import express

        done = express.upgrade(project, url, source, extra)
        if done is None:
            noop.decline(project, url)  # the full path need not check for a no-op again
        return done
    rows = noop.status_rows(project, url, settings, extra)
    if rows is None:
        return None
    from rlskit.status import RevisionInfo, status_text

    out, err, code = status_text([RevisionInfo(**row) for row in rows])
    return out, err, code


def main() -> None:
    """Console-script entry point."""
    if not os.environ.get("RLSKIT_NO_FAST_PATH"):
        try:
            done = answer(sys.argv[1:])
        except KeyboardInterrupt:  # the express upgrade says what it rolled back itself
            sys.stderr.write("Interrupted: run `rlskit status` to see where the database is.\n")
            sys.exit(130)
        if done is not None:
            out, err, code = done
            sys.stdout.write(out)
            sys.stdout.flush()
            if err:
                sys.stderr.write(err)
            sys.exit(code)
    from rlskit.cli import main as cli_main

    cli_main()
