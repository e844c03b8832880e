"""Adopting the corpus of real schemas, as a superuser and as a managed role.

For each schema of ``../shared/corpus`` and each way of running migrations
(the embedded superuser, or ``[rlskit] migrate_as``: a CREATEROLE/CREATEDB role
without SUPERUSER or BYPASSRLS, as on RDS, Cloud SQL, Azure or Supabase), a
source database is built as a user's would be (the platform by the superuser,
the schema by the migrating role), then ``rlskit baseline`` (with its
self-check), a rebuild from the revision on another cluster compared with the
source by an oracle of this file's own (pg_dump --schema-only plus catalog
queries and has_*_privilege as each role, no rlskit code), ``rlskit drift``,
``rlskit lint`` and ``rlskit test``. tests/test_corpus_roundtrip.py asserts on
it; ``python -m bench.corpus_adopt`` prints the table.
"""

from __future__ import annotations

import difflib
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from click.testing import CliRunner
from psycopg import sql

from rlskit import commands
from rlskit.cli import cli
from rlskit.commands import RunOptions
from rlskit.project import Project
from rlskit.scratch import scratch_database

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
EXAMPLE = REPO / "examples" / "supabase_platform" / "platform"
EXAMPLE_PLATFORM = EXAMPLE / "supabase.sql"
# what Supabase grants its migrating role on auth/storage (nothing without migrate_as)
MIGRATING_ROLE_GRANTS = EXAMPLE / "supabase_migrating_role.sql"
MIGRATOR = "corpus_migrator"
MODES = ("superuser", "migrate_as")


@dataclass(frozen=True)
class Case:
    id: str
    prereq: tuple[Path, ...]  # the platform of the source, before the schema
    platform: tuple[Path, ...]  # the rebuild's platform (scratch_setup), before the revision
    files: tuple[Path, ...]  # the schema, applied by the migrating role
    schemas: tuple[str, ...]
    matrix: str = ""  # an access matrix (rlskit test) for the adopted project
    # the prereq is the project's own bootstrap (its roles, trusted extensions), not the
    # platform's: on managed PostgreSQL the migrating role runs it too
    bootstrap: bool = False


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

_STUB = (CORPUS / "00_supabase_stub.sql", MIGRATING_ROLE_GRANTS)
CASES = [
    Case(
        "01_supabase_todo_list",
        _STUB,
        _STUB,
        (CORPUS / "01_supabase_todo_list.sql",),
        ("public",),
        TODO_MATRIX,
    ),
    Case(
        "02_supabase_user_management",
        _STUB,
        _STUB,
        (CORPUS / "02_supabase_user_management.sql",),
        ("public",),
        PROFILE_MATRIX,
    ),
    Case(
        "07_graphile_starter",
        (CORPUS / "07_graphile_starter.prelude.sql",),
        (CORPUS / "07_graphile_starter.platform.sql",),
        (CORPUS / "07_graphile_starter.sql",),
        ("app_public", "app_hidden", "app_private", "public"),
        GRAPHILE_MATRIX,
        bootstrap=True,
    ),
    Case(
        "08_aws_saas_factory_rls",
        (),
        (),
        (CORPUS / "08_aws_saas_factory_rls.sql",),
        ("public",),
        AWS_MATRIX,
    ),
    # the source on the corpus' Supabase stand-in; scratch databases and the rebuild on
    # examples/supabase_platform's own (written separately): a real adoption
    Case(
        "01_supabase_todo_list@example_platform",
        _STUB,
        (EXAMPLE_PLATFORM, MIGRATING_ROLE_GRANTS),
        (CORPUS / "01_supabase_todo_list.sql",),
        ("public",),
        TODO_MATRIX,
    ),
    Case(
        "02_supabase_user_management@example_platform",
        _STUB,
        (EXAMPLE_PLATFORM, MIGRATING_ROLE_GRANTS),
        (CORPUS / "02_supabase_user_management.sql",),
        ("public",),
        PROFILE_MATRIX,
    ),
]


def available() -> bool:
    return CORPUS.is_dir()


# -- running things as a user would -------------------------------------------------


def as_user(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def psql_files(psql: str, url: str, files: list[Path], migrate_as: str | None = None) -> None:
    """Apply ``files`` with psql; platform files see ``rlskit.migrate_as`` as rlskit's
    scratch databases give it to them."""
    args = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    for f in files:
        args += ["-f", str(f)]
    env = dict(os.environ)
    if migrate_as:
        env["PGOPTIONS"] = f"-c rlskit.migrate_as={migrate_as}"
    proc = subprocess.run([*args, url], capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"psql {' '.join(f.name for f in files)}: {proc.stderr.strip()}")


def role_names(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {r[0] for r in conn.execute("SELECT rolname FROM pg_roles").fetchall()}


def managed_role(admin_url: str, password: str) -> None:
    """The migrating role of a managed platform, owning the URL's database."""
    database = urlsplit(admin_url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN CREATEROLE CREATEDB NOSUPERUSER NOBYPASSRLS PASSWORD {}"
            ).format(sql.Identifier(MIGRATOR), sql.Literal(password))
        )
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(database), sql.Identifier(MIGRATOR)
            )
        )


