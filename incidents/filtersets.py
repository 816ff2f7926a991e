"""One FilterSet for the HTML incident list and the API."""

import django_filters
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from kb.models import System

from .models import OPEN_STATUSES, Incident, Severity


@extend_schema_field(OpenApiTypes.STR)
class SlugMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """Filter by slug; documented as a string (repeat the parameter for several)."""


@extend_schema_field(OpenApiTypes.STR)
class SlugChoiceFilter(django_filters.ModelChoiceFilter):
    """Filter by slug; documented as a string."""


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Incident.Status.choices)
    severity = SlugMultipleChoiceFilter(field_name="severity__slug", to_field_name="slug",
                                        queryset=Severity.objects.order_by("rank"))
    system = SlugChoiceFilter(field_name="system__slug", to_field_name="slug",
                              queryset=System.objects.order_by("name"), empty_label="All systems")
    open = django_filters.ChoiceFilter(method="filter_open", label="State", empty_label="Any",
                                       choices=[("true", "Open"), ("false", "Finished")])
    q = django_filters.CharFilter(method="filter_q", label="Search")

    class Meta:
        model = Incident
        fields = ["status", "severity", "system", "open", "q"]

    def filter_open(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        if value == "true":
            return queryset.filter(status__in=OPEN_STATUSES)
        if value == "false":
            return queryset.exclude(status__in=OPEN_STATUSES)
        return queryset

    def filter_q(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        value = value.replace("\x00", "").strip()[:200]
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(what_happened__icontains=value))
