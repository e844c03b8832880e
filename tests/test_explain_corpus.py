"""rlskit explain on schemas nobody on this project wrote (../shared/corpus): the
verdict must agree with running each statement as the actor."""

from __future__ import annotations

import psycopg
import pytest

from rlskit import explain
from rlskit.session import claims_settings

from .conftest import REPO, Server, fresh_database

CORPUS = REPO.parent / "shared" / "corpus"
A = "00000000-0000-0000-0000-00000000000a"
B = "00000000-0000-0000-0000-00000000000b"
TA = "10000000-0000-0000-0000-00000000000a"
TB = "10000000-0000-0000-0000-00000000000b"
ALICE = ("authenticated", claims_settings({"sub": A, "role": "authenticated"}))
ANON: tuple[str, dict[str, str]] = ("anon", {})

SUPABASE_PROFILES = (
    ["00_supabase_stub.sql", "02_supabase_user_management.sql"],
    f"""
    INSERT INTO auth.users (id, raw_user_meta_data) VALUES
        ('{A}', '{{"full_name": "Alice"}}'), ('{B}', '{{"full_name": "Bob"}}');
    INSERT INTO storage.objects (bucket_id, name, owner) VALUES
        ('avatars', 'a.png', '{A}'), ('avatars', 'b.png', '{B}');
    """,
    [
        (ANON, "SELECT * FROM profiles", "2 row(s)"),
        (ALICE, "UPDATE profiles SET full_name = 'x'", "1 row(s)"),
        (ALICE, f"UPDATE profiles SET full_name = 'x' WHERE id = '{B}'", "0 row(s)"),
        (ANON, "UPDATE profiles SET full_name = 'x'", "0 row(s)"),
        (ALICE, f"INSERT INTO profiles (id, username) VALUES ('{B}', 'bob')", "rls_violation"),
        (ALICE, "SELECT * FROM storage.objects", "2 row(s)"),
        (ALICE, "UPDATE storage.objects SET name = 'n'", "1 row(s)"),
        (ALICE, "UPDATE storage.objects SET bucket_id = 'other'", "rls_violation"),
        (ANON, "INSERT INTO storage.objects (bucket_id, name) VALUES ('avatars', 'x')", "1 row(s)"),
        (ANON, "INSERT INTO storage.objects (bucket_id, name) VALUES ('x', 'x')", "rls_violation"),
        (ANON, "DELETE FROM storage.objects", "0 row(s)"),
    ],
)

AWS_SAAS = (
    ["08_aws_saas_factory_rls.sql"],
    f"""
    INSERT INTO tenant (tenant_id, name, status, tier) VALUES
        ('{TA}', 'a', 'Active', 'Gold'), ('{TB}', 'b', 'Active', 'Silver');
    INSERT INTO tenant_user (tenant_id, email, given_name, family_name) VALUES
        ('{TA}', 'a1@x', 'A', 'One'), ('{TA}', 'a2@x', 'A', 'Two'), ('{TB}', 'b1@x', 'B', 'One');
    """,
    [
        (("app_user", {"app.current_tenant": TA}), "SELECT * FROM tenant_user", "2 row(s)"),
        (("app_user", {"app.current_tenant": TB}), "DELETE FROM tenant_user", "1 row(s)"),
        (
            ("app_user", {"app.current_tenant": TA}),
            f"UPDATE tenant_user SET tenant_id = '{TB}'",
            "rls_violation",
        ),
        (
            ("app_user", {"app.current_tenant": TA}),
            f"INSERT INTO tenant_user (tenant_id, email, given_name, family_name) "
            f"VALUES ('{TB}', 'e@x', 'E', 'F')",
            "rls_violation",
        ),
        (("app_user", {}), "SELECT * FROM tenant_user", "error"),
    ],
)


@pytest.mark.parametrize("schema", [SUPABASE_PROFILES, AWS_SAAS], ids=["supabase", "aws_saas"])
def test_explain_agrees_on_corpus_schemas(server: Server, schema) -> None:  # type: ignore[no-untyped-def]
    files, fixtures, statements = schema
    if not all((CORPUS / f).is_file() for f in files):
        pytest.skip(f"the corpus is not at {CORPUS}")
    with fresh_database(server) as db:
        with psycopg.connect(db.url, autocommit=True) as conn:
            for f in files:
                conn.execute((CORPUS / f).read_text())  # type: ignore[arg-type]
        with psycopg.connect(db.url) as conn, conn.transaction(force_rollback=True):
            conn.execute("SET LOCAL search_path = public, extensions")
            conn.execute(fixtures)  # type: ignore[arg-type]
            for (role, settings), statement, want in statements:
                e = explain.explain(conn, role, settings, statement)
                assert e.agrees, (statement, e.predicted, e.actual, e.notes)
                assert e.predicted == want, (statement, e.predicted, e.actual)
