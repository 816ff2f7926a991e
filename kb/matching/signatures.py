"""Writes for symptom signatures: each is checked against its own examples before it is saved.

A literal is matched case-insensitively, with whitespace folded and variable parts (numbers, ids,
hosts, ports, paths, timestamps) masked on both sides (kb.matching.masking). A pattern is RE2 syntax, matched
case-insensitively against the raw line; RE2 runs in linear time, so no pattern can hang the matcher.
Every change moves the matcher's version, so each web and worker process rebuilds its copy.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import Signature, Symptom, SymptomSeverity, System
from .rules import literal_problem, pattern_problem, signature_matches_line
from .version import knowledge_version_bump

MAX_SIGNATURE_CHARS = 2000
MAX_EXAMPLES = 50
MAX_EXAMPLE_CHARS = 4000


def _clean_examples(values: list[str] | None) -> list[str]:
    return [value.strip() for value in (values or []) if value and value.strip()]


def _quote(text: str, limit: int = 80) -> str:
    return f"“{text if len(text) <= limit else text[:limit - 1] + '…'}”"


def signature_check(
    *, kind: str, text: str, positive_examples: list[str] | None = None, negative_examples: list[str] | None = None
) -> dict[str, list[str]]:
    """Problems per field ({} when the signature is fine); no Python `re` ever sees the user's pattern."""
    errors: dict[str, list[str]] = {}
    positives, negatives = _clean_examples(positive_examples), _clean_examples(negative_examples)
    if kind not in Signature.Kind.values:
        return {"kind": [f"Choose one of: {', '.join(Signature.Kind.values)}."]}
    if len(text) > MAX_SIGNATURE_CHARS:
        return {"text": [f"A signature is at most {MAX_SIGNATURE_CHARS} characters."]}
    problem = pattern_problem(text) if kind == Signature.Kind.PATTERN else literal_problem(text)
    if problem:
        return {"text": [problem]}
    for field, examples in (("positive_examples", positives), ("negative_examples", negatives)):
        if len(examples) > MAX_EXAMPLES:
            errors[field] = [f"At most {MAX_EXAMPLES} examples."]
        elif any(len(example) > MAX_EXAMPLE_CHARS for example in examples):
            errors[field] = [f"An example is at most {MAX_EXAMPLE_CHARS} characters."]
    if errors:
        return errors
    missed = [example for example in positives
              if not signature_matches_line(kind=kind, text=text, line=example)]
    if missed:
        errors["positive_examples"] = [f"Does not match {_quote(example)}." for example in missed]
    wrong = [example for example in negatives
             if signature_matches_line(kind=kind, text=text, line=example)]
    if wrong:
        errors["negative_examples"] = [f"Matches {_quote(example)}, which it must not." for example in wrong]
    return errors


def _knowledge_changed(symptom: Symptom) -> None:
    Symptom.objects.filter(pk=symptom.pk).update(updated_at=timezone.now())
    transaction.on_commit(knowledge_version_bump)


@transaction.atomic
def signature_save(
    *,
    symptom: Symptom,
    kind: str,
    text: str,
    positive_examples: list[str] | None = None,
    negative_examples: list[str] | None = None,
    signature: Signature | None = None,
) -> Signature:
    """Create (or, given ``signature``, change) a signature after checking it against its examples.

    Raises ValidationError (field -> messages) when RE2 refuses the pattern, the literal is too generic
    once masked, a positive example does not match or a negative one does. Nothing is saved then.
    """
    text = text.strip() if kind == Signature.Kind.LITERAL else text
    errors = signature_check(kind=kind, text=text, positive_examples=positive_examples,
                             negative_examples=negative_examples)
    if errors:
        raise ValidationError(errors)
    if signature is None:
        signature = Signature(symptom=symptom)
    signature.symptom = symptom
    signature.kind = kind
    signature.text = text
    signature.positive_examples = _clean_examples(positive_examples)
    signature.negative_examples = _clean_examples(negative_examples)
    signature.full_clean()
    signature.save()
    _knowledge_changed(symptom)
    return signature


@transaction.atomic
def signature_delete(*, signature: Signature) -> None:
    symptom = signature.symptom
    signature.delete()
    _knowledge_changed(symptom)


@transaction.atomic
def symptom_create_from_unknown(
    *,
    system: System,
    title: str,
    line: str,
    severity: str = SymptomSeverity.MEDIUM,
    description: str = "",
) -> Symptom:
    """Turn an unknown error line into a symptom with one literal signature (the line is its example)."""
    symptom = Symptom(system=system, title=title.strip(), severity=severity, description=description.strip())
    symptom.full_clean()
    symptom.save()
    line = line.strip()
    try:
        signature_save(symptom=symptom, kind=Signature.Kind.LITERAL, text=line, positive_examples=[line])
    except ValidationError as error:
        # The form shows one field for the line; report the signature's problems there.
        raise ValidationError({"line": _messages(error)}) from error
    return symptom


def _messages(error: ValidationError) -> list[Any]:
    if hasattr(error, "error_dict"):
        return [message for messages in error.message_dict.values() for message in messages]
    return list(error.messages)
