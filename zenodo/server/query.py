"""A small Lucene-like query language, enough for the searches clients send to Zenodo.

Supported: bare words, "quoted phrases", field:value, field:"quoted", field:[a TO b] / {a TO b}
ranges (`*` open), AND, OR, NOT / -term, parentheses, `*` wildcards. Juxtaposed clauses are OR'd
(so `a:"x" b:"x"` finds records that carry x in either place) and ranked by how many matched.
A colon inside a field name is escaped, as in Elasticsearch: `metadata.custom.dwc\\:basisOfRecord:x`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from zenodo_atlas.zenodo.server.responses import ApiError

Document = Mapping[str, list[str]]
TEXT_FIELDS = frozenset({"title", "description", "keywords", "creators.name", "notes", "text"})

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lpar>\() | (?P<rpar>\)) |
        (?P<field>[A-Za-z_](?:[\w.]|\\:)*):(?:
            (?P<range>[\[{]\s*(?P<lo>\S+)\s+TO\s+(?P<hi>[^\]}\s]+)\s*[\]}]) |
            "(?P<fquoted>[^"]*)" |
            (?P<fvalue>[^\s()"][^\s()]*)
        ) |
        "(?P<quoted>[^"]*)" |
        (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Term:
    field: str | None
    value: str
    phrase: bool = False

    def score(self, doc: Document, aliases: Mapping[str, str]) -> int:
        fields = [aliases.get(self.field, self.field)] if self.field else ["text"]
        value = self.value.lower()
        for name in fields:
            for candidate in doc.get(name, []):
                if _matches(name, candidate.lower(), value, self.phrase):
                    return 1
        return 0


@dataclass(frozen=True)
class Range:
    field: str
    low: str
    high: str
    inclusive_low: bool
    inclusive_high: bool

    def score(self, doc: Document, aliases: Mapping[str, str]) -> int:
        for candidate in doc.get(aliases.get(self.field, self.field), []):
            if _in_range(candidate, self):
                return 1
        return 0


@dataclass(frozen=True)
class Bool:
    op: str
    children: tuple

    def score(self, doc: Document, aliases: Mapping[str, str]) -> int:
        scores = [child.score(doc, aliases) for child in self.children]
        if self.op == "and":
            return sum(scores) if all(scores) else 0
        if self.op == "not":
            return 0 if scores[0] else 1
        return sum(scores)


@dataclass(frozen=True)
class MatchAll:
    def score(self, doc: Document, aliases: Mapping[str, str]) -> int:
        return 1


Node = Term | Range | Bool | MatchAll


def parse(query: str | None, known_fields: frozenset[str]) -> Node:
    """Parse `q`; a `field:` prefix that names no known field is read as part of a bare word."""
    if not query or not query.strip() or query.strip() == "*":
        return MatchAll()
    tokens = _tokenise(query, known_fields)
    parser = _Parser(tokens)
    node = parser.or_expr()
    if parser.pos != len(tokens):
        raise ApiError(400, f"Invalid query string near {tokens[parser.pos][1]!r}: check quotes and parentheses.")
    return node


def _tokenise(query: str, known_fields: frozenset[str]) -> list[tuple[str, object]]:
    tokens: list[tuple[str, object]] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        match = _TOKEN.match(query, pos)
        if match is None:
            raise ApiError(400, f"Invalid query string at {query[pos:]!r}: check quotes and parentheses.")
        pos = match.end()
        groups = match.groupdict()
        if groups["lpar"]:
            tokens.append(("(", "("))
        elif groups["rpar"]:
            tokens.append((")", ")"))
        elif groups["field"] is not None and _is_field(groups["field"], known_fields):
            tokens.append(("term", _field_node(match, groups)))
        elif groups["field"] is not None:
            tokens.append(("term", Term(None, match.group(0).strip().strip('"'))))
        elif groups["quoted"] is not None:
            tokens.append(("term", Term(None, groups["quoted"], phrase=True)))
        else:
            word = groups["word"]
            if word in ("AND", "OR", "NOT", "&&", "||"):
                tokens.append((word.replace("&&", "AND").replace("||", "OR"), word))
            elif word.startswith("-") and len(word) > 1:
                tokens.append(("NOT", "-"))
                tokens.append(("term", Term(None, word[1:])))
            else:
                tokens.append(("term", Term(None, word.lstrip("+"))))
    return tokens


def _is_field(name: str, known_fields: frozenset[str]) -> bool:
    name = name.lstrip("+-").replace("\\:", ":")
    return name in known_fields or name.startswith("metadata.")


def _field_node(match: re.Match, groups: dict) -> Node:
    field = groups["field"].lstrip("+-").replace("\\:", ":")
    if groups["range"]:
        text = groups["range"]
        return Range(field, groups["lo"], groups["hi"], text.startswith("["), text.endswith("]"))
    if groups["fquoted"] is not None:
        return Term(field, groups["fquoted"], phrase=True)
    value = groups["fvalue"]
    if re.search(r"(?<!\\)/", value):
        # An unescaped '/' opens a Lucene regular expression, so `doi:10.5281/zenodo.1` is a parse
        # error on zenodo.org; clients quote or escape it (pyzenodo3 base.py; zenodo-api.md §1.5).
        raise ApiError(400, f"Invalid querystring parameters: quote or escape the '/' in {value!r}.")
    return Term(field, value.replace("\\/", "/"))


class _Parser:
    def __init__(self, tokens: list[tuple[str, object]]):
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self._peek() in ("OR", "term", "(", "NOT"):
            if self._peek() == "OR":
                self.pos += 1
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Bool("or", tuple(children))

    def and_expr(self) -> Node:
        children = [self.unary()]
        while self._peek() == "AND":
            self.pos += 1
            children.append(self.unary())
        return children[0] if len(children) == 1 else Bool("and", tuple(children))

    def unary(self) -> Node:
        kind = self._peek()
        if kind == "NOT":
            self.pos += 1
            return Bool("not", (self.unary(),))
        if kind == "(":
            self.pos += 1
            node = self.or_expr()
            if self._peek() != ")":
                raise ApiError(400, "Invalid query string: a parenthesis is not closed.")
            self.pos += 1
            return node
        if kind == "term":
            node = cast(Node, self.tokens[self.pos][1])  # "term" tokens always carry a node
            self.pos += 1
            return node
        raise ApiError(400, "Invalid query string: an operator is missing its operand.")


def _matches(field: str, candidate: str, value: str, phrase: bool) -> bool:
    if value == "*":
        return True
    if "*" in value or "?" in value:
        pool = candidate.split() if field in TEXT_FIELDS else [candidate]
        return any(fnmatch.fnmatchcase(item, value) for item in pool)
    if field in TEXT_FIELDS:
        if phrase:
            return value in candidate
        words = set(re.findall(r"\w+", candidate))
        return all(word in words for word in re.findall(r"\w+", value)) and bool(value.strip())
    return candidate == value


def _in_range(candidate: str, rng: Range) -> bool:
    def compare(a: str, b: str) -> int:
        if a.isdigit() and b.isdigit():
            return (int(a) > int(b)) - (int(a) < int(b))
        a, b = a[: len(b)] if len(a) > len(b) and "T" not in b else a, b
        return (a > b) - (a < b)

    if rng.low != "*":
        c = compare(candidate, rng.low)
        if c < 0 or (c == 0 and not rng.inclusive_low):
            return False
    if rng.high != "*":
        c = compare(candidate, rng.high)
        if c > 0 or (c == 0 and not rng.inclusive_high):
            return False
    return True
