"""The outbox becomes generic: a delivery keeps its address, its topic, the name of the
message builder that makes its email and that builder's ids, instead of foreign keys to the
data sharing request, recipient and reminder. Existing rows are filled from those keys
(dedupe keys unchanged), then the keys go. Reversible for sharing's deliveries."""

from django.db import migrations, models

FILL = """
UPDATE notifications_emaildelivery d
SET address = r.email,
    builder = 'sharing.agreement-request',
    params = jsonb_build_object(
        'request_id', d.request_id, 'recipient_id', d.recipient_id, 'reminder_id', d.reminder_id
    ),
    topic = 'agreement-request:' || d.request_id
FROM sharing_requestrecipient r
WHERE r.id = d.recipient_id
"""

# Back: only sharing's deliveries whose request and recipient still exist can point at them.
UNFILL = """
DELETE FROM notifications_emaildelivery d
WHERE d.builder <> 'sharing.agreement-request'
   OR NOT EXISTS (
        SELECT 1 FROM sharing_requestrecipient r
        WHERE r.id = (d.params->>'recipient_id')::bigint
          AND r.request_id = (d.params->>'request_id')::bigint
   );
UPDATE notifications_emaildelivery d
SET request_id = (d.params->>'request_id')::bigint,
    recipient_id = (d.params->>'recipient_id')::bigint,
    reminder_id = (
        SELECT m.id FROM sharing_requestreminder m
        WHERE m.id = (d.params->>'reminder_id')::bigint
    );
"""


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_delivery_claim"),
        ("sharing", "0003_request_decline_reason"),
    ]

    operations = [
        migrations.AddField(
            model_name="emaildelivery",
            name="address",
            field=models.EmailField(
                default="", help_text="The recipient's address.", max_length=254
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="emaildelivery",
            name="builder",
            field=models.CharField(
                default="",
                help_text="The registered message builder that makes the email.",
                max_length=100,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="emaildelivery",
            name="params",
            field=models.JSONField(blank=True, default=dict, help_text="The builder's ids."),
        ),
        migrations.AddField(
            model_name="emaildelivery",
            name="topic",
            field=models.CharField(
                default="",
                help_text="What it is about, for the app to find it: 'agreement-request:12'.",
                max_length=100,
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="emaildelivery",
            name="kind",
            field=models.CharField(
                help_text="What it is, in the sending app's words.", max_length=30
            ),
        ),
        migrations.AlterField(
            model_name="emaildelivery",
            name="dedupe_key",
            field=models.CharField(
                help_text="One delivery per key, however often queued.",
                max_length=100,
                unique=True,
            ),
        ),
        migrations.AlterField(
            model_name="emaildelivery",
            name="site",
            field=models.ForeignKey(
                help_text="The site it is sent for.",
                on_delete=models.deletion.CASCADE,
                related_name="+",
                to="institutions.institution",
            ),
        ),
        # Nullable first, so that going back can add them again before filling them.
        migrations.AlterField(
            model_name="emaildelivery",
            name="request",
            field=models.ForeignKey(
                null=True,
                on_delete=models.deletion.CASCADE,
                related_name="deliveries",
                to="sharing.agreementrequest",
            ),
        ),
        migrations.AlterField(
            model_name="emaildelivery",
            name="recipient",
            field=models.ForeignKey(
                null=True,
                on_delete=models.deletion.CASCADE,
                related_name="deliveries",
                to="sharing.requestrecipient",
            ),
        ),
        migrations.RunSQL(FILL, reverse_sql=UNFILL),
        migrations.RemoveIndex(model_name="emaildelivery", name="delivery_request"),
        migrations.RemoveField(model_name="emaildelivery", name="request"),
        migrations.RemoveField(model_name="emaildelivery", name="recipient"),
        migrations.RemoveField(model_name="emaildelivery", name="reminder"),
        migrations.AddIndex(
            model_name="emaildelivery",
            index=models.Index(fields=["site", "topic"], name="delivery_site_topic"),
        ),
    ]
