"""Forms for the log matcher: paste or upload, and turning an unknown error into a symptom."""

from django import forms

from ..matching.reader import max_input_bytes
from ..matching.signatures import MAX_SIGNATURE_CHARS
from ..models import SymptomSeverity, System


class MatchForm(forms.Form):
    text = forms.CharField(
        label="Paste your error", required=False, strip=False,
        widget=forms.Textarea(attrs={
            "rows": 8, "spellcheck": "false", "autocomplete": "off", "class": "match-input",
            "placeholder": "An error message, a stack trace or a few hundred lines of a log",
        }),
    )
    file = forms.FileField(
        label="…or upload a log file", required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".log,.txt,.gz,.out,.err,text/plain,application/gzip"}),
    )

    system = forms.ModelChoiceField(
        label="System", required=False, to_field_name="slug", queryset=System.objects.order_by("name"),
        empty_label="Any system (detected)",
        help_text="Only this system's known symptoms; its related articles first.",
        # Not "id_system": the "make it a symptom" form shown in the results has a system field of its own.
        widget=forms.Select(attrs={"id": "match-system"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        limit_mb = max_input_bytes() // (1024 * 1024)
        self.fields["file"].help_text = f"Plain text or gzip (.gz); the first {limit_mb} MB are checked."

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("file") and not (data.get("text") or "").strip():
            raise forms.ValidationError("Paste an error or choose a log file first.", code="empty")
        return data


class UnknownSymptomForm(forms.Form):
    """Prefilled from an unknown error: pick the system, check the title, save."""

    system = forms.ModelChoiceField(queryset=System.objects.order_by("name"), empty_label="Choose a system")
    title = forms.CharField(max_length=255, help_text="What an engineer sees, in a few words.")
    line = forms.CharField(
        label="Signature", max_length=MAX_SIGNATURE_CHARS, strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "class": "match-input"}),
        help_text="Matched as a literal: case and spacing are ignored, and numbers, ids, hosts, ports, "
                  "paths and timestamps match any value.",
    )
    severity = forms.ChoiceField(choices=SymptomSeverity.choices, initial=SymptomSeverity.MEDIUM)
