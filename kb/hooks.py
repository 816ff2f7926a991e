"""Extension points of the knowledge base that apps above it fill in their ``AppConfig.ready()``.

kb never imports those apps (imports go one way: incidents -> trees -> kb -> diagnostics); it asks these
registries instead, and works unchanged when nothing is registered:

- **page includes**: templates an app adds to a slot of a page (``{% hook_includes "article_detail" %}``),
  rendered with the page's context, e.g. the decision trees to start from an article, or the alerts panel
  that alerts adds to the incident page (slot ``incident_detail``);
- **decision-tree providers**: ``trees_for_symptoms`` / ``trees_for_articles`` return, for many ids in one
  query, the guided troubleshooting (anything with ``pk``, ``title`` and ``get_absolute_url()``) to start
  for a symptom or that leads to an article; kb knows the idea, the trees app provides the rows;
- **starter steps**: what ``load_starter_content`` runs after loading articles and checks.
- **home panels**: cockpit panels on the signed-in home page: a callable taking the request and returning
  ``(template, context)``, or None to show nothing;
- **incident prefill**: the URL of the form that files an incident with what a match found; the
  match page offers "File an incident with this" only when incidents registered a builder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.http import HttpRequest


class Linkable(Protocol):
    pk: Any
    title: str

    def get_absolute_url(self) -> str: ...


LinksProvider = Callable[[Iterable[int]], dict[int, Any]]


class StarterStep(Protocol):
    def __call__(self, *, directory: Path, dry_run: bool) -> list[str]: ...


class StarterStepRefused(Exception):
    """A starter step found problems and changed nothing; ``what`` names the content, ``errors`` lists them."""

    def __init__(self, what: str, errors: list[str]) -> None:
        super().__init__(f"{what}: " + "; ".join(errors[:5]))
        self.what, self.errors = what, errors


_page_includes: dict[str, list[str]] = {}
_symptom_trees: list[LinksProvider] = []
_article_trees: list[LinksProvider] = []
_starter_steps: list[StarterStep] = []


def _add(items: list, item: Any) -> None:
    if item not in items:  # ready() may run more than once (tests, reloads)
        items.append(item)


def register_page_include(slot: str, template: str) -> None:
    _add(_page_includes.setdefault(slot, []), template)


def page_includes(slot: str) -> list[str]:
    return list(_page_includes.get(slot, []))


def register_symptom_trees(provider: LinksProvider) -> None:
    """``provider(symptom_ids) -> {symptom_id: object}``: the one thing to start for each symptom."""
    _add(_symptom_trees, provider)


def register_article_trees(provider: LinksProvider) -> None:
    """``provider(article_ids) -> {article_id: [objects]}``: what leads to each article."""
    _add(_article_trees, provider)


def register_starter_step(step: StarterStep) -> None:
    _add(_starter_steps, step)


def starter_steps() -> list[StarterStep]:
    return list(_starter_steps)


def trees_for_symptoms(symptom_ids: Iterable[int]) -> dict[int, Any]:
    """The registered providers' link for each symptom (the first provider that has one wins)."""
    ids = list(symptom_ids)
    found: dict[int, Any] = {}
    for provider in _symptom_trees:
        for symptom_id, item in provider(ids).items():
            found.setdefault(symptom_id, item)
    return found


def trees_for_articles(article_ids: Iterable[int]) -> dict[int, list[Any]]:
    """Every registered provider's links for each article, in provider order."""
    ids = list(article_ids)
    found: dict[int, list[Any]] = {}
    for provider in _article_trees:
        for article_id, items in provider(ids).items():
            found.setdefault(article_id, []).extend(items)
    return found


@dataclass(frozen=True)
class IncidentPrefill:
    title: str
    description: str
    system: str = ""  # a system slug, or "" when none is known


IncidentPrefillURLBuilder = Callable[[IncidentPrefill], str]

_incident_prefill_builders: list[IncidentPrefillURLBuilder] = []


def register_incident_prefill_url_builder(builder: IncidentPrefillURLBuilder) -> None:
    _add(_incident_prefill_builders, builder)


def incident_prefill_url(prefill: IncidentPrefill) -> str | None:
    """The URL of the first registered builder, or None when no app offers one."""
    return _incident_prefill_builders[0](prefill) if _incident_prefill_builders else None


# --- home panels ----------------------------------------------------------------------------------

HomePanel = Callable[[HttpRequest], "tuple[str, dict] | None"]


@dataclass(frozen=True)
class RegisteredPanel:
    key: str
    panel: HomePanel
    order: int


_panels: dict[str, RegisteredPanel] = {}


def register_home_panel(key: str, panel: HomePanel, *, order: int = 50) -> None:
    """Add (or replace, by key, so a repeated ready() is harmless) a panel; lower `order` comes first."""
    _panels[key] = RegisteredPanel(key=key, panel=panel, order=order)


def unregister_home_panel(key: str) -> None:
    _panels.pop(key, None)


def home_panels(request: HttpRequest) -> list[tuple[str, dict]]:
    """The rendered-to-be panels for this request, in order, skipping those that return None."""
    shown = []
    for registered in sorted(_panels.values(), key=lambda p: (p.order, p.key)):
        result = registered.panel(request)
        if result is not None:
            shown.append(result)
    return shown
