"""The event log moves from ``messaging`` to the real-time layer below the apps.

A new table without a foreign key to rooms (the log refers to rooms by id: this layer is below
them), with a column for what an event is about (``object_id``). Rows are copied with their
``seq`` and the sequence continues after them; ``messaging.0002`` then drops the old table.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def copy_events(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO realtime_event (seq, room_id, type, subject_id, object_id, payload, created_at)"
            " SELECT seq, room_id, type, subject_id, NULL, payload, created_at FROM messaging_event"
        )
        if connection.vendor == "postgresql":
            # Message events are about their message: fill object_id from the payload.
            cursor.execute(
                "UPDATE realtime_event SET object_id = (payload -> 'message' ->> 'id')::bigint"
                " WHERE type LIKE 'message.%%'"
            )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('realtime_event', 'seq'),"
                " COALESCE((SELECT MAX(seq) FROM realtime_event), 1),"
                " (SELECT MAX(seq) FROM realtime_event) IS NOT NULL)"
            )
        else:
            cursor.execute(
                "UPDATE realtime_event SET object_id = json_extract(payload, '$.message.id')"
                " WHERE type LIKE 'message.%'"
            )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("messaging", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Event",
            fields=[
                ("seq", models.BigAutoField(primary_key=True, serialize=False)),
                ("room_id", models.BigIntegerField()),
                ("type", models.CharField(max_length=32)),
                ("object_id", models.BigIntegerField(blank=True, null=True)),
                ("payload", models.JSONField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "subject",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["room_id", "seq"], name="realtime_event_room_seq"),
                    models.Index(fields=["subject", "seq"], name="realtime_event_subject_seq"),
                    models.Index(
                        condition=models.Q(("object_id__isnull", False)),
                        fields=["object_id"],
                        name="realtime_event_object",
                    ),
                ],
            },
        ),
        migrations.RunPython(copy_events, migrations.RunPython.noop),
    ]
