"""Shapes of `POST /api/v1/match/`: text or a file in, matched symptoms and unknown errors out."""

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from ...matching import MatchResult, RelatedMatch, SymptomMatch

SYSTEM_HELP = ("A system slug: only that system's exact matches are returned and its related articles rank "
               "first. Without it, a system the text clearly names is detected and its matches rank first.")


class MatchTextSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False,
                                 help_text="An error message, a stack trace or a whole log.")
    system = serializers.SlugField(required=False, allow_blank=True, help_text=SYSTEM_HELP)


class MatchFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A log file: plain text or gzip (.gz), up to the size limit.")
    system = serializers.SlugField(required=False, allow_blank=True, help_text=SYSTEM_HELP)


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


class MatchItemSystemSerializer(MatchSystemSerializer):
    symptom_id = serializers.IntegerField(allow_null=True, help_text="That system's symptom on this card.")


class MatchItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["signature", "related"],
        help_text="`signature`: a symptom's signature matched exactly. `related`: the retrieval index found "
                  "articles for an error event no signature knows; these come after every `signature` item.")
    score = serializers.FloatField(help_text="Higher is better; comparable only within one kind in one answer.")
    why = serializers.ListField(
        child=serializers.CharField(),
        help_text="`signature`: the signatures that matched. `related`: the words and phrases that matched.")
    query = serializers.CharField(allow_null=True,
                                  help_text="`related`: the error event that was looked up; null otherwise.")
    symptom = MatchSymptomSerializer(allow_null=True,
                                     help_text="The symptom; for a `related` item only when it maps to one.")
    system = MatchSystemSerializer()
    systems = MatchItemSystemSerializer(
        many=True, help_text="Every system where these lines matched (the same text known in several "
                             "systems is one item), `system` first.")
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


class MatchSummarySerializer(serializers.Serializer):
    known = serializers.IntegerField(help_text="`signature` items.")
    related = serializers.IntegerField(help_text="`related` items.")
    unknown_templates = serializers.IntegerField(help_text="Entries of `unknown`.")


class MatchAppliedSystemSerializer(serializers.Serializer):
    slug = serializers.CharField()
    detected = serializers.BooleanField(help_text="True when detected from the text, false when sent.")
    other_systems = serializers.IntegerField(help_text="Exact matches left out: they belong to other systems.")


class MatchResponseSerializer(serializers.Serializer):
    matches = MatchItemSerializer(many=True, help_text="Matched symptoms, best first (at most 25), then related "
                                                       "articles (at most 5).")
    more_symptoms = serializers.IntegerField(help_text="Matched symptoms left out of `matches`.")
    unknown = UnknownErrorSerializer(many=True, help_text="Error-looking lines that no signature knows; a stack "
                                                          "trace counts once, by its exception line.")
    summary = MatchSummarySerializer()
    system = MatchAppliedSystemSerializer(allow_null=True, help_text="The system applied, if any.")
    truncated = serializers.BooleanField(help_text="True when the input was over the size limit and cut.")
    notices = serializers.ListField(child=serializers.CharField(),
                                    help_text="What was cut, skipped or replaced while reading.")
    bytes_read = serializers.IntegerField()
    lines_read = serializers.IntegerField()
    elapsed_ms = serializers.FloatField()


def _system_data(system: Any, symptom_id: int | None) -> dict[str, Any]:
    return {"id": system.pk, "name": system.name, "slug": system.slug, "symptom_id": symptom_id}


def _articles_data(articles: list, request: Request) -> list[dict[str, Any]]:
    return [{"id": article.pk, "title": article.title, "url": request.build_absolute_uri(article.get_absolute_url())}
            for article in articles]


def _signature_item(item: SymptomMatch, request: Request) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "score": item.score,
        "why": item.why,
        "query": None,
        "symptom": {"id": item.symptom.pk, "title": item.symptom.title, "severity": item.symptom.severity},
        "system": {"id": item.symptom.system.pk, "name": item.symptom.system.name, "slug": item.symptom.system.slug},
        "systems": [_system_data(symptom.system, symptom.pk) for symptom in (item.symptom, *item.also)],
        "line_count": item.line_count,
        "line_numbers": item.line_numbers,
        "lines": [
            {"number": line.number, "text": line.text, "highlight": list(line.highlight) if line.highlight else None,
             "before": line.before, "after": line.after}
            for line in item.lines
        ],
        "solutions": [
            {"id": entry.solution.pk, "title": entry.solution.title, "risk": entry.solution.risk,
             "resolved_count": entry.solution.resolved_count, "helpful_votes": entry.helpful_votes,
             "steps": entry.solution.steps}
            for entry in item.solutions
        ],
        "articles": _articles_data(item.articles, request),
        "decision_tree": (
            {**item.decision_tree, "url": request.build_absolute_uri(item.decision_tree["url"])
             if item.decision_tree["url"] else None}
            if item.decision_tree else None
        ),
    }


def _related_item(item: RelatedMatch, request: Request) -> dict[str, Any]:
    system = item.system
    return {
        "kind": item.kind,
        "score": round(item.score, 4),
        "why": item.why,
        "query": item.query,
        "symptom": ({"id": item.symptom.pk, "title": item.symptom.title, "severity": item.symptom.severity}
                    if item.symptom else None),
        "system": {"id": system.pk, "name": system.name, "slug": system.slug},
        "systems": [_system_data(system, item.symptom.pk if item.symptom else None)],
        "line_count": 0,
        "line_numbers": [],
        "lines": [],
        "solutions": [],
        "articles": _articles_data(item.articles, request),
        "decision_tree": None,
    }


def match_result_data(result: MatchResult, request: Request) -> dict[str, Any]:
    """The response body; the shape MatchResponseSerializer documents."""
    return {
        "matches": [_signature_item(item, request) for item in result.matches]
        + [_related_item(item, request) for item in result.related],
        "more_symptoms": result.more_symptoms,
        "unknown": [
            {"template": group.template, "count": group.count, "example": group.example,
             "first_line": group.first_line}
            for group in result.unknown
        ],
        "summary": {"known": len(result.matches), "related": len(result.related),
                    "unknown_templates": len(result.unknown)},
        "system": ({"slug": result.system, "detected": result.system_detected,
                    "other_systems": result.other_systems} if result.system else None),
        "truncated": result.truncated,
        "notices": result.notices,
        "bytes_read": result.bytes_read,
        "lines_read": result.lines_read,
        "elapsed_ms": round(result.elapsed_ms, 1),
    }
