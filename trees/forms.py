"""Forms for decision trees: starting a walkthrough, uploading YAML, editing one node (staff)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from diagnostics.models import Check
from kb.models import Article, Solution

from .limits import MAX_ANSWERS, MAX_PROMPT_CHARS, MAX_YAML_BYTES, STATES
from .models import DecisionTree, TreeNode

HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$")


class WalkthroughStartForm(forms.Form):
    """Values from a matched log line that the tree's checks may use; people can correct them."""

    host = forms.CharField(required=False, max_length=253, help_text="Host name or address from your log.")
    port = forms.IntegerField(required=False, min_value=1, max_value=65535)
    line = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    symptom = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean_host(self) -> str:
        host = self.cleaned_data["host"].strip().strip("[]")
        if host and not HOST_RE.match(host):
            raise ValidationError("A host is letters, digits, dots, dashes (or an IP address).")
        return host

    def context(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"host": data.get("host") or "", "port": data.get("port") or "", "line": data.get("line") or "",
                "symptom": data.get("symptom") or ""}


class TreeUploadForm(forms.Form):
    file = forms.FileField(required=False, help_text="A .yml file exported from a tree, or written by hand.")
    text = forms.CharField(required=False, label="Or paste the YAML", max_length=MAX_YAML_BYTES, strip=False,
                           widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}))
    note = forms.CharField(required=False, max_length=255, help_text="What changed (kept with the revision).")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            if upload.size > MAX_YAML_BYTES:
                raise ValidationError(f"The file is larger than {MAX_YAML_BYTES // 1024} kB.")
            data["yaml"] = upload.read()
        elif (data.get("text") or "").strip():
            data["yaml"] = data["text"]
        else:
            raise ValidationError("Choose a YAML file or paste the YAML.")
        return data


def _parse_answers(raw: str) -> list[dict[str, str]]:
    """One answer per line: ``Label -> next-key``."""
    answers = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        label, arrow, target = line.rpartition("->")
        if not arrow:
            raise ValidationError(f"Line {number}: write each answer as “Label -> next-key”.")
        answers.append({"label": " ".join(label.split()), "next": target.strip()})
    if len(answers) > MAX_ANSWERS:
        raise ValidationError(f"At most {MAX_ANSWERS} answers.")
    return answers


