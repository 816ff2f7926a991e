"""The filters of tree lists (the API's `?system=&status=`)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from .models import DecisionTree


class TreeFilterSet(filters.FilterSet):
    system = filters.CharFilter(field_name="system__slug", help_text="System slug.")
    status = filters.ChoiceFilter(choices=DecisionTree.Status.choices)

    class Meta:
        model = DecisionTree
        fields = ["system", "status"]
