"""Attacks through project templates (``policies/<name>.sql.j2``) and YAML.

Issue 12 item 12: every value a custom template writes must pass a quoting
filter, whatever Jinja construct writes it; the sandbox must not reach the
process (environment, configuration); a YAML file of aliases must be refused
quickly instead of expanding for minutes.
"""

from __future__ import annotations

import re
import time
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from rlskit import pgsql
from rlskit.errors import SpecError
from rlskit.policies.render import render, to_sql
from rlskit.policies.spec import PolicySet, load_text

from ..conftest import REPO, rlskit

HOSTILE = "x'); DROP TABLE app.victim; --"


def render_with(tmp_path: Path, template: str, **params: object) -> str:
    (tmp_path / "t.sql.j2").write_text(template)
    doc = yaml.safe_dump({"policies": [{"template": "t", "name": "n", **params}]})
    s, b = load_text(doc, "policies/t.yaml", tmp_path)
    return to_sql(render(PolicySet(settings=s, blocks=b)))


def _create(body: str) -> str:
    return "{% block create %}" + body + "{% endblock %}{% block drop %}SELECT 1;{% endblock %}"


# Ways a template could write a value without a quoting filter checking the result.
ESCAPES = {
    "filter block": '{% filter replace("\'\'", "\'") %}SELECT {{ v | literal }};{% endfilter %}',
    "filter block upper": "{% filter upper %}SELECT {{ v | literal }};{% endfilter %}",
    "call block format": '{% call "SELECT {};".format(v) %}{% endcall %}',
    "call block macro": (
        "{% macro m() %}{{ caller() }}{% endmacro %}"
        "{% call m() %}SELECT {{ v | literal }};{% endcall %}"
    ),
    "set block": '{% set x %}SELECT {{ v | literal }}{% endset %}{{ x | replace("\'\'", "\'") }};',
    "set block plain": "{% set x %}{{ v | literal }}{% endset %}SELECT {{ x }};",
    "macro": "{% macro m(a) %}{{ a | literal }}{% endmacro %}SELECT {{ m(v) }};",
    "safe": "SELECT {{ v | safe }};",
    "string": "SELECT {{ v | literal | string }};",
    "replace": 'SELECT {{ v | literal | replace("\'\'", "\'") }};',
    "concatenation": "SELECT {{ (v | literal) ~ '' }};",
    "format filter": 'SELECT {{ "%s" | format(v) }};',
    "format method": 'SELECT {{ "{}".format(v) }};',
    "str method": 'SELECT {{ (v | literal).replace("\'\'", "\'") }};',
    "slice": "SELECT {{ (v | literal)[1:-1] }};",
    "join": "SELECT {{ [v | literal, v] | join }};",
    "float": "SELECT {{ 1e999 }};",
}


@pytest.mark.parametrize("template", ESCAPES.values(), ids=list(ESCAPES))
def test_every_way_to_write_a_value_is_checked(tmp_path: Path, template: str) -> None:
    try:
        sql = render_with(tmp_path, _create(template), v=HOSTILE)
    except SpecError as exc:
        assert "t.sql.j2" in str(exc)
        return
    # Accepted only when the value stayed one string constant.
    stmts = pgsql.parse_json(sql)
    assert [next(iter(s["stmt"])) for s in stmts] == ["SelectStmt"]
    assert "DROP TABLE" not in [kind for kind, _ in pgsql.tokens(sql)]
    assert not re.search(r"inf|nan", sql.split("\n", 1)[1], re.IGNORECASE)


def test_filter_block_refused_names_the_template_and_line(tmp_path: Path) -> None:
    template = _create("\n\n" + ESCAPES["filter block"])
    with pytest.raises(SpecError) as info:
        render_with(tmp_path, template, v=HOSTILE)
    assert "t.sql.j2" in str(info.value) and "line 3" in str(info.value)
    assert "filter" in str(info.value)


def test_quoting_filters_still_work(tmp_path: Path) -> None:
    sql = render_with(
        tmp_path,
        _create("SELECT {{ v | literal }}, {{ 3 }} FROM {{ t | table }} AS {{ v | ident }};"),
        v=HOSTILE,
        t="app.t",
    )
    assert "SELECT 'x''); DROP TABLE app.victim; --', 3 FROM \"app\".\"t\"" in sql


