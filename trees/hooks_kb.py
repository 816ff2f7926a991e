"""What trees adds to kb's pages and starter loader, through the hooks kb offers (kb.hooks)."""

from __future__ import annotations

from kb import hooks


def register() -> None:
    from .selectors import trees_for_articles, trees_for_symptoms
    from .starter import starter_step

    # Article and system pages list the trees to start from there; search hits and match results
    # name the tree that leads to the article or handles the symptom.
    hooks.register_page_include("article_detail", "trees/partials/tree_links.html")
    hooks.register_page_include("system_detail", "trees/partials/tree_links.html")
    hooks.register_page_include("search_hit", "trees/partials/tree_hit_link.html")
    hooks.register_page_include("match_symptom", "trees/partials/tree_match_link.html")
    hooks.register_symptom_trees(trees_for_symptoms)
    hooks.register_article_trees(trees_for_articles)
    # Trees refer to articles and checks, so they load after those.
    hooks.register_starter_step(starter_step)
