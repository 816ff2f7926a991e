"""HTML forms for the knowledge base: they check shape and limits; services do the writing."""

from django import forms
from django.core.exceptions import ValidationError

from ..markdown import MARKDOWN_MAX_CHARS
from ..markdown import render_markdown_or_error as markdown_render_or_error
from ..models import Article

BODY_MAX_CHARS = MARKDOWN_MAX_CHARS
TAG_MAX_CHARS = 60
TAGS_MAX = 20
COMMENT_MAX_CHARS = 2000


def parse_tags(raw: str) -> list[str]:
    """'db, Postgres ,, db' -> ['db', 'postgres']: trimmed, lower-cased, de-duplicated, order kept."""
    seen: dict[str, None] = {}
    for part in (raw or "").split(","):
        name = " ".join(part.split()).lower()
        if name:
            seen.setdefault(name, None)
    return list(seen)


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=255, strip=True)
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    heading_path = forms.CharField(
        label="Heading path", required=False, max_length=500,
        help_text="Where it sits in its guide, ending with its own heading, "
                  "e.g. “Common Issues / Server Won't Start / Port in use”; the system page groups by the rest.",
    )
    tags = forms.CharField(required=False, max_length=1000, help_text="Comma-separated, e.g. database, postgres.")
    status = forms.ChoiceField(choices=Article.Status.choices, initial=Article.Status.PUBLISHED)
    body = forms.CharField(
        label="Body (Markdown)", max_length=BODY_MAX_CHARS, strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}),
    )
    note = forms.CharField(
        label="Change note", required=False, max_length=255,
        help_text="What changed and why; shown in the history.",
    )
    # The revision the editor started from, so a save over someone else's newer edit is caught.
    base_revision = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean_tags(self) -> list[str]:
        tags = parse_tags(self.cleaned_data.get("tags", ""))
        too_long = [t for t in tags if len(t) > TAG_MAX_CHARS]
        if too_long:
            raise ValidationError(f"Each tag can be at most {TAG_MAX_CHARS} characters.")
        if len(tags) > TAGS_MAX:
            raise ValidationError(f"At most {TAGS_MAX} tags.")
        return tags

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].replace("\x00", "")
        if not body.strip():
            raise ValidationError("The body cannot be empty.")
        markdown_render_or_error(body)
        return body


class PreviewForm(forms.Form):
    body = forms.CharField(required=False, max_length=BODY_MAX_CHARS, strip=False)


class VoteForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", "Yes"), ("no", "No")], coerce=lambda v: v == "yes",
        error_messages={"required": "Choose Yes or No.", "invalid_choice": "Choose Yes or No."},
    )
    comment = forms.CharField(required=False, max_length=COMMENT_MAX_CHARS,
                              widget=forms.Textarea(attrs={"rows": 2}))
