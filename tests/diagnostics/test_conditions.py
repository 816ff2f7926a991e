import pytest

from diagnostics.conditions import ConditionError, evaluate, parse_condition, validate_conditions

BODY = '{"status": "healthy", "components": {"database": "healthy", "redis": "down"}, "items": [{"name": "a"}, {"name": "b"}], "count": "7"}'
OBSERVED = {
    "STATUS": 200, "RESPONSE_TIME": 120.5, "BODY": BODY, "HEADER": {"content-type": "application/json"},
    "CONNECTED": True, "CERTIFICATE_EXPIRATION": 10 * 86_400_000, "DNS_RCODE": "NOERROR", "VALUE": 42,
}


def holds(text: str, observed: dict | None = None) -> bool:
    return evaluate(parse_condition(text), observed or OBSERVED).passed


@pytest.mark.parametrize("text", [
    "[STATUS] == 200",
    "[STATUS] != 500",
    "[STATUS] < 300",
    "[RESPONSE_TIME] <= 500ms",
    "[RESPONSE_TIME] > 100",
    "[BODY].json.status == healthy",
    '[BODY].json.status == "healthy"',
    "[BODY].json.components.database == healthy",
    "[BODY].json.items[1].name == b",
    "[BODY].json.items.0.name == a",
    "[BODY].json.count >= 7",
    "len([BODY].json.items) == 2",
    "len([BODY]) > 10",
    "has([BODY].json.components) == true",
    "has([BODY].json.errors) == false",
    "[BODY] == pat(*healthy*)",
    "[BODY].json.components.redis != pat(up*)",
    "[HEADER].Content-Type == application/json",
    '[BODY].json.status != "=x"',
    "[CONNECTED] == true",
    "[CERTIFICATE_EXPIRATION] > 7d",
    "[CERTIFICATE_EXPIRATION] < 241h",
    "[DNS_RCODE] == NOERROR",
    "[VALUE] >= 42",
])
def test_conditions_that_hold(text):
    assert holds(text)


@pytest.mark.parametrize("text", [
    "[STATUS] == 404",
    "[RESPONSE_TIME] < 100ms",
    "[BODY].json.components.redis == healthy",
    "[BODY].json.missing == anything",
    "[BODY].json.items[5].name == a",
    "len([BODY].json.items) > 2",
    "has([BODY].json.errors) == true",
    "[BODY] == pat(*unhealthy*)",
    "[CERTIFICATE_EXPIRATION] > 30d",
    "[CONNECTED] == false",
    "[HEADER].x-missing == yes",
])
def test_conditions_that_fail(text):
    assert not holds(text)


def test_failed_condition_reports_the_actual_value():
    outcome = evaluate(parse_condition("[BODY].json.components.redis == healthy"), OBSERVED)
    assert outcome.actual == "down"
    assert evaluate(parse_condition("[BODY].json.nope == x"), OBSERVED).actual == "(missing)"


def test_ordering_against_non_number_fails_instead_of_raising():
    assert not holds("[BODY].json.status > 3")


def test_body_that_is_not_json_makes_json_paths_missing():
    assert not holds("[BODY].json.status == ok", {"BODY": "<html>"})
    assert holds("has([BODY].json.status) == false", {"BODY": "<html>"})


def test_pattern_is_a_literal_glob_not_a_regex():
    assert holds("[BODY] == pat(a.c*)", {"BODY": "a.cdef"})
    assert not holds("[BODY] == pat(a.c*)", {"BODY": "abcdef"})


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("STATUS == 200", "cannot parse"),
    ("[STATUS] = 200", "cannot parse"),
    ("[STATUS] === 200", "the operator is one of"),
    ("[STATUS] =< 200", "cannot parse"),
    ("[STATUS] ==", "no value"),
    ("[STAUTS] == 200", "unknown placeholder"),
    ("[STATUS] > healthy", "needs a number"),
    ("[BODY] < pat(*x*)", "only be compared with == or !="),
    ("[BODY].status == x", "only [BODY].json"),
    ("[BODY].json..a == x", "JSON path"),
    ("[HEADER] == x", "header name"),
    ("has([BODY].json.a) == 1", "true or false"),
    ("len([BODY]) == many", "number"),
    ("[BODY] == pat()", "needs a pattern"),
])
def test_parse_errors_say_what_is_wrong(text, message):
    with pytest.raises(ConditionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_condition(text)


def test_placeholder_must_fit_the_check_type():
    with pytest.raises(ConditionError, match=r"\[STATUS\] is not available for tcp checks"):
        parse_condition("[STATUS] == 200", "tcp")
    assert parse_condition("[CONNECTED] == true", "tcp")


def test_validate_conditions_numbers_every_problem():
    errors = validate_conditions(["[STATUS] == 200", "nonsense", "[DNS_RCODE] == NOERROR"], "http")
    assert len(errors) == 2
    assert errors[0].startswith("condition 2:")
    assert errors[1].startswith("condition 3:")
    assert validate_conditions("[STATUS] == 200") == ["conditions must be a list of strings"]
