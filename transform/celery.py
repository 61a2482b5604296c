"""The Celery application (``celery -A transform worker|beat``).

Every task module is registered here by name, so a worker knows every task without
autodiscovery; the task names are what beat's database schedule refers to (``transform.schedule``).
Django processes load this module when the ``transform`` app is ready (``TransformConfig``), so a
task sent from a request or a command goes through the configured broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "transform.settings")

TASK_MODULES = (
    "transform.outbox.tasks",
    "transform.checkins.tasks",
    "transform.readiness.tasks",
    "transform.webhooks.tasks",
)

app = Celery("transform", include=list(TASK_MODULES))
app.config_from_object("django.conf:settings", namespace="CELERY")
