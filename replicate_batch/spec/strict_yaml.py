"""YAML read the strict way: a key given twice is an error, and every error has a line and column.

Hostile YAML is refused while it is read, with its place: aliases that would multiply the document
(a "billion laughs" bomb: a few lines that expand to billions of values when anything walks them), a
value that contains itself, nesting deeper than any spec needs, and integers too long to convert.
"""

from __future__ import annotations

from typing import Any

import yaml

# What aliases may add to a document, in weight units (a node, or 64 characters of a scalar's text):
# ten times the document's own weight, and never less than this floor. Real specs and rows files
# repeat a few defaults per row (a few times their own size); a bomb multiplies itself without end.
ALIAS_WEIGHT_FLOOR = 1_000_000
ALIAS_WEIGHT_RATIO = 10
MAX_DEPTH = 200  # nested lists and mappings; far deeper than any spec or row, far below Python's stack
_CHARS_PER_UNIT = 64


class _UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses a key given twice in one mapping (YAML would keep the last).

    It also weighs the document as it is composed, with every alias counted at the weight of what it
    names, and refuses the alias that takes the document past its limit (see `ALIAS_WEIGHT_FLOOR`).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._weights: dict[int, int] = {}  # id(node) -> weight of the node and everything below it
        self._own_weight = 0  # the document as written
        self._alias_weight = 0  # what its aliases add
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            named = self.anchors.get(event.anchor)
            if named is not None:  # an unknown alias is the base class's error
                self._count_alias(event, named)
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {MAX_DEPTH} levels deep: flatten the value", event.start_mark
            )
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        value: Any = node.value if node is not None else ""
        own = 1 + (len(value) // _CHARS_PER_UNIT if isinstance(value, str) else 0)
        below = 0
        if isinstance(node, yaml.SequenceNode):
            below = sum(self._weights[id(child)] for child in value)
        elif isinstance(node, yaml.MappingNode):
            below = sum(self._weights[id(key)] + self._weights[id(item)] for key, item in value)
        self._weights[id(node)] = own + below
        self._own_weight += own
        return node

    def _count_alias(self, event: Any, named: yaml.Node) -> None:
        if id(named) not in self._weights:  # still being composed: the alias is inside its own anchor
            raise yaml.composer.ComposerError(
                None,
                None,
                f"the alias *{event.anchor} is inside the value its anchor &{event.anchor} names: "
                "a value cannot contain itself",
                event.start_mark,
            )
        self._alias_weight += self._weights[id(named)]
        if self._alias_weight > max(ALIAS_WEIGHT_FLOOR, ALIAS_WEIGHT_RATIO * self._own_weight):
            raise yaml.composer.ComposerError(
                None,
                None,
                f"the alias *{event.anchor} takes the document past what aliases may repeat "
                f"(over {ALIAS_WEIGHT_FLOOR:,} values, or ten times the document as written): "
                "aliases nested in aliases multiply a value without end; write the values out instead",
                event.start_mark,
            )

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # Python refuses to convert more than 4,300 digits
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"a number of {len(node.value):,} characters is too long: put it in quotes to give it as "
                "text",
                node.start_mark,
            ) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` merges may be overridden; complex keys are the base class's
            key = self.construct_object(key_node)
            seen = first_line.get(key)
            if seen is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {key!r} is given twice (first on line {seen}): keep one",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _UniqueKeyLoader.construct_yaml_int)


def load_yaml(text: str) -> Any:
    """YAML as `yaml.safe_load` reads it, except that a key given twice is an error."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects


def yaml_error_place(error: yaml.YAMLError) -> tuple[str, str]:
    """(`line 5, column 1`, what went wrong) for a YAML error, with a hint for the usual mistakes."""
    mark = getattr(error, "problem_mark", None)
    place = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    context_mark = getattr(error, "context_mark", None)
    if context and context_mark is not None:
        problem += f" ({context} at line {context_mark.line + 1}, column {context_mark.column + 1})"
    if "'\\t'" in problem:  # PyYAML quotes the character it found
        problem += ": indent with spaces, not tabs"
    elif "<block" in problem:
        problem += ": check the indentation"
    return place, problem
