"""Project templates: ``policies/<name>.sql.j2`` (or ``policies/templates/``).

A template defines two blocks, ``create`` and ``drop``. Every ``{{ ... }}``
must pass through a quoting filter: ``| ident`` (a name), ``| table``
(``schema.table``), ``| literal`` (a string constant), ``| setting(type)``
(a session setting read safely), ``| dollar_quote`` (a body, quoted with a tag
it does not hold) or be a number. ``{{ table | definer_reads }}`` writes nothing:
it declares that the template's SECURITY DEFINER function reads ``table``, so the
migrating role gets a SELECT policy there when the policy set forces RLS on it. A plain string in the output is refused, so a
template cannot splice unquoted input into SQL.

Passing a filter is not enough: a literal written between the template's own
``$tag$`` quotes can end them. So the template is rendered a second time with a
benign placeholder for every filtered value (``"x"``, ``'x'``, ...), and the real
output must have the same statements and token kinds (bodies included); else the
value that changed them is named with the template line. ``{% filter %}``
and ``{% call %}`` blocks write their output past that check, so templates using
them are refused. Templates run in Jinja's sandbox, on a Jinja2 without its known
sandbox escapes (3.1.6 or later).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from rlskit import pgsql
from rlskit.errors import IdentifierError, SpecError
from rlskit.policies.spec import SETTING_TYPES, Custom, PolicySet, _setting, split_table
from rlskit.quoting import dollar_quote, quote_ident, quote_literal


class Sql(str):
    """Text that is already safe SQL."""

    __slots__ = ()


# Jinja2 < 3.1.6 lets a template escape the sandbox through |attr("format")
# (CVE-2025-27516), < 3.1.5 through a stored str.format (CVE-2024-56326).
MIN_JINJA = (3, 1, 6)


def _jinja_version() -> str:
    return version("jinja2")


def _check_jinja() -> None:
    found = _jinja_version()
    parts = tuple(int(p) for p in found.split(".")[:3] if p.isdigit())
    if parts < MIN_JINJA:
        need = ".".join(map(str, MIN_JINJA))
        raise SpecError(
            f"Jinja2 {found} has known sandbox escapes; custom templates need Jinja2 {need} "
            "or later.",
            f"pip install 'Jinja2>={need}'",
        )


def _finalize(value: Any) -> Any:
    if isinstance(value, Sql) or (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ):
        return value
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    raise TemplateError(
        f"the value {shown} reaches the SQL unquoted; pass it through | ident, | table, "
        "| literal or | setting"
    )


# Blocks whose output Jinja writes without passing it to ``finalize``.
_UNCHECKED = {
    nodes.FilterBlock: "{% filter %} block",
    nodes.CallBlock: "{% call %} block",
}


class _Environment(SandboxedEnvironment):
    """The sandbox, refusing templates whose output would skip the quoting check."""

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for node in tree.find_all(tuple(_UNCHECKED)):
            raise TemplateSyntaxError(
                f"a {_UNCHECKED[type(node)]} writes its output without the quoting check; "
                "apply filters to each value inside {{ ... }} instead",
                node.lineno,
                name,
                filename,
            )
        return tree


@dataclass(frozen=True)
class _Call:
    """One quoting filter applied to a value, and where in which template."""

    value: str
    template: str | None
    line: int | None


def _template_line() -> tuple[str | None, int | None]:
    """The template and line running now (how Jinja's own tracebacks find them)."""
    frame = sys._getframe(1)
    while frame is not None:
        tmpl = frame.f_globals.get("__jinja_template__")
        if tmpl is not None:
            return tmpl.name, tmpl.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return None, None


class _Shadow:
    """Which filter calls write their real output; the later ones write a benign
    placeholder of the same kind (``"x"``, ``'x'``)."""

    def __init__(self) -> None:
        self.real_upto: float = math.inf
        self.calls: list[_Call] = []
        self.reads: list[str] = []  # tables declared with | definer_reads

    def out(self, value: Any, real: Callable[[], str], placeholder: Callable[[], str]) -> Sql:
        i = len(self.calls)
        self.calls.append(_Call(str(value), *_template_line()))
        return Sql(real() if i <= self.real_upto else placeholder())


def _environment(directory: Path, policy_set: PolicySet, shadow: _Shadow) -> SandboxedEnvironment:
    from rlskit.policies.render import qtable, roles_sql, setting_expr

    env = _Environment(
        loader=FileSystemLoader([str(directory), str(directory / "templates")]),
        undefined=StrictUndefined,
        finalize=_finalize,
        keep_trailing_newline=True,
        autoescape=False,
    )

    def ident(value: Any) -> Sql:
        return shadow.out(value, lambda: quote_ident(str(value)), lambda: quote_ident("x"))

    def table(value: Any) -> Sql:
        return shadow.out(value, lambda: qtable(str(value)), lambda: qtable("x.x"))

    def literal(value: Any) -> Sql:
        return shadow.out(value, lambda: quote_literal(str(value)), lambda: quote_literal("x"))

    def roles(values: Any) -> Sql:
        names = [values] if isinstance(values, str) else [str(v) for v in values]
        benign = ["PUBLIC" if r.upper() == "PUBLIC" else f"x{i}" for i, r in enumerate(names)]
        return shadow.out(", ".join(names), lambda: roles_sql(names), lambda: roles_sql(benign))

    def setting(name: Any, type_: str = "text") -> Sql:
        try:
            _setting(str(name))
        except ValueError as exc:
            raise TemplateError(f"setting {name!r}: {exc}") from None
        declared = policy_set.settings.get(str(name))
        t = declared.type if declared and type_ == "text" else type_
        if t not in SETTING_TYPES:
            raise TemplateError(f"setting type {t!r} is not one of {', '.join(SETTING_TYPES)}")
        return shadow.out(
            name,
            lambda: f"(SELECT {setting_expr(str(name), t)})",
            lambda: f"(SELECT {setting_expr('x.x', t)})",
        )

    def definer_reads(value: Any) -> Sql:
        # Writes nothing: the renderer gives the migrating role (the helper's owner) a
        # SELECT policy on the table if the set forces RLS on it.
        qtable(str(value))  # a valid schema.table, or the usual error
        name = ".".join(split_table(str(value)))
        if name not in shadow.reads:
            shadow.reads.append(name)
        return Sql("")

    def body(value: Any) -> Sql:
        # Always one string constant, whatever the text; the SQL inside it is compared
        # like the rest, since its values are placeholders in the benign rendering.
        return Sql(dollar_quote(str(value)))

    env.filters.update(
        ident=ident,
        table=table,
        literal=literal,
        roles=roles,
        setting=setting,
        dollar_quote=body,
        definer_reads=definer_reads,
    )
    return env


# -- the structure of rendered SQL --------------------------------------------------
_UNICODE = {"UIDENT": "IDENT", "USCONST": "SCONST"}  # U&"..." is a name, U&'...' a constant


class _Unscannable(Exception):
    pass


def _token_kinds(sql: str) -> Iterator[str]:
    try:
        toks = pgsql.tokens(sql)
    except Exception as exc:  # pglast's scanner error
        raise _Unscannable(str(exc)) from None
    skip = 0
    for kind, text in toks:
        if skip:
            skip -= 1
            continue
        if kind == "UESCAPE":  # U&"..." UESCAPE '!': part of the name or constant before it
            skip = 1
            continue
        if kind == "SCONST" and text.startswith("$"):
            tag = text[: text.index("$", 1) + 1]
            try:
                inner = _shape(text[len(tag) : -len(tag)])
            except _Unscannable:
                inner = (("not SQL",),)
            yield f"BODY{inner!r}"
            continue
        yield _UNICODE.get(kind, kind)


def _shape(sql: str) -> tuple[tuple[str, ...], ...]:
    """``sql`` as statements of token kinds: what stays the same when only names and
    constants change."""
    stmts: list[tuple[str, ...]] = []
    current: list[str] = []
    for kind in _token_kinds(sql):
        if kind == "ASCII_59":
            stmts.append(tuple(current))
            current = []
        else:
            current.append(kind)
    if current:
        stmts.append(tuple(current))
    return tuple(stmts)


def _kinds(sql: str) -> tuple[str, ...]:
    try:
        return tuple(next(iter(s["stmt"])) for s in pgsql.parse_json(sql))
    except Exception:  # a syntax pglast does not know yet: the token kinds still count
        return ("?",)


@dataclass(frozen=True)
class _Structure:
    kinds: tuple[str, ...]
    shape: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, sql: str) -> _Structure:
        return cls(_kinds(sql), _shape(sql))

    def describe(self) -> str:
        n = len(self.shape)
        kinds = "" if self.kinds == ("?",) else f" ({', '.join(self.kinds)})"
        return f"{n} statement{'s' if n != 1 else ''}{kinds}"


