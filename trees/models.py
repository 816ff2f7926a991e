"""Decision trees and their walkthroughs.

A tree belongs to a system and is a graph of typed nodes keyed by a short ``key``; its YAML form
(trees.yaml_io) is the source of truth that revisions snapshot. A walkthrough is one person's (or
bot's) path through a tree, stored step by step so it can be resumed, changed at any earlier step,
analysed and attached to an incident as a transcript.

The tables keep the names they had when these models lived in kb (``db_table``), so moving the models
into their own app moved no data (migrations trees/0001 and kb/0005 change Django's state only).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from kb.models import Article, Solution, Symptom, System


class DecisionTreeQuerySet(models.QuerySet):
    def published(self) -> QuerySet[DecisionTree]:
        """Published trees, ordered for listing; callable from templates through related managers
        (``system.decision_trees.published``, ``symptom.decision_trees.published``)."""
        return self.filter(status=DecisionTree.Status.PUBLISHED).select_related("system").order_by("title")


class TreeNodeQuerySet(models.QuerySet):
    def published_trees(self) -> QuerySet[DecisionTree]:
        """The published trees these nodes belong to, once each (``article.tree_nodes.published_trees``)."""
        return DecisionTree.objects.published().filter(pk__in=self.values("tree_id"))


class DecisionTree(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="decision_trees")
    slug = models.SlugField(max_length=120)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, help_text="Markdown.")
    description_html = models.TextField(blank=True, editable=False)
    entry_node = models.ForeignKey("TreeNode", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    symptoms = models.ManyToManyField(Symptom, blank=True, related_name="decision_trees",
                                      help_text="The symptoms this tree troubleshoots; the matcher offers it for them.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PUBLISHED)
    # Bumped with every stored change; a walkthrough remembers the revision it started on.
    revision = models.PositiveIntegerField(default=0, editable=False)
    # Starter trees: the file they came from and its hash, so reloading an unchanged file writes nothing.
    source_file = models.CharField(max_length=255, blank=True)
    source_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DecisionTreeQuerySet.as_manager()

    class Meta:
        db_table = "kb_decisiontree"
        ordering = ["system__name", "title"]
        constraints = [models.UniqueConstraint(fields=["system", "slug"], name="kb_tree_unique_slug_per_system")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("trees:tree_detail", kwargs={"system_slug": self.system.slug, "slug": self.slug})


class TreeNode(models.Model):
    class Kind(models.TextChoices):
        QUESTION = "question", "Question"
        CHECK = "check", "Check"
        INSTRUCTION = "instruction", "Instruction"
        SOLUTION = "solution", "Solution"
        LINK = "link", "Link to another tree"
        ESCALATE = "escalate", "Escalate"

    tree = models.ForeignKey(DecisionTree, on_delete=models.CASCADE, related_name="nodes")
    key = models.CharField(max_length=80, help_text="Unique within the tree; answers point at it.")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    title = models.CharField(max_length=200, blank=True, help_text="Short label for breadcrumbs and the diagram.")
    prompt = models.TextField(blank=True, help_text="Markdown.")
    prompt_html = models.TextField(blank=True, editable=False)
    # Question: [{"label": ..., "next": key}].
    answers = models.JSONField(default=list, blank=True)
    # Check: the check to run and where each state leads ({"OK": key, "CRITICAL": key, ...}).
    # SET_NULL everywhere: deleting a check, article or tree elsewhere must not fail because a tree uses it;
    # the node then asks the walker instead, and validation names what went missing.
    check_def = models.ForeignKey("diagnostics.Check", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    # Optional target built from the walkthrough's context, e.g. "{host}:{port}" from a matched log line.
    check_target = models.CharField(max_length=500, blank=True)
    branches = models.JSONField(default=dict, blank=True)
    # Solution: what to try; instruction and solution ("did this fix it?" no) continue at next_key.
    article = models.ForeignKey(Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="tree_nodes")
    solution = models.ForeignKey(Solution, null=True, blank=True, on_delete=models.SET_NULL, related_name="tree_nodes")
    next_key = models.CharField(max_length=80, blank=True)
    # Link: the tree the walkthrough continues in.
    linked_tree = models.ForeignKey(DecisionTree, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="linked_from")
    # Escalate: the incident severity to suggest (an incidents severity slug; kb does not know them).
    severity = models.CharField(max_length=40, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Order in the YAML document.")

    objects = TreeNodeQuerySet.as_manager()

    class Meta:
        db_table = "kb_treenode"
        ordering = ["tree", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["tree", "key"], name="kb_treenode_unique_key_per_tree")]

    def __str__(self) -> str:
        return f"{self.tree_id}:{self.key}"

    @property
    def label(self) -> str:
        """The title, or the prompt's first line: what breadcrumbs and the diagram show."""
        if self.title:
            return self.title
        first = next((line.strip(" #*>-") for line in self.prompt.splitlines() if line.strip()), "")
        return (first[:117] + "…") if len(first) > 120 else (first or self.key)


