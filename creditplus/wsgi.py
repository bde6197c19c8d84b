"""WSGI entry point (granian or gunicorn: creditplus.wsgi:application)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditplus.settings")
application = get_wsgi_application()

from creditplus.sqlite_wal import checkpoint_in_background  # noqa: E402  (needs settings)

checkpoint_in_background()

# The loaded application is ~150,000 long-lived objects (modules, URL patterns, schemas).
# A full collection walks them all (25-45 ms), and stalls every request the worker holds;
# frozen, they are left out of every collection for the life of the process.
gc.collect()
gc.freeze()
