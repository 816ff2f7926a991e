from django import forms

from .models import AlertSource


class AlertSourceForm(forms.ModelForm):
    class Meta:
        model = AlertSource
        fields = ["name", "kind", "system", "severity", "system_label", "severity_label", "severity_map",
                  "field_paths", "group_window"]
        help_texts = {"group_window": "HH:MM:SS, e.g. 00:10:00."}
