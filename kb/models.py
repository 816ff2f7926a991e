from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class SymptomSeverity(models.TextChoices):
    """How bad a symptom is (ranks matches). An incident's severity is another thing: incidents.models.Severity."""

    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


def system_aliases(text: str) -> list[str]:
    """The aliases of a system, as written one per line (blank lines and surrounding spaces dropped)."""
    return list(dict.fromkeys(line.strip() for line in (text or "").splitlines() if line.strip()))


class Risk(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class System(models.Model):
    """A service being troubleshot (CoordinAItor, ARES, ... and Triage itself)."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    links = models.JSONField(default=list, blank=True, help_text='[{"label": "...", "url": "..."}]')
    aliases = models.TextField(
        blank=True, max_length=4000,
        help_text="Other names this system goes by in logs and alerts, one per line: hosts, containers, "
                  "services, pods (e.g. pay-api, payments.internal). A pasted error naming one is matched "
                  "to this system first.")
    depends_on = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="dependents")
    # Diagnostic checks that tell whether this system is healthy (kb/check_links.py runs them).
    checks = models.ManyToManyField("diagnostics.Check", blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("kb:system_detail", kwargs={"slug": self.slug})

    @property
    def alias_list(self) -> list[str]:
        return system_aliases(self.aliases)


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="articles")
    title = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255)
    body = models.TextField(help_text="Markdown.")
    body_html = models.TextField(blank=True, editable=False, help_text="Sanitised HTML rendered on write.")
    toc_html = models.TextField(blank=True, editable=False)
    summary = models.TextField(blank=True)
    # Where the article sits in its guide, e.g. "Common Issues / Server Won't Start / Port Already in Use".
    # Imported articles are keyed by (system, heading_path).
    heading_path = models.CharField(max_length=500, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles")
    checks = models.ManyToManyField("diagnostics.Check", blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PUBLISHED)
    source_file = models.CharField(max_length=255, blank=True)
    source_anchor = models.CharField(max_length=255, blank=True)
    # Hash of the imported section, so re-importing an unchanged file changes nothing.
    source_hash = models.CharField(max_length=64, blank=True, editable=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="articles")
    view_count = models.PositiveIntegerField(default=0, editable=False)
    helpful_count = models.PositiveIntegerField(default=0, editable=False)
    not_helpful_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["system__name", "heading_path", "title"]
        constraints = [models.UniqueConstraint(fields=["system", "slug"], name="kb_article_unique_slug_per_system")]
        indexes = [
            models.Index(fields=["system", "heading_path"]),
            models.Index(fields=["-updated_at"]),
            models.Index(fields=["-helpful_count"]),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("kb:article_detail", kwargs={"system_slug": self.system.slug, "slug": self.slug})


class ArticleRevision(models.Model):
    """A snapshot written on every change of an article; any two can be diffed."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=255)
    summary = models.TextField(blank=True)
    body = models.TextField()
    note = models.CharField(max_length=255, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["article", "-number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="kb_revision_unique_number")]

    def __str__(self) -> str:
        return f"{self.article} r{self.number}"


class Solution(models.Model):
    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="solutions")
    title = models.CharField(max_length=255)
    steps = models.TextField(help_text="Ordered steps in Markdown, with commands in code blocks.")
    steps_html = models.TextField(blank=True, editable=False)
    risk = models.CharField(max_length=10, choices=Risk.choices, default=Risk.LOW)
    articles = models.ManyToManyField(Article, blank=True, related_name="solutions")
    # How many incidents this solution resolved; feeds ranking (the incidents app increments it).
    resolved_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["system__name", "title"]

    def __str__(self) -> str:
        return self.title


class Symptom(models.Model):
    """An observable problem, recognised by one or more signatures."""

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="symptoms")
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=SymptomSeverity.choices, default=SymptomSeverity.MEDIUM)
    articles = models.ManyToManyField(Article, blank=True, related_name="symptoms")
    solutions = models.ManyToManyField(Solution, through="SymptomSolution", blank=True, related_name="symptoms")
    checks = models.ManyToManyField("diagnostics.Check", blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["system__name", "title"]

    def __str__(self) -> str:
        return self.title


class SymptomSolution(models.Model):
    symptom = models.ForeignKey(Symptom, on_delete=models.CASCADE)
    solution = models.ForeignKey(Solution, on_delete=models.CASCADE)
    rank = models.PositiveSmallIntegerField(default=0, help_text="Lower is tried first.")

    class Meta:
        ordering = ["rank", "id"]
        constraints = [models.UniqueConstraint(fields=["symptom", "solution"], name="kb_symptom_solution_unique")]

    def __str__(self) -> str:
        return f"{self.symptom_id} → {self.solution_id} (#{self.rank})"


class Signature(models.Model):
    """An exact error string (literal) or an RE2 pattern that recognises a symptom in text."""

    class Kind(models.TextChoices):
        LITERAL = "literal", "Literal"
        PATTERN = "pattern", "Pattern (RE2)"

    symptom = models.ForeignKey(Symptom, on_delete=models.CASCADE, related_name="signatures")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LITERAL)
    text = models.TextField()
    positive_examples = models.JSONField(default=list, blank=True)
    negative_examples = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["symptom", "id"]

    def __str__(self) -> str:
        return self.text[:80]


