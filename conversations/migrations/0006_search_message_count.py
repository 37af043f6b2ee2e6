"""The number of messages a conversation's search document was built from: scoring rebuilds it only when that
number changed. Existing conversations (NULL) get theirs rebuilt at their next scoring, as before."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0005_conversation_search_document"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="search_message_count",
            field=models.PositiveIntegerField(editable=False, null=True),
        ),
    ]
