"""Run the peer linters on every corpus case and record their raw findings.

    python -m bench.lint_corpus.peers --pgrls /tmp/pgrls-venv/bin/pgrls \\
        --splinter /work/.mirror/supabase+splinter/repo

``pgrls`` (PyPI) runs against the applied database (``--database-url``).
Supabase's splinter lints are SQL views in ``lints/*.sql`` of its repository;
each one's query is run as it is (the ``create view ... as`` head removed) on the
applied database. Neither tool's code is part of this repository: the paths are
given on the command line. Output: ``peers.json`` next to this file (checked in,
so the verdict test does not need either tool).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg

from bench.lint_corpus.corpus import CASES, Case, apply
from rlskit.embedded import EmbeddedServer
from rlskit.scratch import scratch_database

HERE = Path(__file__).resolve().parent
# What PostgREST / PostGraphile expose per case (splinter reads pgrst.db_schemas).
API_SCHEMAS = {"07_graphile_starter": "app_public"}


def splinter_queries(repo: Path) -> list[tuple[str, str]]:
    out = []
    if (repo / ".git").exists() or (repo / "HEAD").exists():
        names = subprocess.run(
            ["git", "--git-dir", str(repo), "ls-tree", "--name-only", "HEAD", "lints/"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for name in sorted(names):
            sql = subprocess.run(
                ["git", "--git-dir", str(repo), "show", f"HEAD:{name}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            out.append((Path(name).stem, sql))
    else:
        for p in sorted((repo / "lints").glob("*.sql")):
            out.append((p.stem, p.read_text()))
    head = re.compile(r"^\s*create\s+(or\s+replace\s+)?view\s+\S+\s+as\s*", re.I | re.S)
    return [(n, head.sub("", s, count=1).rstrip().rstrip(";")) for n, s in out]


def run_splinter(url: str, case: Case, queries: list[tuple[str, str]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT set_config('pgrst.db_schemas', %s, false)",
            (API_SCHEMAS.get(case.name, "public"),),
        )
        for name, sql in queries:
            try:
                cur = conn.execute(sql.encode())
                cols = [d.name for d in cur.description or []]
                for row in cur.fetchall():
                    r = dict(zip(cols, row, strict=True))
                    found.append(
                        {
                            "lint": name,
                            "level": r.get("level"),
                            "detail": r.get("detail"),
                            "key": r.get("cache_key"),
                        }
                    )
            except psycopg.Error as exc:
                found.append({"lint": name, "level": "TOOL-ERROR", "detail": str(exc).strip()})
    return found


def run_pgrls(pgrls: str, url: str, case: Case) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [
                pgrls,
                "lint",
                "--database-url",
                url,
                "--format",
                "json",
                "--schemas",
                ",".join(case.schemas),
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
        )
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        return [{"rule": "TOOL-ERROR", "message": (proc.stdout + proc.stderr)[-2000:]}]
    return list(data["violations"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pgrls", required=True)
    ap.add_argument("--splinter", required=True, type=Path)
    args = ap.parse_args()
    queries = splinter_queries(args.splinter)
    base = Path(tempfile.mkdtemp(prefix="rlskit-peers-"))
    base.chmod(0o755)
    emb = EmbeddedServer(base / "pg", fast=True)
    emb.start()
    out: dict[str, Any] = {}
    try:
        for case in CASES:
            with scratch_database(None, emb.url("postgres")) as url:
                apply(emb.tool("psql"), url, case)
                out[case.name] = {
                    "pgrls": run_pgrls(args.pgrls, url, case),
                    "splinter": run_splinter(url, case, queries),
                }
    finally:
        emb.destroy()
        shutil.rmtree(base, ignore_errors=True)
    (HERE / "peers.json").write_text(json.dumps(out, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
