"""Seed demo or load-test data.

``manage.py seed_chat --demo`` — a few users, #general, #random, a private room, a DM, a little
history (what ``make run`` shows). ``manage.py seed_chat --users N --rooms R --members M
--messages K [--dms D] [--seed S]`` — load data; fast enough for millions of messages.
Idempotent (re-running writes only what is missing) and deterministic for a given ``--seed``.
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandParser

from messaging import seeding


class Command(BaseCommand):
    help = "Create demo or load-test users, rooms, DMs and history. Idempotent and deterministic."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--demo", action="store_true", help="A small demo: 6 users, a few rooms, a DM and messages."
        )
        parser.add_argument("--users", type=int, default=None, help="How many users (default 6).")
        parser.add_argument("--rooms", type=int, default=0, help="How many public rooms.")
        parser.add_argument("--members", type=int, default=0, help="Members per room (default: all users).")
        parser.add_argument("--messages", type=int, default=0, help="Messages in total, over rooms and DMs.")
        parser.add_argument("--dms", type=int, default=None, help="How many DMs (default: as many as rooms).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: same seed, same data.")
        parser.add_argument("--password", default=seeding.DEMO_PASSWORD, help="Password of seeded users.")

    def handle(self, *args, **options) -> None:
        users = options["users"] if options["users"] is not None else 6
        if users < 1 or options["rooms"] < 0 or options["members"] < 0 or options["messages"] < 0:
            self.stderr.write("--users must be at least 1; sizes must not be negative")
            sys.exit(2)
        started = time.monotonic()
        if options["demo"]:
            summary = seeding.seed_demo(users=users, password=options["password"])
        else:
            summary = seeding.seed_chat(
                users=users,
                rooms=options["rooms"],
                members=options["members"] or users,
                messages=options["messages"],
                dms=options["dms"] if options["dms"] is not None else options["rooms"],
                seed=options["seed"],
                password=options["password"],
                progress=self._progress,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{summary.users} users, {len(summary.rooms)} rooms, {len(summary.dms)} DMs ready;"
                f" {summary.messages_created} messages written in {time.monotonic() - started:.1f}s."
            )
        )
        names = [seeding.username_for(i) for i in range(min(summary.users, 4))]
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login: username {names[0]!r}, password {options['password']!r}"
                f" (also {', '.join(names[1:])}, same password)"
            )
        )

    def _progress(self, what: str):
        def report(done: int, total: int) -> None:
            if total >= 1000 or done == total:
                self.stdout.write(f"  {what}: {done}/{total}", ending="\r" if done < total else "\n")
                self.stdout.flush()

        return report
