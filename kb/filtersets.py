"""Filters shared by the HTML lists and the API (`?system=<slug>&tag=<slug>&status=&updated_after=`)."""

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from common.filters import UTCIsoDateTimeFilter

from .models import Article, ArticleRevision, Risk, Solution, Symptom, SymptomSeverity


class IdField(forms.IntegerField):
    def __init__(self, **kwargs: object) -> None:
        # Bounded so a junk value is a 400, never a database overflow.
        super().__init__(min_value=1, max_value=2**63 - 1, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.Filter):
    field_class = IdField


class ArticleFilterSet(filters.FilterSet):
    # Slugs rather than ids: they are what people see in URLs. An unknown slug simply matches nothing.
    system = filters.CharFilter(field_name="system__slug", help_text="System slug.")
    tag = filters.CharFilter(method="filter_tag", help_text="Tag slug.")
    status = filters.ChoiceFilter(choices=Article.Status.choices)
    updated_after = UTCIsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="ISO 8601 date-time; inclusive."
    )

    class Meta:
        model = Article
        fields = ["system", "tag", "status", "updated_after"]

    def filter_tag(self, queryset: QuerySet[Article], name: str, value: str) -> QuerySet[Article]:
        # A subquery rather than a join, so combining with other many-to-many filters never duplicates rows.
        return queryset.filter(pk__in=Article.tags.through.objects.filter(tag__slug=value).values("article_id"))


class SymptomFilterSet(filters.FilterSet):
    system = filters.CharFilter(field_name="system__slug", help_text="System slug.")
    severity = filters.ChoiceFilter(choices=SymptomSeverity.choices)
    article = IdFilter(method="filter_article", help_text="Id of a linked article.")

    class Meta:
        model = Symptom
        fields = ["system", "severity", "article"]

    def filter_article(self, queryset: QuerySet[Symptom], name: str, value: int) -> QuerySet[Symptom]:
        return queryset.filter(pk__in=Symptom.articles.through.objects.filter(article_id=value).values("symptom_id"))


class SolutionFilterSet(filters.FilterSet):
    system = filters.CharFilter(field_name="system__slug", help_text="System slug.")
    risk = filters.ChoiceFilter(choices=Risk.choices)
    article = IdFilter(method="filter_article", help_text="Id of a linked article.")
    symptom = IdFilter(method="filter_symptom", help_text="Id of a symptom it solves.")

    class Meta:
        model = Solution
        fields = ["system", "risk", "article", "symptom"]

    def filter_article(self, queryset: QuerySet[Solution], name: str, value: int) -> QuerySet[Solution]:
        return queryset.filter(
            pk__in=Solution.articles.through.objects.filter(article_id=value).values("solution_id")
        )

    def filter_symptom(self, queryset: QuerySet[Solution], name: str, value: int) -> QuerySet[Solution]:
        return queryset.filter(pk__in=Symptom.solutions.through.objects.filter(symptom_id=value).values("solution_id"))


class RevisionFilterSet(filters.FilterSet):
    article = IdFilter(field_name="article_id", help_text="Article id.")

    class Meta:
        model = ArticleRevision
        fields = ["article"]
