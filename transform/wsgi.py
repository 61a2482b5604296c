"""WSGI entry point (gunicorn transform.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "transform.settings")

application = get_wsgi_application()
