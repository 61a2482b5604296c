"""Transform: the Django project package and the transformation domain."""

from transform.celery import app as celery_app

__all__ = ["celery_app"]