def cli_run(*args: str, project: Path | None = None, url: str | None = None) -> tuple[int, str]:
    argv: list[str] = []
    if project is not None:
        argv += ["-p", str(project)]
    if url is not None:
        argv += ["--url", url]
    res = CliRunner().invoke(cli, [*argv, *args], catch_exceptions=False)
    return res.exit_code, res.output + res.stderr


# -- the oracle: nothing of rlskit -----------------------------------------------------

_NOISE = re.compile(r"^(--|SET |SELECT pg_catalog\.set_config|\\(un)?restrict)")


def _casts_moved(line: str) -> str:
    """PostgreSQL prints a varchar ``IN (...)`` CHECK with its casts elsewhere once
    its own output is parsed again: compare CHECK lines without casts/parentheses."""
    if "CONSTRAINT" not in line or "CHECK (" not in line:
        return line
    line = re.sub(r"::(\"[^\"]*\"|character varying|[a-z_]+)(\[\])?", "", line)
    return re.sub(r"[()\s]+", "", line)


def policy_roles_sorted(line: str) -> str:
    """pg_dump lists a policy's roles in pg_authid's heap order, which differs between
    two clusters whose roles were created or altered in another order: sort them."""
    if not line.startswith("CREATE POLICY "):
        return line
    match = re.search(r" TO ((?:[\w\"]+, )*[\w\"]+)(?= USING| WITH CHECK|;)", line)
    if match is None:
        return line
    roles = ", ".join(sorted(match.group(1).split(", ")))
    return line[: match.start(1)] + roles + line[match.end(1) :]


def oracle(url: str, pg_dump: str, schemas: tuple[str, ...], roles: set[str]) -> list[str]:
    """What must be identical, read without rlskit: pg_dump lines, then catalog rows."""
    cmd = [pg_dump, "--schema-only", "-d", url]
    for s in schemas:
        cmd += ["--schema", s]
    cmd += ["--exclude-table", "*.alembic_version", "--exclude-table", "*.rlskit_applied_files"]
    dump = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    out = [
        f"dump {_casts_moved(policy_roles_sorted(line))}"
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
        "owner": "SELECT c.oid::regclass, c.relowner::regrole FROM pg_class c "
        "WHERE c.relnamespace::regnamespace::text !~ '^(pg_|information_schema)'",
    }
    with psycopg.connect(url, autocommit=True) as conn:
        for kind, query in queries.items():
            rows = conn.execute(query, {"r": sorted(roles), "w": who}).fetchall()
            out += sorted(
                f"{kind} {tuple(str(v) for v in row)}"
                for row in rows
                if not any(t in str(row) for t in ("alembic_version", "rlskit_applied_files"))
            )
    return out


def diff(a: list[str], b: list[str]) -> list[str]:
    return [
        x
        for x in difflib.unified_diff(a, b, n=0, lineterm="")
        if x[:1] in "+-" and not x.startswith(("---", "+++"))
    ]


# -- one adoption ------------------------------------------------------------------------


@dataclass
class Adoption:
    case: str
    mode: str
    baseline_exit: int = -1
    baseline_output: str = ""
    baseline_seconds: float = 0.0
    up_sql: str = ""
    rebuild_output: str = ""
    differences: list[str] | None = None  # the oracle's, source vs rebuild
    drift: list[str] | None = None
    lint_findings: int | None = None
    lint_errors: int | None = None
    lint_codes: list[str] = field(default_factory=list)
    lint_lines: list[str] = field(default_factory=list)  # "RLSnnn message"
    test_exit: int | None = None
    test_output: str = ""

    @property
    def applies(self) -> bool:
        return self.baseline_exit == 0 and "matches the source" in self.baseline_output


