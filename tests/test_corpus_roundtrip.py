"""Adopting real schemas: each corpus schema, applied by psql as a DBA would, goes
through `rlskit baseline`; a database rebuilt from the revision on another cluster
must be identical by an oracle of this file's own (pg_dump --schema-only, catalog
queries, has_*_privilege as each role), and `rlskit drift` must find nothing."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.project import Project

from .conftest import REPO, Database, Server, fresh_database, rlskit

CORPUS = REPO.parent / "shared" / "corpus"
EXAMPLE_PLATFORM = REPO / "examples" / "supabase_platform" / "platform" / "supabase.sql"
pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the corpus of real schemas is not at {CORPUS}"
)


@dataclass(frozen=True)
class Case:
    id: str
    prereq: tuple[str, ...]  # applied before the schema on the source
    platform: tuple[str, ...]  # what the rebuild's database has before the revision
    files: tuple[str, ...]
    schemas: tuple[str, ...]
    matrix: str = ""  # an access matrix (rlskit test) for the adopted project


A, B = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"
SUPABASE_ACTORS = f"""
actors:
  alice:
    role: authenticated
    settings:
      request.jwt.claims: '{{"sub": "{A}", "role": "authenticated"}}'
  visitor:
    role: anon
"""
TODO_MATRIX = f"""
fixtures: |
  INSERT INTO auth.users (id) VALUES ('{A}'), ('{B}');
  INSERT INTO public.todos (user_id, task) VALUES ('{A}', 'a task'), ('{B}', 'b task');
{SUPABASE_ACTORS}
cases:
- name: own todos only
  probe: SELECT * FROM public.todos
  expect: {{alice: 1, visitor: 0}}
- name: no todo for someone else
  probe: INSERT INTO public.todos (user_id, task) VALUES ('{B}', 'sneaky')
  expect: {{alice: rls_violation}}
"""
PROFILE_MATRIX = f"""
fixtures: |
  INSERT INTO auth.users (id, raw_user_meta_data) VALUES ('{A}', '{{"full_name": "A"}}'), ('{B}', '{{}}');
{SUPABASE_ACTORS}
cases:
- name: the signup trigger made public profiles
  probe: SELECT * FROM public.profiles
  expect: {{alice: 2, visitor: 2}}
- name: only one's own profile is updated
  probe: UPDATE public.profiles SET website = 'x'
  expect: {{alice: 1, visitor: 0}}
"""
GRAPHILE_MATRIX = """
actors:
  visitor:
    role: gs_visitor
cases:
- name: no session, no private data
  probe: SELECT * FROM app_private.sessions
  expect: {visitor: denied}
- name: users are readable
  probe: SELECT * FROM app_public.users
  expect: {visitor: 0}
"""
AWS_MATRIX = """
fixtures: |
  INSERT INTO public.tenant (tenant_id, name, status, tier) VALUES
    ('11111111-1111-1111-1111-111111111111', 'one', 'Active', 'Gold'),
    ('22222222-2222-2222-2222-222222222222', 'two', 'Active', 'Silver');
actors:
  tenant_one:
    role: app_user
    settings:
      app.current_tenant: '11111111-1111-1111-1111-111111111111'
cases:
- name: a tenant sees itself only
  probe: SELECT * FROM public.tenant
  expect: {tenant_one: 1}
