"""A PostgreSQL index serving ``LOWER(username) LIKE 'prefix%'`` (user search).

The unique index on LOWER(username) cannot serve LIKE outside the C collation;
``text_pattern_ops`` can. SQLite has no such operator class and needs none for a dev database.
"""

from django.db import migrations

INDEX = "accounts_user_username_prefix"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON accounts_user (LOWER(username) text_pattern_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
