# Topology verification: structured corrections proposed as scenario changes (issue 12).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("transform", "0006_delivery_kind_interaction_overrun"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="teamverification",
            name="proposed_changes",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="teamverification",
            name="proposal_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "No changes proposed"),
                    ("proposed", "Changes proposed"),
                    ("accepted", "Accepted"),
                    ("rejected", "Rejected"),
                ],
                default="",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="teamverification",
            name="decided_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="teamverification",
            name="decided_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="teamverification",
            index=models.Index(
                fields=["team", "proposal_status"], name="teamverification_proposal_idx"
            ),
        ),
    ]
