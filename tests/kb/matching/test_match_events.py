"""A stack trace is one event: its frames are context, never unknown errors of their own."""

import time

import pytest

from kb import matching
from tests.factories import SignatureFactory, SymptomFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_matcher():
    matching.matcher_reset()
    yield
    matching.matcher_reset()


PYTHON_CHAINED = """Traceback (most recent call last):
  File "/app/error_handler.py", line 3, in <module>
    raise ValueError("bad error")
  File "/app/jobs.py", line 5, in run
    total = compute(rows)
            ^^^^^^^^^^^^^
ValueError: invalid literal for int() with base 10: 'x'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/jobs.py", line 9, in <module>
    handle_error(job)
KeyError: 'failed_jobs'
"""
JAVA = """Exception in thread "main" java.lang.IllegalStateException: pool failed to start
\tat com.acme.pool.ErrorHandler.handle(ErrorHandler.java:10)
\tat com.acme.Main.main(Main.java:5)
Caused by: java.io.IOException: disk error while writing
\tat com.acme.disk.Disk.write(Disk.java:3)
\t... 3 more
"""
NODE = """TypeError: Cannot read properties of undefined (reading 'id')
    at handleError (/srv/app/src/errors.js:10:5)
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)
"""
GO = """panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.failOnError(...)
\t/app/errors.go:12 +0x1d
main.main()
\t/app/main.go:8 +0x18
"""
DOTNET = """Unhandled exception. System.InvalidOperationException: Sequence contains no elements
   at MyApp.Errors.ErrorService.Run() in C:\\src\\ErrorService.cs:line 12
   at MyApp.Program.Main(String[] args) in C:\\src\\Program.cs:line 5
"""


@pytest.mark.parametrize(("trace", "event"), [
    (PYTHON_CHAINED, "ValueError: invalid literal for int() with base 10: 'x'"),
    (JAVA, 'Exception in thread "main" java.lang.IllegalStateException: pool failed to start'),
    (NODE, "TypeError: Cannot read properties of undefined (reading 'id')"),
    (GO, "panic: runtime error: index out of range [5] with length 3"),
    (DOTNET, "Unhandled exception. System.InvalidOperationException: Sequence contains no elements"),
], ids=["python-chained", "java-caused-by", "node", "go-panic", "dotnet"])
def test_a_stack_trace_is_one_unknown_event_and_its_frames_are_context(trace, event):
    result = matching.symptom_match_text(text=trace, related=False)

    assert [group.example for group in result.unknown] == [event]


def test_errors_on_either_side_of_a_trace_stay_events_of_their_own():
    text = ("ERROR scheduler failed to claim job 7\n" + NODE + "ERROR billing export failed: quota exceeded\n")

    result = matching.symptom_match_text(text=text, related=False)

    assert sorted(group.example for group in result.unknown) == [
        "TypeError: Cannot read properties of undefined (reading 'id')",
        "billing export failed: quota exceeded",
        "scheduler failed to claim job 7",
    ]


def test_a_trace_whose_exception_a_signature_knows_shows_the_symptom_and_no_unknown_error():
    symptom = SymptomFactory(title="Disk is failing")
    SignatureFactory(symptom=symptom, text="java.io.IOException: disk error while writing")

    result = matching.symptom_match_text(text=JAVA, related=False)

    assert [item.symptom.title for item in result.matches] == ["Disk is failing"]
    assert result.matches[0].line_numbers == [4]
    # The header line opened the same trace: still one event, already shown as unknown.
    assert [group.example for group in result.unknown] == [JAVA.splitlines()[0]]


def test_a_ten_thousand_frame_traceback_is_one_event_in_bounded_time():
    frames = "".join(f'  File "/app/error_module_{i}.py", line {i}, in on_error_{i}\n    handle_error_{i}()\n'
                     for i in range(10_000))
    text = "Traceback (most recent call last):\n" + frames + "RecursionError: maximum recursion depth exceeded\n"

    started = time.perf_counter()
    result = matching.symptom_match_text(text=text, related=False)

    assert time.perf_counter() - started < 10
    assert [group.example for group in result.unknown] == ["RecursionError: maximum recursion depth exceeded"]
