"""gunicorn's settings for every way the API is served (`make run`, Docker Compose, the image).

Threads serve the waits on DynamoDB and SQS; processes use the cores. The app logs one line per
request itself (scheduler/api/middleware.py), so gunicorn's access log stays off."""

import os

from scheduler.memory import limit_malloc_arenas

# Before the workers fork: they inherit it (see scheduler/memory.py).
limit_malloc_arenas()

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('API_PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# A request waits at most the AWS timeouts (2 s connect, 10 s read, a retry): well inside this.
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
backlog = 2048
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
