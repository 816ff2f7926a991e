from __future__ import annotations

from typing import Any

import yaml
from django import forms
from django.core.exceptions import ValidationError

from .models import Check


class CheckForm(forms.ModelForm):
    """Staff edit a check here; parameters are YAML (or JSON), conditions one per line."""

    parameters_text = forms.CharField(
        label="Parameters", required=False, widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text="YAML mapping, e.g. method: GET. Secrets as env:NAME references, never literal values.",
    )
    conditions_text = forms.CharField(
        label="Conditions", required=False, widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One per line, e.g. [STATUS] == 200. See the condition language in docs/checks.md.",
    )

    class Meta:
        model = Check
        fields = [
            "name", "slug", "description", "type", "target", "timeout_seconds", "retries", "warning_threshold",
            "critical_threshold", "enabled", "interval_seconds", "failure_threshold", "success_threshold",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            parameters = self.instance.parameters or {}
            self.fields["parameters_text"].initial = (
                yaml.safe_dump(parameters, sort_keys=True, allow_unicode=True) if parameters else ""
            )
            self.fields["conditions_text"].initial = "\n".join(self.instance.conditions or [])

    def clean_parameters_text(self) -> dict:
        text = self.cleaned_data.get("parameters_text", "").strip()
        if not text:
            return {}
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise forms.ValidationError(f"Parameters are not valid YAML: {exc}") from exc
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError("Parameters must be a mapping of name: value.")
        return value

    def clean_conditions_text(self) -> list[str]:
        text = self.cleaned_data.get("conditions_text", "")
        return [line.strip() for line in text.splitlines() if line.strip()]

    def _post_clean(self) -> None:
        # Put the parsed text fields on the instance before the model's own validation runs.
        if "parameters_text" in self.cleaned_data:
            self.instance.parameters = self.cleaned_data["parameters_text"]
        if "conditions_text" in self.cleaned_data:
            self.instance.conditions = self.cleaned_data["conditions_text"]
        super()._post_clean()

    def _update_errors(self, errors: ValidationError) -> None:
        # The model reports on "conditions"/"parameters"; show those next to the text fields that hold them.
        if hasattr(errors, "error_dict"):
            renamed = {"conditions": "conditions_text", "parameters": "parameters_text"}
            errors = ValidationError({renamed.get(k, k): v for k, v in errors.error_dict.items()})
        super()._update_errors(errors)

    def check_fields(self) -> dict[str, Any]:
        """The cleaned values in the shape the check services take."""
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields}
        fields["parameters"] = self.cleaned_data["parameters_text"]
        fields["conditions"] = self.cleaned_data["conditions_text"]
        return fields


class ChecksImportForm(forms.Form):
    yaml_text = forms.CharField(label="YAML", required=False,
                                widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}))
    yaml_file = forms.FileField(label="or upload a .yml file", required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        upload = cleaned.get("yaml_file")
        if upload is not None:
            if upload.size > 2 * 1024 * 1024:
                raise forms.ValidationError("The file is larger than 2 MiB.")
            try:
                cleaned["yaml_text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError("The file is not UTF-8 text.") from exc
        if not cleaned.get("yaml_text", "").strip():
            raise forms.ValidationError("Paste YAML or choose a file.")
        return cleaned
