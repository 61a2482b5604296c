# Written by hand (other 0016 migrations of the same issue exist side by side; the lead merges).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("teams", "0008_merge_0007_invitation_role_0007_time_zones"),
        ("transform", "0015_audit_history"),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookDelivery",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "sender",
                    models.CharField(
                        choices=[
                            ("github", "GitHub"),
                            ("gitlab", "GitLab"),
                            ("jira", "Jira"),
                            ("pagerduty", "PagerDuty"),
                        ],
                        max_length=16,
                    ),
                ),
                ("delivery_id", models.CharField(max_length=200)),
                ("event", models.CharField(blank=True, default="", max_length=100)),
                ("received_at", models.DateTimeField()),
                ("headers", models.JSONField(blank=True, default=dict)),
                ("body", models.JSONField(blank=True, null=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("processed", "Processed"),
                            ("unmapped", "Unmapped"),
                            ("ignored", "Ignored"),
                            ("invalid", "Invalid"),
                        ],
                        max_length=16,
                    ),
                ),
                ("error", models.TextField(blank=True, default="")),
                ("records", models.JSONField(blank=True, default=list)),
                ("commit", models.CharField(blank=True, default="", max_length=64)),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="teams.organization",
                    ),
                ),
            ],
            options={
                "ordering": ["-received_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["organization", "status", "received_at"],
                        name="webhook_delivery_status_idx",
                    ),
                    models.Index(
                        fields=["organization", "sender", "commit"],
                        name="webhook_delivery_commit_idx",
                    ),
                    models.Index(fields=["received_at"], name="webhook_delivery_received_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "sender", "delivery_id"),
                        name="unique_webhook_delivery",
                        violation_error_message="This delivery was already received.",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="WebhookEndpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "sender",
                    models.CharField(
                        choices=[
                            ("github", "GitHub"),
                            ("gitlab", "GitLab"),
                            ("jira", "Jira"),
                            ("pagerduty", "PagerDuty"),
                        ],
                        max_length=16,
                    ),
                ),
                ("secret", models.CharField(max_length=200)),
                (
                    "environments",
                    models.CharField(
                        default="production",
                        help_text="Comma-separated deployment environments that count as production.",
                        max_length=500,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("rotated_at", models.DateTimeField(blank=True, null=True)),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="teams.organization",
                    ),
                ),
            ],
            options={
                "ordering": ["sender"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "sender"),
                        name="unique_webhook_endpoint_per_sender",
                        violation_error_message="This sender already has an endpoint.",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="WebhookMapping",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "sender",
                    models.CharField(
                        choices=[
                            ("github", "GitHub"),
                            ("gitlab", "GitLab"),
                            ("jira", "Jira"),
                            ("pagerduty", "PagerDuty"),
                        ],
                        max_length=16,
                    ),
                ),
                ("key", models.CharField(max_length=300)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="teams.organization",
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="teams.team",
                    ),
                ),
            ],
            options={
                "ordering": ["sender", "key"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "sender", "key"),
                        name="unique_webhook_mapping_key",
                        violation_error_message="This key is already mapped for this sender.",
                    ),
                ],
            },
        ),
    ]
