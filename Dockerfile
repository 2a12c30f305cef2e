# One image for web, worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# WeasyPrint (PDF letters) needs Pango; fonts for readable letters.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock .
RUN pip install -r requirements.lock
COPY . .
# collectstatic needs some secret to import settings; the real one comes from the environment at run time.
RUN SECRET_KEY=build-only MFA_ENCRYPTION_KEY=build-only-never-used-for-any-data-000 DEBUG=false ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --no-input
# Client files are the service user's alone (0600 files in 0700 folders: FILE_UPLOAD_* in settings).
RUN useradd --create-home portal && mkdir -p /data/private && chown portal /data/private && chmod 700 /data/private
USER portal
ENV PRIVATE_STORAGE_ROOT=/data/private
EXPOSE 8000
# Worker class, workers, threads and timeout: ./gunicorn.conf.py (read from the working directory).
CMD ["gunicorn", "brokerage.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
