"""``python manage.py`` commands of playbooks (README lists them)."""
