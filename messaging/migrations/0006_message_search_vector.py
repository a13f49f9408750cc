"""PostgreSQL: the words of each message in a stored ``tsvector`` column, indexed by GIN, in place
of the expression index of 0005.

Measured on the 1M-message bench database (bench/RESULTS.md, section 5): with the expression,
every row a plan reads has its vector computed again — by the recheck of a bitmap scan, or by the
filter of a newest-first scan of the primary key — about 20 µs a row, so a phrase whose words are
common took 140 ms. Stored, the vector is read, not computed: the same phrase takes 2 ms, a common
word 0.2 ms. The price is disk (the table grows by about 40%) and, once, a table rewrite when this
migration runs (about a minute for a million messages; the table is locked meanwhile).

The column is PostgreSQL's own (``GENERATED ALWAYS … STORED``), so every write path (sends,
edits, deletes, COPY seeds) keeps it current with no code; it is not a model field, and
``messaging.search`` names it in its SQL. SQLite keeps its FTS5 table (0005).
"""

from django.conf import settings
from django.db import migrations

SPLIT = "'<>./:@-_&', '         '"  # characters made spaces, as in 0005's docstring


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE messaging_message ADD COLUMN search_vector tsvector GENERATED ALWAYS AS"
        f" (to_tsvector('{settings.SEARCH_LANGUAGE}'::regconfig, translate(body, {SPLIT}))) STORED"
    )
    schema_editor.execute(
        "CREATE INDEX messaging_message_search_vector ON messaging_message USING gin (search_vector)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS messaging_message_body_search")
    # A new column has no statistics until analysed; without them the planner misjudges how many
    # messages a word matches, and picks plans ten times slower.
    schema_editor.execute("ANALYZE messaging_message")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS messaging_message_body_search ON messaging_message"
        f" USING gin (to_tsvector('{settings.SEARCH_LANGUAGE}'::regconfig, translate(body, {SPLIT})))"
    )
    schema_editor.execute("ALTER TABLE messaging_message DROP COLUMN search_vector")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_message_search_index")]

    operations = [migrations.RunPython(forward, backward)]
