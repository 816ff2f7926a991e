import pytest
from django.db import transaction

from common.transactions import CommitRequest, on_commit_join

pytestmark = pytest.mark.django_db(transaction=True)
ran: list[list[str]] = []


class _Collect(CommitRequest):
    def __init__(self) -> None:
        self.items: list[str] = []

    def run(self) -> None:
        ran.append(self.items)


class _Other(_Collect):
    pass


@pytest.fixture(autouse=True)
def _clear():
    ran.clear()


def _ask(item: str, kind: type[_Collect] = _Collect) -> None:
    on_commit_join(kind, add=lambda request: request.items.append(item))


def test_requests_of_one_transaction_run_once_after_commit_with_everything_added():
    with transaction.atomic():
        _ask("a")
        with transaction.atomic():
            _ask("b")
        _ask("c")
        assert ran == []
    assert ran == [["a", "b", "c"]]


def test_a_request_queued_in_a_rolled_back_savepoint_is_queued_again_by_the_next_write():
    with transaction.atomic():
        try:
            with transaction.atomic():
                _ask("lost")
                raise RuntimeError
        except RuntimeError:
            pass
        _ask("kept")
    assert ran == [["kept"]]


def test_a_rolled_back_savepoint_takes_its_additions_with_the_request_only_when_it_queued_it():
    with transaction.atomic():
        _ask("outer")
        try:
            with transaction.atomic():
                _ask("inner")
                raise RuntimeError
        except RuntimeError:
            pass
    # The outer request stays; what the inner block added rides along (callers keep runs idempotent).
    assert ran == [["outer", "inner"]]


def test_kinds_are_kept_apart_and_a_rolled_back_transaction_runs_nothing():
    with transaction.atomic():
        _ask("a")
        _ask("b", _Other)
    assert sorted(ran) == [["a"], ["b"]]
    ran.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        _ask("never")
        raise RuntimeError
    assert ran == []


def test_outside_a_transaction_the_request_runs_at_once_with_its_addition():
    _ask("now")
    assert ran == [["now"]]
