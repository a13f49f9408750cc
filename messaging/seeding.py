"""Demo and load data. Used by ``manage.py seed_chat``; every write obeys the services' rules."""

from __future__ import annotations

import random
from collections.abc import Callable

from django.contrib.auth.hashers import make_password
from django.db import transaction

from accounts.models import User

DEMO_PASSWORD = "parley-demo"
DEMO_NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
FIRST = [
    "Ada",
    "Ben",
    "Cleo",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ines",
    "Jon",
    "Kai",
    "Lena",
    "Milo",
    "Nia",
]
LAST = ["Kim", "Ortiz", "Singh", "Novak", "Okafor", "Berg", "Rossi", "Tanaka", "Haddad", "Silva"]

Progress = Callable[[int, int], None]


def username_for(index: int) -> str:
    return DEMO_NAMES[index] if index < len(DEMO_NAMES) else f"user{index:05d}"


def seed_users(
    *, count: int, rng: random.Random, password: str = DEMO_PASSWORD, progress: Progress
) -> list[User]:
    """Ensure users ``username_for(0..count-1)`` exist; idempotent. Returns them in index order.

    The password is hashed once and shared by the seeded accounts: hashing Argon2 per user
    would take minutes for large N and buys nothing for demo data.
    """
    names = [username_for(i) for i in range(count)]
    existing = {u.username: u for u in User.objects.filter(username__in=names)}
    hashed = make_password(password)
    batch = 2000
    for start in range(0, count, batch):
        new = []
        for i in range(start, min(count, start + batch)):
            name = names[i]
            if name in existing:
                continue
            display = f"{rng.choice(FIRST)} {rng.choice(LAST)}" if i >= len(DEMO_NAMES) else name.title()
            new.append(User(username=name, password=hashed, display_name=display))
        with transaction.atomic():
            User.objects.bulk_create(new, ignore_conflicts=True)
        progress(min(count, start + batch), count)
    by_name = {u.username: u for u in User.objects.filter(username__in=names)}
    return [by_name[name] for name in names]
