"""Seed demo or load-test data: ``manage.py seed_chat [--demo] [--users N] [--seed S]``."""

from __future__ import annotations

import random
import sys

from django.core.management.base import BaseCommand, CommandParser

from messaging import seeding


class Command(BaseCommand):
    help = "Create demo users (and, with options, rooms and history). Idempotent and deterministic."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--demo", action="store_true", help="A small demo: 6 users, a few rooms and messages."
        )
        parser.add_argument("--users", type=int, default=None, help="How many users (default 6).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: same seed, same data.")
        parser.add_argument("--password", default=seeding.DEMO_PASSWORD, help="Password of seeded users.")

    def handle(self, *args, **options) -> None:
        users = options["users"] if options["users"] is not None else 6
        if users < 1:
            self.stderr.write("--users must be at least 1")
            sys.exit(2)
        rng = random.Random(options["seed"])
        created = seeding.seed_users(
            count=users, rng=rng, password=options["password"], progress=self._progress("users")
        )
        self.stdout.write(self.style.SUCCESS(f"{len(created)} users ready."))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login: username {created[0].username!r}, password {options['password']!r}"
                f" (also {', '.join(u.username for u in created[1:4])}, same password)"
            )
        )

    def _progress(self, what: str):
        def report(done: int, total: int) -> None:
            if total >= 1000 or done == total:
                self.stdout.write(f"  {what}: {done}/{total}", ending="\r" if done < total else "\n")
                self.stdout.flush()

        return report
