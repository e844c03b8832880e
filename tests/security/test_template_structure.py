"""A YAML value must not change the statements a custom template writes.

Red-team finding M1: every value passed a quoting filter, yet a literal placed
between the template's own fixed ``$rlskit$`` quotes ended the dollar quote:
``note: "owners only$rlskit$; DROP TABLE app.victim; SELECT $rlskit$"`` made
``COMMENT ... IS $rlskit$...{{ note | literal }}$rlskit$`` three statements and
the upgrade dropped a table. The rendered output must have the statement
structure of the same template rendered with benign placeholder values;
``| dollar_quote`` quotes a body with a tag the body does not hold.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlskit import pgsql
from rlskit.errors import SpecError
from rlskit.policies.render import render, to_sql
from rlskit.policies.spec import PolicySet, load_text

from ..conftest import REPO, Database, rlskit

DOCUMENTED = (
    "{% block create %}COMMENT ON TABLE {{ table | table }} IS $rlskit$Row-level security: "
    "{{ note | literal }}$rlskit$;{% endblock %}\n"
    "{% block drop %}COMMENT ON TABLE {{ table | table }} IS NULL;{% endblock %}\n"
)
BREAKOUT = "owners only$rlskit$; DROP TABLE app.victim; SELECT $rlskit$"


def render_with(directory: Path, name: str, template: str | None, **params: Any) -> str:
    if template is not None:
        (directory / f"{name}.sql.j2").write_text(template)
    doc = yaml.safe_dump({"policies": [{"template": name, "name": "n", **params}]})
    s, b = load_text(doc, "policies/t.yaml", directory)
    return to_sql(render(PolicySet(settings=s, blocks=b)))


def kinds(sql: str) -> list[str]:
    return [next(iter(s["stmt"])) for s in pgsql.parse_json(sql)]


def test_literal_inside_a_fixed_dollar_quote_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        render_with(tmp_path, "documented", DOCUMENTED, table="app.notes", note=BREAKOUT)
    msg = str(info.value)
    assert "policies/t.yaml:" in msg
    assert "documented.sql.j2 line 1" in msg
    assert "'note'" in msg
    assert "dollar_quote" in msg  # says what to do instead


def test_benign_value_in_the_same_template_renders(tmp_path: Path) -> None:
    sql = render_with(tmp_path, "documented", DOCUMENTED, table="app.notes", note="it's mine")
    assert kinds(sql) == ["CommentStmt"]


def test_refusal_names_an_included_template_and_its_line(tmp_path: Path) -> None:
    (tmp_path / "part.sql.j2").write_text("\n\nSELECT $q$ {{ v | literal }} $q$;")
    template = "{% block create %}{% include 'part.sql.j2' %}{% endblock %}"
    template += "{% block drop %}SELECT 1;{% endblock %}"
    with pytest.raises(SpecError, match=r"part\.sql\.j2 line 3.*'v'"):
        render_with(tmp_path, "t", template, v="$q$; DROP TABLE app.victim; SELECT $q$")


DOLLAR_QUOTED = (
    "{% block create %}{% set body -%}\n"
    "SELECT {{ col | ident }} FROM {{ table | table }} WHERE note = {{ note | literal }}\n"
    "{%- endset %}CREATE FUNCTION f() RETURNS int LANGUAGE sql AS {{ body | dollar_quote }};"
    "{% endblock %}{% block drop %}DROP FUNCTION f();{% endblock %}"
)


def test_dollar_quote_filter_picks_a_tag_the_body_does_not_hold(tmp_path: Path) -> None:
    sql = render_with(tmp_path, "fn", DOLLAR_QUOTED, col=BREAKOUT, table="app.t", note=BREAKOUT)
    assert kinds(sql) == ["CreateFunctionStmt"]
    body = next(t for k, t in pgsql.tokens(sql) if k == "SCONST" and t.startswith("$"))
    assert body.startswith("$rlskit_1$\n")
    inner = pgsql.parse_json(body[len("$rlskit_1$") : -len("$rlskit_1$")])
    assert [next(iter(s["stmt"])) for s in inner] == ["SelectStmt"]


def test_value_breaking_the_sql_inside_a_body_is_refused(tmp_path: Path) -> None:
    """A body's own SQL is compared too: a value cannot add a statement inside it."""
    template = (
        "{% block create %}{% set body %}SELECT $x$ {{ note | literal }} $x$; SELECT 2{% endset %}"
        "DO {{ body | dollar_quote }};{% endblock %}{% block drop %}SELECT 1;{% endblock %}"
    )
    render_with(tmp_path, "t", template, note="fine")
    with pytest.raises(SpecError, match="'note'"):
        render_with(tmp_path, "t", template, note="$x$; DROP TABLE app.victim; SELECT $x$")


