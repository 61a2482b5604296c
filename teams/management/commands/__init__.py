"""``python manage.py`` commands of the organisation graph (README lists them)."""
