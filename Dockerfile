# One image per Prestaflow service, from this one Dockerfile: SERVICE is the service's package
# (planning, importer, affectation, billing, notify) and SERVICE_DIR its folder under services/ when
# the names differ (importer lives in services/import). The image runs one process serving
# /<service>/... plus /health/live, /health/ready and /metrics on port 8000, consuming its topics as
# consumer group <service>. The build context is the repository root (contracts/ and
# libs/servicekit/ go in every image):
#
#   docker build --build-arg SERVICE=planning -t prestaflow/planning:0.1.0 .
#   docker build --build-arg SERVICE=importer --build-arg SERVICE_DIR=import -t prestaflow/importer:0.1.0 .
#
# Alembic migrations ship inside each package (src/<package>/migrations, declared as package data)
# and run at start-up, before the HTTP port opens.
FROM python:3.11-slim

ARG SERVICE
ARG SERVICE_DIR=${SERVICE}
RUN test -n "${SERVICE}" || (echo "--build-arg SERVICE=<package> is required" >&2; exit 1)

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# weasyprint draws pages with Pango and needs fonts (billing's invoices, planning's deliverables);
# the slim image has neither.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric uid/gid, so that Kubernetes can check runAsNonRoot without a user database.
RUN groupadd --system --gid 10001 prestaflow \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin prestaflow \
 && mkdir -p /var/lib/prestaflow \
 && chown 10001:10001 /var/lib/prestaflow

# Only what the three wheels are built from: no tests, no local virtualenv, no build/ folders.
WORKDIR /src
COPY contracts/pyproject.toml contracts/
COPY contracts/src contracts/src
COPY libs/servicekit/pyproject.toml libs/servicekit/
COPY libs/servicekit/src libs/servicekit/src
COPY services/${SERVICE_DIR}/pyproject.toml services/${SERVICE_DIR}/
COPY services/${SERVICE_DIR}/src services/${SERVICE_DIR}/src

# Non-editable install, then drop the sources. egg-info and __pycache__ folders left in a
# developer's checkout are removed first so that they cannot leak into the wheels.
RUN find . -depth \( -name '*.egg-info' -o -name '__pycache__' \) -exec rm -rf {} + \
 && pip install --no-cache-dir ./contracts ./libs/servicekit ./services/${SERVICE_DIR} \
 && rm -rf /src

# PRESTAFLOW_HOME holds what the service writes locally when no other store is configured
# (the SQLite file without PRESTAFLOW_DATABASE_URL, folder outputs); in Kubernetes it is an emptyDir.
ENV PRESTAFLOW_HTTP_HOST=0.0.0.0 \
    PRESTAFLOW_HTTP_PORT=8000 \
    PRESTAFLOW_HOME=/var/lib/prestaflow \
    PRESTAFLOW_SERVICE=${SERVICE}
WORKDIR /var/lib/prestaflow

# Fail the build, not the pod, if the service cannot be imported as installed (a dependency
# missing from a pyproject.toml) or if the image has no time zone data (Europe/Paris times).
RUN python -c "import importlib, zoneinfo; importlib.import_module('${SERVICE}.__main__'); zoneinfo.ZoneInfo('Europe/Paris')"

USER 10001:10001
EXPOSE 8000

# Liveness only (the process answers HTTP); /health/ready also checks the database and the bus.
# start-period covers the migrations run before the port opens.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('PRESTAFLOW_HTTP_PORT', '8000'), timeout=4)"]

# The shell form, so that the service named at build time is the one run.
CMD exec python -m "$PRESTAFLOW_SERVICE"