# -- the sandbox: no way to the process's environment or configuration -----------------
SECRET = "postgresql://deploy:s3cret-pw-4711@db.internal/prod"
SANDBOX_ESCAPES = [
    # CVE-2025-27516 (Jinja2 < 3.1.6): |attr("format") is str.format unchecked.
    '{{ ("{0.__globals__[os].environ}" | attr("format"))(lipsum) | literal }}',
    '{{ "{0.__globals__[os].environ}" | attr("format")(lipsum) | literal }}',
    '{{ ("{0.__init__.__globals__[os].environ}" | attr("format"))(cycler) | literal }}',
    '{{ ("{0.__init__.__globals__[os].environ}" | attr("format"))(joiner) | literal }}',
    # CVE-2024-56326 (Jinja2 < 3.1.5): an indirect call of a stored format method.
    '{% set f = "{0.__globals__[os].environ}".format %}{{ f(lipsum) | literal }}',
    '{{ ["{0.__globals__[os].environ}".format] | map("attr", "__call__") | list | literal }}',
    '{{ lipsum.__globals__["os"].environ | literal }}',
    '{{ lipsum | attr("__globals__") | literal }}',
    "{{ cycler.__init__.__globals__.os.environ | literal }}",
    "{{ self._TemplateReference__context | literal }}",
    "{{ namespace.__init__.__globals__ | literal }}",
]


@pytest.mark.parametrize("body", SANDBOX_ESCAPES)
def test_sandbox_does_not_reach_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    monkeypatch.setenv("RLSKIT_DATABASE_URL", SECRET)
    (tmp_path / "alembic.ini").write_text(f"[alembic]\nsqlalchemy.url = {SECRET}\n")
    try:
        sql = render_with(tmp_path, _create("SELECT " + body + ";"))
    except SpecError as exc:
        assert "s3cret" not in str(exc)
        return
    assert "s3cret" not in sql


def test_jinja_without_known_sandbox_escapes_is_required() -> None:
    """Jinja2 3.1.5 lets a template call str.format through |attr (CVE-2025-27516),
    3.1.4 through a stored reference (CVE-2024-56326): both are excluded."""
    from packaging.requirements import Requirement

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    jinja = next(Requirement(d) for d in deps if d.lower().startswith("jinja2"))
    for bad in ("3.1.4", "3.1.5"):
        assert not jinja.specifier.contains(bad), f"{jinja} allows Jinja2 {bad}"
    assert jinja.specifier.contains(version("jinja2"))


def test_old_jinja_is_refused_at_render_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rlskit.policies.custom as custom

    monkeypatch.setattr(custom, "_jinja_version", lambda: "3.1.5")
    with pytest.raises(SpecError, match=r"Jinja2 3\.1\.5.*3\.1\.6"):
        render_with(tmp_path, _create("SELECT 1;"))


# -- YAML aliases ---------------------------------------------------------------------
def _laughs(levels: int, width: int) -> str:
    doc = "a0: &a0 [" + ", ".join(["lol"] * width) + "]\n"
    for i in range(1, levels):
        doc += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]\n"
    return doc + "policies: []\n"


BOMBS = {
    "billion laughs": _laughs(9, 10),
    "wide alias": "w: &w ["
    + ", ".join(["x"] * 2000)
    + "]\nv: ["
    + ", ".join(["*w"] * 3000)
    + "]\n",
    "mapping laughs": "".join(
        f"m{i}: &m{i} {{"
        + ", ".join(f"k{j}: *m{i - 1}" if i else f"k{j}: v" for j in range(10))
        + "}\n"
        for i in range(9)
    ),
}


@pytest.mark.parametrize("text", BOMBS.values(), ids=list(BOMBS))
def test_alias_bomb_is_refused_quickly(text: str) -> None:
    start = time.process_time()
    with pytest.raises(SpecError) as info:
        load_text(text, "policies/bomb.yaml", Path("/nonexistent"))
    took = time.process_time() - start
    assert took < 2, f"took {took:.1f} s of CPU"
    assert re.search(r"policies/bomb\.yaml:\d+", str(info.value))
    assert "alias" in str(info.value)


def test_large_plain_document_still_loads() -> None:
    """A long but honest file (no aliases) is not refused."""
    block = {
        "template": "allow_all",
        "table": "app.t",
        "roles": ["app_user"],
        "commands": ["SELECT"],
    }
    blocks = [{**block, "table": f"app.t{i}"} for i in range(2000)]
    _, b = load_text(yaml.safe_dump({"policies": blocks}), "policies/big.yaml", Path("/x"))
    assert len(b) == 2000


def test_alias_bomb_through_the_cli_is_refused(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    assert rlskit("init", str(proj)).exit_code == 0
    (proj / "policies" / "bomb.yaml").write_text(BOMBS["billion laughs"])
    start = time.monotonic()
    res = rlskit("render", project=proj)
    assert time.monotonic() - start < 5
    assert res.exit_code != 0 and "bomb.yaml" in res.output


def test_included_template_is_checked_too(tmp_path: Path) -> None:
    (tmp_path / "part.sql.j2").write_text(ESCAPES["filter block"])
    with pytest.raises(SpecError, match=r"part\.sql\.j2.*filter"):
        render_with(tmp_path, _create('{% include "part.sql.j2" %}'), v=HOSTILE)
