"""Read records out of a guide's code block without running it: its string literals and bracket pairs.

Pygments lexes the block in its fence language, so strings, comments and brackets are found the way that
language defines them; the reader then answers questions such as "the value of `symptoms:` in the record
around this position".
"""

from __future__ import annotations

import bisect
import re
import textwrap
from functools import lru_cache

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.token import Comment, String
from pygments.util import ClassNotFound

_QUOTES = ('"""', "'''", '"', "'", "`")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
# Fences without a language, or in one Pygments does not know, are read with Python's rules
# (quoted strings, `#` comments). JSON is read as JavaScript, whose lexer keeps object keys as strings.
_FALLBACK_LANGUAGE = "python"
_LANGUAGE_ALIASES = {"json": "javascript", "jsonc": "javascript", "json5": "javascript"}


@lru_cache(maxsize=32)
def _lexer_for(lang: str) -> Lexer:
    name = _LANGUAGE_ALIASES.get(lang, lang) or _FALLBACK_LANGUAGE
    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return get_lexer_by_name(_FALLBACK_LANGUAGE)


def _closes(value: str, quote: str) -> bool:
    """Whether `value` ends with `quote` that is not escaped (an odd run of backslashes escapes it)."""
    if not value.endswith(quote):
        return False
    body = value[: -len(quote)]
    return (len(body) - len(body.rstrip("\\"))) % 2 == 0


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), raw)


class CodeReader:
    """String literals and bracket pairs of a code block, so records can be read without running it."""

    def __init__(self, code: str, lang: str) -> None:
        self.code = code
        self.strings: list[tuple[int, int, str]] = []  # (start, end, value) with end exclusive
        self.pairs: list[tuple[int, int, str]] = []  # (open, close, char)
        tokens = list(_lexer_for(lang).get_tokens_unprocessed(code))
        stack: list[tuple[int, str]] = []
        index = 0
        while index < len(tokens):
            pos, kind, value = tokens[index]
            quote = next((q for q in _QUOTES if value.startswith(q)), None) if kind in String else None
            if quote and kind not in String.Affix:
                # A literal is one token ("x" in JavaScript) or several (Python: quote, text, escapes,
                # f-string fields, quote); it ends at the string token that closes its quote.
                last = index
                if not (len(value) >= 2 * len(quote) and _closes(value, quote)):
                    last += 1
                    while last < len(tokens) and not (
                            tokens[last][1] in String and tokens[last][1] not in String.Escape
                            and _closes(tokens[last][2], quote)):
                        last += 1
                closed = last < len(tokens)
                last = min(last, len(tokens) - 1)
                end = tokens[last][0] + len(tokens[last][2])
                raw = code[pos + len(quote): end - len(quote) if closed else end]
                self.strings.append((pos, end, _unescape(raw)))
                index = last + 1
                continue
            if kind not in String and kind not in Comment:
                for offset, char in enumerate(value):
                    if char in "([{":
                        stack.append((pos + offset, char))
                    elif char in _CLOSERS and stack and stack[-1][1] == _CLOSERS[char]:
                        start, opener = stack.pop()
                        self.pairs.append((start, pos + offset, opener))
            index += 1
        self.pairs.sort()
        self._pair_opens = [p[0] for p in self.pairs]
        self._string_starts = {s[0]: s for s in self.strings}
        self._string_ends = {s[1]: s for s in self.strings}
        self._string_begins = [s[0] for s in self.strings]

    def pair_at(self, pos: int) -> tuple[int, int, str] | None:
        index = bisect.bisect_left(self._pair_opens, pos)
        return self.pairs[index] if index < len(self.pairs) and self.pairs[index][0] == pos else None

    def in_string(self, pos: int) -> bool:
        index = bisect.bisect_right(self._string_begins, pos) - 1
        return index >= 0 and self.strings[index][0] <= pos < self.strings[index][1]

    def innermost(self, pos: int, chars: str = "([{") -> tuple[int, int, str] | None:
        # Pairs are sorted by opening position; the innermost is the last opened one still open at pos.
        for index in range(bisect.bisect_left(self._pair_opens, pos) - 1, -1, -1):
            pair = self.pairs[index]
            if pair[1] > pos and pair[2] in chars:
                return pair
        return None

    def string_at(self, pos: int) -> tuple[int, int, str] | None:
        while pos < len(self.code) and self.code[pos] in " \t\n":
            pos += 1
        if pos < len(self.code) and self.code[pos] in "frbuFRBU" and pos + 1 < len(self.code) \
                and self.code[pos + 1] in "'\"":
            pos += 1
        return self._string_starts.get(pos)

    def keys(self, name: str, start: int = 0, end: int | None = None) -> list[int]:
        """Positions just after `name:` / `name=` / `'name':` (value start), outside strings."""
        end = len(self.code) if end is None else end
        found = []
        for m in re.finditer(rf"(?<![\w.])(['\"]?){re.escape(name)}\1\s*(:|=(?!=))\s*", self.code[start:end]):
            pos = start + m.start()
            quoted = bool(m.group(1))
            if (quoted and pos not in self._string_starts) or (not quoted and self.in_string(pos)):
                continue
            found.append(start + m.end())
        return found

    def value(self, pos: int) -> str | list[str] | None:
        literal = self.string_at(pos)
        if literal:
            return literal[2]
        if pos < len(self.code) and self.code[pos] == "[":
            pair = self.pair_at(pos)
            if pair is None:
                return None
            first = bisect.bisect_right(self._string_begins, pair[0])
            last = bisect.bisect_left(self._string_begins, pair[1])
            return [s[2] for s in self.strings[first:last] if self.innermost(s[0]) == pair]
        ident = re.match(r"[\w.]+", self.code[pos:])
        return ident.group(0) if ident else None

    def field(self, record: tuple[int, int, str], *names: str) -> str | list[str] | None:
        for name in names:
            for pos in self.keys(name, record[0] + 1, record[1]):
                if self.innermost(pos - 1) == record:
                    return self.value(pos)
        return None

    def key_before(self, pos: int) -> str | None:
        """The mapping key a record is the value of: `'agent_not_responding': {`."""
        code = self.code
        end = pos
        while end > 0 and code[end - 1].isspace():
            end -= 1
        if end == 0 or code[end - 1] != ":":
            return None
        end -= 1
        while end > 0 and code[end - 1].isspace():
            end -= 1
        literal = self._string_ends.get(end)
        if literal is not None:
            return literal[2]
        start = end
        while start > 0 and (code[start - 1].isalnum() or code[start - 1] == "_"):
            start -= 1
        return code[start:end] or None

    def excerpt(self, start: int, end: int) -> str:
        line_start = self.code.rfind("\n", 0, start) + 1
        line_end = self.code.find("\n", end)
        return textwrap.dedent(self.code[line_start: len(self.code) if line_end == -1 else line_end])

