"""Reading records out of code blocks: Pygments finds the strings, comments and brackets per language."""

import pytest

from kb.importing.code import CodeReader


def record_at(reader: CodeReader, text: str) -> tuple[int, int, str]:
    pair = reader.pair_at(reader.code.index(text))
    assert pair is not None, f"no bracket pair opens at {text!r}"
    return pair


def test_python_record_fields_are_read_and_comments_are_not_code():
    code = (
        "ISSUES = {\n"
        "    # a comment with a quote ' and a brace { is not code\n"
        "    'queue_overload': {\n"
        "        'title': 'Queue overload',\n"
        "        'symptoms': ['Tasks pile up', \"Workers idle (really)\"],\n"
        "    },\n"
        "}\n"
    )
    reader = CodeReader(code, "python")

    record = record_at(reader, "{\n        'title'")

    assert reader.field(record, "title") == "Queue overload"
    assert reader.field(record, "symptoms") == ["Tasks pile up", "Workers idle (really)"]
    assert reader.key_before(record[0]) == "queue_overload"
    assert not any("comment" in value for _, _, value in reader.strings)


def test_an_f_string_is_one_literal_that_keeps_its_field():
    reader = CodeReader('raise RuntimeError(f"Agent {agent_id} not responding")\n', "python")

    assert [value for _, _, value in reader.strings] == ["Agent {agent_id} not responding"]


def test_an_escaped_quote_does_not_end_a_javascript_string():
    reader = CodeReader('const e = { message: "say \\"hi\\" (twice)" };\n', "javascript")

    record = record_at(reader, "{ message")
    assert reader.field(record, "message") == 'say "hi" (twice)'


def test_brackets_in_strings_and_block_comments_do_not_pair():
    code = "/* ( */ const x = [\"[\", { a: 1 }];\n"
    reader = CodeReader(code, "javascript")

    assert [(code[start], code[end]) for start, end, _ in reader.pairs] == [("[", "]"), ("{", "}")]


def test_json_keys_are_strings_so_records_can_be_read():
    reader = CodeReader('{"disk_full": {"title": "Disk full", "symptoms": ["No space left on device"]}}', "json")

    record = record_at(reader, '{"title"')
    assert reader.field(record, "symptoms") == ["No space left on device"]


@pytest.mark.parametrize("lang", ["", "no-such-language"])
def test_unmarked_or_unknown_fences_are_read_with_python_rules(lang):
    reader = CodeReader("x = {'title': 'Port taken'}  # {'title': 'ignored'}\n", lang)

    assert [value for _, _, value in reader.strings] == ["title", "Port taken"]
