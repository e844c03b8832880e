"""rlskit lint on patterns from real schemas (issue 14): false alarms that must stay
quiet, real problems that must be found, and the catalog pass deciding over the
static guesses. Catalog cases apply the SQL to a scratch database on the test
server and read its catalog."""

from __future__ import annotations

from pathlib import Path

from rlskit import commands
from rlskit.commands import RunOptions
from rlskit.lint import LintConfig, build_static, lint_files
from rlskit.lint.core import Finding
from rlskit.project import Project

from .conftest import Database, rlskit


def make_project(tmp: Path, sql: str, lint_ini: str = "") -> Path:
    """A fresh rlskit project whose first revision is ``sql``."""
    assert rlskit("init", str(tmp)).exit_code == 0
    assert rlskit("new", "schema", project=tmp).exit_code == 0
    up = next((tmp / "sql").glob("0001_*.up.sql"))
    up.write_text(sql)
    if lint_ini:
        ini = tmp / "alembic.ini"
        ini.write_text(ini.read_text() + "\n[rlskit.lint]\n" + lint_ini + "\n")
    return tmp


def catalog_lint(tmp: Path, database: Database, sql: str, lint_ini: str = "") -> list[Finding]:
    project = make_project(tmp, sql, lint_ini)
    report = commands.lint(
        Project.find(project), RunOptions(url=database.server.url("postgres")), with_database=True
    )
    return report.findings


