import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from diagnostics.yaml_io import ChecksImportError, checks_import_yaml


class Command(BaseCommand):
    help = "Create or update checks from YAML files (matched by slug; all or nothing per file). '-' reads stdin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="YAML files, or - for standard input")

    def handle(self, *args: object, **options: object) -> None:
        for path in options["paths"]:
            if path == "-":
                text = sys.stdin.read()
            else:
                try:
                    text = Path(path).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise CommandError(f"{path}: cannot read: {exc}") from exc
            try:
                report = checks_import_yaml(text)
            except ChecksImportError as exc:
                raise CommandError(f"{path}: nothing imported:\n  " + "\n  ".join(exc.errors)) from exc
            self.stdout.write(f"{path}: created {len(report.created)}, updated {len(report.updated)}, "
                              f"unchanged {len(report.unchanged)}")
