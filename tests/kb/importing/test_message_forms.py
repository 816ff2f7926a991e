"""The parts of an error message a reader quotes alone, and the places new error strings were found in:
each test pastes what a reader would (a part of the message, or the same message with other values) and
checks that a stored signature matches it, or that a too-common part is never stored."""

import pytest

from kb.importing import parse_guide
from kb.importing.forms import message_forms, too_common, without_variable_tail
from kb.matching.rules import signature_for_message, signature_matches_line


def signatures_of(text: str) -> list[str]:
    return [sig for section in parse_guide(text) for symptom in section.symptoms for sig in symptom.signatures]


def matches(text: str, line: str) -> bool:
    forms = [signature_for_message(sig) for sig in signatures_of(text)]
    return any(signature_matches_line(kind=kind, text=stored, line=line) for kind, stored in filter(None, forms))


def test_a_link_of_a_chained_message_is_a_form_of_its_own():
    message = ('Failed to pull image "registry.test/app:1": rpc error: code = Unknown desc = failed to resolve '
               'image: pull access denied, repository does not exist or may require authorization: server '
               'message: insufficient_scope')
    assert "pull access denied, repository does not exist or may require authorization" in message_forms(message)


def test_grpc_description_and_the_next_link_make_one_form():
    message = "rpc error: code = 2 desc = oci runtime error: exec failed: container_linux.go:247: starting"
    assert "oci runtime error: exec failed" in message_forms(message)


def test_a_message_quoted_inside_a_message_is_a_form():
    message = 'starting container process caused "decoding init error caused \\"read parent: connection reset by peer\\""'
    assert "read parent: connection reset by peer" in message_forms(message)


def test_the_message_without_its_variable_tail_is_a_form():
    assert without_variable_tail('Error: While trying to resolve module "@scope/pkg" from file "/src/App.js"') == (
        'Error: While trying to resolve module "@scope/pkg" from file')
    assert without_variable_tail("widgetd: bind failed: Address already in use (port 7070)") == (
        "widgetd: bind failed: Address already in use")


def test_the_words_after_a_variable_head_are_a_form():
    forms = message_forms("Error: https://git.test/user/repo.git/info/refs not found: did you run git")
    assert "not found: did you run git" in forms


def test_a_later_sentence_is_a_form_when_it_reads_as_an_error():
    forms = message_forms('The package "/a/package.json" was found. However, this package specifies a "main" '
                          'module field that could not be resolved ("/a/src/index.tsx"')
    assert 'However, this package specifies a "main" module field that could not be resolved' in forms


@pytest.mark.parametrize("part", ["No such file or directory", "dial tcp 10.0.0.1:80: connect: connection refused",
                                  "Address already in use (port 7070)"])
def test_a_part_that_says_no_more_than_a_common_cause_is_too_common(part):
    assert too_common(part)


def test_common_cause_alone_is_never_stored_as_a_part():
    forms = message_forms("ls: cannot access 'x.log': No such file or directory")
    assert "No such file or directory" not in forms


def test_a_part_without_an_error_word_or_with_three_words_is_not_a_form():
    forms = message_forms("Readiness probe failed: Get http://10.0.0.1/healthz: the pod restarted: sidecar gone")
    assert "the pod restarted" not in forms and "sidecar gone" not in forms


def test_a_template_sentence_after_its_placeholder_is_a_form_without_an_error_word():
    guide = ('# G\n\n## `P3004`\n\n"The `{database_name}` database is a system database, it should not be altered '
             'with prisma migrate. Please connect to another database."\n')
    assert matches(guide, "database is a system database, it should not be altered with prisma migrate.")


def test_a_quote_left_open_to_the_end_of_the_paragraph_is_one_message():
    guide = ('# G\n\n## `P3014`\n\n"Prisma Migrate could not create the shadow database. Please make sure the '
             'database user has permission to create databases.\n\nOriginal error: {error_code}"\n')
    assert matches(guide, "Prisma Migrate could not create the shadow database.")


def test_a_heading_quote_left_open_gives_the_runs_between_stand_ins():
    guide = "# G\n\n## I'm getting \"Module '[...]' has no exported member 'xxx' when using TypeScript\n\nUpgrade.\n"
    assert matches(guide, "error TS2305: Module '\"./nav\"' has no exported member 'Screen'.")
    assert "when using TypeScript" not in signatures_of(guide)


def test_a_question_heading_names_its_message_without_quotes():
    guide = ("# G\n\n## Why Am I Getting rpc error: code = Unavailable desc = transport is closing When Using "
             "The CLI?\n\nRaise the timeout.\n")
    assert matches(guide, "rpc error: code = Unavailable desc = transport is closing")


def test_a_line_under_an_error_line_reports_the_same_failure():
    guide = ("# G\n\n## Linking\n\n```\nError: The `brew link` step did not complete successfully\n"
             "The formula built, but is not symlinked into /usr/local\n\nRunning the next step\n```\n")
    sigs = signatures_of(guide)
    assert "The formula built, but is not symlinked into /usr/local" in sigs
    assert "Running the next step" not in sigs


def test_a_line_split_after_a_colon_is_read_as_one_message():
    guide = ("# G\n\n## Kubelet\n\n- Check the logs:\n\n  ```shell\n  error: failed to run Kubelet: failed to create"
             " kubelet:\n  misconfiguration: kubelet cgroup driver: \"systemd\" is different from docker cgroup "
             "driver: \"cgroupfs\"\n  ```\n")
    assert matches(guide, 'misconfiguration: kubelet cgroup driver: "systemd" is different from docker cgroup '
                          'driver: "cgroupfs"')


def test_the_message_column_of_aligned_output_is_a_signature():
    guide = ("# G\n\n## Pod restarts\n\n```\nType     Reason     Age   From     Message\n"
             "Warning  BackOff    3m2s  kubelet  Back-off restarting failed container\n```\n")
    assert matches(guide, "Back-off restarting failed container")


def test_a_klog_source_location_is_not_part_of_the_message():
    guide = "# G\n\n## Proxy\n\nThe logs show:\n\n```\nproxier.go:340] invalid nodeIP, initializing with 10.0.0.1\n```\n"
    assert matches(guide, "invalid nodeIP, initializing with 10.9.9.9")


def test_inline_html_in_a_code_block_is_dropped():
    guide = "# G\n\n## Clone\n\n```shell\n> fatal: repository 'https://h.test/<em>user</em>/repo' not found\n```\n"
    assert not any("<em>" in sig for sig in signatures_of(guide))


def test_bold_advice_is_not_a_message_but_a_bold_error_is():
    guide = ("# G\n\n## Startup\n\n**Check file permissions** first. Then you may hit "
             "**Cannot connect to the Docker daemon** again.\n")
    sigs = signatures_of(guide)
    assert "Cannot connect to the Docker daemon" in sigs and "Check file permissions" not in sigs


def test_mkdocs_content_tab_body_is_text_not_code():
    guide = '# G\n\n## Install fails\n\n=== "macOS"\n\n    You may see `xcrun: error: invalid active developer path`.\n'
    assert "xcrun: error: invalid active developer path" in signatures_of(guide)


def test_a_long_camel_case_alert_heading_is_a_signature_and_a_product_name_is_not():
    guide = "# G\n\n## KubeAPIErrorBudgetBurn\n\nThe API server is burning its error budget.\n\n## PostgreSQL\n\nText.\n"
    sigs = signatures_of(guide)
    assert "KubeAPIErrorBudgetBurn" in sigs and "PostgreSQL" not in sigs
