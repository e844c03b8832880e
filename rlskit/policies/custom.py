"""Project templates: ``policies/<name>.sql.j2`` (or ``policies/templates/``).

A template defines two blocks, ``create`` and ``drop``. Every ``{{ ... }}``
must pass through a quoting filter: ``| ident`` (a name), ``| table``
(``schema.table``), ``| literal`` (a string constant), ``| setting(type)``
(a session setting read safely) or be a number. A plain string in the output
is refused, so a template cannot splice unquoted input into SQL. ``{% filter %}``
and ``{% call %}`` blocks write their output past that check, so templates using
them are refused. Templates run in Jinja's sandbox, on a Jinja2 without its known
sandbox escapes (3.1.6 or later).
"""

from __future__ import annotations

import math
from importlib.metadata import version
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from rlskit.errors import IdentifierError, SpecError
from rlskit.policies.spec import SETTING_TYPES, Custom, PolicySet, _setting
from rlskit.quoting import quote_ident, quote_literal


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


def _ident(value: Any) -> Sql:
    return Sql(quote_ident(str(value)))


def _table(value: Any) -> Sql:
    from rlskit.policies.render import qtable

    return Sql(qtable(str(value)))


def _literal(value: Any) -> Sql:
    return Sql(quote_literal(str(value)))


def _roles(values: Any) -> Sql:
    from rlskit.policies.render import roles_sql

    if isinstance(values, str):
        values = [values]
    return Sql(roles_sql([str(v) for v in values]))


def _environment(directory: Path, policy_set: PolicySet) -> SandboxedEnvironment:
    env = _Environment(
        loader=FileSystemLoader([str(directory), str(directory / "templates")]),
        undefined=StrictUndefined,
        finalize=_finalize,
        keep_trailing_newline=True,
        autoescape=False,
    )

    def setting(name: Any, type_: str = "text") -> Sql:
        from rlskit.policies.render import setting_expr

        try:
            _setting(str(name))
        except ValueError as exc:
            raise TemplateError(f"setting {name!r}: {exc}") from None
        declared = policy_set.settings.get(str(name))
        t = declared.type if declared and type_ == "text" else type_
        if t not in SETTING_TYPES:
            raise TemplateError(f"setting type {t!r} is not one of {', '.join(SETTING_TYPES)}")
        return Sql(f"(SELECT {setting_expr(str(name), t)})")

    env.filters.update(ident=_ident, table=_table, literal=_literal, roles=_roles, setting=setting)
    return env


def render_custom(
    directory: Path, block: Custom, policy_set: PolicySet, source: str
) -> tuple[str, str]:
    """Render a custom block's ``create`` and ``drop`` SQL."""
    _check_jinja()
    env = _environment(directory, policy_set)
    try:
        template = env.get_template(f"{block.template}.sql.j2")
        missing = [b for b in ("create", "drop") if b not in template.blocks]
        if missing:
            raise SpecError(
                f"{source}: template {block.template}.sql.j2 has no "
                f"{{% block {missing[0]} %}}; a custom template defines 'create' and 'drop'."
            )
        ctx = template.new_context({"name": block.name, **block.params})
        create = "".join(template.blocks["create"](ctx)).strip()
        drop = "".join(template.blocks["drop"](ctx)).strip()
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
    return create, drop
