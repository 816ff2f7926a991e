from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from diagnostics.models import Check
from diagnostics.yaml_io import checks_export_yaml


class Command(BaseCommand):
    help = "Write checks as YAML (every field, sorted by slug) to stdout or a file; import_checks reads it back."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="file to write instead of stdout")
        parser.add_argument("--slug", action="append", default=[], help="only these checks (repeatable)")

    def handle(self, *args: object, **options: object) -> None:
        checks = Check.objects.order_by("slug")
        if options["slug"]:
            checks = checks.filter(slug__in=options["slug"])
        text = checks_export_yaml(list(checks))
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
