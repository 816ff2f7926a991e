"""Decision trees as data: YAML import/export, validation messages, revisions, node editing, starter trees."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

from diagnostics.models import Check
from kb.models import Article
from tests.factories import ArticleFactory, SystemFactory
from trees import limits, mermaid, services, starter, yaml_io
from trees.exceptions import TreeInvalid
from trees.models import DecisionTree, TreeNode, TreeRevision

from .test_trees_support import TREE_YAML

# The shared fixtures (shop, tree, listening_port) live in test_trees_support.
pytest_plugins = ["tests.trees.test_trees_support"]

pytestmark = pytest.mark.django_db

CONTENT = Path(settings.BASE_DIR) / "kb" / "content"


def errors_for(text: str, **kwargs) -> list[str]:
    with pytest.raises(TreeInvalid) as caught:
        services.tree_import_yaml(text=text, **kwargs)
    return caught.value.errors


def mutate(**changes) -> str:
    """The sample tree with some nodes replaced (by key) or removed (value None)."""
    document = yaml.load(TREE_YAML, Loader=yaml_io._Loader)
    for key, node in changes.items():
        index = next(i for i, n in enumerate(document["nodes"]) if n["key"] == key)
        if node is None:
            document["nodes"].pop(index)
        else:
            document["nodes"][index] = node
    return yaml_io.yaml_dump(document)


# --- round trip ----------------------------------------------------------------------------------------


def test_export_of_an_imported_canonical_document_is_identical_text(tree):
    assert yaml_io.tree_export_yaml(tree) == TREE_YAML


def test_reimport_of_unchanged_yaml_changes_nothing(tree):
    result = services.tree_import_yaml(text=TREE_YAML)
    assert (result.created, result.changed) == (False, False)
    assert tree.revisions.count() == 1


def test_yes_and_no_labels_stay_text_not_booleans(tree):
    labels = [a["label"] for a in tree.nodes.get(key="running").answers]
    assert labels == ["Yes", "No"]


def test_a_non_canonical_document_exports_canonically_and_that_round_trips(shop):
    messy = TREE_YAML.replace("check: shop-api-port", "check: Shop API port").replace(
        "    OK: fixed-config\n    WARNING: slow\n", "    warning: slow\n    ok: fixed-config\n")
    tree = services.tree_import_yaml(text=messy).tree
    exported = yaml_io.tree_export_yaml(tree)
    assert exported == TREE_YAML  # check by name -> slug, branch order and case normalised
    again = services.tree_import_yaml(text=exported)
    assert not again.changed and yaml_io.tree_export_yaml(again.tree) == exported


def test_prompt_markdown_is_rendered_and_sanitised_on_write(shop):
    text = TREE_YAML.replace("Run `systemctl status shop-api`", "<script>alert(1)</script> Run **now**")
    tree = services.tree_import_yaml(text=text).tree
    html = tree.nodes.get(key="running").prompt_html
    assert "<strong>now</strong>" in html and "<script>" not in html


# --- validation: one test per kind of problem ----------------------------------------------------------


def test_unreachable_nodes_are_named(shop):
    text = TREE_YAML + "- key: orphan\n  kind: escalate\n"
    [message] = errors_for(text)
    assert "Unreachable" in message and "orphan" in message


def test_dangling_references_are_named(shop):
    text = mutate(start={"key": "start", "kind": "instruction", "next": "nowhere"})
    errors = errors_for(text)
    assert any("'start' points at 'nowhere'" in e for e in errors)


def test_answers_without_labels_are_reported(shop):
    text = mutate(running={"key": "running", "kind": "question",
                           "answers": [{"label": "Yes", "next": "port"}, {"next": "start"}]})
    assert any("answer 2 has no label" in e for e in errors_for(text))


def test_loops_with_no_exit_are_reported(shop):
    text = mutate(running={"key": "running", "kind": "question",
                           "answers": [{"label": "Yes", "next": "start"}, {"label": "No", "next": "start"}]},
                  start={"key": "start", "kind": "instruction", "next": "running"},
                  port=None, firewall=None, slow=None, escalate=None)
    text = text.replace("fixed-config", "kept")  # drop the rest of the tree so only the loop is left
    document = yaml.load(text, Loader=yaml_io._Loader)
    document["nodes"] = [n for n in document["nodes"] if n["key"] in ("running", "start")]
    errors = errors_for(yaml_io.yaml_dump(document))
    assert any(e.startswith("Loop with no exit") and "running" in e and "start" in e for e in errors)


def test_unknown_checks_are_reported(shop):
    text = TREE_YAML.replace("check: shop-api-port", "check: no-such-check")
    assert any("unknown check 'no-such-check'" in e for e in errors_for(text))


def test_unknown_articles_and_solutions_are_reported(shop):
    text = TREE_YAML.replace("article: firewall-rules", "article: not-an-article", 1).replace(
        "solution: Reload the API configuration", "solution: Pray")
    errors = errors_for(text)
    assert any("unknown article 'not-an-article'" in e for e in errors)
    assert any("unknown solution 'Pray'" in e for e in errors)


def test_every_problem_is_reported_at_once_and_nothing_is_saved(shop):
    text = TREE_YAML.replace("check: shop-api-port", "check: nope").replace("next: port\n- key: port",
                                                                            "next: gone\n- key: port")
    errors = errors_for(text)
    assert len(errors) >= 2
    assert not DecisionTree.objects.exists()


@pytest.mark.parametrize("text, expected", [
    ("nodes: [", "not valid YAML (line 1"),
    ("- just a list\n", "must be a mapping"),
    ("title: T\nsystem: shop\nnodes: []\n", "non-empty list of nodes"),
    ("title: T\nsystem: nowhere\nnodes: [{key: a, kind: escalate}]\n", "Unknown system 'nowhere'"),
    ("title: T\nsystem: shop\nnodes: [{key: a, kind: teleport}]\n", "unknown kind 'teleport'"),
    ("title: T\nsystem: shop\nnodes: [{key: a, kind: escalate}, {key: a, kind: escalate}]\n", "used twice"),
    ("title: T\nsystem: shop\nnodes: [{key: a, kind: check, check: shop-api-port, branches: {OK: a}}]\n",
     "needs at least the CRITICAL branch"),
    ("title: T\nsystem: shop\nentry: z\nnodes: [{key: a, kind: escalate}]\n", "entry node 'z' does not exist"),
    ("title: T\nsystem: shop\nnodes: [{key: a, kind: link, tree: t}]\n", "cannot link to itself"),
    ("title: T\nsystem: shop\nnodes: [{key: a, kind: check, check: shop-api-port, target: '{user}',"
     " branches: {OK: b, CRITICAL: b}}, {key: b, kind: escalate}]\n", "only {host} and {port}"),
])
def test_shape_problems_have_clear_messages(shop, text, expected):
    assert any(expected in e for e in errors_for(text)), errors_for(text)


def test_binary_and_oversized_uploads_are_refused_with_a_message(shop):
    assert "not UTF-8" in errors_for(b"\xff\xfe\x00bad")[0]
    assert "larger than" in errors_for(b"a" * (limits.MAX_YAML_BYTES + 1))[0]


# --- revisions and editing -----------------------------------------------------------------------------


def test_every_change_is_a_revision_with_the_yaml_snapshot(tree, staff_user):
    changed = TREE_YAML.replace("Is the API process running?", "Is shop-api running?")
    result = services.tree_import_yaml(text=changed, author=staff_user, note="Clearer question")
    assert result.changed and result.tree.revision == 2
    latest = TreeRevision.objects.get(tree=tree, number=2)
    assert latest.yaml == changed and latest.author == staff_user and latest.note == "Clearer question"
    assert TreeRevision.objects.get(tree=tree, number=1).yaml == TREE_YAML


def test_removed_nodes_are_deleted_and_kept_nodes_keep_their_rows(tree):
    port_id = tree.nodes.get(key="port").pk
    document = yaml.load(TREE_YAML, Loader=yaml_io._Loader)
    document["nodes"] = [n for n in document["nodes"] if n["key"] != "slow"]
    document["nodes"][2]["branches"].pop("WARNING")
    services.tree_import_yaml(text=yaml_io.yaml_dump(document))
    assert not tree.nodes.filter(key="slow").exists()
    assert tree.nodes.get(key="port").pk == port_id


def test_node_update_validates_the_whole_tree(tree, staff_user):
    node = yaml_io.tree_document(tree)["nodes"][0]
    node["answers"][1]["next"] = "missing"
    with pytest.raises(TreeInvalid):
        services.tree_node_update(tree=tree, key="running", node=node, author=staff_user)
    node["answers"][1]["next"] = "escalate"  # valid on its own, but then nothing leads to "start"
    assert any("Unreachable" in e and "start" in e for e in errors_for_update(tree, node))
    node["answers"][1]["next"] = "start"
    node["title"] = "Is it up?"
    result = services.tree_node_update(tree=tree, key="running", node=node, author=staff_user)
    assert result.changed and tree.nodes.get(key="running").title == "Is it up?"
    assert tree.revisions.count() == 2


def errors_for_update(tree, node) -> list[str]:
    with pytest.raises(TreeInvalid) as caught:
        services.tree_node_update(tree=tree, key=node["key"], node=node)
    return caught.value.errors


def test_uploading_yaml_for_another_slug_over_a_tree_is_refused(tree):
    other = TREE_YAML.replace("slug: api-down", "slug: something-else")
    assert "not 'api-down'" in errors_for(other, system=tree.system, slug="api-down")[0]


def test_deleting_a_check_used_by_a_tree_keeps_the_tree_and_export_then_names_the_gap(tree):
    Check.objects.get(slug="shop-api-port").delete()
    text = yaml_io.tree_export_yaml(tree)
    assert "check:" not in text.split("key: port", 1)[1].split("- key:", 1)[0]
    assert any("needs a check" in e for e in errors_for(text))


def test_links_between_trees_resolve_within_and_across_systems(tree):
    other_system = SystemFactory(name="Payments", slug="payments")
    ArticleFactory(system=other_system, title="Card errors", slug="card-errors")
    text = ("slug: pay\ntitle: Payments fail\nsystem: payments\nstatus: published\nentry: a\nnodes:\n"
            "- key: a\n  kind: question\n  answers:\n  - label: Shop is down too\n    next: b\n"
            "  - label: Only payments\n    next: c\n"
            "- key: b\n  kind: link\n  tree: shop/api-down\n"
            "- key: c\n  kind: solution\n  article: card-errors\n  next: b\n")
    pay = services.tree_import_yaml(text=text).tree
    assert pay.nodes.get(key="b").linked_tree == tree
    assert yaml_io.tree_export_yaml(pay) == text


def test_mermaid_source_lists_every_node_and_edge_without_markup(tree):
    source = mermaid.tree_mermaid(tree)
    assert source.startswith("flowchart TD")
    assert source.count("-->") == 2 + 1 + 4 + 3  # question, instruction, check, three solutions' "not fixed"
    assert "<" not in source.replace("-->", "")


# --- starter trees -------------------------------------------------------------------------------------


def starter_files() -> list[Path]:
    return sorted(CONTENT.glob("*/_trees/*.yml"))


def test_every_seed_system_has_starter_trees():
    systems = {path.parent.parent.name for path in starter_files()}
    assert {"agent-factory", "ares", "claude-flow", "coordinaitor", "orchestrator"} <= systems


@pytest.fixture
def starter_content(db):
    # The starter checks first (the trees use them), whether or not the command loads them itself.
    from diagnostics.yaml_io import checks_import_yaml
    from kb.importing import content_import

    content_import(directory=CONTENT)
    for path in sorted(CONTENT.glob("*/_checks.yml")):
        checks_import_yaml(path.read_text())
    call_command("load_starter_content", verbosity=0)


def test_starter_trees_load_validate_round_trip_and_reload_idempotently(starter_content):
    # One test, because loading the starter content costs seconds.
    files = starter_files()
    assert DecisionTree.objects.filter(source_file__contains="/_trees/").count() == len(files) >= 20
    for path in files:
        where = f"{path.parent.parent.name}/_trees/{path.name}"
        tree = DecisionTree.objects.get(source_file=where)
        assert yaml_io.tree_export_yaml(tree) == path.read_text(), where
        assert tree.symptoms.exists(), where
    # Most trees verify a step by themselves, and together they send walkers to many starter articles.
    with_checks = DecisionTree.objects.filter(nodes__kind=TreeNode.Kind.CHECK).distinct().count()
    assert with_checks >= len(files) - 2
    assert Article.objects.filter(tree_nodes__isnull=False).distinct().count() >= 30
    # Links between starter trees resolved, whichever file loaded first.
    assert not TreeNode.objects.filter(kind=TreeNode.Kind.LINK, linked_tree__isnull=True).exists()

    revisions = TreeRevision.objects.count()
    report = starter.starter_trees_load(directory=CONTENT)
    assert not report.created and not report.updated and len(report.unchanged) == len(files)
    assert TreeRevision.objects.count() == revisions


def test_alias_bombs_do_not_blow_up_into_text(shop):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
    text = bomb + "title: *h\nsystem: shop\nnodes: [{key: a, kind: escalate, title: *h, prompt: *h}]\n"
    errors = errors_for(text)
    assert any("Unknown top-level keys" in e for e in errors) and any("needs a title" in e for e in errors)
