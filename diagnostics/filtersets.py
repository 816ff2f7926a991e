import django_filters
from django import forms
from django.db.models import Q, QuerySet

from common.filters import UTCIsoDateTimeFilter

from .models import Check, CheckRun, CheckState, CheckStateChange, CheckType


class IdFilter(django_filters.NumberFilter):
    """A row id: a whole number the database's bigint holds (`1e19` is a 400, not an overflow and a 500)."""

    field_class = forms.IntegerField

    def __init__(self, **kwargs) -> None:
        super().__init__(min_value=1, max_value=2**63 - 1, **kwargs)


class CheckFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=CheckType.choices)
    current_state = django_filters.ChoiceFilter(choices=CheckState.choices)
    enabled = django_filters.BooleanFilter()
    monitor = django_filters.BooleanFilter(field_name="interval_seconds", lookup_expr="isnull", exclude=True,
                                           label="Only monitors (true) or only on-demand checks (false)")
    q = django_filters.CharFilter(method="filter_q", label="Name, slug or target contains")

    class Meta:
        model = Check
        fields = ["type", "current_state", "enabled", "slug"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value) | Q(target__icontains=value))


class CheckRunFilter(django_filters.FilterSet):
    check = IdFilter(field_name="check_def_id", label="Check id")
    batch = django_filters.UUIDFilter()
    state = django_filters.ChoiceFilter(choices=CheckState.choices)
    status = django_filters.ChoiceFilter(choices=CheckRun.Status.choices)
    trigger = django_filters.ChoiceFilter(choices=CheckRun.Trigger.choices)

    class Meta:
        model = CheckRun
        fields = ["batch", "state", "status", "trigger"]


class CheckStateChangeFilter(django_filters.FilterSet):
    check = IdFilter(field_name="check_def_id", label="Check id")
    to_state = django_filters.ChoiceFilter(choices=CheckState.choices)
    since = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = CheckStateChange
        fields = ["to_state"]
