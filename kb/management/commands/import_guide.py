"""`manage.py import_guide PATH [PATH...] --system NAME [--dry-run] [--prune]`."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from kb.importing import GuideRejected, ImportReport, guide_import, guide_parse_bytes, system_for_import


def _read(path: Path, limit: int) -> bytes:
    """Read at most limit+1 bytes, so a huge file is refused without loading it whole."""
    with path.open("rb") as handle:
        return handle.read(limit + 1)


class Command(BaseCommand):
    help = "Import Markdown troubleshooting guides: one article per problem section, with symptoms and solutions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="Markdown guide files")
        parser.add_argument("--system", required=True, help="System name (created if missing)")
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; write nothing")
        parser.add_argument("--prune", action="store_true",
                            help="Delete articles whose section is no longer in the guide")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings

        limit = settings.TRIAGE_IMPORT_MAX_BYTES
        files: list[tuple[Path, bytes]] = []
        problems: list[str] = []
        for path in options["paths"]:
            if not path.is_file():
                problems.append(f"no such file [{path}]")
                continue
            try:
                data = _read(path, limit)
                # Check every file first, so one bad file means nothing is written.
                guide_parse_bytes(data=data, filename=path.name)
            except GuideRejected as exc:
                problems.append(f"{exc} [{path}]")
                continue
            except OSError as exc:
                problems.append(f"guide cannot be read ({exc.strerror}) [{path}]")
                continue
            files.append((path, data))
        if problems:
            # One line, reason first: "CommandError: guide is not valid UTF-8 (...) [notes.md]".
            raise CommandError("; ".join(problems) + "; nothing was imported")

        dry_run = options["dry_run"]
        try:
            with transaction.atomic():
                system = system_for_import(name=options["system"], create=not dry_run)
                reports = [
                    guide_import(data=data, filename=path.name, system=system, dry_run=dry_run,
                                 prune=options["prune"])
                    for path, data in files
                ]
        except GuideRejected as exc:
            raise CommandError(str(exc)) from None
        for report in reports:
            self._print(report, verbosity=options["verbosity"])

    def _print(self, report: ImportReport, *, verbosity: int) -> None:
        if verbosity >= 1:
            for marker, paths in (("+", report.created), ("~", report.updated), ("-", report.removed)):
                for path in paths:
                    self.stdout.write(f"  {marker} {path}")
            if verbosity >= 2:
                for path in report.unchanged:
                    self.stdout.write(f"  = {path}")
                for path in report.stale:
                    self.stdout.write(f"  ? {path} (no longer in the guide)")
        style = self.style.SUCCESS if report.changed and not report.dry_run else self.style.NOTICE
        self.stdout.write(style(report.summary_line()) if report.changed else report.summary_line())
