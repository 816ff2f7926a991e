from datetime import timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a user and print it once (only its hash is stored)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--scopes", default="read", help="Comma-separated: read, write, admin.")
        parser.add_argument("--name", default="")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, username: str, scopes: str, name: str, expires_days: int | None, **options) -> None:
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        try:
            key, secret = api_key_create(
                user=user, scopes=[s.strip() for s in scopes.split(",") if s.strip()], name=name, expires_at=expires_at
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(secret)
        self.stderr.write(f"Key {key.prefix} for {username} with scopes {','.join(key.scopes)}. Store it now: it is not shown again.")
