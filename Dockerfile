# Multi-stage: build wheels with compilers available, run from a slim image as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
# PYTHONPATH=/srv: the code runs from the source tree, next to migrations/ and storefront/ it reads.
# Production start-up refuses to run without its settings: at least DATABASE_URL, SECRET_KEY and
# PUBLIC_BASE_URL (https:// turns on Secure cookies; plain http needs ALLOW_INSECURE_HTTP=true).
# PDFs embed their own font (app/kit/fonts): the image needs no system CJK font.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 APP_DATA_DIR=/data APP_ENV=production PYTHONPATH=/srv
RUN useradd --create-home --uid 10001 nanling && mkdir -p /data && chown nanling /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
WORKDIR /srv
COPY --chown=nanling app ./app
COPY --chown=nanling alembic.ini ./
COPY --chown=nanling migrations ./migrations
COPY --chown=nanling storefront ./storefront
USER nanling
EXPOSE 8000
VOLUME ["/data"]
ENTRYPOINT ["app"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