def test_example_template_keeps_a_hostile_flag_column_in_the_body(tmp_path: Path) -> None:
    shutil.copy(REPO / "policies" / "templates" / "superuser_sees_all.sql.j2", tmp_path)
    params = {
        "schema": "django",
        "table": "django.auth_user",
        "id_column": "id",
        "role_prefix": "django:",
        "roles": ["django_users"],
    }
    benign = render_with(tmp_path, "superuser_sees_all", None, flag_column="x", **params)
    column = "x$rlskit$; DROP TABLE app.victim; SELECT $rlskit$"
    hostile = render_with(tmp_path, "superuser_sees_all", None, flag_column=column, **params)
    assert kinds(hostile) == kinds(benign)
    assert "DropStmt" not in kinds(hostile)
    assert '"' + column + '"' in hostile  # the column, whole, inside the function body


def test_breakout_through_the_cli_leaves_the_table(tmp_path: Path, database: Database) -> None:
    proj = tmp_path / "proj"
    assert rlskit("init", str(proj)).exit_code == 0
    assert rlskit("new", "setup", "--rev-id", "0001", project=proj).exit_code == 0
    next((proj / "sql").glob("0001_*.up.sql")).write_text(
        "CREATE SCHEMA app;\nCREATE TABLE app.notes (id int);\nCREATE TABLE app.victim (id int);\n"
    )
    (proj / "policies" / "templates").mkdir(exist_ok=True)
    (proj / "policies" / "templates" / "documented.sql.j2").write_text(DOCUMENTED)
    (proj / "policies" / "app.yaml").write_text(
        yaml.safe_dump(
            {
                "policies": [
                    {"template": "documented", "name": "d", "table": "app.notes", "note": BREAKOUT}
                ]
            }
        )
    )
    res = rlskit("render", project=proj)
    assert res.exit_code != 0
    assert "documented.sql.j2 line 1" in res.output and "note" in res.output
    made = rlskit("new", "policies", "--rev-id", "0002", "--from-policies", project=proj)
    assert made.exit_code != 0
    rlskit("upgrade", project=proj, url=database.url)
    assert database.scalar("SELECT to_regclass('app.victim') IS NOT NULL") is True


# -- hostile values in every parameter of the project's example template -------------
FRAGMENTS = ["$rlskit$", "$rlskit_1$", "$$", "'", '"', ";", "\n", "\r", "--", "/*", "\\"]
FRAGMENTS += ["\x1b[2K", "\u202e", "DROP TABLE app.victim", "x", "E'", 'U&"']
EXAMPLE_PARAMS = {
    "schema": "django",
    "table": "django.auth_user",
    "flag_column": "is_superuser",
    "id_column": "id",
    "role_prefix": "django:",
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(sorted(EXAMPLE_PARAMS)),
    value=st.lists(st.sampled_from(FRAGMENTS) | st.text(min_size=1, max_size=2), max_size=5)
    .map("".join)
    .filter(bool),
)
def test_hostile_values_in_the_example_template(key: str, value: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        directory = Path(d)
        shutil.copy(REPO / "policies" / "templates" / "superuser_sees_all.sql.j2", directory)
        params: dict[str, Any] = {**EXAMPLE_PARAMS, "roles": ["django_users"]}
        benign = render_with(directory, "superuser_sees_all", None, **params)
        try:
            hostile = render_with(directory, "superuser_sees_all", None, **{**params, key: value})
        except SpecError:
            return  # refused (a NUL, a name too long, a bad table name): fine
    assert kinds(hostile) == kinds(benign)
    assert len(pgsql.split(hostile)) == len(pgsql.split(benign))
    assert not [c for c in hostile if not (c.isprintable() or c in "\n\t")]
