# The portal's image: web, worker and beat run from it (see compose.yaml and deploy/). Build: docker build -t portal .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBUG=0 \
    STATIC_ROOT=/srv/portal/static \
    MEDIA_ROOT=/srv/portal/media \
    METRICS_DIR=/tmp/portal-metrics

# tzdata: Asia/Shanghai for the nightly schedule and the lock dates. The quarterly bulletin: LibreOffice (its PDF,
# LIBREOFFICE_BIN), Noto CJK (its charts and the PDF's Chinese text, BULLETIN_FONT), poppler-utils (pdftoppm).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tzdata libreoffice-writer-nogui fonts-noto-cjk poppler-utils \
 && rm -rf /var/lib/apt/lists/*

# Exactly the locked set: every package pinned and checked against its hash (requirements.lock).
COPY requirements.lock /tmp/requirements.lock
RUN pip install --require-hashes --no-deps -r /tmp/requirements.lock && rm /tmp/requirements.lock

RUN groupadd --system portal \
 && useradd --system --gid portal --home-dir /app --shell /usr/sbin/nologin portal \
 && mkdir -p /srv/portal/static /srv/portal/media \
 && chown portal:portal /srv/portal/static /srv/portal/media

WORKDIR /app
COPY --chown=root:root . /app
RUN chmod 0755 deploy/migrate deploy/collectstatic deploy/web deploy/worker deploy/beat

USER portal
EXPOSE 8000
CMD ["deploy/web"]
