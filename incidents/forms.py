"""HTML forms for incidents: shape and per-field checks only; the services hold the rules."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.urls import reverse

from kb.models import Article, Solution, System

from .defaults import RESPONDERS_GROUP
from .models import Incident, Severity, title_line_problem

User = get_user_model()
MAX_FILES = 10
# Text fields whose content feeds the "known fixes" panel while the user types.
SUGGEST_FIELDS = ("title", "what_happened", "pasted_logs")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked against the attachment size limit."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: object, initial: object = None) -> list:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(f"Attach at most {MAX_FILES} files at a time.")
        limit = settings.TRIAGE_INCIDENT_ATTACHMENT_MAX_BYTES
        cleaned = [super(MultipleFileField, self).clean(f, initial) for f in files]
        for upload in cleaned:
            if upload.size > limit:
                raise forms.ValidationError(
                    f"{upload.name} is {upload.size // 1024} kB; files may be at most {limit // (1024 * 1024)} MB.")
        return cleaned


def responders() -> QuerySet:
    return User.objects.filter(Q(is_staff=True) | Q(groups__name=RESPONDERS_GROUP), is_active=True).distinct().order_by(
        "username")


class IncidentForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="One line: what is broken, for whom.",
                            widget=forms.TextInput(attrs={"placeholder": "e.g. Dashboard agent cards stuck on Ready"}))
    system = forms.ModelChoiceField(queryset=System.objects.order_by("name"), empty_label="Choose a system…")
    severity = forms.ModelChoiceField(queryset=Severity.objects.order_by("rank"), empty_label=None,
                                      help_text="Critical: everyone affected, no workaround. Low: an annoyance.")
    what_happened = forms.CharField(label="What happened", max_length=50_000,
                                    widget=forms.Textarea(attrs={"rows": 5}),
                                    help_text="Error messages and what you saw. Known fixes appear beside the form.")
    expected = forms.CharField(label="What you expected", required=False, max_length=20_000,
                               widget=forms.Textarea(attrs={"rows": 2}))
    steps_to_reproduce = forms.CharField(label="Steps to reproduce", required=False, max_length=20_000,
                                         widget=forms.Textarea(attrs={"rows": 3}))
    env_os = forms.CharField(label="Operating system", required=False, max_length=120,
                             widget=forms.TextInput(attrs={"placeholder": "Ubuntu 24.04"}))
    env_runtime = forms.CharField(label="Runtime versions", required=False, max_length=255,
                                  widget=forms.TextInput(attrs={"placeholder": "Python 3.11.9, Node 20"}))
    env_deployment = forms.ChoiceField(label="Deployment method", required=False, choices=Incident.Deployment.choices)
    env_app_version = forms.CharField(label="App version", required=False, max_length=80)
    pasted_logs = forms.CharField(label="Pasted logs", required=False, max_length=5_000_000, strip=False,
                                  widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false",
                                                               "class": "monospace"}),
                                  help_text="Paste the log lines around the error; they are matched against known symptoms.")
    attachments = MultipleFileField(required=False, label="Attach logs or a diagnostic bundle",
                                    help_text=".log, .txt, .gz or a .tar.gz / .zip bundle from a collect-diagnostics script.")
    transcript = forms.CharField(required=False, max_length=20_000, widget=forms.HiddenInput)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound and "severity" not in self.initial:
            self.initial["severity"] = Severity.objects.filter(slug="medium").values_list("pk", flat=True).first()
        validate_url = reverse("incidents:validate_field")
        for name, field in self.fields.items():
            if name in ("attachments", "transcript"):
                continue
            # Per-field validation when the user leaves a field (htmx); the full submit validates without JS.
            field.widget.attrs.update({
                "hx-post": validate_url, "hx-trigger": "change", "hx-target": f"#field-{name}",
                "hx-swap": "outerHTML", "hx-vals": f'{{"_field": "{name}"}}',
                "aria-describedby": f"id_{name}_error id_{name}_helptext",
            })

    def clean_what_happened(self) -> str:
        value = self.cleaned_data["what_happened"].replace("\x00", "").strip()
        if len(value) < 10:
            raise forms.ValidationError("Say a little more (at least 10 characters): what did you see?")
        return value

    def clean_title(self) -> str:
        value = self.cleaned_data["title"].strip()
        if len(value) < 5:
            raise forms.ValidationError("Give the incident a title of at least 5 characters.")
        problem = title_line_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value


class CommentForm(forms.Form):
    body = forms.CharField(label="Comment", max_length=20_000,
                           widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Markdown works: `code`, **bold**, lists."}))


class AttachmentForm(forms.Form):
    attachments = MultipleFileField(label="Attach files", help_text="Logs, or a .tar.gz / .zip diagnostic bundle.")


class TransitionForm(forms.Form):
    status = forms.ChoiceField(choices=Incident.Status.choices)
    note = forms.CharField(required=False, max_length=2000)
    duplicate_of = forms.IntegerField(required=False, min_value=1, label="Duplicate of incident #")


class ResolveForm(forms.Form):
    article = forms.ModelChoiceField(queryset=Article.objects.none(), required=False,
                                     label="Article that fixed it", empty_label="—")
    solution = forms.ModelChoiceField(queryset=Solution.objects.none(), required=False,
                                      label="Solution that fixed it", empty_label="—")
    note = forms.CharField(required=False, max_length=5000, label="Resolution note",
                           widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = forms.CharField(required=False, max_length=2000, label="Resolve despite failing checks because…",
                                      help_text="Only needed while checks are still failing.")

    def __init__(self, *args: object, incident: Incident, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["article"].queryset = Article.objects.filter(
            system=incident.system, status=Article.Status.PUBLISHED).order_by("title")
        self.fields["solution"].queryset = Solution.objects.filter(system=incident.system).order_by("title")


class PeopleForm(forms.Form):
    severity = forms.ModelChoiceField(queryset=Severity.objects.order_by("rank"), empty_label=None)
    commander = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="— nobody —",
                                       to_field_name="username")
    assignees = forms.ModelMultipleChoiceField(queryset=User.objects.none(), required=False, to_field_name="username",
                                               widget=forms.SelectMultiple(attrs={"size": 4}))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["commander"].queryset = responders()
        self.fields["assignees"].queryset = responders()


class ReviewForm(forms.Form):
    summary = forms.CharField(required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 6}))
    root_cause = forms.CharField(label="Root cause", required=False, max_length=20_000,
                                 widget=forms.Textarea(attrs={"rows": 3}))
    contributing_factors = forms.CharField(label="Contributing factors", required=False, max_length=20_000,
                                           widget=forms.Textarea(attrs={"rows": 3}))
    lessons = forms.CharField(label="What we learned", required=False, max_length=20_000,
                              widget=forms.Textarea(attrs={"rows": 3}))


class ActionItemForm(forms.Form):
    title = forms.CharField(label="Action item", max_length=255)
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, to_field_name="username",
                                   empty_label="— unassigned —")
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("username")
