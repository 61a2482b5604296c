"""Transform: the Django project (settings, urls, Celery app, admin, models) and one sub-package
per capability of the change process; docs/architecture.md draws the layers."""
