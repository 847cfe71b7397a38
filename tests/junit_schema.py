"""Check an XML document against `tests/junit.xsd`, read with ElementTree (no XML Schema library here).

It understands exactly the XML Schema constructs that file uses, and fails loudly on any other, so
the schema stays the one statement of the format: global elements that are `xs:string` or have a
complex type; a complex type's `xs:sequence` of element references and `xs:choice`s (with
`minOccurs`/`maxOccurs`), or its `xs:simpleContent` (text, no children); attributes typed
`xs:string`, `xs:nonNegativeInteger`, `xs:decimal` or `xs:dateTime`, optional or `use="required"`.
An attribute the schema does not declare, an element out of place, a missing required attribute, a
value not of its type, or text where only elements go is a problem.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

XS = "{http://www.w3.org/2001/XMLSchema}"
SCHEMA = Path(__file__).with_name("junit.xsd")
UNBOUNDED = 1 << 30
_TYPES = {
    "xs:string": re.compile(r".*", re.DOTALL),
    "xs:nonNegativeInteger": re.compile(r"\+?[0-9]+"),
    "xs:decimal": re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"),
    "xs:dateTime": re.compile(
        r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?"
    ),
}


@dataclass
class Particle:
    """An element reference or a choice of them, with how often it may occur."""

    names: list[str]
    low: int
    high: int


@dataclass
class Declaration:
    """A global element: its attributes (name -> (type, required)) and content."""

    attributes: dict[str, tuple[str, bool]] = field(default_factory=dict)
    particles: list[Particle] | None = None  # None: text only, no child elements


def _occurs(node: ET.Element) -> tuple[int, int]:
    high = node.get("maxOccurs", "1")
    return int(node.get("minOccurs", "1")), UNBOUNDED if high == "unbounded" else int(high)


def _attributes(parent: ET.Element) -> dict[str, tuple[str, bool]]:
    found = {}
    for attribute in parent.findall(f"{XS}attribute"):
        kind = attribute.get("type", "xs:string")
        if kind not in _TYPES:
            raise ValueError(f"junit.xsd: attribute type {kind} is not understood here")
        found[attribute.get("name", "")] = (kind, attribute.get("use") == "required")
    return found


def load_schema(path: Path = SCHEMA) -> dict[str, Declaration]:
    """The schema's global elements."""
    declarations = {}
    for element in ET.parse(path).getroot().findall(f"{XS}element"):
        name = element.get("name", "")
        if element.get("type") == "xs:string":
            declarations[name] = Declaration()
            continue
        complex_type = element.find(f"{XS}complexType")
        if complex_type is None:
            raise ValueError(f"junit.xsd: element {name} is neither xs:string nor a complex type")
        simple = complex_type.find(f"{XS}simpleContent/{XS}extension")
        if simple is not None:
            declarations[name] = Declaration(_attributes(simple))
            continue
        particles = []
        sequence = complex_type.find(f"{XS}sequence")
        for node in list(sequence) if sequence is not None else []:
            if node.tag == f"{XS}element":
                particles.append(Particle([node.get("ref", "")], *_occurs(node)))
            elif node.tag == f"{XS}choice":
                particles.append(
                    Particle([e.get("ref", "") for e in node.findall(f"{XS}element")], *_occurs(node))
                )
            else:
                raise ValueError(f"junit.xsd: {node.tag} is not understood here")
        declarations[name] = Declaration(_attributes(complex_type), particles)
    return declarations


def problems(document: str, schema: dict[str, Declaration] | None = None) -> list[str]:
    """Every way `document` departs from the schema (empty: valid)."""
    schema = schema or load_schema()
    root = ET.fromstring(document)
    found: list[str] = []
    if root.tag not in schema:
        return [f"root element <{root.tag}> is not declared"]
    _check(root, schema, "/" + root.tag, found)
    return found


def _check(element: ET.Element, schema: dict[str, Declaration], where: str, found: list[str]) -> None:
    declaration = schema[element.tag]
    for name, value in element.attrib.items():
        if name not in declaration.attributes:
            found.append(f"{where}: attribute {name} is not declared")
        elif not _TYPES[declaration.attributes[name][0]].fullmatch(value):
            found.append(f"{where}: attribute {name}={value!r} is not {declaration.attributes[name][0]}")
    for name, (_, required) in declaration.attributes.items():
        if required and name not in element.attrib:
            found.append(f"{where}: required attribute {name} is missing")
    children = list(element)
    if declaration.particles is None:
        if children:
            found.append(f"{where}: <{children[0].tag}> inside an element that holds only text")
        return
    texts = [element.text, *(child.tail for child in children)]
    if any(text and text.strip() for text in texts):
        found.append(f"{where}: text where only elements may be")
    position = 0
    for particle in declaration.particles:
        count = 0
        while count < particle.high and position < len(children) and children[position].tag in particle.names:
            position += 1
            count += 1
        if count < particle.low:
            found.append(f"{where}: expected {' or '.join(particle.names)} at child {position + 1}")
    if position < len(children):
        found.append(f"{where}: <{children[position].tag}> is out of place (child {position + 1})")
    for index, child in enumerate(children):
        if child.tag in schema:
            _check(child, schema, f"{where}/{child.tag}[{index + 1}]", found)
