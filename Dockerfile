# One image for web, worker and beat (and the one-off migrate service).
# The build context leaves out local state and secrets (.dockerignore).

# --- Stage 1: the front-end assets, built on a supported Node LTS ---------------------------
FROM node:22.16.0-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY static/src static/src
COPY scripts/build-assets scripts/build-assets
RUN bash scripts/build-assets

# --- Stage 2: the application, with the production lock only (no dev group) -----------------
FROM python:3.12.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MATMIS_ENV=production
WORKDIR /app
RUN useradd --system --create-home --uid 10001 matmis
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY . .
COPY --from=assets /app/static/build static/build
RUN DJANGO_SECRET_KEY=collectstatic-only DATABASE_URL=postgres://build@localhost/build \
    python manage.py collectstatic --no-input -v 0 \
    && mkdir -p /app/.data/media \
    && chown -R matmis /app/.data
USER matmis
EXPOSE 8000
# Gunicorn listens inside the compose network only; the reverse proxy (deploy/Caddyfile)
# faces clients. No migrate here: the one-off migrate service runs it.
CMD ["gunicorn", "matmis.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
