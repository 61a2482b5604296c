from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TransformConfig(AppConfig):
    name = "transform"
    verbose_name = "Transformations"

    def ready(self) -> None:
        from transform.schedule import schedule_post_migrate

        # Beat's periodic jobs are rows, created after migrate when missing (docs/delivery.md).
        post_migrate.connect(
            schedule_post_migrate, sender=self, dispatch_uid="transform.schedule_ensure"
        )
