"""Hostile input to the matcher, through the API and the page: a 5 MB single line, binary data, a
10,000-frame traceback and 100,000 distinct unknown lines each get bounded time and memory and a clear
answer, never a 500."""

import time
import tracemalloc
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kb import matching
from kb.matching import retrieval
from kb.matching.clustering import MAX_UNKNOWN_GROUPS
from kb.matching.service import EVENT_CHARS, MAX_RELATED_EVENTS, WHOLE_EVENT_CHARS

pytestmark = pytest.mark.django_db
URL = "/api/v1/match/"
SECONDS = 30  # generous: the machine running the suite is shared; the measured times are far lower
LONG_LINE = "ERROR " + "x" * (5 * 1024 * 1024)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64
CONTROL_TEXT = "".join(chr(code) for code in range(1, 9)) * 2000


def _frames(count: int) -> str:
    frames = "".join(f'  File "/srv/app/error_module_{i}.py", line {i}, in on_error_{i}\n    handle_error_{i}()\n'
                     for i in range(count))
    return "Traceback (most recent call last):\n" + frames + "RecursionError: maximum recursion depth exceeded\n"


def _word(number: int) -> str:
    """Letters only (g-z), so masking keeps every line distinct."""
    letters, number = "", number + 1000
    while number:
        letters += "ghijklmnopqrstuvwxyz"[number % 20]
        number //= 20
    return letters


DISTINCT = "".join(f"ERROR {_word(i)} {_word(i * 7 + 3)} failed: {_word(i * 13 + 5)} refused\n"
                   for i in range(100_000))


@pytest.fixture(autouse=True)
def _signed_in(api_client, client, user):
    # Anonymous callers may send only about 1 MB to the matcher (common.middleware); these inputs are larger.
    api_client.force_login(user)
    client.force_login(user)


def _form(data: dict) -> dict:
    """A urlencoded form post: the page's multipart form counts a text field against Django's small
    global limit, so big pastes reach the page this way (or as a file upload)."""
    return {"data": urlencode(data), "content_type": "application/x-www-form-urlencoded"}


@pytest.fixture(autouse=True)
def _fresh_matcher(monkeypatch):
    matching.matcher_reset()
    calls = []

    def lookup(*, events, **kwargs):
        calls.append(events)
        return []

    monkeypatch.setattr(retrieval, "related_lookup", lookup)
    yield calls
    matching.matcher_reset()


def _timed_post(client, *args, **kwargs):
    started = time.perf_counter()
    response = client.post(*args, **kwargs)
    assert time.perf_counter() - started < SECONDS
    return response


def test_a_5_mb_single_line_is_cut_with_a_notice_in_bounded_memory(api_client, client):
    tracemalloc.start()
    try:
        result = matching.symptom_match_text(text=LONG_LINE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024  # the input itself is 5 MB; the scan adds a bounded amount

    api = _timed_post(api_client, URL, {"text": LONG_LINE}, format="json")
    page = _timed_post(client, reverse("kb:match"), **_form({"text": LONG_LINE}))

    assert api.status_code == 200 and page.status_code == 200
    assert any("longer than 64 kB" in notice for notice in api.json()["notices"] + result.notices)
    assert "longer than 64 kB; only the start of each was checked." in page.content.decode()


def test_binary_data_is_refused_with_a_clear_400(api_client, client):
    upload = SimpleUploadedFile("image.png", PNG, content_type="image/png")
    api_file = api_client.post(URL, {"file": upload}, format="multipart")
    api_text = api_client.post(URL, {"text": CONTROL_TEXT}, format="json")
    page_file = client.post(reverse("kb:match"), {"file": SimpleUploadedFile("image.png", PNG)})
    page_text = client.post(reverse("kb:match"), {"text": CONTROL_TEXT}, HTTP_HX_REQUEST="true")

    assert api_file.status_code == 400 and "binary" in api_file.json()["detail"]
    assert api_text.status_code == 400 and "binary" in api_text.json()["detail"]
    assert page_file.status_code == 400 and "binary file" in page_file.content.decode()
    assert page_text.status_code == 422 and "binary file" in page_text.content.decode()


def test_a_10000_frame_traceback_is_one_event_in_bounded_time_and_memory(api_client, client, _fresh_matcher):
    text = _frames(10_000)
    tracemalloc.start()
    try:
        result = matching.symptom_match_text(text=text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024
    assert [group.example for group in result.unknown] == ["RecursionError: maximum recursion depth exceeded"]
    assert _fresh_matcher[-1] == ["RecursionError: maximum recursion depth exceeded"]

    api = _timed_post(api_client, URL, {"text": text}, format="json")
    page = _timed_post(client, reverse("kb:match"), {"text": text})

    assert api.status_code == 200 and len(api.json()["unknown"]) == 1
    assert page.status_code == 200
    assert "0 known symptoms,\n      0 likely related,\n      1 unknown error template" in page.content.decode()


def test_100000_distinct_unknown_lines_are_capped_with_a_notice(api_client, client, _fresh_matcher):
    api = _timed_post(api_client, URL, {"text": DISTINCT}, format="json")
    page = _timed_post(client, reverse("kb:match"), **_form({"text": DISTINCT}), HTTP_HX_REQUEST="true")

    assert api.status_code == 200 and page.status_code == 200
    body = api.json()
    assert body["lines_read"] == 100_000
    assert 0 < len(body["unknown"]) <= MAX_UNKNOWN_GROUPS
    assert "too many different unknown errors" in " ".join(body["notices"])
    assert "too many different unknown errors" in page.content.decode()
    # Retrieval is asked about a bounded number of short events (and the paste as a whole, cut short),
    # whatever the input size.
    for events in _fresh_matcher:
        *lines, whole = events
        assert len(events) <= MAX_RELATED_EVENTS and all(len(event) <= EVENT_CHARS for event in lines)
        assert len(whole) <= WHOLE_EVENT_CHARS
