# Written by hand (issue 15): invitations by e-mail with a role; the person becomes optional.

import django.db.models.deletion
from django.db import migrations, models

ROLE_CHOICES = [
    ("admin", "Admin"),
    ("change_agent", "Change agent"),
    ("engineering_manager", "Engineering manager"),
    ("leader", "Leader"),
    ("member", "Member"),
]


def _fields(historical: bool) -> list[migrations.operations.base.Operation]:
    model_name = "historicalinvitation" if historical else "invitation"
    return [
        migrations.AddField(
            model_name=model_name,
            name="name",
            field=models.CharField(
                blank=True, help_text="Whom the invitation greets (optional).", max_length=200
            ),
        ),
        migrations.AddField(
            model_name=model_name,
            name="role",
            field=models.CharField(
                choices=ROLE_CHOICES,
                default="member",
                help_text="The role accepting grants in the organisation.",
                max_length=32,
            ),
        ),
        migrations.AddField(
            model_name=model_name,
            name="revoked_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When an admin withdrew the invitation before its use.",
                null=True,
            ),
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("teams", "0006_organization_topology_version"),
    ]

    operations = [
        *_fields(historical=False),
        *_fields(historical=True),
        migrations.AlterField(
            model_name="invitation",
            name="person",
            field=models.ForeignKey(
                blank=True,
                help_text="The person accepting links to the login; empty: a login and a role only.",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="invitations",
                to="teams.person",
            ),
        ),
        migrations.AlterField(
            model_name="historicalinvitation",
            name="person",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="The person accepting links to the login; empty: a login and a role only.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="teams.person",
            ),
        ),
    ]