class NodeForm(forms.Form):
    """One node of a tree; which fields apply depends on its kind (changing the kind is done in YAML)."""

    title = forms.CharField(required=False, max_length=200)
    prompt = forms.CharField(required=False, max_length=MAX_PROMPT_CHARS, strip=False, label="Prompt (Markdown)",
                             widget=forms.Textarea(attrs={"rows": 8}))
    answers = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
                              help_text="One per line: Label -> next-key")
    check = forms.ChoiceField(required=False)
    target = forms.CharField(required=False, max_length=500,
                             help_text="Optional, e.g. {host}:{port}: run the check against values from the log.")
    branch_ok = forms.ChoiceField(required=False, label="When OK, go to")
    branch_warning = forms.ChoiceField(required=False, label="When WARNING, go to")
    branch_critical = forms.ChoiceField(required=False, label="When CRITICAL, go to")
    branch_unknown = forms.ChoiceField(required=False, label="When the walker cannot tell, go to")
    article = forms.ChoiceField(required=False)
    solution = forms.ChoiceField(required=False)
    next = forms.ChoiceField(required=False, label="Next (instruction done / solution did not fix it)")
    tree = forms.ChoiceField(required=False, label="Continue in tree")
    severity = forms.CharField(required=False, max_length=40, help_text="Incident severity slug to suggest.")

    FIELDS_BY_KIND = {
        TreeNode.Kind.QUESTION: ("title", "prompt", "answers"),
        TreeNode.Kind.CHECK: ("title", "prompt", "check", "target", "branch_ok", "branch_warning",
                              "branch_critical", "branch_unknown"),
        TreeNode.Kind.INSTRUCTION: ("title", "prompt", "next"),
        TreeNode.Kind.SOLUTION: ("title", "prompt", "article", "solution", "next"),
        TreeNode.Kind.LINK: ("title", "prompt", "tree"),
        TreeNode.Kind.ESCALATE: ("title", "prompt", "severity"),
    }

    def __init__(self, *args: Any, tree: DecisionTree, node: TreeNode, **kwargs: Any) -> None:
        self.tree, self.node = tree, node
        kwargs.setdefault("initial", self._initial(node))
        super().__init__(*args, **kwargs)
        keys = [("", "—")] + [(k, k) for k in tree.nodes.order_by("position").values_list("key", flat=True)]
        for name in ("branch_ok", "branch_warning", "branch_critical", "branch_unknown", "next"):
            self.fields[name].choices = keys
        self.fields["check"].choices = [("", "—")] + list(Check.objects.order_by("name").values_list("slug", "name"))
        self.fields["article"].choices = [("", "—")] + list(
            Article.objects.filter(system=tree.system).order_by("title").values_list("slug", "title"))
        self.fields["solution"].choices = [("", "—")] + [
            (title, title) for title in dict.fromkeys(
                Solution.objects.filter(system=tree.system).order_by("title").values_list("title", flat=True))]
        self.fields["tree"].choices = [("", "—")] + [
            (t.slug if t.system_id == tree.system_id else f"{t.system.slug}/{t.slug}", f"{t.system.name}: {t.title}")
            for t in DecisionTree.objects.exclude(pk=tree.pk).select_related("system").order_by("system__name", "title")
        ]
        wanted = self.FIELDS_BY_KIND[node.kind]
        for name in list(self.fields):
            if name not in wanted:
                del self.fields[name]

    @staticmethod
    def _initial(node: TreeNode) -> dict[str, Any]:
        branches = node.branches or {}
        tree_ref = ""
        if node.linked_tree_id:
            other = node.linked_tree
            tree_ref = other.slug if other.system_id == node.tree.system_id else f"{other.system.slug}/{other.slug}"
        return {
            "title": node.title, "prompt": node.prompt,
            "answers": "\n".join(f"{a.get('label', '')} -> {a.get('next', '')}" for a in node.answers or []),
            "check": node.check_def.slug if node.check_def_id else "", "target": node.check_target,
            **{f"branch_{state.lower()}": branches.get(state, "") for state in STATES},
            "article": node.article.slug if node.article_id else "",
            "solution": node.solution.title if node.solution_id else "",
            "next": node.next_key, "tree": tree_ref, "severity": node.severity,
        }

    def clean_answers(self) -> list[dict[str, str]]:
        return _parse_answers(self.cleaned_data.get("answers") or "")

    def node_document(self) -> dict[str, Any]:
        """The node as a YAML-document mapping, for services.tree_node_update to validate with the tree."""
        data = self.cleaned_data
        item: dict[str, Any] = {"key": self.node.key, "kind": self.node.kind}
        for name in ("title", "prompt"):
            if data.get(name):
                item[name] = data[name]
        kind = self.node.kind
        if kind == TreeNode.Kind.QUESTION:
            item["answers"] = data.get("answers") or []
        elif kind == TreeNode.Kind.CHECK:
            if data.get("check"):
                item["check"] = data["check"]
            if data.get("target"):
                item["target"] = data["target"]
            item["branches"] = {state: data[f"branch_{state.lower()}"] for state in STATES
                                if data.get(f"branch_{state.lower()}")}
        elif kind in (TreeNode.Kind.INSTRUCTION, TreeNode.Kind.SOLUTION):
            for name in ("article", "solution"):
                if data.get(name):
                    item[name] = data[name]
            item["next"] = data.get("next") or ""
        elif kind == TreeNode.Kind.LINK:
            item["tree"] = data.get("tree") or ""
        elif kind == TreeNode.Kind.ESCALATE and data.get("severity"):
            item["severity"] = data["severity"]
        return item
