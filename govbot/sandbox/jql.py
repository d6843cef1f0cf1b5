"""A small JQL parser and evaluator for the subset govbot sends, used by the Jira sandbox.

It is strict on purpose: a clause, operator, function or value it does not understand raises ``JqlError`` (the
sandbox answers 400 in Jira's error shape) instead of being ignored, so a query that would misbehave on a real
Jira fails loudly in tests.

Grammar (keywords are case-insensitive)::

    query   := [or] [ORDER BY sort ("," sort)*]
    or      := and (OR and)*
    and     := not (AND not)*
    not     := NOT not | "(" or ")" | clause
    clause  := field op value
    op      := = | != | > | >= | < | <= | IN | NOT IN | IS | IS NOT
    value   := word | "quoted string" | 'quoted string' | EMPTY | NULL | "(" value ("," value)* ")"
    sort    := field [ASC | DESC]

Records are plain mappings from canonical field name to value (see ``FIELDS``); list-valued fields (labels,
components, sprints) hold lists, the others a scalar or None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import partial
from typing import Any

# Canonical field -> kind. "text" compares case-insensitively; "date" compares datetimes.
FIELDS: dict[str, str] = {
    "project": "text",
    "key": "issuekey",
    "sprint": "sprint",
    "status": "text",
    "labels": "text",
    "issuetype": "text",
    "component": "text",
    "assignee": "text",
    "parent": "issuekey",
    "epic link": "issuekey",
    "created": "date",
    "resolved": "date",
    "updated": "date",
}
ALIASES = {
    "type": "issuetype",
    "resolutiondate": "resolved",
    "issuekey": "key",
    "issue": "key",
    "createddate": "created",
    "updateddate": "updated",
}
# Fields whose values Jira checks exist; an unknown value is an error, as on a real instance.
VALIDATED_FIELDS = ("project", "status", "issuetype", "component", "sprint")

KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}
RESERVED_CHARACTERS = set("+;?|*%^$#@[]{}&`")
DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
SIMPLE_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r", " ": " "}


class JqlError(ValueError):
    """A query the sandbox cannot run; Jira answers these with 400."""


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token: kind is word, string, op, lparen, rparen, comma or end."""

    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split JQL into tokens; quoted strings come back unescaped."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "\"'":
            value, i_next = _read_string(text, i)
            tokens.append(Token("string", value, i))
            i = i_next
        elif ch == "(":
            tokens.append(Token("lparen", ch, i))
            i += 1
        elif ch == ")":
            tokens.append(Token("rparen", ch, i))
            i += 1
        elif ch == ",":
            tokens.append(Token("comma", ch, i))
            i += 1
        elif text.startswith(("!=", ">=", "<=", "!~"), i):
            tokens.append(Token("op", text[i : i + 2], i))
            i += 2
        elif ch in "=<>~":
            tokens.append(Token("op", ch, i))
            i += 1
        elif ch in RESERVED_CHARACTERS or ch == "!":
            raise JqlError(
                f"Error in the JQL Query: The character '{ch}' is a reserved JQL character. You must enclose "
                f"it in a string or use the escape '\\u{ord(ch):04x}' instead. (line 1, character {i + 1})"
            )
        else:
            start = i
            while i < len(text) and not _ends_word(text[i]):
                i += 1
            tokens.append(Token("word", text[start:i], start))
    tokens.append(Token("end", "", len(text)))
    return tokens