def adopt(
    case: Case, mode: str, source_server: str, scratch_server: str, psql: str, pg_dump: str
) -> Adoption:
    """Build ``case``'s source, adopt it and check the result; every step's outcome
    is recorded, and a step that cannot run (no revision) is left as None."""
    managed = mode == "migrate_as"
    result = Adoption(case.id, mode)
    password = secrets.token_urlsafe(16)
    migrator = MIGRATOR if managed else None
    with scratch_database(None, source_server) as src, tempfile.TemporaryDirectory() as tmp:
        before = role_names(src)
        if managed:
            managed_role(src, password)
        src_as = as_user(src, MIGRATOR, password) if managed else src
        # the platform is the superuser's; the project's bootstrap and schema the migrator's
        psql_files(psql, src_as if case.bootstrap else src, list(case.prereq), migrator)
        psql_files(psql, src_as, list(case.files))
        roles = role_names(src) - before

        proj = Path(tmp) / "adopt"
        code, out = cli_run("init", str(proj))
        assert code == 0, out
        ini = proj / "alembic.ini"
        setting = f"scratch_setup = {', '.join(str(p) for p in case.platform)}\n"
        if managed:
            setting += f"migrate_as = {MIGRATOR}\n"
        ini.write_text(ini.read_text().replace("[rlskit]\n", f"[rlskit]\n{setting}", 1))

        t0 = time.perf_counter()
        schemas = [x for s in case.schemas for x in ("--schema", s)]
        result.baseline_exit, result.baseline_output = cli_run(
            "baseline", "--mark-applied", "--scratch-url", scratch_server, *schemas,
            project=proj, url=src_as,
        )  # fmt: skip
        result.baseline_seconds = time.perf_counter() - t0
        if result.baseline_exit != 0:
            return result
        result.up_sql = next((proj / "sql").glob("0001_*.up.sql")).read_text()

        # rebuild on another cluster: the platform by psql, the revision by rlskit upgrade
        with scratch_database(None, scratch_server) as rebuild:
            if managed:
                managed_role(rebuild, password)
            psql_files(psql, rebuild, list(case.platform), migrator)
            rebuild_as = as_user(rebuild, MIGRATOR, password) if managed else rebuild
            code, result.rebuild_output = cli_run("upgrade", project=proj, url=rebuild_as)
            if code == 0:
                result.differences = diff(
                    oracle(src, pg_dump, case.schemas, roles),
                    oracle(rebuild, pg_dump, case.schemas, roles),
                )

        project = Project.find(proj)
        report = commands.drift(project, RunOptions(url=src_as), scratch_server)
        result.drift = [d.line() for d in report.differences]
        lint = commands.lint(project, RunOptions(url=scratch_server))
        result.lint_findings, result.lint_errors = len(lint.findings), lint.errors
        result.lint_codes = sorted({f.rule for f in lint.findings})
        result.lint_lines = [f"{f.rule} {f.message}" for f in lint.findings]
        (proj / "tests" / "rls").mkdir(parents=True)
        (proj / "tests" / "rls" / "corpus.yaml").write_text(case.matrix)
        result.test_exit, result.test_output = cli_run("test", project=proj, url=scratch_server)
    return result


# -- the table -----------------------------------------------------------------------------


def table(rows: list[Adoption]) -> str:
    def n(x: object) -> str:
        return "-" if x is None else str(x)

    out = [
        "| corpus schema | migrations run as | baseline applies | independent diff "
        "| drift differences | lint findings (errors) | rlskit test | baseline + self-check |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lint = "-" if r.lint_findings is None else f"{r.lint_findings} ({r.lint_errors})"
        test = "-" if r.test_exit is None else ("pass" if r.test_exit == 0 else "FAIL")
        out.append(
            f"| {r.case} | {r.mode} | {'yes' if r.applies else 'no'} "
            f"| {n(None if r.differences is None else len(r.differences))} "
            f"| {n(None if r.drift is None else len(r.drift))} | {lint} | {test} "
            f"| {r.baseline_seconds:.1f} s |"
        )
    return "\n".join(out)


@contextmanager
def _servers() -> Iterator[tuple[str, str, str, str]]:
    from rlskit.embedded import EmbeddedServer

    base = Path(tempfile.mkdtemp(prefix="rlskit-corpus-"))
    os.chmod(base, 0o755)  # the servers' OS user must reach it when we are root
    source, scratch = EmbeddedServer(base / "source", fast=True), None
    try:
        source.start()
        scratch = EmbeddedServer(base / "scratch", fast=True)
        scratch.start()
        yield source.url(), scratch.url(), source.tool("psql"), source.tool("pg_dump")
    finally:
        for s in (scratch, source):
            if s is not None:
                s.destroy()
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    if not available():
        sys.exit(f"The corpus is not at {CORPUS}.")
    rows = []
    t0 = time.perf_counter()
    with _servers() as (source, scratch, psql, pg_dump):
        for case in CASES:
            for mode in MODES:
                r = adopt(case, mode, source, scratch, psql, pg_dump)
                print(f"{case.id} / {mode}: done", file=sys.stderr, flush=True)
                rows.append(r)
    print(table(rows))
    print(f"\n({len(rows)} adoptions in {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
