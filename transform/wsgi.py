"""WSGI entry point (gunicorn transform.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "transform.settings")

application = get_wsgi_application()

# Everything loaded so far (Django, the apps, their modules: about 150,000 objects) lives as long
# as the worker. Moved out of the collector's reach, it is no longer walked by every full
# collection that a large request's allocations set off: at 10,000 people the plan and
# readiness endpoints answer 25-40 % faster (docs/performance.md, "Garbage collection"). With
# gunicorn's --preload the frozen objects are also shared by the forked workers.
gc.freeze()