class ArticleVote(models.Model):
    """Helpful / not helpful, one per signed-in user or anonymous session per article."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    session_key = models.CharField(max_length=40, blank=True)
    helpful = models.BooleanField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "user"], condition=models.Q(user__isnull=False),
                                    name="kb_vote_one_per_user"),
            models.UniqueConstraint(fields=["article", "session_key"], condition=models.Q(user__isnull=True),
                                    name="kb_vote_one_per_session"),
        ]

    def __str__(self) -> str:
        return f"{'helpful' if self.helpful else 'not helpful'}: article {self.article_id}"


class SearchQueryLog(models.Model):
    """One search as a person made it, kept to find knowledge gaps (zero results, "not helpful").

    Search-as-you-type refines the same row instead of adding one per keystroke.
    """

    class Source(models.TextChoices):
        WEB = "web", "Web"
        API = "api", "API"

    query = models.CharField(max_length=500)
    # Lower-cased searchable words and operators, so "Redis  DOWN" and "redis down" group together.
    normalized = models.CharField(max_length=500, db_index=True)
    result_count = models.PositiveIntegerField(default=0)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    session_key = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=3, choices=Source.choices, default=Source.WEB)
    # The result the person opened, if any; a later "not helpful" vote on it marks a knowledge gap.
    clicked_article = models.ForeignKey(Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["result_count", "-created_at"], name="kb_searchlog_gaps_idx")]

    def __str__(self) -> str:
        return f"{self.query[:60]} ({self.result_count})"


class SearchSynonym(models.Model):
    """One group of words and phrases that mean the same to on-call engineers ("OOM, out of memory").

    Search and retrieval expand a query with the rest of its group; staff extend the groups in the admin.
    """

    terms = models.CharField(
        max_length=500, unique=True,
        help_text="Words or phrases that mean the same, separated by commas: oom, out of memory",
    )
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["terms"]

    def __str__(self) -> str:
        return self.terms



class ArticleEmbedding(models.Model):
    """An article's sentence vectors for the semantic rerank (kb.search.semantic): ``chunks`` float16 rows
    of the model's width, one per embedded passage. ``content_hash`` covers the embedded text and the
    model's name, so a refresh re-encodes only articles whose text (or model) changed."""

    article = models.OneToOneField(Article, on_delete=models.CASCADE, primary_key=True, related_name="embedding")
    model = models.CharField(max_length=60)
    content_hash = models.CharField(max_length=64)
    chunks = models.PositiveSmallIntegerField()
    vectors = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.article_id}: {self.chunks} x {self.model}"
