import os

from django.core.wsgi import get_wsgi_application

from scheduler.api.middleware import ChunkedBodyReader

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scheduler.settings")
application = ChunkedBodyReader(get_wsgi_application())
