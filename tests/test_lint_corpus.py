"""rlskit lint on the real schemas of ../shared/corpus against the verdicts in
bench/lint_corpus/verdicts.yaml: no finding judged a false positive appears, and
every known problem (found by rlskit, pgrls or splinter) is found."""

from __future__ import annotations

import pytest

from bench.lint_corpus.__main__ import fingerprint, load_verdicts
from bench.lint_corpus.corpus import CASES, Case, available
from bench.lint_corpus.run import lint_case
from rlskit.scratch import scratch_database

from .conftest import Server

pytestmark = pytest.mark.skipif(not available(), reason="../shared/corpus is not here")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_schema_against_verdicts(server: Server, case: Case) -> None:
    verdicts = load_verdicts()[case.name]
    with scratch_database(None, server.url("postgres")) as url:
        result = lint_case(case, server.psql, url)
    judged = verdicts["rlskit"]
    found = {fingerprint(f.rule, f.key): f for f in result.findings}
    false_alarms = [
        f"{f.loc} {f.rule}: {f.message}"
        for fp, f in found.items()
        if judged.get(fp, {}).get("verdict") == "fp"
    ]
    assert not false_alarms
    covered = {
        problem
        for fp in found
        if judged.get(fp, {}).get("verdict") == "tp"
        for problem in judged[fp].get("problems", [])
    }
    assert set(verdicts["known_problems"]) - covered == set()