def _strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, f"{path}[{i}]")


def _field(call: _Call, params: dict[str, Any]) -> str:
    """The parameter whose value the filter call wrote (the longest one it holds)."""
    found = [(len(v), p) for p, v in _strings(params, "") if v and v in call.value]
    return f"the value of {max(found)[1]!r}" if found else "a value"


def render_custom(
    directory: Path, block: Custom, policy_set: PolicySet, source: str
) -> tuple[str, str, list[str]]:
    """Render a custom block's ``create`` and ``drop`` SQL, and the tables its
    SECURITY DEFINER functions read (``| definer_reads``)."""
    _check_jinja()
    shadow = _Shadow()
    env = _environment(directory, policy_set, shadow)
    params = {"name": block.name, **block.params}
    try:
        template = env.get_template(f"{block.template}.sql.j2")
        missing = [b for b in ("create", "drop") if b not in template.blocks]
        if missing:
            raise SpecError(
                f"{source}: template {block.template}.sql.j2 has no "
                f"{{% block {missing[0]} %}}; a custom template defines 'create' and 'drop'."
            )

        def run(real_upto: float) -> tuple[str, str]:
            shadow.real_upto, shadow.calls = real_upto, []
            ctx = template.new_context(dict(params))
            create = "".join(template.blocks["create"](ctx)).strip()
            drop = "".join(template.blocks["drop"](ctx)).strip()
            return create, drop

        create, drop = run(math.inf)
        calls, reads = shadow.calls, list(shadow.reads)
        benign = run(-1)
        _check_structure(source, block, params, (create, drop), benign, calls, run)
    except IdentifierError as exc:
        raise SpecError(f"{source}: template {block.template}: {exc}") from None
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        name = getattr(exc, "name", None) or f"{block.template}.sql.j2"  # maybe an included one
        where = name + (f" line {line}" if line else "")
        raise SpecError(
            f"{source}: template {where} failed: {exc}.",
            "Check the block's parameters against the template.",
        ) from None
    except (ArithmeticError, LookupError, NameError, TypeError, ValueError) as exc:
        # e.g. {{ 1/0 }}, or {{ 1e999 }}, which Jinja compiles to a bare name inf
        raise SpecError(
            f"{source}: template {block.template}.sql.j2 failed: {type(exc).__name__}: {exc}.",
            "Check the block's parameters against the template.",
        ) from None
    return create, drop, reads


