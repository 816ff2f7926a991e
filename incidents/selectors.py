"""Reads for incidents; they own select_related/prefetch_related and the visibility rules."""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .models import OPEN_STATUSES, ActionItem, Incident, Severity, TimelineEvent
from .permissions import incident_visible_q

AnyUser = AbstractBaseUser | AnonymousUser
WORD_RE = re.compile(r"[a-z0-9]{3,}")
STOPWORDS = frozenset(["the", "and", "for", "with", "that", "this", "from", "when", "not", "are", "was", "were", "but", "have", "has", "after", "into"])


def incident_list(*, user: AnyUser | None) -> QuerySet[Incident]:
    return (
        Incident.objects.filter(incident_visible_q(user))
        .select_related("system", "severity", "reporter", "commander")
        .order_by("-created_at", "-id")
    )


def incident_get(*, pk: int, user: AnyUser | None) -> Incident:
    """The incident if `user` may see it; raises Incident.DoesNotExist otherwise (a 404, not a 403)."""
    return (
        incident_list(user=user)
        .select_related("duplicate_of", "resolved_by_article__system", "resolved_by_solution")
        .prefetch_related("assignees", "participants", "symptoms", "attachments")
        .get(pk=pk)
    )


def incident_timeline(*, incident: Incident) -> QuerySet[TimelineEvent]:
    return incident.timeline.select_related("actor").order_by("created_at", "id")


def incident_failing_checks(*, incident: Incident) -> list[dict]:
    """Checks whose latest result on this incident's timeline is not OK (what "Verify fix" re-runs)."""
    latest: dict[int, dict] = {}
    events = incident.timeline.filter(kind=TimelineEvent.Kind.CHECK).order_by("created_at", "id")
    for event in events.values("data", "message"):
        data = event["data"] or {}
        check_id = data.get("check_id")
        if isinstance(check_id, int):
            name = event["message"].split("”", 1)[0].removeprefix("Check “")
            latest[check_id] = {"check_id": check_id, "state": data.get("state", "unknown"), "name": name}
    return [c for c in latest.values() if c["state"] != "ok"]


def severity_list() -> QuerySet[Severity]:
    return Severity.objects.order_by("rank")


# --- similar incidents ----------------------------------------------------------------------------

def _words(text: str) -> set[str]:
    return {w for w in WORD_RE.findall(text.lower()) if w not in STOPWORDS}


@dataclass(frozen=True)
class SimilarIncident:
    incident: Incident
    score: float
    shared_symptoms: int
    same_system: bool
    text_similarity: float


def incident_similar(*, incident: Incident, user: AnyUser | None, limit: int = 5) -> list[SimilarIncident]:
    """Past incidents sharing symptoms, the system, or words: scored, best first.

    Candidates are bounded (shared symptoms, plus the latest 200 of the same system), then scored in
    Python: 3 per shared symptom, 1 for the same system, up to 3 for word overlap (Jaccard).
    """
    symptom_ids = list(incident.symptoms.values_list("pk", flat=True))
    visible = incident_list(user=user).exclude(pk=incident.pk)
    by_symptom = list(
        visible.filter(symptoms__in=symptom_ids).annotate(
            shared=Count("symptoms", filter=Q(symptoms__in=symptom_ids))).order_by("-shared", "-created_at")[:50]
    ) if symptom_ids else []
    same_system = list(visible.filter(system_id=incident.system_id)[:200])
    candidates: dict[int, Incident] = {c.pk: c for c in same_system}
    shared: dict[int, int] = {}
    for candidate in by_symptom:
        candidates[candidate.pk] = candidate
        shared[candidate.pk] = candidate.shared
    mine = _words(f"{incident.title} {incident.what_happened}")
    results = []
    for candidate in candidates.values():
        theirs = _words(f"{candidate.title} {candidate.what_happened}")
        jaccard = len(mine & theirs) / len(mine | theirs) if mine and theirs else 0.0
        same = candidate.system_id == incident.system_id
        score = 3 * shared.get(candidate.pk, 0) + (1 if same else 0) + 3 * jaccard
        if shared.get(candidate.pk) or jaccard >= 0.1:
            results.append(SimilarIncident(candidate, round(score, 3), shared.get(candidate.pk, 0), same,
                                           round(jaccard, 3)))
    results.sort(key=lambda r: (-r.score, -r.incident.created_at.timestamp()))
    return results[:limit]


