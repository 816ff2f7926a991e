"""BM25 as FTS5 computes it (the PostgreSQL engine's ranking); pure functions, no database."""

import math

import pytest

from kb.search.engines.bm25 import bm25_idf, bm25_score


def test_idf_is_higher_for_rarer_words_and_tiny_for_words_in_half_the_articles():
    assert bm25_idf(1, 1000) > bm25_idf(10, 1000) > bm25_idf(100, 1000) > 0.01
    assert bm25_idf(500, 1000) == pytest.approx(1e-6)
    assert bm25_idf(900, 1000) == pytest.approx(1e-6)
    assert bm25_idf(1, 1000) == pytest.approx(math.log(999.5 / 1.5))


def test_repeated_body_mentions_come_close_to_one_title_mention():
    """Weighted counts saturate: three body mentions (weight 1 each) against one title mention (weight 10)."""
    body = bm25_score([3.0], [1.0], length=100, average_length=100)
    title = bm25_score([10.0], [1.0], length=100, average_length=100)
    assert 0.7 * title < body < title


def test_each_item_adds_its_idf_weighted_share_and_absent_items_add_nothing():
    one = bm25_score([1.0, 0.0], [2.0, 5.0], length=50, average_length=50)
    both = bm25_score([1.0, 1.0], [2.0, 5.0], length=50, average_length=50)
    assert one == pytest.approx(2.0 * 2.2 / 2.2)
    assert both == pytest.approx(one * 3.5)


def test_longer_articles_score_lower_for_the_same_counts():
    short = bm25_score([2.0], [1.0], length=50, average_length=100)
    long = bm25_score([2.0], [1.0], length=200, average_length=100)
    assert short > long
    assert bm25_score([2.0], [1.0], length=10, average_length=0) > 0  # no average known: no normalisation
