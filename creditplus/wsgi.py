"""WSGI entry point (granian or gunicorn: creditplus.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditplus.settings")
application = get_wsgi_application()

from creditplus.sqlite_wal import checkpoint_in_background  # noqa: E402  (needs settings)

checkpoint_in_background()