# --- action items ---------------------------------------------------------------------------------

def action_item_list(*, user: AnyUser | None, done: bool | None = False) -> QuerySet[ActionItem]:
    visible = Incident.objects.filter(incident_visible_q(user)).values("pk")
    items = ActionItem.objects.filter(review__incident__in=visible).select_related(
        "owner", "review__incident__system", "review__incident__severity")
    if done is not None:
        items = items.filter(done=done)
    return items.order_by("done", "due_date", "id")


# --- metrics ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DurationStat:
    label: str
    count: int
    mean_seconds: float | None
    median_seconds: float | None


def _stat(label: str, seconds: list[float]) -> DurationStat:
    if not seconds:
        return DurationStat(label, 0, None, None)
    ordered = sorted(seconds)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return DurationStat(label, len(ordered), sum(ordered) / len(ordered), median)


@dataclass
class Metrics:
    since: datetime
    weeks: list[date]
    mtta_by_system: list[DurationStat]
    mttr_by_system: list[DurationStat]
    mtta_by_severity: list[DurationStat]
    mttr_by_severity: list[DurationStat]
    mtta_by_week: list[DurationStat]
    mttr_by_week: list[DurationStat]
    opened_by_week: list[int]
    open_by_severity: list[tuple[str, str, int]]
    total: int


def incident_metrics(*, user: AnyUser | None, weeks: int = 12, now: datetime | None = None) -> Metrics:
    """MTTA (filed -> acknowledged) and MTTR (filed -> resolved), by system, severity and week.

    One query over the window's incidents (only the columns needed), aggregated in Python so SQLite and
    PostgreSQL give the same numbers; cancelled and duplicate incidents are left out of the averages.
    """
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    first_week = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    since = timezone.make_aware(datetime.combine(first_week, datetime.min.time()))
    visible = Incident.objects.filter(incident_visible_q(user))
    rows = (
        visible.filter(created_at__gte=since)
        .exclude(status__in=[Incident.Status.CANCELLED, Incident.Status.DUPLICATE])
        .values_list("created_at", "acknowledged_at", "resolved_at", "system__name", "severity__name",
                     "severity__rank")
    )
    week_starts = [first_week + timedelta(weeks=i) for i in range(weeks)]
    tta: dict[str, dict[object, list[float]]] = {"system": defaultdict(list), "severity": defaultdict(list),
                                                 "week": defaultdict(list)}
    ttr: dict[str, dict[object, list[float]]] = {"system": defaultdict(list), "severity": defaultdict(list),
                                                 "week": defaultdict(list)}
    opened: dict[date, int] = defaultdict(int)
    severity_order: dict[str, int] = {}
    total = 0
    for created, acknowledged, resolved, system, severity, rank in rows:
        total += 1
        severity_order[severity] = rank
        local = timezone.localtime(created).date()
        week = local - timedelta(days=local.weekday())
        opened[week] += 1
        keys = {"system": system, "severity": severity, "week": week}
        for bucket, end in ((tta, acknowledged), (ttr, resolved)):
            if end is not None:
                for dimension, key in keys.items():
                    bucket[dimension][key].append((end - created).total_seconds())
    systems = sorted(set(tta["system"]) | set(ttr["system"]))
    severities = sorted(set(tta["severity"]) | set(ttr["severity"]), key=lambda s: severity_order.get(s, 99))
    open_counts = dict(
        visible.filter(status__in=OPEN_STATUSES).values_list("severity_id").annotate(n=Count("pk"))
        .values_list("severity_id", "n")
    )
    return Metrics(
        since=since,
        weeks=week_starts,
        mtta_by_system=[_stat(s, tta["system"].get(s, [])) for s in systems],
        mttr_by_system=[_stat(s, ttr["system"].get(s, [])) for s in systems],
        mtta_by_severity=[_stat(s, tta["severity"].get(s, [])) for s in severities],
        mttr_by_severity=[_stat(s, ttr["severity"].get(s, [])) for s in severities],
        mtta_by_week=[_stat(w.isoformat(), tta["week"].get(w, [])) for w in week_starts],
        mttr_by_week=[_stat(w.isoformat(), ttr["week"].get(w, [])) for w in week_starts],
        opened_by_week=[opened.get(w, 0) for w in week_starts],
        open_by_severity=[(s.name, s.slug, open_counts.get(s.pk, 0)) for s in Severity.objects.order_by("rank")],
        total=total,
    )




