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


# Aliases let a small file expand without bound ("billion laughs"): every value is
# counted while the document is built, and building stops at this many.
MAX_NODES = 100_000


# libyaml's composer (and PyYAML's) recurse once per nesting level: 50,000 nested
# "[" crash the process. Nesting is measured on the token stream first, without recursion.
MAX_DEPTH = 64

_OPEN = (
    yaml.FlowSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.BlockMappingStartToken,
)
_CLOSE = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def _check_depth(text: str, source: str) -> None:
    """Refuse documents nested deeper than :data:`MAX_DEPTH`, before composing them."""
    depth = 0
    for token in yaml.scan(text, Loader=_COMPOSER):
        if isinstance(token, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                raise SpecError(
                    f"{source}:{token.start_mark.line + 1}: the document nests more than "
                    f"{MAX_DEPTH} levels deep; refusing to load it.",
                    "Flatten the structure; no rlskit file needs that depth.",
                )
        elif isinstance(token, _CLOSE):
            depth -= 1


# libyaml's parser when PyYAML has it: the pure-Python one takes seconds on large files.
_COMPOSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Builder:
    """Builds plain Python data from composed YAML nodes, counting every value."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[Path_, int] = {}
        self.count = 0
        self.scalars = yaml.SafeLoader("")  # its constructor resolves tags (int, bool, ...)

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError(
                f"{self.source}:{node.start_mark.line + 1}: the document expands to more "
                f"than {MAX_NODES} values (YAML aliases repeat whole parts of it); "
                "refusing to load it.",
                "Write the policies out without anchors and aliases.",
            )
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise SpecError(
                        f"{self.source}:{key_node.start_mark.line + 1}: keys must be plain names."
                    )
                key = str(
                    self.scalars.construct_object(key_node)
                    if key_node.tag.endswith(":int")
                    else key_node.value
                )
                if key in out:
                    raise SpecError(
                        f"{self.source}:{key_node.start_mark.line + 1}: key {key!r} appears twice."
                    )
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, (*path, i)) for i, v in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.scalars.construct_object(node)


def load_yaml(text: str, source: str) -> Located:
    """Parse ``text`` (one document); errors name ``source`` and the line."""
    try:
        _check_depth(text, source)
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(
            f"{source}:{line}: this is not valid YAML ({problem}).",
            "Fix the file; nothing was rendered.",
        ) from None
    if node is None:
        return Located({}, {(): 1}, source)
    builder = _Builder(source)
    try:
        data = builder.build(node, ())
        return Located(data, builder.lines, source)
    except RecursionError:
        raise SpecError(f"{source}: the document nests too deeply (a recursive alias?).") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: this is not valid YAML ({exc}).") from None
