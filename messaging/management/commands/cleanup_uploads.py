"""Remove uploads never attached to a message (``manage.py cleanup_uploads``), e.g. hourly from cron.

An upload counts as abandoned once it is older than ``--hours`` (UPLOAD_ABANDONED_HOURS, 24 by
default) and still not sent: a composer left open that long is not coming back for it. Stored
files that no upload names (a server killed between storing a file and saving its row, a database
restored from an older backup) go too, once they are as old.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from messaging import uploads


class Command(BaseCommand):
    help = (
        "Delete uploads never attached to a message, and stored files no upload names, older than"
        " UPLOAD_ABANDONED_HOURS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hours",
            type=int,
            default=settings.UPLOAD_ABANDONED_HOURS,
            help="Age in hours past which an unsent upload is abandoned (default: UPLOAD_ABANDONED_HOURS).",
        )

    def handle(self, *args: object, hours: int, **options: object) -> None:
        hours = max(0, hours)
        removed = uploads.uploads_abandoned_delete(older_than_hours=hours)
        orphans = uploads.files_orphaned_delete(older_than_hours=hours)
        self.stdout.write(
            f"Removed {removed} abandoned upload{'s' if removed != 1 else ''} and"
            f" {orphans} orphaned file{'s' if orphans != 1 else ''} (older than {hours} h)."
        )