# --- response targets (SLA) -------------------------------------------------------------------------

AT_RISK_SHARE = 0.25  # under this share of the response target left, an unacknowledged incident is "at risk"


@dataclass(frozen=True)
class Sla:
    """Where an incident stands against its severity's response target (acknowledge by `respond_by`)."""

    respond_by: datetime
    acknowledged_at: datetime | None
    state: str  # "met" | "late" (acknowledged after the target) | "ok" | "at-risk" | "breached" (not acknowledged)
    next_escalation_at: datetime | None

    @property
    def label(self) -> str:
        return {"met": "Responded in time", "late": "Responded late", "ok": "Within target",
                "at-risk": "Response due soon", "breached": "Response overdue"}[self.state]


def incident_sla(incident: Incident, *, now: datetime | None = None) -> Sla:
    now = now or timezone.now()
    severity = incident.severity
    respond_by = incident.created_at + severity.response_target
    next_escalation = None
    if incident.acknowledged_at is not None:
        state = "met" if incident.acknowledged_at <= respond_by else "late"
    else:
        left = (respond_by - now).total_seconds()
        state = "breached" if left < 0 else (
            "at-risk" if left < AT_RISK_SHARE * severity.response_target.total_seconds() else "ok")
    if incident.is_open and severity.escalation_target:
        elapsed = max(now - incident.created_at, timedelta(0))
        next_escalation = incident.created_at + severity.escalation_target * (elapsed // severity.escalation_target + 1)
    return Sla(respond_by=respond_by, acknowledged_at=incident.acknowledged_at, state=state,
               next_escalation_at=next_escalation)


def incidents_open_by_severity(*, user: AnyUser | None, limit: int = 20, now: datetime | None = None) -> list[Incident]:
    """Open incidents the user may see, most severe and oldest first, each with `.sla` set (the cockpit)."""
    incidents = list(incident_list(user=user).filter(status__in=OPEN_STATUSES)
                     .order_by("severity__rank", "created_at", "id")[:limit])
    for incident in incidents:
        incident.sla = incident_sla(incident, now=now)
    return incidents


def action_items_open_for(*, user: AnyUser | None, limit: int = 10) -> list[ActionItem]:
    """The user's own open action items, soonest due first."""
    if user is None or not user.is_authenticated:
        return []
    return list(action_item_list(user=user, done=False).filter(owner=user)[:limit])


def incident_matched_fixes(*, incident: Incident) -> dict[str, int | None]:
    """Initial choices for the Resolve form: the best-ranked solution of the symptoms matched in this
    incident (in its system) and an article those symptoms point at."""
    from kb.models import Article, SymptomSolution

    symptom_ids = list(incident.symptoms.filter(system_id=incident.system_id).values_list("pk", flat=True))
    if not symptom_ids:
        return {"article": None, "solution": None}
    solution_id = (SymptomSolution.objects.filter(symptom_id__in=symptom_ids, solution__system_id=incident.system_id)
                   .order_by("rank", "id").values_list("solution_id", flat=True).first())
    article_id = (Article.objects.filter(symptoms__in=symptom_ids, system_id=incident.system_id,
                                         status=Article.Status.PUBLISHED)
                  .order_by("title").values_list("pk", flat=True).first())
    return {"article": article_id, "solution": solution_id}


# The lifecycle's next step, shown as the page's one primary button.
NEXT_ACTIONS = {
    Incident.Status.TRIAGE: "acknowledge",
    Incident.Status.INVESTIGATING: "resolve",
    Incident.Status.MITIGATED: "resolve",
    Incident.Status.RESOLVED: "close",
}


def incident_next_action(*, incident: Incident) -> str | None:
    return NEXT_ACTIONS.get(incident.status)
