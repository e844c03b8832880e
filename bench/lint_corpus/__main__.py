"""rlskit lint on every corpus schema, compared with the verdicts in verdicts.yaml.

    python -m bench.lint_corpus            # table: schema x tool -> TP / FP / debatable / missed
    python -m bench.lint_corpus --dump     # every rlskit finding (to assign verdicts)
    python -m bench.lint_corpus --write    # also write the table to RESULTS.md

Peer findings (pgrls, splinter) come from ``peers.json`` (``python -m
bench.lint_corpus.peers`` reruns them); their verdicts are in verdicts.yaml too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.lint_corpus.corpus import CASES
from bench.lint_corpus.run import Result, lint_case
from rlskit.embedded import EmbeddedServer
from rlskit.scratch import scratch_database

HERE = Path(__file__).resolve().parent


def load_verdicts() -> dict[str, Any]:
    return yaml.safe_load((HERE / "verdicts.yaml").read_text())  # type: ignore[no-any-return]


def run_all() -> dict[str, Result]:
    base = Path(tempfile.mkdtemp(prefix="rlskit-lintcorpus-"))
    base.chmod(0o755)
    emb = EmbeddedServer(base / "pg", fast=True)
    emb.start()
    out: dict[str, Result] = {}
    try:
        for case in CASES:
            with scratch_database(None, emb.url("postgres")) as url:
                out[case.name] = lint_case(case, emb.tool("psql"), url)
    finally:
        emb.destroy()
        shutil.rmtree(base, ignore_errors=True)
    return out


def fingerprint(rule: str, key: str) -> str:
    return f"{rule} {key}"


def before_fingerprints() -> dict[str, list[str]]:
    """rlskit's findings before issue 14 (``rlskit_before.txt``, the --dump of that version)."""
    out: dict[str, list[str]] = {}
    case = ""
    for line in (HERE / "rlskit_before.txt").read_text().splitlines():
        if line.startswith("== "):
            case = line.split()[1]
            out[case] = []
        elif line.startswith("  '") or line.startswith('  "'):
            out[case].append(line[3 : line.index(line[2] + ":", 3)])
    return out


def score(verdicts: dict[str, Any], results: dict[str, Result]) -> list[dict[str, Any]]:
    """Per schema and tool: true positives, false positives, debatable, missed problems."""
    peers = json.loads((HERE / "peers.json").read_text())
    before = before_fingerprints()
    rows = []
    for case in CASES:
        v = verdicts[case.name]
        known = v.get("known_problems", {})
        for tool in ("rlskit (before)", "rlskit", "pgrls", "splinter"):
            judged: dict[str, Any] = v.get(tool.split()[0], {}) or {}
            if tool == "rlskit":
                fps = [fingerprint(f.rule, f.key) for f in results[case.name].findings]
            elif tool == "rlskit (before)":
                fps = before[case.name]
            else:
                fps = [peer_fingerprint(tool, f) for f in peers[case.name][tool]]
                fps = [f for f in fps if f]
            counts = {"tp": 0, "fp": 0, "debatable": 0, "unjudged": 0}
            for fp in fps:
                verdict = str(judged.get(fp, {}).get("verdict", "unjudged"))
                counts[verdict if verdict in counts else "unjudged"] += 1
            covered = {
                k
                for fp in fps
                for k in (judged.get(fp, {}).get("problems") or [])
                if judged.get(fp, {}).get("verdict") == "tp"
            }
            missed = sorted(set(known) - covered)
            rows.append({"schema": case.name, "tool": tool, **counts, "missed": missed})
    return rows


def peer_fingerprint(tool: str, f: dict[str, Any]) -> str | None:
    if tool == "pgrls":
        return f"{f.get('rule_id')} {f.get('message', '')[:90]}"
    if f.get("level") == "TOOL-ERROR":
        return None
    return f"{f['lint']} {f.get('key')}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", action="store_true")
    ap.add_argument("--write", action="store_true", help="write the table to RESULTS.md")
    args = ap.parse_args()
    t0 = time.perf_counter()
    results = run_all()
    total = time.perf_counter() - t0
    if args.dump:
        for name, r in results.items():
            print(f"== {name}  (static {r.static_seconds:.3f}s, catalog {r.catalog_seconds:.3f}s)")
            for f in r.findings:
                print(f"  {fingerprint(f.rule, f.key)!r}: {f.loc} {f.message}")
        return
    rows = score(load_verdicts(), results)
    lines = [
        "| schema | tool | TP | FP | debatable | unjudged | missed known problems |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['schema']} | {r['tool']} | {r['tp']} | {r['fp']} | {r['debatable']} | "
            f"{r['unjudged']} | {', '.join(r['missed']) or '-'} |"
        )
    lint_s = sum(r.static_seconds + r.catalog_seconds for r in results.values())
    lines.append(
        f"\nrlskit lint time on the corpus (static rules + catalog queries and rules, four "
        f"schemas): {lint_s:.2f}s; the whole run including applying them: {total:.1f}s."
    )
    print("\n".join(lines))
    if args.write:
        (HERE / "RESULTS.md").write_text(
            "# rlskit lint, pgrls and splinter on ../shared/corpus\n\n"
            "Counts of findings by verdict (verdicts.yaml, written by judge.py); "
            "`rlskit (before)` is the version before issue 14 (rlskit_before.txt). "
            "TP: a real problem; FP: no problem; debatable: a judgement call. Missed: known "
            "problems (found by any tool) this tool does not report. Regenerate with "
            "`python -m bench.lint_corpus --write`.\n\n" + "\n".join(lines) + "\n"
        )


if __name__ == "__main__":
    main()
