"""Pages read as a small HTML tree (stdlib html.parser), so that assertions name cells and classes, not bytes;
and what the content security policy forbids in a page (inline scripts and event handlers)."""

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join(" ".join(parts).split())

    def find_all(self, tag: str = "", **attrs) -> list["Node"]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if (not tag or child.tag == tag) and all(child.attrs.get(k) == v for k, v in attrs.items()):
                    found.append(child)
                found.extend(child.find_all(tag, **attrs))
        return found

    def by_id(self, element_id: str) -> "Node":
        (node,) = self.find_all(id=element_id)
        return node


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__()
        self.root = self.current = Node("document", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str) -> Node:
    parser = _Tree()
    parser.feed(html)
    return parser.root


def tree(response) -> Node:
    assert response.status_code == 200
    return parse(response.content.decode())


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)


INLINE_HANDLER = re.compile(r"\son[a-z]+=\"", re.I)
