"""rlskit lint on one corpus case: static rules on the files, catalog rules on the result.

The platform files (a Supabase stand-in, graphile/starter's role setup) are
replayed first so the model knows their roles and functions; static findings
located in them are not the project's and are dropped. Catalog findings about a
platform's own schemas are dropped by the case's profile (``platform_schemas``),
as they would be in a user's project.
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
    found = run_rules(cmodel, config)
    t3 = time.perf_counter()
    merged = [f for f in merge(static, found) if not sup.suppressed(f)]
    return Result(merged, t1 - t0, t3 - t2)
