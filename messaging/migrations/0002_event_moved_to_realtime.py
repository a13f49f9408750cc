"""The event log now lives in ``chatsite.realtime`` (its 0001 copied the rows)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("realtime", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="Event"),
    ]
