"""The full-text index of message bodies, built for the rows already there.

PostgreSQL: a GIN expression index on ``to_tsvector(SEARCH_LANGUAGE, body)``, with the characters
that make PostgreSQL's parser read URLs, hosts, e-mail addresses, paths, versions, hyphenated words
and HTML tags as single tokens turned into spaces first (``<script>`` would even hide the words
after it), so words split as FTS5 splits them; ``messaging.search`` spells the same expression, kept current by
PostgreSQL itself on every write (sends, edits, deletes, COPY seeds), so no write path changes.
SQLite: an FTS5 table over ``messaging_message`` (external content, no second copy of the text)
kept in step by triggers, in the same statement as the write. A deleted message's body is
blanked by its delete, so its words leave the index when that commits.
"""

from django.conf import settings
from django.db import migrations

FTS = "messaging_message_fts"
SPLIT = "'<>./:@-_&', '         '"  # characters made spaces (see above)

SQLITE_FORWARD = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(body, content='messaging_message', content_rowid='id',"
    " tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER {FTS}_ai AFTER INSERT ON messaging_message BEGIN"
    f" INSERT INTO {FTS}(rowid, body) VALUES (new.id, new.body); END",
    f"CREATE TRIGGER {FTS}_ad AFTER DELETE ON messaging_message BEGIN"
    f" INSERT INTO {FTS}({FTS}, rowid, body) VALUES ('delete', old.id, old.body); END",
    f"CREATE TRIGGER {FTS}_au AFTER UPDATE OF body ON messaging_message BEGIN"
    f" INSERT INTO {FTS}({FTS}, rowid, body) VALUES ('delete', old.id, old.body);"
    f" INSERT INTO {FTS}(rowid, body) VALUES (new.id, new.body); END",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {FTS}_au",
    f"DROP TRIGGER IF EXISTS {FTS}_ad",
    f"DROP TRIGGER IF EXISTS {FTS}_ai",
    f"DROP TABLE IF EXISTS {FTS}",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS messaging_message_body_search ON messaging_message"
            f" USING gin (to_tsvector('{settings.SEARCH_LANGUAGE}'::regconfig, translate(body, {SPLIT})))"
        )
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS messaging_message_body_search")
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_read_pointers_start_at_newest")]

    operations = [migrations.RunPython(forward, backward)]
