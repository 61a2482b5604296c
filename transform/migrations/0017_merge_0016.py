# Joins the three migrations issue 16's parts added side by side.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("transform", "0016_calendar_feeds"),
        ("transform", "0016_slack"),
        ("transform", "0016_webhooks"),
    ]

    operations = []
