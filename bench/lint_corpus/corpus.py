"""The corpus cases: which shared schema files make one project, and how to apply them.

A case is a list of *platform* files (what the hosting platform or the
project's bootstrap provides before its migrations: roles, stubs) and the
project's own *migration* files. Files live in ``../shared/corpus/`` (not
copied into this repository).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"


@dataclass(frozen=True)
class Case:
    name: str
    platform: tuple[str, ...]
    migrations: tuple[str, ...]
    schemas: tuple[str, ...] = ("public",)  # the schemas the project's migrations write to
    lint_ini: dict[str, str] = field(default_factory=dict)  # [rlskit.lint] for rlskit

    def files(self) -> list[Path]:
        return [CORPUS / f for f in (*self.platform, *self.migrations)]


CASES: tuple[Case, ...] = (
    Case(
        "01_supabase_todo_list",
        ("00_supabase_stub.sql",),
        ("01_supabase_todo_list.sql",),
        ("public",),
        {"profile": "supabase"},
    ),
    Case(
        "02_supabase_user_management",
        ("00_supabase_stub.sql",),
        ("02_supabase_user_management.sql",),
        ("public", "storage"),
        {"profile": "supabase"},
    ),
    Case(
        "07_graphile_starter",
        ("07_graphile_starter.prelude.sql",),
        ("07_graphile_starter.sql",),
        ("app_public", "app_hidden", "app_private"),
        {},
    ),
    Case("08_aws_saas_factory_rls", (), ("08_aws_saas_factory_rls.sql",)),
)


def available() -> bool:
    return CORPUS.is_dir()


def apply(psql: str, url: str, case: Case) -> None:
    """Apply every file of ``case`` with psql as the superuser; stop at the first error."""
    for path in case.files():
        subprocess.run(
            [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
