"""Sizes and vocabularies shared by the YAML format, validation, forms and walkthroughs."""

from __future__ import annotations

from datetime import timedelta

MAX_YAML_BYTES = 1024 * 1024
MAX_NODES = 500
MAX_ANSWERS = 20
MAX_PROMPT_CHARS = 20_000
MAX_STEPS = 200  # a walkthrough longer than this is going round in circles
# The states a check node branches on, in display order; a check node needs at least the required ones.
STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
REQUIRED_BRANCHES = ("OK", "CRITICAL")
# Values a walkthrough carries from a matched log line that check targets may use ("{host}:{port}").
CONTEXT_FIELDS = ("host", "port")
# Walkthroughs untouched this long count as abandoned in analytics.
ABANDON_AFTER = timedelta(hours=24)
