"""`manage.py bench_relevance [--guide SLUG ...] [--no-seeds] [--no-logs] [--no-synonyms] [--no-semantic]
[--show-dev-failures]`.

Imports the public guides of tests/fixtures/relevance (each into its own system, nothing else), pastes
their verbatim error strings and variants into the matcher, searches their paraphrases, pastes the
seed guides' error lines with the seeds alone imported, and runs the clean sample logs; see
kb.relevance. Paraphrases are searched with the semantic rerank and without it (``paraphrase_top3`` and
``paraphrase_top3_lexical``, with the time per query of each, the model's load time and memory and the time
to encode every imported article). Prints exactly one JSON line (dev and heldout figures apart). Everything it writes is
rolled back.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kb.relevance.measure import relevance_measure


class Command(BaseCommand):
    help = "Relevance of import, matching and search on public troubleshooting guides; prints one JSON line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--guide", action="append", dest="guides", help="Only this guide (repeatable)")
        parser.add_argument("--no-seeds", action="store_true", help="Skip the seed-guides-only error lines")
        parser.add_argument("--no-logs", action="store_true", help="Skip the clean production logs")
        parser.add_argument("--no-synonyms", action="store_true",
                            help="Measure without the operations vocabulary (to show what it adds)")
        parser.add_argument("--no-semantic", action="store_true",
                            help="Search paraphrases lexically only (skips loading the sentence model)")
        parser.add_argument("--show-dev-failures", action="store_true",
                            help="List each miss of the dev guides on stderr (held-out misses are never listed)")

    def handle(self, *args: Any, **options: Any) -> None:
        result = relevance_measure(only=options["guides"], seeds=not options["no_seeds"],
                                   logs=not options["no_logs"], synonyms=not options["no_synonyms"],
                                   semantic=not options["no_semantic"],
                                   show_dev_failures=options["show_dev_failures"])
        self.stdout.write(json.dumps(result, sort_keys=True))
