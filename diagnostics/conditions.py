"""The condition language: one line per condition, in the spirit of Gatus.

    [STATUS] == 200
    [BODY].json.components.database == healthy
    len([BODY].json.items) > 0
    has([BODY].json.errors) == false
    [BODY] == pat(*"status":"ok"*)
    [RESPONSE_TIME] < 500ms
    [CERTIFICATE_EXPIRATION] > 30d

A condition is parsed when a check is saved (``parse_condition`` raises ``ConditionError`` with a message a
person can act on) and evaluated against a probe's observations at run time, where it can only pass or fail.
The full reference lives in docs/checks.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import re2

PLACEHOLDERS = (
    "STATUS", "RESPONSE_TIME", "BODY", "HEADER", "CONNECTED", "CERTIFICATE_EXPIRATION", "DNS_RCODE", "VALUE",
)
OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
FUNCTIONS = ("len", "has")

# Which placeholders each check type produces; anything else is a mistake we can catch at save time.
PLACEHOLDERS_BY_TYPE: dict[str, frozenset[str]] = {
    "http": frozenset({"STATUS", "RESPONSE_TIME", "BODY", "HEADER", "CONNECTED", "CERTIFICATE_EXPIRATION"}),
    "tcp": frozenset({"CONNECTED", "RESPONSE_TIME"}),
    "dns": frozenset({"DNS_RCODE", "BODY", "RESPONSE_TIME", "VALUE"}),
    "tls": frozenset({"CERTIFICATE_EXPIRATION", "CONNECTED", "RESPONSE_TIME", "VALUE"}),
    "postgres": frozenset({"CONNECTED", "RESPONSE_TIME", "VALUE", "BODY"}),
    "redis": frozenset({"CONNECTED", "RESPONSE_TIME", "VALUE", "BODY"}),
    "disk": frozenset({"VALUE"}),
    "memory": frozenset({"VALUE"}),
    "logfile": frozenset({"VALUE", "BODY"}),
}

_DURATION_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_MISSING = object()

_LHS = re.compile(
    r"""^\s*
    (?:(?P<func>len|has)\(\s*(?P<inner>\[[A-Z_]+\][^()\s]*)\s*\)   # len([BODY].json.items)
      |(?P<bare>\[[A-Z_]+\][^\s=!<>]*))                           # [BODY].json.status
    \s*(?P<op>==|!=|<=|>=|<|>)\s*
    (?P<rhs>.*?)\s*$""",
    re.VERBOSE,
)
_PLACEHOLDER = re.compile(r"^\[(?P<name>[A-Z_]+)\](?P<path>.*)$")
_PATH_SEGMENT = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h|d)$")
_PATTERN = re.compile(r"^pat\((?P<glob>.*)\)$")


class ConditionError(ValueError):
    """A condition that cannot be parsed or does not fit its check type."""


@dataclass(frozen=True)
class Operand:
    placeholder: str  # STATUS, BODY, ...
    path: tuple[str | int, ...] = ()  # [BODY].json.a[0] -> ("a", 0); [HEADER].name -> ("name",)
    json: bool = False
    function: str = ""  # "", "len" or "has"


@dataclass(frozen=True)
class Condition:
    text: str
    left: Operand
    operator: str
    kind: str  # "number", "bool", "string" or "pattern"
    right: Any  # float, bool, str, or a compiled RE2 pattern for kind == "pattern"


@dataclass(frozen=True)
class ConditionOutcome:
    condition: str
    passed: bool
    actual: str

    def as_dict(self) -> dict:
        return {"condition": self.condition, "passed": self.passed, "actual": self.actual}


def parse_condition(text: str, check_type: str | None = None) -> Condition:
    """Parse one condition; raise ConditionError saying what is wrong and how it should look."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("a condition cannot be empty")
    if len(text) > 500:
        raise ConditionError("a condition is limited to 500 characters")
    match = _LHS.match(text)
    if not match:
        raise ConditionError(
            f"cannot parse {text!r}: expected '<placeholder> <operator> <value>', e.g. '[STATUS] == 200' "
            f"(operators: {' '.join(OPERATORS)})"
        )
    function = match["func"] or ""
    left = _parse_operand(match["inner"] or match["bare"], function)
    if check_type and left.placeholder not in PLACEHOLDERS_BY_TYPE.get(check_type, frozenset()):
        allowed = ", ".join(f"[{p}]" for p in sorted(PLACEHOLDERS_BY_TYPE.get(check_type, ())))
        raise ConditionError(f"[{left.placeholder}] is not available for {check_type} checks (use {allowed})")
    operator, raw = match["op"], match["rhs"]
    if raw == "":
        raise ConditionError(f"{text!r} has no value after {operator}")
    if raw[0] in "=<>!":
        # "[STATUS] === 200" or "[STATUS] =< 5": a mistyped operator, not a value starting with "=".
        raise ConditionError(f"cannot parse {text!r}: the operator is one of {' '.join(OPERATORS)} "
                             "(quote a value that starts with = < > or !)")
    kind, right = _parse_literal(raw)
    if kind == "pattern" and operator not in ("==", "!="):
        raise ConditionError(f"pat() can only be compared with == or != (in {text!r})")
    if operator in ("<", "<=", ">", ">=") and kind != "number":
        raise ConditionError(f"{operator} needs a number or a duration such as 500ms or 30d, not {raw!r}")
    if function == "has" and kind != "bool":
        raise ConditionError(f"has() is compared with true or false (in {text!r})")
    if function == "len" and kind not in ("number",):
        raise ConditionError(f"len() is compared with a number (in {text!r})")
    return Condition(text=text.strip(), left=left, operator=operator, kind=kind, right=right)


