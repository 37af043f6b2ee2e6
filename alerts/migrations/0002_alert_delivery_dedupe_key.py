from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_initial"),
    ]

    operations = [
        # Nullable first, so that rows recorded before this migration (if any) get a key of their own.
        migrations.AddField(
            model_name="alertdelivery",
            name="dedupe_key",
            field=models.CharField(max_length=100, null=True),
        ),
        migrations.RunSQL(
            "UPDATE alert_deliveries SET dedupe_key = 'legacy:' || id WHERE dedupe_key IS NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="alertdelivery",
            name="dedupe_key",
            field=models.CharField(max_length=100, unique=True),
        ),
        migrations.AlterField(
            model_name="alertdelivery",
            name="kind",
            field=models.CharField(
                choices=[("failure", "New failure"), ("low_health", "Health below the threshold")], max_length=32
            ),
        ),
    ]
