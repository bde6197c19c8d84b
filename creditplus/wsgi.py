"""WSGI entry point (gunicorn creditplus.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditplus.settings")
application = get_wsgi_application()
