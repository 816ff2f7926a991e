"""kb's pages show decision trees only through the hooks trees registers (kb never imports trees)."""

from __future__ import annotations

import pytest

from kb import hooks

pytest_plugins = ["tests.trees.test_trees_support"]

pytestmark = pytest.mark.django_db


def test_article_page_offers_the_trees_that_lead_to_the_article(client, tree):
    body = client.get("/systems/shop/firewall-rules/").content.decode()
    assert "Guided troubleshooting" in body and '<a href="/trees/shop/api-down/">The shop API is down</a>' in body


def test_system_page_offers_its_published_trees(client, tree):
    body = client.get("/systems/shop/").content.decode()
    assert "Not sure what is wrong?" in body and 'href="/trees/shop/api-down/"' in body


def test_draft_trees_are_not_offered_on_kb_pages(client, tree):
    tree.status = tree.Status.DRAFT
    tree.save()
    assert "/trees/shop/api-down/" not in client.get("/systems/shop/").content.decode()
    assert "/trees/shop/api-down/" not in client.get("/systems/shop/firewall-rules/").content.decode()


def test_match_results_offer_the_tree_that_handles_the_symptom(tree):
    symptom = tree.system.symptoms.get()
    found = hooks.trees_for_symptoms([symptom.pk])
    assert found[symptom.pk] == tree


def test_kb_pages_render_without_any_tree_hooks(client, tree, monkeypatch):
    monkeypatch.setattr(hooks, "_page_includes", {})
    monkeypatch.setattr(hooks, "_symptom_trees", [])
    response = client.get("/systems/shop/firewall-rules/")
    assert response.status_code == 200 and "/trees/shop/api-down/" not in response.content.decode()
    assert hooks.trees_for_symptoms([1, 2]) == {}


def test_the_trees_app_registers_its_starter_step_once(settings):
    from django.apps import apps

    from trees.starter import starter_step

    apps.get_app_config("trees").ready()  # ready() may run again (reloads); the step must not double
    assert hooks.starter_steps().count(starter_step) == 1
