"""Saving signatures (kb.matching.signatures): checked against their own examples, RE2 only, nothing half-saved."""

import time

import pytest
from django.core.exceptions import ValidationError

from kb import matching
from kb.matching.signatures import signature_delete, signature_save, symptom_create_from_unknown
from kb.models import Signature, Symptom
from tests.factories import SignatureFactory, SymptomFactory, SystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_matcher():
    matching.matcher_reset()
    yield
    matching.matcher_reset()


@pytest.fixture
def symptom():
    return SymptomFactory(title="Redis unreachable")


def test_a_literal_is_saved_when_its_examples_agree(symptom):
    signature = signature_save(
        symptom=symptom, kind=Signature.Kind.LITERAL, text="  Error 111 connecting to localhost:6379  ",
        positive_examples=["Error 111 connecting to redis-0:6380. Connection refused.", " "],
        negative_examples=["Error 111 connecting to nothing at all"],
    )

    signature.refresh_from_db()
    assert signature.text == "Error 111 connecting to localhost:6379"
    assert signature.positive_examples == ["Error 111 connecting to redis-0:6380. Connection refused."]


def test_a_positive_example_that_does_not_match_is_reported_and_nothing_is_saved(symptom):
    with pytest.raises(ValidationError) as caught:
        signature_save(symptom=symptom, kind=Signature.Kind.LITERAL, text="database is locked",
                       positive_examples=["database is locked", "table is locked"])

    assert caught.value.message_dict["positive_examples"] == ["Does not match “table is locked”."]
    assert not Signature.objects.exists()


def test_a_negative_example_that_matches_is_reported(symptom):
    with pytest.raises(ValidationError) as caught:
        signature_save(symptom=symptom, kind=Signature.Kind.PATTERN, text=r"timed? ?out after \d+",
                       negative_examples=["request timed out after 30s"])

    assert "must not" in caught.value.message_dict["negative_examples"][0]


@pytest.mark.parametrize(("pattern", "reason"), [
    ("(?<=user )denied", "invalid perl operator"),
    (r"(a)\1", "invalid escape sequence"),
    ("(unclosed", "missing )"),
])
def test_a_pattern_re2_rejects_is_refused_with_re2s_reason(symptom, pattern, reason):
    with pytest.raises(ValidationError) as caught:
        signature_save(symptom=symptom, kind=Signature.Kind.PATTERN, text=pattern)

    message = caught.value.message_dict["text"][0]
    assert message.startswith("RE2 cannot compile this pattern") and reason in message
    assert not Signature.objects.exists()


def test_a_pattern_that_matches_every_line_is_refused(symptom):
    with pytest.raises(ValidationError, match="every line"):
        signature_save(symptom=symptom, kind=Signature.Kind.PATTERN, text="x*")


@pytest.mark.parametrize("text", ["Error 401", "127.0.0.1:5432", "", "   "])
def test_a_literal_with_nothing_distinctive_left_after_masking_is_refused(symptom, text):
    with pytest.raises(ValidationError):
        signature_save(symptom=symptom, kind=Signature.Kind.LITERAL, text=text)


def test_a_catastrophic_backtracking_pattern_is_checked_and_saved_in_linear_time(symptom):
    hostile = "a" * 50_000 + "!"
    started = time.perf_counter()
    signature_save(symptom=symptom, kind=Signature.Kind.PATTERN, text="^(a+)+$",
                   positive_examples=["aaaa"], negative_examples=["a" * 3990 + "!"])

    assert time.perf_counter() - started < 2
    started = time.perf_counter()
    result = matching.symptom_match_text(text=hostile, user=None)
    assert time.perf_counter() - started < 2
    assert result.matches == []


def test_a_saved_signature_is_used_by_the_next_match(symptom):
    assert matching.symptom_match_text(text="Error 111 connecting to redis-0:6380", user=None).matches == []

    signature_save(symptom=symptom, kind=Signature.Kind.LITERAL, text="Error 111 connecting to localhost:6379")

    result = matching.symptom_match_text(text="Error 111 connecting to redis-0:6380", user=None)
    assert [m.symptom for m in result.matches] == [symptom]


def test_changing_a_signature_in_place_rebuilds_the_matcher(symptom):
    signature = signature_save(symptom=symptom, kind=Signature.Kind.LITERAL, text="database is locked")
    assert matching.symptom_match_text(text="database is locked", user=None).matches

    signature_save(symptom=symptom, kind=Signature.Kind.LITERAL, text="disk is full", signature=signature)

    assert matching.symptom_match_text(text="database is locked", user=None).matches == []
    assert matching.symptom_match_text(text="disk is full", user=None).matches


def test_deleting_a_signature_stops_it_matching(symptom):
    signature = SignatureFactory(symptom=symptom, text="database is locked")
    assert matching.symptom_match_text(text="database is locked", user=None).matches

    signature_delete(signature=signature)

    assert matching.symptom_match_text(text="database is locked", user=None).matches == []


def test_an_unknown_error_becomes_a_symptom_with_its_line_as_literal_signature():
    system = SystemFactory(name="Billing", slug="billing")

    symptom = symptom_create_from_unknown(system=system, title="Ledger rejects batches",
                                          line="ledger batch 42 rejected: checksum mismatch on shard 7")

    signature = symptom.signatures.get()
    assert (signature.kind, signature.positive_examples) == ("literal", [signature.text])
    result = matching.symptom_match_text(text="ERROR ledger batch 9001 rejected: checksum mismatch on shard 2",
                                         user=None)
    assert [m.symptom for m in result.matches] == [symptom]


def test_an_unknown_error_too_generic_to_match_creates_nothing():
    system = SystemFactory()

    with pytest.raises(ValidationError) as caught:
        symptom_create_from_unknown(system=system, title="Something", line="500 1234 0x1f")

    assert "line" in caught.value.message_dict
    assert not Symptom.objects.exists() and not Signature.objects.exists()