def rules(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


def static(sql: str, config: LintConfig | None = None) -> list[Finding]:
    return lint_files([("case.sql", sql)], config or LintConfig())


SUPABASE_LIKE = """
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub' $$;
"""


# -- RLS008: who is an application role -------------------------------------------------
def test_bootstrap_superuser_and_helper_owner_are_not_app_roles(
    tmp_path: Path, database: Database
) -> None:
    sql = """
    CREATE ROLE app_user LOGIN;
    CREATE ROLE helper_owner NOLOGIN BYPASSRLS;
    CREATE TABLE public.docs (id int PRIMARY KEY, owner text NOT NULL);
    CREATE INDEX ON public.docs (owner);
    ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
    ALTER TABLE public.docs FORCE ROW LEVEL SECURITY;
    GRANT SELECT ON public.docs TO app_user;
    CREATE POLICY own ON public.docs FOR SELECT USING (owner = current_user);  -- no TO
    CREATE FUNCTION public.doc_count() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp AS $$ SELECT count(*) FROM public.docs $$;
    ALTER FUNCTION public.doc_count() OWNER TO helper_owner;
    REVOKE ALL ON FUNCTION public.doc_count() FROM PUBLIC;
    """
    found = catalog_lint(tmp_path, database, sql)
    assert "RLS008" not in rules(found), [str(f.message) for f in found]


def test_admin_roles_silence_rls008(tmp_path: Path) -> None:
    sql = """
    CREATE ROLE service_role NOLOGIN BYPASSRLS;
    CREATE TABLE t (id int);
    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
    CREATE POLICY p ON t TO service_role USING (true);
    """
    assert "RLS008" in rules(static(sql))
    assert "RLS008" not in rules(static(sql, LintConfig(admin_roles={"service_role"})))
    config = LintConfig()
    config.apply_profile("supabase")
    assert "RLS008" not in rules(static(sql, config))


def test_a_login_superuser_the_project_creates_is_still_flagged() -> None:
    sql = """
    CREATE ROLE django SUPERUSER LOGIN;
    CREATE TABLE t (id int);
    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
    CREATE POLICY p ON t USING (id = 1);
    """
    assert "RLS008" in rules(static(sql))


# -- RLS012 and default privileges; catalog facts replace static guesses ---------------
def test_default_privileges_revoking_execute_from_public_silence_rls012() -> None:
    sql = """
    ALTER DEFAULT PRIVILEGES REVOKE ALL ON FUNCTIONS FROM PUBLIC;
    CREATE FUNCTION public.f() RETURNS int LANGUAGE sql SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp AS $$ SELECT 1 $$;
    """
    assert "RLS012" not in rules(static(sql))
    assert "RLS012" in rules(static(sql.split(";", 1)[1]))


def test_catalog_facts_replace_static_guesses(tmp_path: Path, database: Database) -> None:
    # EXECUTE is revoked by dynamic SQL in a DO block: the files alone cannot tell.
    sql = """
    CREATE FUNCTION public.f() RETURNS int LANGUAGE sql SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp AS $$ SELECT 1 $$;
    DO $$ BEGIN EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', 'public.f()'); END $$;
    """
    assert "RLS012" in rules(static(sql))
    assert "RLS012" not in rules(catalog_lint(tmp_path, database, sql))


def test_statements_inside_do_blocks_are_linted_with_their_line() -> None:
    sql = (
        "CREATE TABLE t (id int, tenant uuid);\n"
        "ALTER TABLE t ENABLE ROW LEVEL SECURITY;\n"
        "DO $$\n"
        "BEGIN\n"
        "    CREATE USER app_user WITH LOGIN PASSWORD 'secret';\n"
        "    CREATE POLICY iso ON t USING (tenant = current_setting('app.tenant')::uuid);\n"
        "END\n"
        "$$;\n"
    )
    found = {f.rule: f for f in static(sql)}
    assert found["RLS025"].loc.line == 5
    assert found["RLS017"].loc.line == 6


# -- casts the catalog writes -----------------------------------------------------------
def test_catalog_casts_are_unwrapped(tmp_path: Path, database: Database) -> None:
    sql = """
    CREATE ROLE app_user NOLOGIN;
    CREATE TABLE public.t (id int PRIMARY KEY, tenant uuid NOT NULL);
    CREATE INDEX ON public.t (tenant);
    ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;
    ALTER TABLE public.t FORCE ROW LEVEL SECURITY;
    GRANT SELECT ON public.t TO app_user;
    DO $$ BEGIN
      CREATE POLICY iso ON public.t FOR SELECT TO app_user
          USING (tenant = current_setting('app.tenant')::uuid);
    END $$;
    """
    found = {f.rule: f for f in catalog_lint(tmp_path, database, sql)}
    assert "current_setting('app.tenant')" in found["RLS017"].message
    assert "None" not in found["RLS017"].message
    assert "app.tenant" in found["RLS018"].message


# -- RLS013, RLS016, RLS011, RLS003 -------------------------------------------------------
def test_quote_ident_concatenation_is_not_dynamic_sql_injection() -> None:
    safe = """CREATE FUNCTION f(col text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN EXECUTE 'select $1.' || quote_ident(col) || '::text' USING 1; END $$;"""
    unsafe = """CREATE FUNCTION f(col text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN EXECUTE 'select $1.' || col || '::text' USING 1; END $$;"""
    assert "RLS013" not in rules(static(safe))
    assert "RLS013" in rules(static(unsafe))


def test_rls016_lists_every_risky_privilege_once_in_catalog_mode(
    tmp_path: Path, database: Database
) -> None:
    sql = """
    CREATE ROLE app_user NOLOGIN;
    CREATE TABLE public.t (id int PRIMARY KEY);
    ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;
    ALTER TABLE public.t FORCE ROW LEVEL SECURITY;
    GRANT SELECT, TRUNCATE, TRIGGER, REFERENCES ON public.t TO app_user;
    CREATE POLICY p ON public.t FOR SELECT TO app_user USING (id = 1);
    """
    found = [f for f in catalog_lint(tmp_path, database, sql) if f.rule == "RLS016"]
    assert len(found) == 1
    assert "REFERENCES, TRIGGER, TRUNCATE" in found[0].message


def test_empty_search_path_is_pinned() -> None:
    sql = """CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER
        SET search_path = '' AS $$ SELECT 1 $$;"""
    assert not [f for f in static(sql) if f.rule == "RLS011"]
    current = sql.replace("= ''", "FROM CURRENT")
    msgs = [f.message for f in static(current) if f.rule == "RLS011"]
    assert msgs and "(from current)" in msgs[0]


def test_one_mistake_one_finding_rls003_grouped_per_role_and_table() -> None:
    sql = """
    CREATE ROLE app NOLOGIN;
    CREATE TABLE t (id int);
    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
    GRANT SELECT, INSERT, UPDATE, DELETE ON t TO app;
    CREATE POLICY r ON t FOR SELECT TO app USING (id = 1);
    """
    found = [f for f in static(sql) if f.rule == "RLS003"]
    assert len(found) == 1
    assert "INSERT, UPDATE, DELETE" in found[0].message


def test_blanket_default_grants_with_policies_deciding_are_not_rls003() -> None:
    sql = (
        SUPABASE_LIKE
        + """
    CREATE TABLE public.profiles (id uuid PRIMARY KEY);
    ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
    CREATE POLICY r ON public.profiles FOR SELECT USING (true);
    """
    )
    assert "RLS003" not in rules(static(sql))


def test_rls019_reports_each_cause_once(tmp_path: Path, database: Database) -> None:
    sql = """
    CREATE ROLE app_user NOLOGIN;
    CREATE TABLE public.t (id int PRIMARY KEY, tenant varchar(40) NOT NULL);
    CREATE INDEX ON public.t (tenant);
    ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;
    ALTER TABLE public.t FORCE ROW LEVEL SECURITY;
    GRANT SELECT ON public.t TO app_user;
    CREATE POLICY p ON public.t FOR SELECT TO app_user
        USING (tenant = current_setting('app.tenant', true));
    """
    # The catalog writes (tenant)::text = ...: an implicit, index-compatible cast.
    found = [f for f in catalog_lint(tmp_path, database, sql) if f.rule == "RLS019"]
    assert len(found) == 1, [f.message for f in found]
    assert "current_setting() is not wrapped" in found[0].message


# -- missing findings ----------------------------------------------------------------------
def test_supabase_profile_finds_what_real_projects_need() -> None:
    sql = (
        SUPABASE_LIKE
        + """
    CREATE TABLE public.objects (id uuid PRIMARY KEY, owner uuid, bucket text);
    ALTER TABLE public.objects ENABLE ROW LEVEL SECURITY;
    CREATE POLICY read_own ON public.objects FOR SELECT USING (auth.uid() = owner);
    CREATE POLICY upd ON public.objects FOR UPDATE
        USING (auth.uid() = owner) WITH CHECK (bucket = 'avatars');
    CREATE FUNCTION public.wipe() RETURNS void LANGUAGE sql SECURITY DEFINER
        SET search_path = '' AS $$ DELETE FROM public.objects $$;
    CREATE FUNCTION public.wipe2() RETURNS void LANGUAGE sql SECURITY DEFINER
        SET search_path = '' AS $$ DELETE FROM public.objects $$;
    REVOKE EXECUTE ON FUNCTION public.wipe2() FROM PUBLIC;
    """
    )
    config = LintConfig()
    config.apply_profile("supabase")
    findings = static(sql, config)
    found = set(rules(findings))
    assert {"RLS030", "RLS031", "RLS034", "RLS037"} <= found
    # one finding per exposed function: PUBLIC (RLS012, naming anon too) or the defaults (RLS037)
    exposed = {f.key: f.message for f in findings if f.rule in ("RLS012", "RLS037")}
    assert set(exposed) == {"publicexec:public.wipe", "lowtrust:public.wipe2"}
    assert "anon, authenticated through default privileges" in exposed["publicexec:public.wipe"]
    assert "RLS018" not in found  # request.jwt.claims is a verified identity there
    assert "RLS008" not in found  # service_role is the platform's admin
    assert "RLS005" not in found  # the open WITH CHECK is one finding (RLS034), not two


def test_transaction_control_in_files_and_do_blocks() -> None:
    found = [f for f in static("BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n") if f.rule == "RLS036"]
    assert [f.loc.line for f in found] == [1, 3]


def test_views_over_rls_tables_and_row_filtering_views(tmp_path: Path, database: Database) -> None:
    sql = """
    CREATE TABLE public.t (id int PRIMARY KEY);
    ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;
    CREATE VIEW public.v AS SELECT id FROM public.t;
    CREATE VIEW public.v_ok WITH (security_invoker = true) AS SELECT id FROM public.t;
    CREATE MATERIALIZED VIEW public.mv AS SELECT id FROM public.t;
    CREATE TABLE public.notes (id int, owner text);
    CREATE VIEW public.my_notes AS SELECT * FROM public.notes WHERE owner = current_user;
    CREATE VIEW public.my_notes_ok WITH (security_barrier) AS
        SELECT * FROM public.notes WHERE owner = current_user;
    """
    found = catalog_lint(tmp_path, database, sql)
    assert sorted(f.key for f in found if f.rule == "RLS035") == ["view:public.mv", "view:public.v"]
    assert [f.key for f in found if f.rule == "RLS042"] == ["barrier:public.my_notes"]


def test_profile_must_be_known(tmp_path: Path) -> None:
    project = make_project(tmp_path, "CREATE TABLE t (id int);", "profile = firebase")
    res = rlskit("lint", "--no-db", project=project)
    assert res.exit_code == 2
    assert "firebase" in res.output


def test_catalog_sees_leakproof_immutable_children_and_default_privileges(
    tmp_path: Path, database: Database
) -> None:
    sql = """
    CREATE ROLE anon NOLOGIN;
    CREATE ROLE app_owner NOLOGIN;
    ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public GRANT SELECT ON TABLES TO anon;
    CREATE FUNCTION public.my_eq(a text, b text) RETURNS boolean LEAKPROOF IMMUTABLE
        LANGUAGE sql AS $$ SELECT a = b $$;
    CREATE FUNCTION public.tenant() RETURNS bigint IMMUTABLE LANGUAGE sql
        AS $$ SELECT current_setting('app.tenant', true)::bigint $$;
    CREATE TABLE public.events (tenant_id bigint) PARTITION BY LIST (tenant_id);
    ALTER TABLE public.events ENABLE ROW LEVEL SECURITY;
    CREATE TABLE public.events_1 PARTITION OF public.events FOR VALUES IN (1);
    """
    found = {
        (f.rule, f.key) for f in catalog_lint(tmp_path, database, sql, "low_trust_roles = anon")
    }
    assert ("RLS038", "leakproof:public.my_eq") in found
    assert ("RLS039", "immutable:public.tenant") in found
    assert ("RLS040", "child:public.events_1") in found
    assert ("RLS041", "defpriv:public:table:anon") in found


def test_rls014_only_columns_in_scope_shadow_a_variable() -> None:
    tables = """
    CREATE TABLE emails (id uuid PRIMARY KEY, user_id uuid);
    CREATE TABLE secrets (user_email_id uuid, token text);
    """
    in_subquery_only = (
        tables
        + """
    CREATE FUNCTION verify(user_email_id uuid, tok text) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE emails SET user_id = user_id WHERE id = user_email_id
        AND EXISTS (SELECT 1 FROM secrets WHERE secrets.user_email_id = emails.id AND token = tok);
      RETURN found;
    END $$;
    """
    )
    assert "RLS014" not in rules(static(in_subquery_only))
    ambiguous = (
        tables
        + """
    CREATE FUNCTION verify(user_email_id uuid, tok text) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM secrets WHERE user_email_id = user_email_id AND token = tok;
      RETURN found;
    END $$;
    """
    )
    assert "RLS014" in rules(static(ambiguous))


def test_generalisation_guards() -> None:
    # BEGIN/COMMIT are fine in a no-transaction revision
    no_txn = "-- rlskit: no-transaction\nBEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n"
    assert "RLS036" not in rules(static(no_txn))
    # an index added by ALTER TABLE ... ADD PRIMARY KEY / UNIQUE counts
    indexed = """
    CREATE ROLE app NOLOGIN;
    CREATE TABLE t (owner text NOT NULL, n int);
    ALTER TABLE t ADD CONSTRAINT t_owner UNIQUE (owner, n);
    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
    GRANT SELECT ON t TO app;
    CREATE POLICY p ON t FOR SELECT TO app USING (owner = (SELECT current_user));
    """
    assert "RLS031" not in rules(static(indexed))
    # = ANY (f()) is RLS019's finding, an IMMUTABLE function is folded: no RLS030
    shapes = """
    CREATE FUNCTION my_ids() RETURNS int[] LANGUAGE sql STABLE AS $$ SELECT '{1}'::int[] $$;
    CREATE FUNCTION one() RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$;
    CREATE TABLE t (id int PRIMARY KEY);
    CREATE POLICY p ON t USING (id = ANY (my_ids()) OR id = one());
    """
    found = rules(static(shapes))
    assert "RLS019" in found and "RLS030" not in found
    # an admin's write policy may write any owner's rows
    admin = """
    CREATE TABLE t (id int PRIMARY KEY, owner text);
    CREATE POLICY r ON t FOR SELECT USING (owner = (SELECT current_user));
    CREATE POLICY w ON t FOR INSERT TO admin WITH CHECK (id > 0);
    """
    assert "RLS034" in rules(static(admin))
    assert "RLS034" not in rules(static(admin, LintConfig(admin_roles={"admin"})))


def test_rls016_leaves_a_platforms_default_grants_alone_but_not_the_projects(
    tmp_path: Path, database: Database
) -> None:
    sql = """
    CREATE ROLE anon NOLOGIN;
    CREATE ROLE app NOLOGIN;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon;
    CREATE TABLE public.a (id int);
    ALTER TABLE public.a ENABLE ROW LEVEL SECURITY;
    CREATE TABLE public.b (id int);
    ALTER TABLE public.b ENABLE ROW LEVEL SECURITY;
    GRANT TRUNCATE ON public.b TO app;
    """
    platform = str(database.scalar("SELECT current_user"))  # who set the defaults
    found = catalog_lint(tmp_path, database, sql, f"admin_roles = {platform}")
    risky = [f for f in found if f.rule == "RLS016"]
    assert [f.key for f in risky] == ["risky:public.b"]
    assert risky[0].message.startswith("app holds TRUNCATE on public.b")
    # without knowing the platform's admin, the defaults are reported: one finding per table
    assert sorted(f.key for f in static(sql) if f.rule == "RLS016") == [
        "risky:public.a",
        "risky:public.b",
    ]


def test_pending_policy_yaml_findings_survive_the_catalog_pass(
    tmp_path: Path, database: Database
) -> None:
    sql = """
    CREATE ROLE app_user NOLOGIN;
    CREATE TABLE public.t (id int PRIMARY KEY);
    GRANT SELECT ON public.t TO app_user;
    """
    project = make_project(tmp_path, sql)
    (project / "policies").mkdir(exist_ok=True)
    (project / "policies" / "app.yaml").write_text(
        "policies:\n  - template: allow_all\n    table: public.t\n    roles: [app_user]\n"
    )
    static_only = commands.lint(Project.find(project), with_database=False).findings
    pending = [f for f in static_only if (f.loc.file or "").startswith("policies/")]
    assert pending, [f"{f.rule} {f.loc}" for f in static_only]
    report = commands.lint(
        Project.find(project), RunOptions(url=database.server.url("postgres")), with_database=True
    )
    assert {(f.rule, f.key) for f in pending} <= {(f.rule, f.key) for f in report.findings}


def test_rls034_owner_columns_belong_to_the_policy_table() -> None:
    sql = """
    CREATE TABLE members (org_id int, user_id uuid);
    CREATE TABLE docs (id int PRIMARY KEY, org_id int NOT NULL, body text);
    CREATE INDEX ON docs (org_id);
    CREATE POLICY r ON docs FOR SELECT USING (EXISTS (
        SELECT 1 FROM members m WHERE m.org_id = docs.org_id AND m.user_id = auth.uid()));
    CREATE POLICY w ON docs FOR INSERT WITH CHECK (org_id > 0);
    """
    # docs is scoped by org_id through the membership subquery (docs has no user_id):
    # the INSERT check leaves org_id open, and the finding names org_id
    found = [f for f in static(sql) if f.rule == "RLS034"]
    assert len(found) == 1 and "does not tie org_id to the caller" in found[0].message
    tied = sql.replace(
        "WITH CHECK (org_id > 0)",
        "WITH CHECK (EXISTS (SELECT 1 FROM members m"
        " WHERE m.org_id = docs.org_id AND m.user_id = auth.uid()))",
    )
    assert "RLS034" not in rules(static(tied))


# -- generalisation on schemas outside the corpus (basejump, supa-builder, slack clone) ------
MEMBERSHIP = """
CREATE ROLE authenticated NOLOGIN;
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
CREATE TABLE public.account_user (user_id uuid, account_id uuid, role text,
    PRIMARY KEY (user_id, account_id));
CREATE FUNCTION public.has_role(account uuid, wanted text DEFAULT NULL) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
    SELECT EXISTS (SELECT 1 FROM public.account_user m WHERE m.user_id = auth.uid()
        AND m.account_id = account AND (wanted IS NULL OR m.role = wanted)) $$;
CREATE TABLE public.accounts (id uuid PRIMARY KEY, primary_owner uuid NOT NULL,
    personal boolean NOT NULL DEFAULT false);
CREATE INDEX ON public.accounts (primary_owner);
ALTER TABLE public.accounts ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE ON public.accounts TO authenticated;
CREATE POLICY by_members ON public.accounts FOR SELECT TO authenticated
    USING (public.has_role(id) = true);
CREATE POLICY by_owner ON public.accounts FOR SELECT TO authenticated
    USING (primary_owner = (SELECT auth.uid()));
"""


def test_rls019_a_helper_called_with_a_column_is_one_cause_not_two() -> None:
    # basejump: USING (basejump.has_role_on_account(id) = true) was reported twice, once
    # as "the column is wrapped" (with the || example) and once as a per-row helper.
    found = [f for f in static(MEMBERSHIP) if f.rule == "RLS019"]
    assert len(found) == 1, [f.message for f in found]
    assert "has_role() is called with a column" in found[0].message
    # a column really wrapped on one side of = (a cast, ||, a builtin) is still reported
    wrapped = MEMBERSHIP + (
        "CREATE POLICY w ON public.accounts FOR SELECT TO authenticated"
        " USING (primary_owner::text = current_user);"
    )
    msgs = [f.message for f in static(wrapped) if f.rule == "RLS019"]
    assert any("policy w: the column is wrapped" in m for m in msgs), msgs


def test_rls034_a_write_tied_through_a_membership_helper_is_tied() -> None:
    # basejump: the table's rows belong to the caller either as primary owner or as a
    # member (has_role_on_account(id)); an UPDATE checked by has_role(id, 'owner') keeps
    # the row tied to the caller, through the helper.
    upd = MEMBERSHIP + (
        "CREATE POLICY edit ON public.accounts FOR UPDATE TO authenticated"
        " USING (public.has_role(id, 'owner') = true);"
    )
    assert "RLS034" not in rules(static(upd)), [f.message for f in static(upd)]
    # an INSERT check that ties neither the owner column nor the membership stays a finding
    ins = MEMBERSHIP + (
        "CREATE POLICY create_team ON public.accounts FOR INSERT TO authenticated"
        " WITH CHECK (personal = false);"
    )
    found = [f for f in static(ins) if f.rule == "RLS034"]
    assert len(found) == 1 and "create_team" in found[0].message, [f.message for f in found]


LOOKUP = """
CREATE ROLE authenticated NOLOGIN;
CREATE SCHEMA basejump;
CREATE TABLE basejump.config (enable_team_accounts boolean DEFAULT true, provider text);
GRANT SELECT ON basejump.config TO authenticated;
ALTER TABLE basejump.config ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_settings ON basejump.config FOR SELECT TO authenticated USING (true);
"""


def test_rls004_read_only_reference_table_is_not_allow_all() -> None:
    # A table nothing scopes by caller, which the role may only read: USING (true) for
    # SELECT is what a settings or lookup table is for.
    assert "RLS004" not in rules(static(LOOKUP)), [f.message for f in static(LOOKUP)]
    # ... but per-user data that is otherwise scoped by caller, read whole: still reported
    scoped = LOOKUP.replace("provider text", "provider text, user_id uuid") + (
        "CREATE POLICY own ON basejump.config FOR UPDATE TO authenticated"
        " USING (user_id = (SELECT auth.uid()));"
    )
    read_all = "policy:basejump.config:read_settings"
    assert read_all in {f.key for f in static(scoped) if f.rule == "RLS004"}
    # ... and so is a role that may also write what it reads whole
    writes = LOOKUP + (
        "GRANT INSERT ON basejump.config TO authenticated;"
        "CREATE POLICY ins ON basejump.config FOR INSERT TO authenticated"
        " WITH CHECK (provider = 'stripe');"
    )
    assert read_all in {f.key for f in static(writes) if f.rule == "RLS004"}


STORAGE = """
CREATE ROLE anon NOLOGIN;
CREATE ROLE authenticated NOLOGIN;
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
CREATE SCHEMA storage;
CREATE TABLE storage.objects (id uuid PRIMARY KEY, bucket_id text, name text, owner uuid);
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
GRANT ALL ON storage.objects TO anon, authenticated;
CREATE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE plpgsql AS $$
  BEGIN RETURN (string_to_array(name, '/'))[1:1]; END $$;
"""


def supabase() -> LintConfig:
    config = LintConfig()
    config.apply_profile("supabase")
    return config


def test_rls033_a_platforms_own_function_is_not_the_projects_to_redeclare() -> None:
    # fedor-resh/bite: storage policies call storage.foldername(name), Supabase's function:
    # "declare it STABLE" is not something the project can do.
    sql = STORAGE + (
        "CREATE POLICY own_folder ON storage.objects FOR SELECT TO authenticated"
        " USING (bucket_id = 'images'"
        " AND (storage.foldername(name))[1] = (SELECT auth.uid()::text));"
    )
    assert "RLS033" not in rules(static(sql, supabase()))
    # the project's own VOLATILE helper in a policy on a platform table is still reported
    own = sql.replace("storage.foldername(name)", "public.my_folder(name)") + (
        "CREATE FUNCTION public.my_folder(name text) RETURNS text[] LANGUAGE sql"
        " AS $$ SELECT string_to_array(name, '/') $$;"
    )
    assert "RLS033" in rules(static(own, supabase()))


def test_rls005_a_constant_filter_for_the_anonymous_role_is_a_public_subset() -> None:
    # fedor-resh/bite: CREATE POLICY ... FOR SELECT TO anon USING (bucket_id = 'images'):
    # the anonymous role has no identity to depend on; a public bucket is what it reads.
    sql = STORAGE + (
        "CREATE POLICY public_images ON storage.objects FOR SELECT TO anon"
        " USING (bucket_id = 'images');"
    )
    assert "RLS005" not in rules(static(sql, supabase()))
    # the same filter for signed-in users (or without a profile naming anon) is reported
    signed_in = sql.replace("TO anon", "TO authenticated")
    assert "RLS005" in rules(static(signed_in, supabase()))
    assert "RLS005" in rules(static(sql))


def test_rls031_suggested_index_quotes_mixed_case_columns() -> None:
    # fedor-resh/bite: "userId" uuid; CREATE INDEX ON t (userId) would name column userid
    sql = """
    CREATE TABLE public.eaten (id bigint PRIMARY KEY, "userId" uuid);
    ALTER TABLE public.eaten ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON public.eaten FOR SELECT USING ("userId" = (SELECT auth.uid()));
    """
    found = [f.message for f in static(sql) if f.rule == "RLS031"]
    assert len(found) == 1 and 'CREATE INDEX ON public.eaten ("userId")' in found[0], found


def test_rls042_a_security_invoker_view_over_rls_tables_has_its_barrier() -> None:
    # dnsaranha/organiza-familia-digital: CREATE VIEW stripe_user_orders WITH
    # (security_invoker = true) AS ... WHERE c.user_id = auth.uid(): the tables' own
    # policies decide what a caller's function can see, not the view's WHERE.
    sql = """
    CREATE TABLE public.customers (customer_id text PRIMARY KEY, user_id uuid);
    CREATE TABLE public.orders (id int PRIMARY KEY, customer_id text);
    ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY;
    ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;
    CREATE VIEW public.user_orders WITH (security_invoker = true) AS
        SELECT c.customer_id, o.id FROM public.customers c
        LEFT JOIN public.orders o ON c.customer_id = o.customer_id
        WHERE c.user_id = auth.uid();
    """
    assert "RLS042" not in rules(static(sql))
    # a table it reads has no RLS: the view's WHERE is that table's only filter
    unprotected = sql.replace("ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;", "")
    assert "RLS042" in rules(static(unprotected))
    # without security_invoker the view reads as its owner: the WHERE is the barrier
    definer = sql.replace("WITH (security_invoker = true) ", "")
    assert "RLS042" in rules(static(definer))


def test_rls007_static_supabase_tables_are_owned_by_the_platforms_migrator() -> None:
    # Every Supabase schema (slack clone, bite, organiza) linted with --no-db (the
    # pre-commit hook) got one RLS007 per table; the catalog pass reports none: the
    # migrations run as postgres, which bypasses RLS on the platform, so FORCE changes
    # nothing for it.
    sql = """
    CREATE TABLE public.todos (id int PRIMARY KEY, user_id uuid);
    ALTER TABLE public.todos ENABLE ROW LEVEL SECURITY;
    """
    assert "RLS007" not in rules(static(sql, supabase()))
    assert "RLS007" in rules(static(sql))  # no profile: the owner is unknown
    # a table handed to a role of the project's own is still reported
    owned = sql + "CREATE ROLE app_owner NOLOGIN; ALTER TABLE public.todos OWNER TO app_owner;"
    assert "RLS007" in rules(static(owned, supabase()))


def test_rls012_does_not_advise_revoking_what_a_policy_needs() -> None:
    # supabase slack clone: authorize() (SECURITY DEFINER) is called by DELETE policies; the
    # advice "REVOKE ... FROM PUBLIC, anon, authenticated" would break those policies
    # (a policy's functions run with the querying role's EXECUTE privilege).
    sql = (
        SUPABASE_LIKE
        + """
    CREATE TABLE public.channels (id bigint PRIMARY KEY, created_by uuid);
    ALTER TABLE public.channels ENABLE ROW LEVEL SECURITY;
    CREATE FUNCTION public.authorize(perm text, uid uuid) RETURNS boolean LANGUAGE sql
        STABLE SECURITY DEFINER SET search_path = '' AS $$ SELECT true $$;
    CREATE POLICY mod_delete ON public.channels FOR DELETE TO authenticated
        USING ((SELECT public.authorize('channels.delete', auth.uid())));
    """
    )
    found = [f.message for f in static(sql, supabase()) if f.rule == "RLS012"]
    assert len(found) == 1, found
    assert "FROM PUBLIC, anon:" in found[0] or "FROM PUBLIC, anon " in found[0], found
    assert "mod_delete" in found[0] and "authenticated keeps EXECUTE" in found[0], found
    # policies without TO apply to PUBLIC: name the roles, then grant to those only
    public = sql.replace("FOR DELETE TO authenticated", "FOR DELETE")
    found = [f.message for f in static(public, supabase()) if f.rule == "RLS012"]
    assert len(found) == 1 and "mod_delete" in found[0] and "TO clause" in found[0], found
    # a helper no policy calls keeps the plain advice
    unused = sql.split("CREATE POLICY")[0]
    found = [f.message for f in static(unused, supabase()) if f.rule == "RLS012"]
    assert len(found) == 1 and found[0].endswith("FROM PUBLIC, anon, authenticated"), found


def test_rls012_advises_granting_a_policys_role_that_relies_on_public() -> None:
    sql = """
    CREATE ROLE app_user NOLOGIN;
    CREATE TABLE public.docs (id int PRIMARY KEY, org int);
    ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
    CREATE FUNCTION public.is_member(o int) RETURNS boolean LANGUAGE sql STABLE
        SECURITY DEFINER SET search_path = '' AS $$ SELECT true $$;
    CREATE POLICY member ON public.docs FOR SELECT TO app_user USING (public.is_member(org));
    """
    found = [f.message for f in static(sql) if f.rule == "RLS012"]
    assert len(found) == 1, found
    assert "FROM PUBLIC, then GRANT EXECUTE ON FUNCTION ... TO app_user" in found[0], found


TENANT_TABLES = "".join(
    f"""
    CREATE TABLE public.{t} (id int PRIMARY KEY, tenant_id text NOT NULL);
    CREATE INDEX ON public.{t} (tenant_id);
    ALTER TABLE public.{t} ENABLE ROW LEVEL SECURITY;
    CREATE POLICY {t}_tenant_isolation ON public.{t}
        USING (tenant_id = current_setting('app.tenant_id', true))
        WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
    """
    for t in ("decisions", "api_keys", "audit_log")
)


def test_one_tenant_setting_one_rls018_finding() -> None:
    # Arescoreadmin/fg-core: 48 tables isolated by app.tenant_id gave 48 RLS018 lines for one
    # decision (trusting app.tenant_id); one finding per setting names the policies.
    found = [f for f in static(TENANT_TABLES) if f.rule == "RLS018"]
    assert len(found) == 1, [f.message for f in found]
    assert "app.tenant_id" in found[0].message and "3 policies" in found[0].message
    assert found[0].loc.line == 5  # the first policy that trusts it
    # two settings: two findings
    two = TENANT_TABLES + (
        "CREATE POLICY by_user ON public.api_keys FOR SELECT"
        " USING (id = current_setting('app.user_id', true)::int);"
    )
    assert len([f for f in static(two) if f.rule == "RLS018"]) == 2


def test_rls019_same_cause_in_using_and_check_is_one_finding() -> None:
    # fg-core: USING and WITH CHECK are the same expression; each cause was reported twice
    found = [f for f in static(TENANT_TABLES) if f.rule == "RLS019"]
    assert len(found) == 3, [f.message for f in found]
    assert all(f.message.startswith("USING and WITH CHECK of policy") for f in found)
    assert found[0].key.endswith(":USING:current_setting() is")  # key as before


def test_rls013_a_variable_holding_only_constant_sql_is_safe_to_concatenate() -> None:
    # fg-core 0111: using_expr := 'tenant_id IS NOT NULL' ' AND ...'; then
    # EXECUTE 'CREATE POLICY ' || quote_ident(p) || ' USING (' || using_expr || ')'
    block = """
    DO $$
    DECLARE
        r record;
        using_expr text;
    BEGIN
        using_expr :=
            'tenant_id IS NOT NULL'
            ' AND tenant_id = current_setting(''app.tenant_id'', true)';
        FOR r IN SELECT table_name FROM information_schema.tables LOOP
            EXECUTE 'CREATE POLICY p ON public.' || quote_ident(r.table_name)
                || ' USING (' || using_expr || ')';
        END LOOP;
    END $$;
    """
    assert "RLS013" not in rules(static(block)), [f.message for f in static(block)]
    # a variable that takes a query's value (SELECT INTO, FOR target) is not constant
    into = block.replace(
        "FOR r IN", "SELECT current_setting('x.y') INTO using_expr;\n        FOR r IN"
    )
    assert "RLS013" in rules(static(into))
    # nor is a function's parameter, nor the loop record
    fn = """
    CREATE FUNCTION public.mk(expr text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN EXECUTE 'CREATE POLICY p ON public.t USING (' || expr || ')'; END $$;
    """
    assert "RLS013" in rules(static(fn))
    loop = block.replace("quote_ident(r.table_name)", "r.table_name")
    assert "RLS013" in rules(static(loop))


def test_rls034_a_check_pinning_the_owner_column_to_null_writes_no_ones_rows() -> None:
    # fg-core 0124: system rows have tenant_id IS NULL; the system-write policy's check
    # pins tenant_id to NULL: no user's row can be written through it.
    sql = """
    CREATE TABLE public.frameworks (id int PRIMARY KEY, tenant_id text, scope_type text);
    CREATE INDEX ON public.frameworks (tenant_id);
    ALTER TABLE public.frameworks ENABLE ROW LEVEL SECURITY;
    CREATE POLICY tenant_rw ON public.frameworks
        USING (tenant_id = current_setting('app.tenant_id', true))
        WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
    CREATE POLICY system_write ON public.frameworks
        USING (scope_type = 'SYSTEM' AND tenant_id IS NULL
               AND current_setting('app.allow_system_write', true) = 'true')
        WITH CHECK (scope_type = 'SYSTEM' AND tenant_id IS NULL
               AND current_setting('app.allow_system_write', true) = 'true');
    """
    assert "RLS034" not in rules(static(sql)), [f.message for f in static(sql)]
    # IS NULL only as one side of an OR does not pin it
    either = sql.replace(
        "WITH CHECK (scope_type = 'SYSTEM' AND tenant_id IS NULL",
        "WITH CHECK ((scope_type = 'SYSTEM' OR tenant_id IS NULL)",
    )
    assert "RLS034" in rules(static(either))


def test_static_default_privileges_without_for_role_belong_to_the_platforms_migrator() -> None:
    # `supabase db pull` dumps and Supabase-style setup files carry ALTER DEFAULT PRIVILEGES
    # ... TO anon without FOR ROLE: they are set by the role running the migrations, which
    # under profile = supabase is the platform's postgres. The catalog pass already treats
    # them as the platform's (organiza-familia-digital, when its migrations did not apply).
    sql = """
    CREATE ROLE anon NOLOGIN;
    CREATE ROLE authenticated NOLOGIN;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated;
    CREATE TABLE public.notes (id int PRIMARY KEY, user_id uuid);
    CREATE INDEX ON public.notes (user_id);
    ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON public.notes TO authenticated USING (user_id = (SELECT auth.uid()));
    """
    found = rules(static(sql, supabase()))
    assert "RLS016" not in found and "RLS041" not in found, found
    # the same files without the profile: a project's own default grants, reported
    plain = LintConfig(low_trust_roles={"anon", "authenticated"})
    found = rules(static(sql, plain))
    assert "RLS016" in found and "RLS041" in found, found


def test_alter_view_does_not_make_the_view_a_table_without_rls() -> None:
    # timothee-alby/inkoming: ALTER VIEW players_filtered OWNER TO master, then GRANT SELECT
    # ON players_filtered TO web_anon: RLS010 called the view a table without RLS (RLS035
    # already says the view reads RLS tables with its owner's rights).
    sql = """
    CREATE ROLE web_anon NOLOGIN;
    CREATE ROLE master NOLOGIN;
    CREATE SCHEMA api;
    CREATE TABLE api.players (id int PRIMARY KEY, user_id text);
    ALTER TABLE api.players ENABLE ROW LEVEL SECURITY;
    CREATE VIEW public.players_filtered AS SELECT id FROM api.players;
    ALTER VIEW public.players_filtered OWNER TO master;
    ALTER TABLE public.players_filtered OWNER TO master;
    GRANT SELECT ON TABLE public.players_filtered TO web_anon;
    """
    found = rules(static(sql))
    assert "RLS010" not in found and "RLS035" in found, found
    assert "public.players_filtered" not in build_static([("case.sql", sql)])[0].tables


def test_rls008_a_bypassing_owner_is_one_finding_without_force_advice() -> None:
    # inkoming: master (SUPERUSER BYPASSRLS LOGIN) owns every table; "without FORCE they do
    # not apply to the owner" is wrong advice for a superuser (FORCE changes nothing) and
    # repeats the role's own finding once per table.
    sql = """
    CREATE ROLE master LOGIN SUPERUSER BYPASSRLS;
    CREATE ROLE web_anon NOLOGIN;
    GRANT web_anon TO master;
    CREATE SCHEMA api;
    CREATE TABLE api.players (id int PRIMARY KEY, user_id text);
    CREATE TABLE api.rooms (id int PRIMARY KEY, user_id text);
    ALTER TABLE api.players OWNER TO master;
    ALTER TABLE api.rooms OWNER TO master;
    ALTER TABLE api.players ENABLE ROW LEVEL SECURITY;
    ALTER TABLE api.rooms ENABLE ROW LEVEL SECURITY;
    CREATE POLICY p ON api.players USING (user_id = current_setting('request.jwt.claim.user_id', true));
    CREATE POLICY r ON api.rooms USING (user_id = current_setting('request.jwt.claim.user_id', true));
    """
    found = [f for f in static(sql) if f.rule == "RLS008"]
    assert [f.key for f in found] == ["bypass:master"], [f.message for f in found]
    # an owner that does not bypass RLS: FORCE is the fix, one finding per table
    plain = sql.replace("LOGIN SUPERUSER BYPASSRLS", "LOGIN")
    keys = sorted(f.key for f in static(plain) if f.rule == "RLS008")
    assert keys == ["owner:api.players", "owner:api.rooms"], keys


def test_postgrest_sets_every_request_jwt_claim_setting() -> None:
    # inkoming (PostgREST 7): current_setting('request.jwt.claim.user_id'): PostgREST sets
    # one request.jwt.claim.<name> per claim of the verified JWT.
    sql = """
    CREATE TABLE public.players (id int PRIMARY KEY, user_id text);
    CREATE INDEX ON public.players (user_id);
    ALTER TABLE public.players ENABLE ROW LEVEL SECURITY;
    CREATE POLICY p ON public.players
        USING (user_id = (SELECT current_setting('request.jwt.claim.user_id', true)));
    """
    postgrest = LintConfig()
    postgrest.apply_profile("postgrest")
    assert "RLS018" not in rules(static(sql, postgrest))
    assert "RLS018" not in rules(static(sql, supabase()))
    assert "RLS018" in rules(static(sql))  # without a profile nothing vouches for it
    # request.headers come from the client: still forgeable under the profile
    headers = sql.replace("request.jwt.claim.user_id", "request.headers")
    assert "RLS018" in rules(static(headers, postgrest))


def test_one_volatile_helper_one_rls033_finding() -> None:
    # basejump: has_role_on_account() (VOLATILE by default) is called by 10 policies: one
    # fix (declare it STABLE), reported once, naming the policies.
    sql = MEMBERSHIP.replace(
        "LANGUAGE sql SECURITY DEFINER", "LANGUAGE sql VOLATILE SECURITY DEFINER"
    )
    sql += """
    CREATE POLICY edit ON public.accounts FOR UPDATE TO authenticated
        USING (public.has_role(id, 'owner'));
    CREATE POLICY remove ON public.accounts FOR DELETE TO authenticated
        USING (public.has_role(id, 'owner'));
    """
    found = [f for f in static(sql) if f.rule == "RLS033"]
    assert len(found) == 1, [f.message for f in found]
    assert "3 policies" in found[0].message and "public.has_role" in found[0].message


def test_rls034_names_the_owner_column_not_the_membership_key() -> None:
    # basejump: the INSERT finding said "does not tie id, primary_owner_user_id": id is the
    # key a membership helper looks up, not a column a user sets to claim someone's row.
    ins = MEMBERSHIP + (
        "CREATE POLICY create_team ON public.accounts FOR INSERT TO authenticated"
        " WITH CHECK (personal = false);"
    )
    found = [f.message for f in static(ins) if f.rule == "RLS034"]
    assert len(found) == 1 and "does not tie primary_owner to the caller" in found[0], found


def test_rls024_names_only_low_trust_roles_the_project_has() -> None:
    # inkoming (profile = postgrest): "anon, authenticated, web_anon included", but the
    # project only has web_anon.
    sql = """
    CREATE ROLE web_anon NOLOGIN;
    CREATE TABLE public.t (id int PRIMARY KEY, user_id text);
    ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;
    CREATE POLICY p ON public.t USING (user_id = (SELECT current_setting('request.jwt.claim.sub', true)));
    """
    postgrest = LintConfig()
    postgrest.apply_profile("postgrest")
    found = [f.message for f in static(sql, postgrest) if f.rule == "RLS024"]
    assert len(found) == 1 and found[0].endswith(": web_anon included"), found


def test_a_file_rlskit_cannot_split_is_reported_with_the_static_findings(
    tmp_path: Path, database: Database
) -> None:
    # Extension scripts and pg_dump output carry psql meta-commands (\echo ... \quit,
    # \restrict): the scratch apply refuses them before running anything. lint must still
    # report, as for any apply failure, not stop with a bare error.
    sql = """\\echo Use "CREATE EXTENSION foo" to load this file. \\quit
    CREATE TABLE public.t (id int PRIMARY KEY, owner text);
    ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;
    CREATE FUNCTION public.f() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$;
    """
    found = catalog_lint(tmp_path, database, sql)
    apply = [f for f in found if f.rule == "RLS000" and "meta-commands" in f.message]
    assert apply and apply[0].loc.line == 1, [(f.rule, f.message) for f in found]
    assert "RLS011" in rules(found)  # the static findings are still there
