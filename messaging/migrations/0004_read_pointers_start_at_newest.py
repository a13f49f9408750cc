"""Existing rooms learn their newest message, and existing members start with everything read
(rather than a whole history of unread messages)."""

from django.db import migrations

FORWARD = [
    "UPDATE rooms_room SET last_message_id = COALESCE("
    "(SELECT MAX(m.id) FROM messaging_message m WHERE m.room_id = rooms_room.id), 0)",
    "UPDATE rooms_membership SET last_read_message_id = "
    "(SELECT r.last_message_id FROM rooms_room r WHERE r.id = rooms_membership.room_id)",
]


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_rich_messages"),
        ("rooms", "0002_read_pointers"),
    ]

    operations = [migrations.RunSQL(sql, reverse_sql=migrations.RunSQL.noop) for sql in FORWARD]
