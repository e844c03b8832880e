"""The fleet state file: each target's outcome, so a rerun resumes.

One JSON file (default ``.rlskit/fleet-state.json``) keyed by the command and
its goal (``upgrade`` to the project's heads): a rerun of the same command
skips the targets that finished and retries the others; a new revision (a new
goal) starts over. Every outcome is written at once (write, fsync, rename) under
a file lock, so a run killed with ``kill -9`` loses at most the targets that
were still running, and two concurrent runs merge their outcomes. It holds
names, statuses and masked messages: never a URL with its password.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

VERSION = 1


@dataclass
class Outcome:
    """What a fleet command did on one target."""

    name: str
    status: str  # ok | failed | unreachable | skipped
    detail: str = ""
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)
    earlier: bool = False  # finished in an earlier run of the same command

    @property
    def ok(self) -> bool:
        """Did the command succeed on this target?"""
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


class StateFile:
    """Outcomes of one command and goal, persisted after every target."""

    def __init__(self, path: Path, command: str, goal: str) -> None:
        self.path = path
        self.key = f"{command} {goal}"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = self._read()
            yield data
        finally:
            os.close(fd)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"version": VERSION, "runs": {}}
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return {"version": VERSION, "runs": {}}
        data.setdefault("runs", {})
        return data

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def finished(self) -> dict[str, Outcome]:
        """Targets that succeeded earlier for this command and goal."""
        runs = self._read()["runs"]
        out: dict[str, Outcome] = {}
        for name, rec in (runs.get(self.key) or {}).items():
            if rec.get("status") == "ok":
                out[name] = Outcome(
                    name, "ok", rec.get("detail", ""), 0.0, rec.get("data", {}), earlier=True
                )
        return out

    def record(self, outcome: Outcome) -> None:
        """Store one target's outcome (a skip does not overwrite an earlier result)."""
        if outcome.status == "skipped":
            return
        with self._locked() as data:
            run = data["runs"].setdefault(self.key, {})
            run[outcome.name] = {
                "status": outcome.status,
                "detail": outcome.detail,
                "data": outcome.data,
            }
            self._write(data)

    def forget(self) -> None:
        """Start this command and goal afresh (``--fresh``)."""
        with self._locked() as data:
            data["runs"].pop(self.key, None)
            self._write(data)
