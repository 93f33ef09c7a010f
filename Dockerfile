# The app image: the API (gunicorn by default), the Celery worker and the management commands.
#   docker build -t appointment-scheduler .
# docker-compose.yml runs it as `bootstrap`, `web` and `worker`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (pinned in requirements.txt), so a code change does not reinstall them.
# Every dependency ships a wheel (pycurl, for Celery's SQS transport, bundles libcurl), so no compiler is needed.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# The code stays owned by root and read-only to the user the processes run as.
COPY . .
RUN STAGE=local python manage.py collectstatic --noinput --verbosity 0

RUN useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin app \
    && mkdir /secrets && chown 10001:10001 /secrets
# Docker Compose mounts its `secrets` volume here; a new volume takes this folder's owner.
# Numeric, so an orchestrator's "run as non-root" check can verify it.
USER 10001:10001

EXPOSE 8000

# gunicorn serves the API (settings in scheduler/gunicorn.conf.py: WEB_CONCURRENCY processes of
# WEB_THREADS threads); whitenoise serves the static files, collected here so they are compressed.
CMD ["gunicorn", "scheduler.wsgi", "--config", "scheduler/gunicorn.conf.py"]
