"""Shapes of `POST /api/v1/match/`: text or a file in, matched symptoms and unknown errors out."""

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from ...matching import MatchResult


class MatchTextSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False,
                                 help_text="An error message, a stack trace or a whole log.")


class MatchFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A log file: plain text or gzip (.gz), up to the size limit.")


class MatchLineSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="1-based line number in the input.")
    text = serializers.CharField(help_text="The line (cut at 1000 characters).")
    highlight = serializers.ListField(child=serializers.IntegerField(), allow_null=True,
                                      help_text="[start, end) of the part the signature matched, or null.")
    before = serializers.ListField(child=serializers.CharField(), help_text="Up to two lines before it.")
    after = serializers.ListField(child=serializers.CharField(), help_text="Up to two lines after it.")


class MatchSymptomSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    severity = serializers.CharField()


class MatchSystemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class MatchSolutionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    risk = serializers.CharField()
    resolved_count = serializers.IntegerField(help_text="Incidents this solution resolved.")
    helpful_votes = serializers.IntegerField(help_text="Helpful votes on the articles that describe it.")
    steps = serializers.CharField(help_text="Markdown.")


class MatchArticleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.URLField()


class MatchTreeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.URLField(allow_null=True, help_text="The tree's page in the web UI.")


class MatchItemSerializer(serializers.Serializer):
    symptom = MatchSymptomSerializer()
    system = MatchSystemSerializer()
    line_count = serializers.IntegerField(help_text="How many lines matched this symptom.")
    line_numbers = serializers.ListField(child=serializers.IntegerField(), help_text="The first 50 of them.")
    lines = MatchLineSerializer(many=True, help_text="The first five, with context.")
    solutions = MatchSolutionSerializer(many=True, help_text="Best first: incidents resolved, then votes.")
    articles = MatchArticleSerializer(many=True)
    decision_tree = MatchTreeSerializer(allow_null=True, help_text="The published decision tree to start, if any.")


class UnknownErrorSerializer(serializers.Serializer):
    template = serializers.CharField(help_text="The lines' shared shape; <*> marks the parts that vary.")
    count = serializers.IntegerField()
    example = serializers.CharField(help_text="The first such line, without its timestamp and level.")
    first_line = serializers.IntegerField()


class MatchResponseSerializer(serializers.Serializer):
    matches = MatchItemSerializer(many=True, help_text="Matched symptoms, best first (at most 25).")
    more_symptoms = serializers.IntegerField(help_text="Matched symptoms left out of `matches`.")
    unknown = UnknownErrorSerializer(many=True, help_text="Error-looking lines that no signature knows.")
    truncated = serializers.BooleanField(help_text="True when the input was over the size limit and cut.")
    notices = serializers.ListField(child=serializers.CharField(),
                                    help_text="What was cut, skipped or replaced while reading.")
    bytes_read = serializers.IntegerField()
    lines_read = serializers.IntegerField()
    elapsed_ms = serializers.FloatField()


def match_result_data(result: MatchResult, request: Request) -> dict[str, Any]:
    """The response body; the shape MatchResponseSerializer documents."""
    return {
        "matches": [
            {
                "symptom": {"id": item.symptom.pk, "title": item.symptom.title, "severity": item.symptom.severity},
                "system": {"id": item.symptom.system.pk, "name": item.symptom.system.name,
                           "slug": item.symptom.system.slug},
                "line_count": item.line_count,
                "line_numbers": item.line_numbers,
                "lines": [
                    {"number": line.number, "text": line.text,
                     "highlight": list(line.highlight) if line.highlight else None,
                     "before": line.before, "after": line.after}
                    for line in item.lines
                ],
                "solutions": [
                    {"id": entry.solution.pk, "title": entry.solution.title, "risk": entry.solution.risk,
                     "resolved_count": entry.solution.resolved_count, "helpful_votes": entry.helpful_votes,
                     "steps": entry.solution.steps}
                    for entry in item.solutions
                ],
                "articles": [
                    {"id": article.pk, "title": article.title,
                     "url": request.build_absolute_uri(article.get_absolute_url())}
                    for article in item.articles
                ],
                "decision_tree": (
                    {**item.decision_tree, "url": request.build_absolute_uri(item.decision_tree["url"])
                     if item.decision_tree["url"] else None}
                    if item.decision_tree else None
                ),
            }
            for item in result.matches
        ],
        "more_symptoms": result.more_symptoms,
        "unknown": [
            {"template": group.template, "count": group.count, "example": group.example,
             "first_line": group.first_line}
            for group in result.unknown
        ],
        "truncated": result.truncated,
        "notices": result.notices,
        "bytes_read": result.bytes_read,
        "lines_read": result.lines_read,
        "elapsed_ms": round(result.elapsed_ms, 1),
    }
