"""The staff upload form for importing Markdown guides."""

from typing import Any

from django import forms
from django.utils.text import slugify

from ..models import System


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that accepts several files at once and cleans each."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".md,.markdown,.txt,text/markdown"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class GuideImportForm(forms.Form):
    files = MultipleFileField(label="Guide files", help_text="Markdown (.md), up to 5 MB each.")
    system = forms.ModelChoiceField(queryset=System.objects.order_by("name"), required=False,
                                    empty_label="Choose a system…", label="System")
    new_system = forms.CharField(max_length=120, required=False, label="…or a new system",
                                 help_text="Created on import; leave empty to use the system above.")
    dry_run = forms.BooleanField(required=False, label="Dry run: show what would change, write nothing")
    prune = forms.BooleanField(required=False, label="Remove articles whose section is no longer in the guide")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        system, new_name = data.get("system"), " ".join((data.get("new_system") or "").split())
        if system and new_name:
            raise forms.ValidationError("Choose an existing system or name a new one, not both.")
        if not system and not new_name:
            raise forms.ValidationError("Choose the system these guides describe, or name a new one.")
        if new_name and not slugify(new_name):
            self.add_error("new_system", "A system name needs letters or digits.")
        data["new_system"] = new_name
        return data
