"""Checks as YAML: import (create or update by slug, all or nothing) and export that round-trips exactly.

    checks:
    - slug: coordinaitor-api-health
      name: CoordinAItor API health
      type: http
      target: http://localhost:3000/health
      conditions:
      - '[STATUS] == 200'

Only ``slug``, ``name`` and ``type`` are required on import; every other key has the model's default.
Export writes every key in a fixed order, so export -> import -> export gives the same text, and importing
an unchanged file changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Check
from .services import check_create, check_update

# YAML key -> model field, in export order.
KEYS: dict[str, str] = {
    "slug": "slug",
    "name": "name",
    "description": "description",
    "type": "type",
    "target": "target",
    "parameters": "parameters",
    "conditions": "conditions",
    "timeout": "timeout_seconds",
    "retries": "retries",
    "warning": "warning_threshold",
    "critical": "critical_threshold",
    "enabled": "enabled",
    "interval": "interval_seconds",
    "failure_threshold": "failure_threshold",
    "success_threshold": "success_threshold",
}
REQUIRED = ("slug", "name", "type")
MAX_CHECKS = 5000


class ChecksImportError(ValueError):
    """The document is not valid; ``errors`` lists every problem, nothing was saved."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:5]) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""))
        self.errors = errors


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def _plain_number(value: float | None) -> float | int | None:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def check_to_dict(check: Check) -> dict[str, Any]:
    data = {}
    for key, attribute in KEYS.items():
        value = getattr(check, attribute)
        if attribute in ("timeout_seconds", "warning_threshold", "critical_threshold"):
            value = _plain_number(value)
        data[key] = value
    return data


def checks_export_yaml(checks: list[Check] | None = None) -> str:
    checks = list(checks if checks is not None else Check.objects.order_by("slug"))
    document = {"checks": [check_to_dict(check) for check in sorted(checks, key=lambda c: c.slug)]}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)


def _parse(text: str) -> list[dict]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ChecksImportError([f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}"]) from exc
    if document is None:
        return []
    items = document.get("checks") if isinstance(document, dict) else document
    if isinstance(document, dict) and set(document) - {"checks"}:
        raise ChecksImportError([f"unexpected top-level keys: {', '.join(sorted(map(str, set(document) - {'checks'})))}"])
    if items is None:
        return []
    if not isinstance(items, list):
        raise ChecksImportError(["expected a list of checks under 'checks:'"])
    if len(items) > MAX_CHECKS:
        raise ChecksImportError([f"at most {MAX_CHECKS} checks per file"])
    return items


def _fields_from_item(index: int, item: Any, errors: list[str]) -> dict[str, Any] | None:
    label = f"checks[{index}]"
    if not isinstance(item, dict):
        errors.append(f"{label}: expected a mapping")
        return None
    if isinstance(item.get("slug"), str):
        label += f" ({item['slug']})"
    unknown = set(map(str, item)) - set(KEYS)
    if unknown:
        errors.append(f"{label}: unknown keys {', '.join(sorted(unknown))}")
        return None
    missing = [key for key in REQUIRED if not item.get(key)]
    if missing:
        errors.append(f"{label}: missing {', '.join(missing)}")
        return None
    defaults = {f.name: f.get_default() for f in Check._meta.get_fields() if f.name in KEYS.values()}
    fields = dict(defaults)
    for key, value in item.items():
        attribute = KEYS[key]
        if attribute in ("description", "target") and value is None:
            value = ""
        if attribute in ("parameters",) and value is None:
            value = {}
        if attribute in ("conditions",) and value is None:
            value = []
        fields[attribute] = value
    return fields


def checks_import_yaml(text: str, *, created_by: Any = None) -> ImportReport:
    """Create or update every check in ``text``; raise ChecksImportError listing all problems, saving none."""
    items = _parse(text)
    errors: list[str] = []
    parsed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        fields = _fields_from_item(index, item, errors)
        if fields is None:
            continue
        if fields["slug"] in seen:
            errors.append(f"checks[{index}]: slug {fields['slug']!r} appears twice")
            continue
        seen.add(fields["slug"])
        parsed.append(fields)
    if errors:
        raise ChecksImportError(errors)

    report = ImportReport()
    existing = {c.slug: c for c in Check.objects.filter(slug__in=list(seen))}
    with transaction.atomic():
        for index, fields in enumerate(parsed):
            slug = fields["slug"]
            try:
                check = existing.get(slug)
                if check is None:
                    check = check_create(created_by=created_by, **fields)
                    report.created.append(slug)
                elif all(getattr(check, name) == value for name, value in fields.items()):
                    report.unchanged.append(slug)
                else:
                    check = check_update(check=check, **fields)
                    report.updated.append(slug)
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    key = next((k for k, v in KEYS.items() if v == name), name)
                    errors.extend(f"checks[{index}] ({slug}): {key}: {message}" for message in messages)
                continue
            except (TypeError, ValueError) as exc:
                errors.append(f"checks[{index}] ({slug}): {exc}")
                continue
            report.checks.append(check)
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ChecksImportError(errors)
    return report
