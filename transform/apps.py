"""The ``transform`` app: loads the Celery app and its tasks, keeps beat's schedule and tells
``teams.lifecycle`` what holds a person back from leaving."""

import importlib

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TransformConfig(AppConfig):
    name = "transform"
    verbose_name = "Transformations"

    def ready(self) -> None:
        # Imported once Django's apps are loaded (a module-level import would run before the
        # models exist): the Celery app, so every process sends tasks through the configured
        # broker, and its task modules, so services can enqueue a task by its name.
        from teams.lifecycle import departure_checks
        from transform.celery import TASK_MODULES
        from transform.plans.departures import plan_departure_holds
        from transform.schedule import schedule_post_migrate

        for module in TASK_MODULES:
            importlib.import_module(module)
        # Beat's periodic jobs are rows, created after migrate when missing (docs/delivery.md).
        post_migrate.connect(
            schedule_post_migrate, sender=self, dispatch_uid="transform.schedule_ensure"
        )
        # Open milestones and led transformations hold a person back from leaving or being
        # erased (teams knows nothing of plans; docs/checkins.md, "People leave"). Appended once
        # even if ready() runs again (as some test runners do).
        if plan_departure_holds not in departure_checks:
            departure_checks.append(plan_departure_holds)
        # An erased person's Slack user id goes with their name and e-mail (docs/privacy.md).
        from teams.erasure import erasure_forgets
        from transform.outbox.slack import slack_member_forget

        if slack_member_forget not in erasure_forgets:
            erasure_forgets.append(slack_member_forget)
        # The display zones a person chose go into the session at sign-in (docs/time-zones.md).
        from django.contrib.auth.signals import user_logged_in

        from transform.web.access import display_zones_on_login

        user_logged_in.connect(display_zones_on_login, dispatch_uid="transform.display_zones")