def validate_conditions(conditions: Any, check_type: str | None = None) -> list[str]:
    """Every problem in a list of conditions, numbered as a person counts them; empty when all is well."""
    if not isinstance(conditions, list):
        return ["conditions must be a list of strings"]
    errors = []
    for number, text in enumerate(conditions, start=1):
        try:
            parse_condition(text, check_type)
        except ConditionError as exc:
            errors.append(f"condition {number}: {exc}")
    return errors


def _parse_operand(text: str, function: str) -> Operand:
    match = _PLACEHOLDER.match(text)
    name = match["name"] if match else ""
    if name not in PLACEHOLDERS:
        raise ConditionError(f"unknown placeholder {text.split(']')[0]}]; known: "
                             + ", ".join(f"[{p}]" for p in PLACEHOLDERS))
    rest = match["path"]
    if name == "HEADER":
        if not re.fullmatch(r"\.[A-Za-z0-9!#$%&'*+^_`|~-]+", rest):
            raise ConditionError("[HEADER] needs a header name, e.g. [HEADER].content-type")
        return Operand(placeholder=name, path=(rest[1:].lower(),), function=function)
    if not rest:
        return Operand(placeholder=name, function=function)
    if name != "BODY" or not (rest == ".json" or rest.startswith(".json.") or rest.startswith(".json[")):
        raise ConditionError(f"unexpected {rest!r} after [{name}]; only [BODY].json.<path> and "
                             "[HEADER].<name> take a path")
    path = rest[len(".json"):]
    segments: list[str | int] = []
    position = 0
    for segment in _PATH_SEGMENT.finditer(path):
        if segment.start() != position:
            break
        segments.append(segment[1] if segment[1] is not None else int(segment[2]))
        position = segment.end()
    if position != len(path):
        raise ConditionError(f"cannot read the JSON path {path!r}; write it like .components.database or .items[0].name")
    return Operand(placeholder=name, path=tuple(segments), json=True, function=function)


def _parse_literal(raw: str) -> tuple[str, Any]:
    pattern = _PATTERN.match(raw)
    if pattern:
        glob = pattern["glob"]
        if not glob:
            raise ConditionError("pat() needs a pattern, e.g. pat(*healthy*)")
        # Gatus-style globs: * is any run of characters, everything else is literal. RE2 keeps it linear.
        regex = ".*".join(re2.escape(part) for part in glob.split("*"))
        return "pattern", re2.compile(f"(?s)^{regex}$")
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return "bool", lowered == "true"
    if _NUMBER.match(raw):
        return "number", float(raw)
    duration = _DURATION.match(raw)
    if duration:
        return "number", float(duration["n"]) * _DURATION_MS[duration["unit"]]
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return "string", raw[1:-1]
    return "string", raw


# --- evaluation --------------------------------------------------------------------------------------


def evaluate(condition: Condition, observations: dict[str, Any]) -> ConditionOutcome:
    """Check one parsed condition against what a probe observed; never raises."""
    value = _resolve(condition.left, observations)
    left = condition.left
    if left.function == "has":
        value = value is not _MISSING and value is not None
    elif left.function == "len":
        value = _length(value)
    passed = _compare(value, condition)
    return ConditionOutcome(condition=condition.text, passed=passed, actual=_describe(value))


def _resolve(operand: Operand, observations: dict[str, Any]) -> Any:
    value = observations.get(operand.placeholder, _MISSING)
    if value is _MISSING:
        return _MISSING
    if operand.placeholder == "HEADER":
        headers = value or {}
        return headers.get(operand.path[0], _MISSING)
    if operand.json:
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return _MISSING
        for segment in operand.path:
            if isinstance(value, dict) and isinstance(segment, str) and segment in value:
                value = value[segment]
            elif isinstance(value, list) and _as_index(segment, len(value)) is not None:
                value = value[_as_index(segment, len(value))]
            else:
                return _MISSING
    return value


def _as_index(segment: str | int, size: int) -> int | None:
    try:
        index = int(segment)
    except (TypeError, ValueError):
        return None
    return index if 0 <= index < size else None


def _length(value: Any) -> Any:
    if value is _MISSING or value is None:
        return 0
    if isinstance(value, (str, bytes, list, dict)):
        return len(value)
    return len(str(value))


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value.strip())
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def _compare(value: Any, condition: Condition) -> bool:
    if value is _MISSING:
        # A missing value is only "not equal" to something.
        return condition.operator == "!=" and condition.kind != "pattern"
    op, right = condition.operator, condition.right
    if condition.kind == "pattern":
        matched = right.search(_as_text(value)) is not None
        return matched if op == "==" else not matched
    if condition.kind == "number":
        number = _as_number(value)
        if number is None:
            return op == "!="
        return {
            "==": number == right, "!=": number != right, "<": number < right,
            "<=": number <= right, ">": number > right, ">=": number >= right,
        }[op]
    if condition.kind == "bool":
        if isinstance(value, bool):
            equal = value is right
        else:
            equal = _as_text(value).strip().lower() == ("true" if right else "false")
        return equal if op == "==" else not equal
    equal = _as_text(value) == right
    return equal if op == "==" else not equal


def _describe(value: Any) -> str:
    if value is _MISSING:
        return "(missing)"
    text = _as_text(value)
    return text if len(text) <= 120 else text[:117] + "..."
