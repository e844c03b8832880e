"""Load YAML while remembering the line of every key, for error messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from rlskit.errors import SpecError

Path_ = tuple[str | int, ...]


@dataclass
class Located:
    """A YAML document and the 1-based line of every path in it."""

    data: Any
    lines: dict[Path_, int]
    source: str

    def line(self, path: Path_) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), 1)


MAX_NODES = 200_000  # aliases can make a small file expand without bound ("billion laughs")


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], source: str) -> Any:
    if len(lines) > MAX_NODES:
        raise SpecError(
            f"{source}: the document expands to more than {MAX_NODES} values "
            "(YAML aliases?); refusing to load it."
        )
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError(
                    f"{source}:{key_node.start_mark.line + 1}: keys must be plain names."
                )
            key = str(
                yaml.safe_load(key_node.value) if key_node.tag.endswith(":int") else key_node.value
            )
            if key in out:
                raise SpecError(
                    f"{source}:{key_node.start_mark.line + 1}: key {key!r} appears twice."
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, (*path, key), lines, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(v, (*path, i), lines, source) for i, v in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return yaml.safe_load(yaml.serialize(node))


def load_yaml(text: str, source: str) -> Located:
    """Parse ``text`` (one document); errors name ``source`` and the line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(
            f"{source}:{line}: this is not valid YAML ({problem}).",
            "Fix the file; nothing was rendered.",
        ) from None
    lines: dict[Path_, int] = {}
    if node is None:
        return Located({}, {(): 1}, source)
    try:
        return Located(_build(node, (), lines, source), lines, source)
    except RecursionError:
        raise SpecError(f"{source}: the document nests too deeply (a recursive alias?).") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: this is not valid YAML ({exc}).") from None