def _ends_word(ch: str) -> bool:
    return ch.isspace() or ch in "\"'(),=!<>~" or ch in RESERVED_CHARACTERS


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\":
            if i + 1 >= len(text):
                break
            nxt = text[i + 1]
            if nxt in SIMPLE_ESCAPES:
                out.append(SIMPLE_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            raise JqlError(
                f"Error in the JQL Query: '\\{nxt}' is an illegal JQL escape sequence. "
                f"(line 1, character {i + 1})"
            )
        out.append(ch)
        i += 1
    raise JqlError(
        f"Error in the JQL Query: Missing closing quote for the string starting at character {start + 1}."
    )


# --- syntax tree


@dataclass(frozen=True, slots=True)
class Value:
    """A literal: text as written, whether it was quoted, or EMPTY."""

    text: str
    quoted: bool = False
    empty: bool = False


@dataclass(frozen=True, slots=True)
class Clause:
    """``field op value`` (values holds one item except for IN / NOT IN)."""

    field: str
    op: str
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class BoolOp:
    """AND / OR over two or more operands."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """NOT of one operand."""

    operand: Node


Node = Clause | BoolOp | Not


@dataclass(frozen=True, slots=True)
class SortKey:
    """One ORDER BY term."""

    field: str
    descending: bool


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """The where-tree (None matches everything) and the ORDER BY terms."""

    where: Node | None
    order_by: tuple[SortKey, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    # token helpers
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def at_keyword(self, word: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token.kind == "word" and token.text.lower() == word

    def expect_keyword(self, word: str) -> None:
        if not self.at_keyword(word):
            self.fail(f"Expecting '{word.upper()}'")
        self.take()

    def fail(self, expecting: str) -> None:
        token = self.peek()
        got = "the end of the query" if token.kind == "end" else f"'{token.text}'"
        raise JqlError(
            f"Error in the JQL Query: {expecting} but got {got}. (line 1, character {token.pos + 1})"
        )

    # grammar
    def parse(self) -> ParsedQuery:
        where = None
        if self.peek().kind != "end" and not self.at_keyword("order"):
            where = self.parse_or()
        order_by: tuple[SortKey, ...] = ()
        if self.at_keyword("order"):
            self.take()
            self.expect_keyword("by")
            order_by = self.parse_order_by()
        if self.peek().kind != "end":
            self.fail("Expecting either 'OR' or 'AND'")
        return ParsedQuery(where, order_by)

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.at_keyword("or"):
            self.take()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def parse_and(self) -> Node:
        operands = [self.parse_not()]
        while self.at_keyword("and"):
            self.take()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def parse_not(self) -> Node:
        if self.at_keyword("not"):
            self.take()
            return Not(self.parse_not())
        if self.peek().kind == "lparen":
            self.take()
            node = self.parse_or()
            if self.peek().kind != "rparen":
                self.fail("Expecting ')'")
            self.take()
            return node
        return self.parse_clause()

    def parse_field(self) -> str:
        token = self.peek()
        if token.kind not in ("word", "string") or (token.kind == "word" and token.text.lower() in KEYWORDS):
            self.fail("Expecting a field name")
        self.take()
        if self.peek().kind == "lparen":
            raise JqlError(
                f"Error in the JQL Query: '{token.text}' is a function; the sandbox supports none."
            )
        name = token.text.lower()
        name = ALIASES.get(name, name)
        if name not in FIELDS:
            raise JqlError(f"Field '{token.text}' does not exist or you do not have permission to view it.")
        return name

    def parse_clause(self) -> Clause:
        field = self.parse_field()
        token = self.peek()
        if token.kind == "op":
            if token.text in ("~", "!~"):
                raise JqlError(f"The operator '{token.text}' is not supported by the sandbox.")
            self.take()
            return Clause(field, token.text, (self.parse_value(),))
        if self.at_keyword("in"):
            self.take()
            return Clause(field, "in", self.parse_list())
        if self.at_keyword("not") and self.at_keyword("in", 1):
            self.take()
            self.take()
            return Clause(field, "not in", self.parse_list())
        if self.at_keyword("is"):
            self.take()
            op = "is"
            if self.at_keyword("not"):
                self.take()
                op = "is not"
            value = self.parse_value()
            if not value.empty:
                raise JqlError(f"The operator '{op.upper()}' only supports EMPTY or NULL.")
            return Clause(field, op, (value,))
        self.fail("Expecting operator")
        raise AssertionError  # fail() always raises

    def parse_list(self) -> tuple[Value, ...]:
        if self.peek().kind == "word" and self.peek(1).kind == "lparen":
            self.parse_value()  # raises: a function such as openSprints()
        if self.peek().kind != "lparen":
            self.fail("Expecting '('")
        self.take()
        values = [self.parse_value()]
        while self.peek().kind == "comma":
            self.take()
            values.append(self.parse_value())
        if self.peek().kind != "rparen":
            self.fail("Expecting ',' or ')'")
        self.take()
        return tuple(values)

    def parse_value(self) -> Value:
        token = self.peek()
        if token.kind == "string":
            self.take()
            return Value(token.text, quoted=True)
        if token.kind != "word":
            self.fail("Expecting a value")
        lowered = token.text.lower()
        if lowered in ("empty", "null"):
            self.take()
            return Value(token.text, empty=True)
        if lowered in KEYWORDS:
            self.fail("Expecting a value")
        self.take()
        if self.peek().kind == "lparen":
            raise JqlError(
                f"Error in the JQL Query: '{token.text}()' is a function; the sandbox supports none."
            )
        return Value(token.text)

    def parse_order_by(self) -> tuple[SortKey, ...]:
        keys = [self.parse_sort_key()]
        while self.peek().kind == "comma":
            self.take()
            keys.append(self.parse_sort_key())
        return tuple(keys)

    def parse_sort_key(self) -> SortKey:
        field = self.parse_field()
        descending = False
        if self.at_keyword("asc") or self.at_keyword("desc"):
            descending = self.take().text.lower() == "desc"
        return SortKey(field, descending)


def parse(text: str) -> ParsedQuery:
    """Parse JQL into a tree, or raise JqlError."""
    return _Parser(text).parse()


# --- evaluation


def parse_date(text: str, tz: tzinfo) -> datetime:
    """A JQL date literal ("yyyy/MM/dd HH:mm", "yyyy-MM-dd HH:mm" or a bare date) in the user's time zone."""
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{text}' for field is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
        "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd'. "
        "(Relative dates and functions are not supported by the sandbox.)"
    )


