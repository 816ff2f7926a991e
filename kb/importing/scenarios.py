"""Scenarios described by code, for guides that are mostly code (one big block per heading).

Records with a `symptoms` list, `if issue == 'name'` branches that carry remediation actions, and YAML
runbook procedures with steps each become a section of their own.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..models import Risk, SymptomSeverity
from .blocks import Block
from .classify import anchor_for
from .code import CodeReader
from .extract import risk_for, shorten, tags_for, unique
from .shapes import ParsedSection, ParsedSolution, ParsedSymptom


@dataclass
class _Scenario:
    key: str
    title: str
    description: str = ""
    severity: str = SymptomSeverity.MEDIUM.value
    symptoms: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)
    solutions: list[ParsedSolution] = field(default_factory=list)
    excerpts: list[tuple[str, str]] = field(default_factory=list)  # (language, code)


_ACRONYMS = {"cpu", "api", "db", "dns", "ssl", "tls", "oom", "io", "http", "url", "mcp", "jwt", "llm", "ui", "ws"}


def _humanise(name: str) -> str:
    words = re.sub(r"[_\-]+", " ", name).strip().split()
    words = [w.upper() if w.lower() in _ACRONYMS else w.lower() for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _scenario_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [" ".join(str(v).split()) for v in value if str(v).strip()]
    return []


def _as_text(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    # f-string placeholders are runtime values; the reader only needs to know one goes there.
    return " ".join(re.sub(r"\{[^{}\n]*\}", "…", value).split())


def _severity_from(value: Any) -> str:
    word = str(value or "").rsplit(".", 1)[-1].lower()
    return word if word in SymptomSeverity.values else SymptomSeverity.MEDIUM.value


def _records_with_symptoms(code: CodeReader, lang: str) -> list[_Scenario]:
    scenarios = []
    for pos in code.keys("symptoms"):
        if pos >= len(code.code) or code.code[pos] != "[":
            continue
        record = code.innermost(pos - 1, "{(")
        if record is None:
            continue
        title = _as_text(code.field(record, "title", "name"))
        key = code.key_before(record[0])
        name = title or (_humanise(key) if key else "")
        if not name:
            continue
        solutions = [ParsedSolution(title=shorten(step, 255), steps_markdown=step, risk=risk_for(step))
                     for step in _as_list(code.field(record, "solutions", "remediation", "fixes", "resolutions"))]
        scenarios.append(_Scenario(
            key=_scenario_key(key or name), title=name,
            description=_as_text(code.field(record, "description", "summary")),
            severity=_severity_from(code.field(record, "severity")),
            symptoms=_as_list(code.field(record, "symptoms")),
            causes=_as_list(code.field(record, "potential_causes", "causes", "likely_causes", "root_causes")),
            diagnostics=_as_list(code.field(record, "diagnostics", "diagnostic_steps", "checks")),
            solutions=solutions,
            excerpts=[(lang, code.excerpt(record[0], record[1]))],
        ))
    return scenarios


_BRANCH_RE = re.compile(r"\bif\s*\(?\s*[\w.\[\]'\"]+\s*={2,3}\s*(['\"])([\w-]+)\1\s*\)?\s*(:|\{)")


def _branch_body(code: CodeReader, match: re.Match[str]) -> tuple[int, int]:
    if match.group(3) == "{":
        brace = match.end() - 1
        pair = code.pair_at(brace)
        return (brace, pair[1]) if pair else (brace, brace)
    # Python: the indented block under the `if` line.
    text = code.code
    line_start = text.rfind("\n", 0, match.start()) + 1
    indent = len(text[line_start:match.start()]) - len(text[line_start:match.start()].lstrip())
    pos = text.find("\n", match.end())
    end = len(text) if pos == -1 else pos
    while pos != -1:
        next_nl = text.find("\n", pos + 1)
        line = text[pos + 1: len(text) if next_nl == -1 else next_nl]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        end = len(text) if next_nl == -1 else next_nl
        pos = next_nl
    return match.end(), end


def _branch_scenarios(code: CodeReader, lang: str) -> list[_Scenario]:
    """`if issue == 'message_queue_overload'` branches that hold remediation action records."""
    scenarios = []
    for match in _BRANCH_RE.finditer(code.code):
        if code.in_string(match.start()):
            continue
        start, end = _branch_body(code, match)
        solutions = []
        for pos in code.keys("action", start, end):
            record = code.innermost(pos - 1, "{(")
            if record is None or record[0] < start:
                continue
            action = _as_text(code.field(record, "action", "name"))
            if not action:
                continue
            script = code.field(record, "script", "command")
            commands = _as_list(code.field(record, "commands"))
            note = _as_text(code.field(record, "verification", "expected_impact", "expected_result"))
            script_text = textwrap.dedent(script).strip() if isinstance(script, str) else "\n".join(commands)
            steps = "\n\n".join(part for part in (
                f"```bash\n{script_text}\n```" if script_text else "",
                f"Expected: {note}" if note else "",
            ) if part)
            if not steps:
                continue
            risk = _as_text(code.field(record, "risk_level", "risk")).lower()
            title = _humanise(action) if re.fullmatch(r"[a-z0-9_]+", action) else action
            solutions.append(ParsedSolution(title=shorten(title, 255), steps_markdown=steps,
                                            risk=risk if risk in Risk.values else risk_for(steps)))
        if solutions:
            name = match.group(2)
            scenarios.append(_Scenario(key=_scenario_key(name), title=_humanise(name), solutions=solutions,
                                       excerpts=[(lang, code.excerpt(match.start(), end))]))
    return scenarios


def _yaml_scenarios(source: str) -> list[_Scenario]:
    """Runbook procedures: mappings with a description and steps (each an action with commands)."""
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError:
        return []
    scenarios: list[_Scenario] = []

    def walk(node: Any, depth: int) -> None:
        if not isinstance(node, dict) or depth > 4:
            return
        for key, value in node.items():
            if isinstance(value, dict) and "steps" in value and isinstance(value.get("description"), str):
                steps = value["steps"]
                ordered = [steps[k] for k in sorted(steps, key=str)] if isinstance(steps, dict) else steps
                lines = []
                for number, step in enumerate(ordered if isinstance(ordered, list) else [], start=1):
                    if isinstance(step, dict):
                        lines.append(f"{number}. {_as_text(step.get('action')) or 'Step'}")
                        commands = _as_list(step.get("commands"))
                        if commands:
                            lines.append("   ```bash\n" + "\n".join(f"   {c}" for c in commands) + "\n   ```")
                    elif isinstance(step, str):
                        lines.append(f"{number}. {step}")
                steps_md = "\n".join(lines)
                title = _humanise(str(key))
                solutions = [ParsedSolution(title=f"Runbook: {title}", steps_markdown=steps_md,
                                            risk=risk_for(steps_md))] if steps_md else []
                dumped = yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True)
                scenarios.append(_Scenario(key=_scenario_key(str(key)), title=title,
                                           description=_as_text(value["description"]),
                                           symptoms=[_as_text(value["description"])], solutions=solutions,
                                           excerpts=[("yaml", dumped)]))
            else:
                walk(value, depth + 1)

    walk(data, 0)
    return scenarios


# Messages code prints or throws when something fails are error strings a reader will see:
# `cmd || echo "Redis connection failed"`, `throw new Error('Debug session not found')`.
_FAILURE_MESSAGE_RES = [
    re.compile(r"\|\|\s*echo\s+(['\"])([^'\"\n$`{}\\]{6,200})\1"),
    re.compile(r"\bthrow\s+new\s+\w*Error\(\s*(['\"`])([^'\"`\n${}\\]{6,200})\1"),
    re.compile(r"\braise\s+\w+(?:Error|Exception)\(\s*(['\"])([^'\"\n{}\\]{6,200})\1"),
]


def failure_messages(code: str) -> list[str]:
    found = []
    for pattern in _FAILURE_MESSAGE_RES:
        found += [m.group(2).strip() for m in pattern.finditer(code)]
    return unique([message for message in found if re.search(r"[A-Za-z]{3}", message)])


_MAX_SCENARIO_CODE = 200_000  # characters; bigger blocks are data dumps, not scenario code


def code_scenarios(blocks: list[Block]) -> list[_Scenario]:
    merged: dict[str, _Scenario] = {}
    for block in blocks:
        if block.kind != "fence" or len(block.content) > _MAX_SCENARIO_CODE:
            continue
        lang = block.info.split()[0].lower() if block.info else ""
        if lang in ("yaml", "yml"):
            found = _yaml_scenarios(block.content)
        else:
            code = CodeReader(block.content, lang)
            found = _records_with_symptoms(code, lang) + _branch_scenarios(code, lang)
        for scenario in found:
            if scenario.key in merged:
                target = merged[scenario.key]
                target.solutions += scenario.solutions
                target.excerpts += scenario.excerpts
                target.symptoms = unique(target.symptoms + scenario.symptoms)
                target.description = target.description or scenario.description
            else:
                merged[scenario.key] = scenario
    return list(merged.values())


def scenario_section(scenario: _Scenario, *, parent_path: str, parent_anchor: str) -> ParsedSection:
    parts: list[str] = []
    if scenario.description:
        parts.append(scenario.description)
    for heading, items in (("Symptoms", scenario.symptoms), ("Likely causes", scenario.causes),
                           ("Diagnostics", scenario.diagnostics)):
        if items:
            parts.append(f"## {heading}\n\n" + "\n".join(f"- {item}" for item in items))
    if scenario.solutions:
        parts.append("## Solutions\n\n" + "\n\n".join(
            f"### {solution.title}\n\n{solution.steps_markdown}" for solution in scenario.solutions))
    for lang, excerpt in scenario.excerpts:
        fence = "~~~~" if "```" in excerpt else "```"
        parts.append(f"## In the guide's code\n\n{fence}{lang}\n{excerpt.rstrip()}\n{fence}")
    body = "\n\n".join(parts)
    symptoms = [ParsedSymptom(title=shorten(s, 255), severity=scenario.severity) for s in scenario.symptoms]
    if not symptoms:
        symptoms = [ParsedSymptom(title=scenario.title, severity=scenario.severity)]
    seen: dict[str, int] = {}
    for solution in scenario.solutions:
        key = solution.title.lower()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            solution.title = f"{solution.title} ({seen[key]})"[:255]
    return ParsedSection(
        title=scenario.title[:255],
        heading_path=f"{parent_path} / {scenario.title}"[:500],
        anchor=f"{parent_anchor}-{anchor_for(scenario.title)}"[:255],
        body_markdown=body,
        summary=shorten(scenario.description or (scenario.symptoms[0] if scenario.symptoms else scenario.title)),
        symptoms=symptoms,
        solutions=scenario.solutions,
        tags=tags_for(scenario.title, body),
    )
