"""Moving decision trees from kb into their own app keeps every tree, walkthrough and analytics row.

Migrates a real database back to kb/0004 (trees still in kb), writes rows through the historical kb
models, migrates forward, and reads them through the trees app's models.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("kb", "0004_trees")]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_trees_walkthroughs_and_analytics_survive_the_move_to_the_trees_app():
    latest = _latest()
    try:
        executor = _migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        assert "trees" not in {model._meta.app_label for model in old.get_models()}
        system = old.get_model("kb", "System").objects.create(name="Shop", slug="shop")
        symptom = old.get_model("kb", "Symptom").objects.create(system=system, title="API down")
        tree = old.get_model("kb", "DecisionTree").objects.create(system=system, slug="api-down", title="API down",
                                                                  revision=3)
        tree.symptoms.add(symptom)
        node = old.get_model("kb", "TreeNode").objects.create(tree=tree, key="running", kind="question",
                                                              answers=[{"label": "Yes", "next": "fix"}])
        tree.entry_node = node
        tree.save()
        old.get_model("kb", "TreeRevision").objects.create(tree=tree, number=3, yaml="slug: api-down\n")
        walkthrough = old.get_model("kb", "Walkthrough").objects.create(tree=tree, tree_revision=3,
                                                                        outcome="abandoned", exit_node_key="running")
        # What analytics reads: the steps each walker took and when.
        old.get_model("kb", "WalkthroughStep").objects.create(walkthrough=walkthrough, order=1, node_key="running",
                                                              node_label="Is it running?", entered_at=timezone.now())
        ids = (tree.pk, node.pk, walkthrough.pk)
    finally:
        _migrate(latest)

    from trees.analytics import tree_analytics
    from trees.models import DecisionTree, TreeNode, TreeRevision, Walkthrough, WalkthroughStep

    moved = DecisionTree.objects.get(pk=ids[0])
    assert (moved.slug, moved.revision, moved.entry_node_id) == ("api-down", 3, ids[1])
    assert list(moved.symptoms.values_list("title", flat=True)) == ["API down"]
    assert TreeNode.objects.get(pk=ids[1]).answers == [{"label": "Yes", "next": "fix"}]
    assert TreeRevision.objects.get(tree=moved).number == 3
    assert Walkthrough.objects.get(pk=ids[2]).tree == moved
    assert WalkthroughStep.objects.get(walkthrough_id=ids[2]).node_label == "Is it running?"
    stats = tree_analytics(moved)
    assert stats.starts == 1 and stats.nodes[0].visits == 1 and stats.nodes[0].abandons == 1


@pytest.mark.django_db(transaction=True)
def test_content_types_follow_the_models_to_the_trees_app():
    from django.contrib.contenttypes.models import ContentType

    latest = _latest()
    try:
        executor = _migrate(BEFORE)
        old = executor.loader.project_state([*BEFORE, ("contenttypes", "0002_remove_content_type_name")]).apps
        content_types = old.get_model("contenttypes", "ContentType")
        content_types.objects.filter(app_label="trees").delete()
        old_pk = content_types.objects.get_or_create(app_label="kb", model="decisiontree")[0].pk
    finally:
        _migrate(latest)
    ContentType.objects.clear_cache()
    assert ContentType.objects.get(pk=old_pk).app_label == "trees"
