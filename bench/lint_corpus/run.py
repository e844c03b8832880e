"""rlskit lint on one corpus case: static rules on the files, catalog rules on the result.

The platform files (a Supabase stand-in, graphile/starter's role setup) are
replayed first so the model knows their roles and functions, but findings about
them are not the project's and are dropped: a finding in a platform file, or a
catalog finding about an object only the platform files create.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.lint_corpus.corpus import Case, apply
from rlskit.lint import build_static, merge, run_rules
from rlskit.lint import catalog as lint_catalog
from rlskit.lint.core import Finding, LintConfig
from rlskit.lint.model import Model
from rlskit.sqlfile import normalise


@dataclass
class Result:
    findings: list[Finding]
    static_seconds: float
    catalog_seconds: float  # catalog queries + rules (not applying the files)


def config_for(case: Case) -> LintConfig:
    import configparser
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        ini = Path(tmp) / "alembic.ini"
        parser = configparser.ConfigParser(interpolation=None)
        parser["rlskit.lint"] = dict(case.lint_ini)
        with ini.open("w") as fh:
            parser.write(fh)
        return LintConfig.from_ini(ini)


def _objects(model: Model) -> set[str]:
    out = set(model.tables) | set(model.functions) | set(model.roles)
    return out


def _platform_only(case: Case) -> set[str]:
    platform, _ = build_static(
        [(p.name, normalise(p.read_text())) for p in case.files() if p.name in case.platform]
    )
    project, _ = build_static(
        [(p.name, normalise(p.read_text())) for p in case.files() if p.name in case.migrations]
    )
    touched = _objects(project) | {p.table for p in project.policies.values()}
    return _objects(platform) - touched


def _about(f: Finding) -> str:
    obj = f.loc.obj
    for prefix in ("function ", "role "):
        obj = obj.removeprefix(prefix)
    return obj.split(" policy ", 1)[0].split("(", 1)[0]


def lint_case(case: Case, psql: str, url: str) -> Result:
    """Apply ``case`` to the empty database at ``url`` and lint it."""
    config = config_for(case)
    files = [(p.name, normalise(p.read_text())) for p in case.files()]
    t0 = time.perf_counter()
    model, sup = build_static(files)
    static = [f for f in run_rules(model, config) if f.loc.file not in case.platform]
    t1 = time.perf_counter()
    apply(psql, url, case)
    t2 = time.perf_counter()
    with psycopg.connect(url) as conn:
        cmodel = lint_catalog.build(conn)
    platform = _platform_only(case)
    found = [f for f in run_rules(cmodel, config) if _about(f) not in platform]
    t3 = time.perf_counter()
    merged = [f for f in merge(static, found) if not sup.suppressed(f)]
    return Result(merged, t1 - t0, t3 - t2)
