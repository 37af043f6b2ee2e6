"""Create the single admin on first run and print its password once."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin user (username 'admin', random password printed once) if no superuser exists."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="admin@localhost")

    def handle(self, *args, username: str, email: str, **options):
        # make run's local settings (no secret key) are debug ones: a command on its data needs the same.
        reset = f"{'DJANGO_DEBUG=true ' if settings.DEBUG else ''}.venv/bin/python manage.py changepassword {username}"
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write(f"An admin user exists already (reset its password: {reset}).")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email=email, password=password)
        self.stdout.write(self.style.SUCCESS(f"Created the admin user. Username: {username}  Password: {password}"))
        self.stdout.write(f"This password is shown only now; change it with: {reset}")
