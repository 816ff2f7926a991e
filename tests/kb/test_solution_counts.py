"""Resolved counts of solutions, changed by incidents through kb's service."""

import pytest

from kb.services import solution_resolved_count_adjust
from tests.factories import SolutionFactory

pytestmark = pytest.mark.django_db


def test_resolved_count_goes_up_and_back_down():
    solution = SolutionFactory()
    assert solution_resolved_count_adjust(solution_id=solution.pk, delta=1) is True
    assert solution_resolved_count_adjust(solution_id=solution.pk, delta=1) is True
    assert solution_resolved_count_adjust(solution_id=solution.pk, delta=-1) is True
    solution.refresh_from_db()
    assert solution.resolved_count == 1


def test_resolved_count_never_goes_below_zero():
    solution = SolutionFactory()
    assert solution_resolved_count_adjust(solution_id=solution.pk, delta=-1) is False
    solution.refresh_from_db()
    assert solution.resolved_count == 0


def test_adjusting_a_missing_solution_changes_nothing():
    assert solution_resolved_count_adjust(solution_id=999_999, delta=1) is False