"""


CASES = [
    Case(
        "01_supabase_todo_list",
        ("00_supabase_stub.sql",),
        ("00_supabase_stub.sql",),
        ("01_supabase_todo_list.sql",),
        ("public",),
        TODO_MATRIX,
    ),
    Case(
        "02_supabase_user_management",
        ("00_supabase_stub.sql",),
        ("00_supabase_stub.sql",),
        ("02_supabase_user_management.sql",),
        ("public",),
        PROFILE_MATRIX,
    ),
    Case(
        "07_graphile_starter",
        ("07_graphile_starter.prelude.sql",),
        ("07_graphile_starter.platform.sql",),
        ("07_graphile_starter.sql",),
        ("app_public", "app_hidden", "app_private", "public"),
        GRAPHILE_MATRIX,
    ),
    Case(
        "08_aws_saas_factory_rls",
        (),
        (),
        ("08_aws_saas_factory_rls.sql",),
        ("public",),
        AWS_MATRIX,
    ),
    # the source on the corpus' Supabase stand-in; scratch databases and the rebuild on
    # examples/supabase_platform's own (written separately): a real adoption
    Case(
        "01_supabase_todo_list@example_platform",
        ("00_supabase_stub.sql",),
        (str(EXAMPLE_PLATFORM),),
        ("01_supabase_todo_list.sql",),
        ("public",),
        TODO_MATRIX,
    ),
    Case(
        "02_supabase_user_management@example_platform",
        ("00_supabase_stub.sql",),
        (str(EXAMPLE_PLATFORM),),
        ("02_supabase_user_management.sql",),
        ("public",),
        PROFILE_MATRIX,
    ),
]


def psql_files(server: Server, url: str, files: list[Path]) -> None:
    args = [server.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    for f in files:
        args += ["-f", str(f)]
    proc = subprocess.run([*args, url], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def role_names(db: Database) -> set[str]:
    with db.connect(autocommit=True) as conn:
        return {r[0] for r in conn.execute("SELECT rolname FROM pg_roles").fetchall()}


_NOISE = re.compile(r"^(--|SET |SELECT pg_catalog\.set_config|\\(un)?restrict)")


def _casts_moved(line: str) -> str:
    """PostgreSQL prints a varchar ``IN (...)`` CHECK with its casts elsewhere once
    its own output is parsed again: compare CHECK lines without casts/parentheses."""
    if "CONSTRAINT" not in line or "CHECK (" not in line:
        return line
    line = re.sub(r"::(\"[^\"]*\"|character varying|[a-z_]+)(\[\])?", "", line)
    return re.sub(r"[()\s]+", "", line)


def oracle(db: Database, schemas: tuple[str, ...], roles: set[str]) -> list[str]:
    """What must be identical, read without rlskit: pg_dump lines, then catalog rows."""
    cmd = [db.server.embedded.tool("pg_dump"), "--schema-only", "-d", db.url]
    for s in schemas:
        cmd += ["--schema", s]
    cmd += ["--exclude-table", "*.alembic_version", "--exclude-table", "*.rlskit_applied_files"]
    dump = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    out = [
        f"dump {_casts_moved(line)}"
        for line in dump.splitlines()
        if line.strip() and not _NOISE.match(line)
    ]
    who = [*sorted(roles), "public"]
    queries = {
        "role": "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, "
        "rolbypassrls, rolconnlimit, rolconfig FROM pg_roles WHERE rolname = ANY(%(r)s)",
        "member": "SELECT r.rolname, m.rolname, a.admin_option, a.inherit_option, a.set_option "
        "FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
        "JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = ANY(%(r)s) OR m.rolname = ANY(%(r)s)",
        "execute": "SELECT p.oid::regprocedure, w, has_function_privilege(w, p.oid, 'EXECUTE') "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, unnest(%(w)s::text[]) w "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')",
        "table": "SELECT c.oid::regclass, w, k, has_table_privilege(w, c.oid, k) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, unnest(%(w)s::text[]) w, "
        "unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) k "
        "WHERE c.relkind IN ('r','v','m','p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
        "schema": "SELECT n.nspname, w, has_schema_privilege(w, n.oid, 'USAGE'), "
        "has_schema_privilege(w, n.oid, 'CREATE') FROM pg_namespace n, unnest(%(w)s::text[]) w "
        "WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'",
        "default acl": "SELECT defaclrole::regrole, defaclnamespace::regnamespace, defaclobjtype, "
        "defaclacl FROM pg_default_acl",
        "extension": "SELECT extname, extnamespace::regnamespace FROM pg_extension",
        "trigger": "SELECT tgrelid::regclass, tgname, tgenabled, pg_get_triggerdef(oid) "
        "FROM pg_trigger WHERE NOT tgisinternal",
        "policy": "SELECT schemaname, tablename, policyname, permissive, "
        "ARRAY(SELECT unnest(roles) ORDER BY 1), cmd, qual, with_check FROM pg_policies",
        "rls": "SELECT oid::regclass, relrowsecurity, relforcerowsecurity FROM pg_class "
        "WHERE relkind IN ('r', 'p') AND relnamespace::regnamespace::text !~ '^(pg_|information_schema)'",
        "comment": "SELECT pg_describe_object(classoid, objoid, objsubid), description "
        "FROM pg_description WHERE objoid >= 16384",
        "publication": "SELECT * FROM pg_publication_tables",
        "setting": "SELECT setrole, setconfig FROM pg_db_role_setting "
        "WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())",
        "security": "SELECT p.oid::regprocedure, prosecdef, proconfig, proowner::regrole "
        "FROM pg_proc p WHERE pronamespace::regnamespace::text !~ '^(pg_|information_schema)'",
    }
    with db.connect(autocommit=True) as conn:
        for kind, sql in queries.items():
            rows = conn.execute(sql, {"r": sorted(roles), "w": who}).fetchall()
            out += sorted(
                f"{kind} {tuple(str(v) for v in row)}"
                for row in rows
                if not any(t in str(row) for t in ("alembic_version", "rlskit_applied_files"))
            )
    return out


def diff(a: list[str], b: list[str]) -> list[str]:
    import difflib

    return [
        x
        for x in difflib.unified_diff(a, b, n=0, lineterm="")
        if x[:1] in "+-" and not x.startswith(("---", "+++"))
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_corpus_schema_round_trips(
    database: Database, scratch_server: Server, tmp_path: Path, case: Case
) -> None:
    before = role_names(database)
    psql_files(database.server, database.url, [CORPUS / f for f in case.prereq + case.files])
    roles = role_names(database) - before
    proj = tmp_path / "adopt"
    assert rlskit("init", str(proj)).exit_code == 0
    ini = proj / "alembic.ini"
    setup = ", ".join(str(CORPUS / f) for f in case.platform)
    ini.write_text(ini.read_text().replace("[rlskit]\n", f"[rlskit]\nscratch_setup = {setup}\n"))

    t0 = time.perf_counter()
    args = ["baseline", "--mark-applied", "--scratch-url", scratch_server.url()]
    res = rlskit(
        *args, *[x for s in case.schemas for x in ("--schema", s)], project=proj, url=database.url
    )
    seconds = time.perf_counter() - t0
    assert res.exit_code == 0, res.output + res.stderr
    assert "matches the source" in res.output
    up = next((proj / "sql").glob("0001_*.up.sql")).read_text()
    assert 'CREATE SCHEMA "public"' not in up

    # rebuild on another cluster: the platform by psql, then the revision by rlskit upgrade
    with fresh_database(scratch_server) as rebuild:
        psql_files(scratch_server, rebuild.url, [CORPUS / f for f in case.platform])
        up_res = rlskit("upgrade", project=proj, url=rebuild.url)
        assert up_res.exit_code == 0, up_res.output + up_res.stderr
        differences = diff(
            oracle(database, case.schemas, roles), oracle(rebuild, case.schemas, roles)
        )
        assert differences == [], "\n".join(differences)
        # the transaction-local settings of the dump ended with the revision
        assert "SET LOCAL check_function_bodies = false" in up or "check_function_bodies" not in up

    t1 = time.perf_counter()
    report = commands.drift(Project.find(proj), RunOptions(url=database.url), scratch_server.url())
    assert [d.line() for d in report.differences] == []
    drift_seconds = time.perf_counter() - t1
    lint = commands.lint(Project.find(proj), RunOptions(url=scratch_server.url()))
    codes = sorted({f.rule for f in lint.findings})
    (proj / "tests" / "rls").mkdir(parents=True)
    (proj / "tests" / "rls" / "corpus.yaml").write_text(case.matrix)
    t2 = time.perf_counter()
    res = rlskit("test", project=proj, url=scratch_server.url())
    assert res.exit_code == 0, res.output + res.stderr
    test_seconds = time.perf_counter() - t2
    print(
        f"\nROUNDTRIP {case.id}: rlskit test {res.output.strip().splitlines()[-1]} "
        f"({test_seconds:.1f}s)"
    )
    print(
        f"\nROUNDTRIP {case.id}: baseline (with self-check) {seconds:.1f}s, independent diff 0, "
        f"drift 0 ({drift_seconds:.1f}s), lint {len(lint.findings)} findings "
        f"({lint.errors} errors) {codes}"
    )


# The Supabase cases need what Supabase grants its migrating role on auth/storage, which
# the corpus stand-in (applied by a superuser) does not model.
@pytest.mark.parametrize("case", CASES[2:4], ids=lambda c: c.id)
def test_corpus_schema_adopted_under_a_managed_role(
    database: Database, scratch_server: Server, tmp_path: Path, case: Case
) -> None:
    """The self-check applies the revision as a CREATEROLE non-superuser (migrate_as)."""
    psql_files(database.server, database.url, [CORPUS / f for f in case.prereq + case.files])
    proj = tmp_path / "adopt"
    assert rlskit("init", str(proj)).exit_code == 0
    ini = proj / "alembic.ini"
    setup = ", ".join(str(CORPUS / f) for f in case.platform)
    ini.write_text(
        ini.read_text().replace(
            "[rlskit]\n", f"[rlskit]\nscratch_setup = {setup}\nmigrate_as = corpus_migrator\n"
        )
    )
    args = ["baseline", "--mark-applied", "--scratch-url", scratch_server.url()]
    res = rlskit(
        *args, *[x for s in case.schemas for x in ("--schema", s)], project=proj, url=database.url
    )
    assert res.exit_code == 0, res.output + res.stderr
    assert "matches the source" in res.output
