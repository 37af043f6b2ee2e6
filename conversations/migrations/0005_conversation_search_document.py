"""`q` searches one document per conversation instead of a vector per message.

The per-message vector (a generated column with a GIN index) was computed and indexed on every ingested
message; the conversation's document is built by its analysis instead. Existing conversations get
theirs here (about 20 s per 100,000 conversations of 8 messages).
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

# As conversations.models.SEARCH_DOCUMENT_SQL was when this migration was written.
BUILD_DOCUMENTS = r"""
UPDATE conversations AS c SET search = d.document
FROM (
    SELECT conversation_id,
           to_tsvector('english', left(string_agg(content, E'\n' ORDER BY timestamp, position), 200000)) AS document
    FROM messages GROUP BY conversation_id
) AS d
WHERE c.id = d.conversation_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("conversations", "0004_message_search_vector"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="message", name="messages_search"),
        migrations.RemoveField(model_name="message", name="search"),
        migrations.AddField(
            model_name="conversation",
            name="search",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunSQL(BUILD_DOCUMENTS, reverse_sql=migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="conversation",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search"], name="conversations_search"),
        ),
    ]