_HINT = (
    "A value must stay one name or constant. Quote a body with {{ body | dollar_quote }} "
    "(built with {% set body %}...{% endset %}), never between fixed $tag$ quotes "
    "written in the template."
)


def _check_structure(
    source: str,
    block: Custom,
    params: dict[str, Any],
    real: tuple[str, str],
    benign: tuple[str, str],
    calls: list[_Call],
    run: Callable[[float], tuple[str, str]],
) -> None:
    """Refuse output whose statements differ from the benign rendering's, naming the
    first value (in template order) whose real output makes the difference."""
    try:
        want = [_Structure.of(sql) for sql in benign]
    except _Unscannable as exc:
        raise SpecError(
            f"{source}: template {block.template}.sql.j2 writes SQL that PostgreSQL's "
            f"scanner rejects ({exc}).",
            "Fix the template.",
        ) from None

    def differs(sqls: tuple[str, str]) -> str | None:
        for sql, expected in zip(sqls, want, strict=True):
            try:
                got = _Structure.of(sql)
            except _Unscannable:
                return "SQL the scanner rejects"
            if got != expected:
                return f"{got.describe()} where the template writes {expected.describe()}"
        return None

    what = differs(real)
    if what is None:
        return
    culprit = next((c for i, c in enumerate(calls) if differs(run(i))), None)
    if culprit is None:  # the difference needs several values together: name the first
        culprit = calls[0] if calls else _Call("", None, None)
        what = differs(real)
    where = (culprit.template or f"{block.template}.sql.j2") + (
        f" line {culprit.line}" if culprit.line else ""
    )
    shown = repr(culprit.value) if len(culprit.value) <= 80 else repr(culprit.value[:77]) + "..."
    raise SpecError(
        f"{source}: template {where}: {_field(culprit, params)} ({shown}) changes the "
        f"statements the template writes: {what}; refusing to render it.",
        _HINT,
    )
