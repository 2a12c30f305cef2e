"""A small iCalendar (RFC 5545) reader of our own, for the tests of the calendar invitations and feeds.

It checks the wire format (CRLF line ends, lines of at most 75 octets), unfolds and parses content lines.
"""

from dataclasses import dataclass, field


@dataclass
class Component:
    name: str
    properties: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    children: list["Component"] = field(default_factory=list)

    def get(self, name: str) -> str:
        values = [value for prop, _, value in self.properties if prop == name]
        assert len(values) == 1, f"{self.name} has {len(values)} {name} properties"
        return values[0]

    def params(self, name: str) -> list[dict[str, str]]:
        return [params for prop, params, _ in self.properties if prop == name]

    def all(self, name: str) -> list[str]:
        return [value for prop, _, value in self.properties if prop == name]

    def child(self, name: str) -> "Component":
        found = [c for c in self.children if c.name == name]
        assert len(found) == 1, f"{self.name} has {len(found)} {name} components"
        return found[0]


def parse_ics(data: bytes) -> Component:
    """Parse an iCalendar stream, asserting CRLF line ends and lines of at most 75 octets."""
    assert data.endswith(b"\r\n"), "the last line must end with CRLF"
    physical = data[:-2].split(b"\r\n")
    for line in physical:
        assert b"\n" not in line and b"\r" not in line, f"bare line break in {line!r}"
        assert len(line) <= 75, f"line of {len(line)} octets: {line!r}"
    logical: list[bytes] = []
    for line in physical:
        if line[:1] in (b" ", b"\t"):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    stack: list[Component] = []
    root = None
    for raw in logical:
        line = raw.decode("utf-8")
        name_params, value = _split_value(line)
        name, *param_parts = _split_params(name_params)
        params = {}
        for part in param_parts:
            key, _, param_value = part.partition("=")
            params[key.upper()] = param_value.strip('"')
        name = name.upper()
        if name == "BEGIN":
            component = Component(value)
            if stack:
                stack[-1].children.append(component)
            else:
                root = component
            stack.append(component)
        elif name == "END":
            assert stack and stack[-1].name == value, f"END:{value} does not close {stack[-1].name}"
            stack.pop()
        else:
            stack[-1].properties.append((name, params, value))
    assert not stack and root is not None
    return root


def unescape_text(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _split_value(line: str) -> tuple[str, str]:
    """Split at the first colon that is not inside a quoted parameter value."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return line[:i], line[i + 1 :]
    raise AssertionError(f"no value in {line!r}")


def _split_params(text: str) -> list[str]:
    parts, current, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts
