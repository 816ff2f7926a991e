"""Shapes of the knowledge-base API. They check input shape only; rules live in kb.services."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import selectors
from ..markdown import MARKDOWN_MAX_CHARS, render_markdown_or_error
from ..models import Article, ArticleRevision, Signature, Solution, Symptom, System


def absolute_url(context: dict, path: str) -> str:
    """The schema says `format: uri`, so links are absolute whenever the request is known."""
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path

class LinkSerializer(serializers.Serializer):
    label = serializers.CharField()
    url = serializers.URLField()


class SystemSerializer(serializers.ModelSerializer):
    links = serializers.SerializerMethodField(help_text="The system's http(s) links; other schemes are left out.")
    depends_on = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    article_count = serializers.IntegerField(read_only=True, help_text="Articles visible to you.")
    url = serializers.SerializerMethodField(help_text="The system's page in the web UI.")
    aliases = serializers.ListField(child=serializers.CharField(), source="alias_list", read_only=True,
                                    help_text="Other names of the system in logs and alerts (hosts, containers, ...).")

    class Meta:
        model = System
        fields = ["id", "slug", "name", "description", "aliases", "links", "depends_on", "article_count", "url",
                  "created_at"]
        read_only_fields = fields

    @extend_schema_field(LinkSerializer(many=True))
    def get_links(self, system: System) -> list[dict[str, str]]:
        return selectors.system_links(system=system)

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, system: System) -> str:
        return absolute_url(self.context, system.get_absolute_url())


class ArticleListSerializer(serializers.ModelSerializer):
    """Without the bodies, so a page of 25 stays small; fetch one article for its text."""

    system = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True, help_text="Tag names.")
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                          help_text="Username of the author; null for imported articles.")
    url = serializers.SerializerMethodField(help_text="The article's page in the web UI.")

    class Meta:
        model = Article
        fields = [
            "id", "system", "slug", "title", "summary", "heading_path", "tags", "status", "author",
            "view_count", "helpful_count", "not_helpful_count", "created_at", "updated_at", "url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, article: Article) -> str:
        path = reverse("kb:article_detail", kwargs={"system_slug": article.system.slug, "slug": article.slug})
        return absolute_url(self.context, path)


class ArticleSerializer(ArticleListSerializer):
    body_html = serializers.CharField(read_only=True, help_text="Sanitised HTML rendered from `body` on write.")
    toc_html = serializers.CharField(read_only=True)

    class Meta(ArticleListSerializer.Meta):
        fields = [*ArticleListSerializer.Meta.fields, "body", "body_html", "toc_html", "source_file", "source_anchor"]
        read_only_fields = fields


class ArticleWriteSerializer(serializers.Serializer):
    """Fields for create and full update (PUT); PATCH sends any subset."""

    title = serializers.CharField(max_length=255)
    body = serializers.CharField(help_text="Markdown.", trim_whitespace=False, max_length=MARKDOWN_MAX_CHARS)
    summary = serializers.CharField(required=False, allow_blank=True)
    heading_path = serializers.CharField(max_length=500, required=False, allow_blank=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=60), max_length=50, required=False,
        help_text="Tag names; the article's tags become exactly these.",
    )
    status = serializers.ChoiceField(choices=Article.Status.choices, required=False)
    note = serializers.CharField(
        max_length=255, required=False, allow_blank=True, write_only=True,
        help_text="Why it changed; kept on the revision.",
    )

    def validate_body(self, value: str) -> str:
        render_markdown_or_error(value)
        return value


class ArticleCreateSerializer(ArticleWriteSerializer):
    system = serializers.SlugRelatedField(slug_field="slug", queryset=System.objects.all(),
                                          help_text="Slug of the system the article belongs to.")


class RequiredBooleanField(serializers.BooleanField):
    """A boolean that must be sent: DRF reads a missing one in a form body as an unticked checkbox (false)."""

    default_empty_html = serializers.empty


class ArticleVoteSerializer(serializers.Serializer):
    helpful = RequiredBooleanField()
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="",
                                    help_text="What was missing (kept with a not-helpful vote).")


class ArticleVoteResultSerializer(serializers.Serializer):
    helpful = serializers.BooleanField(help_text="Your vote as now recorded.")
    helpful_count = serializers.IntegerField()
    not_helpful_count = serializers.IntegerField()


class ArticleRevisionSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ArticleRevision
        fields = ["id", "article", "number", "title", "summary", "body", "note", "author", "created_at"]
        read_only_fields = fields


class SignatureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Signature
        fields = ["id", "kind", "text", "positive_examples", "negative_examples", "created_at"]
        read_only_fields = fields


class SymptomSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    signatures = SignatureSerializer(many=True, read_only=True)
    articles = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="Linked article ids.")
    solutions = serializers.SerializerMethodField(help_text="Solution ids, the one to try first first.")

    class Meta:
        model = Symptom
        fields = ["id", "system", "title", "description", "severity", "signatures", "articles", "solutions",
                  "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_solutions(self, symptom: Symptom) -> list[int]:
        return [link.solution_id for link in symptom.symptomsolution_set.all()]


class SolutionSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    articles = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="Linked article ids.")
    steps_html = serializers.CharField(read_only=True, help_text="Sanitised HTML rendered from `steps`.")

    class Meta:
        model = Solution
        fields = ["id", "system", "title", "steps", "steps_html", "risk", "articles", "resolved_count",
                  "created_at", "updated_at"]
        read_only_fields = fields
