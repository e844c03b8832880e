"""Pure tests of the YAML policy spec, the renderer and the diff (no server)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlskit import pgsql
from rlskit.errors import SpecError
from rlskit.policies.diff import dump_state, load_state, migration
from rlskit.policies.render import render, to_sql
from rlskit.policies.spec import load_dir, load_text

GOLDEN = Path(__file__).parent / "golden"


def render_text(text: str, directory: Path | None = None) -> str:
    from rlskit.policies.spec import PolicySet

    settings_, blocks = load_text(text, "policies/t.yaml", directory or Path("/nonexistent"))
    return to_sql(render(PolicySet(settings=settings_, blocks=blocks)))


def test_golden_all_templates() -> None:
    sql = to_sql(render(load_dir(GOLDEN, "golden")))
    golden = GOLDEN / "all_templates.sql"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(sql)
    assert sql == golden.read_text()
    pgsql.parse(sql)


def test_output_is_deterministic() -> None:
    a = to_sql(render(load_dir(GOLDEN, "golden")))
    b = to_sql(render(load_dir(GOLDEN, "golden")))
    assert a == b


TENANT = """
policies:
  - template: tenant_isolation
    table: app.customers
    column: organisation_id
    setting: app.tenant_id
    roles: [app_user]
"""


def test_fast_shapes() -> None:
    sql = render_text(TENANT)
    assert (
        "\"organisation_id\" = (SELECT nullif(current_setting('app.tenant_id', true), '')::bigint)"
        in sql
    )
    assert "FORCE ROW LEVEL SECURITY" in sql and "CREATE INDEX IF NOT EXISTS" in sql
    assert " IN (SELECT" not in sql


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            TENANT.replace("tenant_isolation", "tenant_isolaton"),
            "unknown template 'tenant_isolaton' at policies/t.yaml:3 (key policies.0.template) "
            "Did you mean 'tenant_isolation'?",
        ),
        (TENANT.replace("column:", "colum:"), "unknown key 'colum' at policies/t.yaml:5"),
        (TENANT.replace("    roles: [app_user]\n", ""), "missing key 'roles' at policies/t.yaml:3"),
        (TENANT.replace("app.tenant_id", "tenant"), "invalid value: a custom setting name"),
        (TENANT.replace("[app_user]", "[public]"), "reserves this name for roles"),
        (TENANT.replace("column: organisation_id", 'column: "bad\\x00col"'), "NUL"),
        (TENANT.replace("organisation_id", "c" * 64), "PostgreSQL keeps only 63"),
        ("policies: [1, 2", "this is not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("policies:\n  - table: x\n", "missing key 'template'"),
        (
            "polices: []\n",
            "unknown key 'polices' at policies/t.yaml:1 (key polices) Did you mean 'policies'?",
        ),
    ],
)
def test_validation_errors_point_at_file_line_key(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        render_text(text)
    assert message in str(info.value)


hostile = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
)


@settings(max_examples=150, deadline=None)
@given(table=hostile, column=hostile, role=hostile)
def test_hostile_names_render_to_sql_naming_exactly_them(
    table: str, column: str, role: str
) -> None:
    import yaml

    doc = {
        "policies": [
            {
                "template": "owner_only",
                "table": f"s.{table}",
                "column": column,
                "owner": {"setting": "app.user_id"},
                "roles": [role],
                "commands": ["SELECT"],
                "name": "p",
            }
        ]
    }
    try:
        sql = render_text(yaml.safe_dump(doc))
    except SpecError:
        return  # rejected with a message: fine
    tree = pgsql.parse(sql)
    policies = [s.stmt for s in tree if type(s.stmt).__name__ == "CreatePolicyStmt"]
    assert len(policies) == 1
    assert policies[0].table.relname == table
    assert policies[0].roles[0].rolename == role
    assert policies[0].policy_name == "p_owner_select"


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=20,
    )
)
def test_arbitrary_documents_never_crash(doc: object) -> None:
    import yaml

    try:
        sql = render_text(yaml.safe_dump({"policies": [doc]} if not isinstance(doc, dict) else doc))
    except SpecError:
        return
    pgsql.parse(sql)


def test_custom_template_quoting_is_enforced(tmp_path: Path) -> None:
    (tmp_path / "unsafe.sql.j2").write_text(
        "{% block create %}GRANT SELECT ON {{ table }} TO x;{% endblock %}"
        "{% block drop %}{% endblock %}"
    )
    (tmp_path / "safe.sql.j2").write_text(
        "{% block create %}GRANT SELECT ON {{ table | table }} TO {{ roles | roles }};{% endblock %}"
        "{% block drop %}REVOKE SELECT ON {{ table | table }} FROM {{ roles | roles }};{% endblock %}"
    )
    doc = "policies:\n  - {template: unsafe, name: u, table: 'x; DROP TABLE y'}\n"
    with pytest.raises(SpecError, match="reaches the SQL unquoted"):
        render_text(doc, tmp_path)
    doc = "policies:\n  - {template: safe, name: s, table: 'a.x; DROP', roles: [r1, 'r\"2']}\n"
    sql = render_text(doc, tmp_path)
    assert 'GRANT SELECT ON "a"."x; DROP" TO "r1", "r""2";' in sql
    with pytest.raises(SpecError, match=r"Did you mean 'safe'"):
        render_text("policies:\n  - {template: saf, name: s}\n", tmp_path)


def _objs(text: str) -> list:  # type: ignore[type-arg]
    from rlskit.policies.spec import PolicySet

    s, b = load_text(text, "policies/t.yaml", Path("/nonexistent"))
    return render(PolicySet(settings=s, blocks=b))


def test_diff_replaces_changed_policy_and_restores_it(tmp_path: Path) -> None:
    old = _objs(TENANT)
    state = tmp_path / "rendered.json"
    state.write_text(dump_state(old))
    new = _objs(TENANT.replace("[app_user]", "[app_user, app_admin]"))
    up, down, summary = migration(load_state(state), new)
    assert "~ policy:app.customers:customers_tenant_select" in summary
    assert up.index('DROP POLICY IF EXISTS "customers_tenant_select"') < up.index(
        'CREATE POLICY "customers_tenant_select"'
    )
    assert 'TO "app_user", "app_admin"' in up and 'TO "app_user"\n' in down
    pgsql.parse(up)
    pgsql.parse(down)
    # removing everything drops policies before the RLS flag is turned off
    up, down, summary = migration(load_state(state), [])
    assert up.index("DROP POLICY") < up.index("DISABLE ROW LEVEL SECURITY")
    assert all(line.startswith("- ") for line in summary)
    # nothing changed: nothing to do
    assert migration(load_state(state), old)[2] == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_loader(text: str) -> None:
    with contextlib.suppress(SpecError):
        render_text(text)


def test_alias_bomb_is_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, prev in zip("bcdefgh", "abcdefg", strict=True):
        bomb += f"{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    with pytest.raises(SpecError, match="expands to more than"):
        render_text(bomb)


def test_settings_declared_once_for_policies_and_code() -> None:
    from rlskit.session import Settings

    s = Settings.from_policies(Path(__file__).resolve().parent.parent / "policies")
    assert s.check({"auth.current_account_id": 3}) == {"auth.current_account_id": "3"}
    with pytest.raises(SpecError, match="not declared"):
        s.check({"auth.current_acount_id": 3})
    with pytest.raises(SpecError, match="must be int"):
        s.check({"auth.current_account_id": "3"})
