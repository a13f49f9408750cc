"""Parley's settings for benchmark servers: ``chatsite.settings`` unchanged, except the
password hasher.

Setup registers and logs in hundreds of users through the public API; with Argon2 (~0.3 s of
CPU per hash on the 2-core bench machine) that alone would take minutes of the ten-minute
budget. No measured path hashes a password (tickets, sockets, sends and history use JWTs and
tickets), so a fast hasher changes setup time only. ``python -m bench --production-hasher``
runs with Argon2 instead.
"""

import os

from chatsite.settings import *  # noqa: F403

if os.environ.get("BENCH_PRODUCTION_HASHER") != "1":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
