"""Turn two renderings into a migration: what to drop, create or replace.

The rendered state of the last ``rlskit new --from-policies`` is kept in
``policies/rendered.json`` (committed with the revision), so the next revision
holds exactly the changes since then. A changed policy is dropped and created
again inside the same revision, which runs in one transaction, so readers never
see a moment without it (FINDINGS §4). Pure: no database access.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rlskit.errors import SpecError
from rlskit.policies.render import SqlObject
from rlskit.quoting import comment_text as _c

STATE_FILE = "rendered.json"
STATE_VERSION = 1


def load_state(path: Path) -> dict[str, SqlObject]:
    """The objects of the last rendering that became a revision (empty if none)."""
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {o["key"]: SqlObject(**o) for o in raw["objects"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise SpecError(
            f"{path} is damaged ({exc}).",
            "Restore it from version control; it records what earlier revisions rendered.",
        ) from None


def dump_state(objects: list[SqlObject]) -> str:
    """Deterministic JSON for the state file."""
    return (
        json.dumps(
            {
                "version": STATE_VERSION,
                "objects": [asdict(o) for o in sorted(objects, key=lambda o: o.order)],
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )


def _changed(a: SqlObject, b: SqlObject) -> bool:
    return (a.create, a.drop) != (b.create, b.drop)


def script(steps: list[str], title: str) -> str:
    """Steps as one file, under a title comment."""
    if not steps:
        return f"-- {title}: nothing to do\n"
    return f"-- {title}\n\n" + "\n\n".join(steps) + "\n"


UP_TITLE = "Policy changes rendered by rlskit from policies/*.yaml"
DOWN_TITLE = "Restore the previous rendering"


def migration(old: dict[str, SqlObject], new: list[SqlObject]) -> tuple[str, str, list[str]]:
    """Up SQL, down SQL and a one-line summary per change, from ``old`` to ``new``."""
    up, down, summary = steps(old, new)
    return script(up, UP_TITLE), script(down, DOWN_TITLE), summary


def steps(
    old: dict[str, SqlObject], new: list[SqlObject]
) -> tuple[list[str], list[str], list[str]]:
    """Up steps, down steps (each a comment line and its SQL) and the summary.

    The down steps only know the renderings: they undo what the up steps did as if
    nothing else had existed before. ``rlskit new --from-policies`` checks them
    against a build of the previous revisions and adds what restores the rest.
    """
    new_by_key = {o.key: o for o in new}
    added = [o for o in new if o.key not in old]
    removed = [o for o in old.values() if o.key not in new_by_key]
    changed = [(old[o.key], o) for o in new if o.key in old and _changed(old[o.key], o)]
    order = lambda o: o.order  # noqa: E731

    up_drop = sorted(
        removed + [a for a, b in changed if not (a.replace and b.replace)], key=order, reverse=True
    )
    up_create = sorted(added + [b for a, b in changed], key=order)
    up = [f"-- drop {_c(o.key)} ({_c(o.source)})\n{o.drop}" for o in up_drop]
    for o in up_create:
        prev = old.get(o.key)
        if prev is not None and prev.replace and o.replace:
            up.append(f"-- replace {_c(o.key)} ({_c(o.source)})\n{o.replace}")
        else:
            up.append(f"-- create {_c(o.key)} ({_c(o.source)})\n{o.create}")

    down_drop = sorted(
        added + [b for a, b in changed if not (a.replace and b.replace)], key=order, reverse=True
    )
    down_create = sorted(removed + [a for a, b in changed], key=order)
    down = [f"-- drop {_c(o.key)}\n{o.drop}" for o in down_drop]
    for o in down_create:
        nxt = new_by_key.get(o.key)
        if nxt is not None and nxt.replace and o.replace:
            down.append(f"-- restore {_c(o.key)}\n{o.replace}")
        else:
            down.append(f"-- restore {_c(o.key)}\n{o.create}")

    summary = (
        [f"+ {o.key}" for o in sorted(added, key=order)]
        + [f"~ {b.key}" for a, b in sorted(changed, key=lambda p: p[1].order)]
        + [f"- {o.key}" for o in sorted(removed, key=order)]
    )
    return up, down, summary