class TreeRevision(models.Model):
    """The whole tree as YAML after a change; the tree's history, and what a revert would restore."""

    tree = models.ForeignKey(DecisionTree, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    yaml = models.TextField()
    note = models.CharField(max_length=255, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "kb_treerevision"
        ordering = ["tree", "-number"]
        constraints = [models.UniqueConstraint(fields=["tree", "number"], name="kb_treerevision_unique_number")]

    def __str__(self) -> str:
        return f"{self.tree} r{self.number}"


class Walkthrough(models.Model):
    class Outcome(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        RESOLVED = "resolved", "Resolved"
        ESCALATED = "escalated", "Escalated"
        LINKED = "linked", "Continued in another tree"
        NOT_COVERED = "not_covered", "Not covered by the tree"
        ABANDONED = "abandoned", "Abandoned"

    tree = models.ForeignKey(DecisionTree, on_delete=models.CASCADE, related_name="walkthroughs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    # Anonymous walkers are recognised by their session.
    session_key = models.CharField(max_length=40, blank=True)
    tree_revision = models.PositiveIntegerField(default=0)
    # Values the checks may use (host, port from a matched log line) and where they came from.
    context = models.JSONField(default=dict, blank=True)
    # A walkthrough that continued from another one through a link node.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.IN_PROGRESS)
    exit_node_key = models.CharField(max_length=80, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "kb_walkthrough"
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["tree", "outcome"]),
            models.Index(fields=["user", "tree", "outcome"]),
            models.Index(fields=["session_key", "tree", "outcome"]),
        ]

    def __str__(self) -> str:
        return f"{self.tree} #{self.pk} ({self.outcome})"

    def get_absolute_url(self) -> str:
        return reverse("trees:walkthrough_resume", kwargs={"system_slug": self.tree.system.slug,
                                                            "slug": self.tree.slug, "pk": self.pk})

    def step_url(self, number: int) -> str:
        return reverse("trees:walkthrough_step", kwargs={"system_slug": self.tree.system.slug,
                                                          "slug": self.tree.slug, "pk": self.pk, "number": number})

    @property
    def is_finished(self) -> bool:
        return self.outcome != self.Outcome.IN_PROGRESS


class WalkthroughStep(models.Model):
    """One visited node: when it was entered and left, what was answered, and what a check said."""

    walkthrough = models.ForeignKey(Walkthrough, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveIntegerField(help_text="1 for the entry node; the step number in its URL.")
    node_key = models.CharField(max_length=80)
    # The node's label when visited, so transcripts read well after the tree changes.
    node_label = models.CharField(max_length=200, blank=True)
    node_kind = models.CharField(max_length=12, choices=TreeNode.Kind.choices, blank=True)
    choice = models.CharField(max_length=40, blank=True, help_text="Machine form of the answer: 1, ok, fixed...")
    answer = models.CharField(max_length=255, blank=True, help_text="The answer as the walker saw it.")
    check_run = models.ForeignKey("diagnostics.CheckRun", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    check_state = models.CharField(max_length=10, blank=True)
    check_message = models.CharField(max_length=500, blank=True)
    answered_by_check = models.BooleanField(default=False)
    # False once the walker chose to answer a check step themselves (going back must not re-answer it).
    auto_answer = models.BooleanField(default=True)
    entered_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "kb_walkthroughstep"
        ordering = ["walkthrough", "order"]
        constraints = [models.UniqueConstraint(fields=["walkthrough", "order"], name="kb_walkstep_unique_order")]
        indexes = [models.Index(fields=["node_key"])]

    def __str__(self) -> str:
        return f"{self.walkthrough_id}/{self.order} {self.node_key}"

    @property
    def is_answered(self) -> bool:
        return self.left_at is not None
