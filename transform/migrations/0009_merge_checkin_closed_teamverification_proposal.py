# Merges the two migrations of issue 12 written at the same time: closed check-ins and dependency
# overrides (0007), proposed topology changes on verifications (0008).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("transform", "0007_checkin_closed_and_dependency_override"),
        ("transform", "0008_teamverification_proposed_changes"),
    ]

    operations = []
