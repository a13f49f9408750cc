"""``manage.py purge_messages --older-than DAYS [--room ROOM_ID] [--execute]``

Retention: deletes messages older than DAYS days (in one room, or everywhere) through the same
path as a user's delete (``messaging.retention``). A dry run by default: it says what it would
delete; ``--execute`` deletes and says what it did.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.retention import messages_purge
from rooms.models import Room


class Command(BaseCommand):
    help = (
        "Delete messages older than N days (dry run unless --execute), as tombstones, like a user's delete."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than", type=int, required=True, metavar="DAYS", help="Age in days (at least 1)."
        )
        parser.add_argument("--room", type=int, default=None, metavar="ROOM_ID", help="Only this room.")
        parser.add_argument("--execute", action="store_true", help="Delete (without it: only report).")

    def handle(self, *args, **options) -> None:
        days, room_id, execute = options["older_than"], options["room"], options["execute"]
        if days < 1:
            raise CommandError("--older-than must be at least 1 day.")
        if room_id is not None and not Room.objects.filter(pk=room_id).exists():
            raise CommandError(f"No room with id {room_id}.")
        report = messages_purge(older_than_days=days, room_id=room_id, execute=execute)
        names = dict(Room.objects.filter(pk__in=report.by_room).values_list("pk", "name"))
        for room, count in sorted(report.by_room.items()):
            self.stdout.write(f"  room {room} ({names.get(room, '?')}): {count} message(s)")
        cutoff = f"{report.cutoff:%Y-%m-%d %H:%M} UTC"
        if execute:
            self.stdout.write(
                self.style.SUCCESS(f"Deleted {report.deleted} message(s) sent before {cutoff}.")
            )
        else:
            self.stdout.write(
                f"Dry run: {report.found} message(s) sent before {cutoff} would be deleted. Add --execute to delete."
            )
