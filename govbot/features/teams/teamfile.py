"""Reading a team file safely: size, encoding, YAML aliases and nesting are checked before anything is built.

A YAML alias (``*name``) repeats a value without repeating its text, so a small file can stand for billions of
values ("billion laughs"). The file is parsed into YAML's node graph first; the values it stands for once aliases
are expanded, and how deep it nests, are counted on that graph (each node once), and only a file within the
limits is turned into Python values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_VALUES = 100_000  # after alias expansion; the example team file holds about 80
MAX_DEPTH = 50  # a team file needs 5


class TeamFileUnreadable(ValueError):
    """The file cannot be turned into values; the message is one sentence (without the file's name)."""


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _measure(root: Node) -> tuple[int, int]:
    """(values once aliases are expanded, deepest nesting), each node visited once; raises on a self-reference."""
    sizes: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            parts = [sizes[id(child)] for child in _children(node)]
            count = 1 + sum(size for size, _ in parts)
            depth = 1 + max((deep for _, deep in parts), default=0)
            sizes[key] = (count, depth)
            on_path.discard(key)
            if count > MAX_VALUES or depth > MAX_DEPTH:
                return count, depth  # no need to count further
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise TeamFileUnreadable("a YAML alias refers to the value that contains it: write that value out")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def load_team_file(path: Path) -> Any:
    """The file's YAML document as Python values, or TeamFileUnreadable saying in one sentence what is wrong.

    Raises FileNotFoundError and yaml.YAMLError as they come.
    """
    if path.is_dir():
        raise TeamFileUnreadable("is a folder, not a team file")
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise TeamFileUnreadable("is larger than 2 MB, far more than a team file needs: split it into smaller files")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TeamFileUnreadable("is not a UTF-8 text file: save the team file as UTF-8 YAML") from None
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except RecursionError:
            raise TeamFileUnreadable(f"nests more than {MAX_DEPTH} levels deep: a team file needs only a few "
                                     "levels") from None
        if root is None:
            return None
        values, depth = _measure(root)
        if values > MAX_VALUES:
            raise TeamFileUnreadable(f"holds more than {MAX_VALUES:,} values once its YAML aliases are expanded: "
                                     "write the values out, or use fewer aliases")
        if depth > MAX_DEPTH:
            raise TeamFileUnreadable(f"nests more than {MAX_DEPTH} levels deep: a team file needs only a few levels")
        return loader.construct_document(root)
    finally:
        loader.dispose()
