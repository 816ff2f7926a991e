import secrets

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo admin account once and print its password once (used by `make run`)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options) -> None:
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Demo admin '{username}' already exists (its password was printed when it was created).")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email=f"{username}@localhost", password=password)
        self.stdout.write(self.style.SUCCESS(f"Demo admin created: username '{username}', password '{password}'"))
        self.stdout.write("This password is shown only once.")