def _issue_key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return (project, int(number)) if number.isdigit() else (key, 0)


class Query:
    """A compiled query: ``matches(record)`` and ``sort(records)``."""

    def __init__(
        self,
        text: str,
        *,
        tz: tzinfo,
        vocabulary: Mapping[str, Iterable[str]] | None = None,
        sprint_names: Mapping[str, int] | None = None,
    ) -> None:
        self.text = text
        self.tz = tz
        self.parsed = parse(text)
        self.sprint_names = {name.casefold(): sprint_id for name, sprint_id in (sprint_names or {}).items()}
        self._vocabulary = {f: {str(v).casefold() for v in vs} for f, vs in (vocabulary or {}).items()}
        self._compiled = self._compile(self.parsed.where) if self.parsed.where is not None else None

    def matches(self, record: Mapping[str, Any]) -> bool:
        """True when the record satisfies the where-clause."""
        return True if self._compiled is None else self._compiled(record)

    def sort(self, records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Records in ORDER BY order (key ascending when the query has none)."""
        out = sorted(records, key=lambda r: _issue_key_order(r["key"]))
        for sort_key in reversed(self.parsed.order_by):
            present = [r for r in out if _sort_value(r.get(sort_key.field)) is not None]
            absent = [r for r in out if _sort_value(r.get(sort_key.field)) is None]
            present.sort(key=partial(_field_sort_value, sort_key.field), reverse=sort_key.descending)
            # Jira puts empty values last in ascending order and first in descending order.
            out = absent + present if sort_key.descending else present + absent
        return out

    # compilation: each clause becomes a predicate over a record
    def _compile(self, node: Node) -> Callable[[Mapping[str, Any]], bool]:
        if isinstance(node, BoolOp):
            parts = [self._compile(operand) for operand in node.operands]
            if node.op == "and":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        if isinstance(node, Not):
            inner = self._compile(node.operand)
            return lambda r: not inner(r)
        return self._compile_clause(node)

    def _compile_clause(self, clause: Clause) -> Callable[[Mapping[str, Any]], bool]:
        kind = FIELDS[clause.field]
        field, op = clause.field, clause.op
        if op in ("is", "is not") or (op in ("=", "!=") and clause.values[0].empty):
            want_empty = op in ("is", "=")
            return lambda r: (not _values(r.get(field))) == want_empty
        if op in (">", ">=", "<", "<="):
            if kind != "date":
                raise JqlError(f"The operator '{op}' is not supported by the '{field}' field.")
            bound = parse_date(clause.values[0].text, self.tz)
            compare = _COMPARATORS[op]
            return lambda r: any(compare(v, bound) for v in _values(r.get(field)))
        wanted = [self._literal(field, kind, v) for v in clause.values]
        include_empty = any(v is None for v in wanted)
        wanted = [w for w in wanted if w is not None]

        def hit(record: Mapping[str, Any]) -> bool:
            return any(_equal(kind, v, w) for v in _values(record.get(field)) for w in wanted)

        if op in ("=", "in"):
            return lambda r: hit(r) or (include_empty and not _values(r.get(field)))
        # != and NOT IN never match an empty field, as in Jira.
        return lambda r: bool(_values(r.get(field))) and not hit(r)

    def _literal(self, field: str, kind: str, value: Value) -> Any:
        if value.empty:
            return None
        if kind == "date":
            return parse_date(value.text, self.tz)
        if kind == "sprint":
            if value.text.isdigit():
                sprint_id = int(value.text)
                if "sprint" in self._vocabulary and value.text not in self._vocabulary["sprint"]:
                    raise JqlError(f"Sprint with id {sprint_id} does not exist.")
                return sprint_id
            if value.text.casefold() not in self.sprint_names:
                raise JqlError(f"The value '{value.text}' does not exist for the field 'sprint'.")
            return self.sprint_names[value.text.casefold()]
        if (
            field in self._vocabulary
            and field != "sprint"
            and value.text.casefold() not in self._vocabulary[field]
        ):
            raise JqlError(f"The value '{value.text}' does not exist for the field '{field}'.")
        return value.text


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [v for v in value if v is not None]
    return [value]


def _equal(kind: str, actual: Any, wanted: Any) -> bool:
    if kind == "date":
        return actual == wanted
    if kind == "sprint":
        return actual == wanted
    return str(actual).casefold() == str(wanted).casefold()


def _field_sort_value(field: str, record: Mapping[str, Any]) -> Any:
    return _sort_value(record.get(field))


def _sort_value(value: Any) -> Any:
    values = _values(value)
    if not values:
        return None
    first = values[0]
    if isinstance(first, str):
        return (
            _issue_key_order(first) if re.fullmatch(r"[A-Z][A-Z0-9_]*-\d+", first) else (first.casefold(), 0)
        )
    return first


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}
