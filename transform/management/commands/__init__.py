"""``python manage.py`` commands of the change process (README lists them)."""
