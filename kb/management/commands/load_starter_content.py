"""`manage.py load_starter_content`: load kb/content/<system>/ through the guide importer (idempotent)."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kb.importing import GuideRejected, content_import

DEFAULT_CONTENT_DIR = Path(settings.BASE_DIR) / "kb" / "content"


class Command(BaseCommand):
    help = "Load the starter systems and articles from kb/content/ (safe to run repeatedly)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, default=DEFAULT_CONTENT_DIR, help="Content directory")
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; write nothing")
        parser.add_argument("--prune", action="store_true",
                            help="Delete starter articles whose file was removed")

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["dir"]
        if not directory.is_dir():
            self.stdout.write(f"No starter content at {directory}; nothing to load.")
            return
        try:
            reports = content_import(directory=directory, dry_run=options["dry_run"], prune=options["prune"])
        except GuideRejected as exc:
            raise CommandError(f"starter content refused: {exc}") from None
        for report in reports:
            if options["verbosity"] >= 2:
                for marker, paths in (("+", report.created), ("~", report.updated), ("-", report.removed)):
                    for path in paths:
                        self.stdout.write(f"  {marker} {path}")
            self.stdout.write(report.summary_line())
        if not any(report.changed for report in reports):
            self.stdout.write("Starter content: no changes.")
        # Each system's _checks.yml (health and port checks), imported by slug and linked to the system.
        from diagnostics.yaml_io import ChecksImportError
        from kb.check_links import starter_checks_import

        try:
            for line in starter_checks_import(directory=directory, dry_run=options["dry_run"]):
                self.stdout.write(line)
        except ChecksImportError as exc:
            raise CommandError("starter checks refused:\n  " + "\n  ".join(exc.errors)) from None
        # Steps other apps add (kb.hooks), e.g. decision trees, which refer to the articles and checks above.
        from kb.hooks import StarterStepRefused, starter_steps

        for step in starter_steps():
            try:
                for line in step(directory=directory, dry_run=options["dry_run"]):
                    self.stdout.write(line)
            except StarterStepRefused as exc:
                raise CommandError(f"{exc.what} refused:\n  " + "\n  ".join(exc.errors)) from None
