# Sunlight (阳光监察) — container image running `sunlight run` as a non-root user.
#
#   docker build -t sunlight .
#   docker run -d --name sunlight -p 9308:9308 -v sunlight-data:/app/data sunlight
#
# See docs/deployment.md for PostgreSQL / MariaDB, SMTP and signals.

# ---------------------------------------------------------------------------------------
# Builder: build a wheel of the project with the evaluation engine compiled by mypyc
# (setup.py; about 1.7 times faster, see docs/performance.md), then install it with its
# dependencies (and the PostgreSQL and MariaDB drivers) into /install, which the runtime
# stage copies as is. `--build-arg SUNLIGHT_COMPILE=0` builds the pure-Python wheel instead.
# ---------------------------------------------------------------------------------------
FROM python:3.11-slim AS builder

ARG SUNLIGHT_COMPILE=1
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A C compiler for mypyc (the image already has Python's headers).
RUN if [ "$SUNLIGHT_COMPILE" = "1" ]; then \
      apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
      && rm -rf /var/lib/apt/lists/*; \
    fi

WORKDIR /src
# .dockerignore keeps .venv, data, .git, caches, tests and bench out of the context.
COPY . .

# mypyc type-checks the package before compiling it, so the dependencies and the YAML stubs
# are installed into the builder first. --ignore-installed puts every package under /install
# even if the base image has it. The `test` lines fail the build if the package data (notice
# templates, Alembic migrations) did not make it into the installed package, or if the
# engine is not the build asked for.
RUN pip install 'setuptools>=77' 'mypy>=1.11' 'types-PyYAML>=6.0.12' '.[postgres,mysql]' \
 && SUNLIGHT_COMPILE="$SUNLIGHT_COMPILE" pip wheel --no-build-isolation --no-deps --wheel-dir /wheels . \
 && pip install --prefix=/install --ignore-installed --no-warn-script-location \
        "$(echo /wheels/sunlight-*.whl)[postgres,mysql]" \
 && test -n "$(find /install -path '*/alerts/templates/notice.txt.j2')" \
 && test -n "$(find /install -path '*/monitor/state/migrations/versions/*.py')" \
 && expected="$([ "$SUNLIGHT_COMPILE" = "1" ] && echo compiled || echo interpreted)" \
 && cd / && test "$(PYTHONPATH="$(echo /install/lib/python3.11/site-packages)" \
        python -c 'from monitor.engine import build; print(build())')" = "$expected"

# ---------------------------------------------------------------------------------------
# Runtime: the slim base (it already has tzdata and CA certificates) plus /install.
# ---------------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

# SUNLIGHT_METRICS_HOST: the daemon binds 127.0.0.1 by default; in a container it must
# listen on all interfaces. SUNLIGHT_CONFIG: relative paths in config.yaml (data/sunlight.db,
# data/outbox, rules) resolve against the config file's folder, /app, whatever the working
# directory of a `docker exec`.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SUNLIGHT_METRICS_HOST=0.0.0.0 \
    SUNLIGHT_CONFIG=/app/config.yaml

RUN groupadd --system --gid 10001 sunlight \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin sunlight

COPY --from=builder /install /usr/local

WORKDIR /app
# Rules and configuration stay owned by root: the daemon only reads them. Mount your own
# over /app/config.yaml and /app/rules (read-only is fine; rule changes are picked up live).
COPY rules/ /app/rules/
COPY config.yaml /app/config.yaml

# SQLite (data/sunlight.db) and the .eml outbox (data/outbox) live under /app/data.
# rules/calendar is created because Git does not keep empty folders.
RUN mkdir -p /app/data /app/rules/calendar \
 && chown 10001:10001 /app/data \
 && chmod 0750 /app/data
VOLUME ["/app/data"]

USER 10001:10001

# /metrics, /healthz and /readyz
EXPOSE 9308

# SIGTERM: finish the running job, then stop. SIGHUP: reload the rules at the next pass.
STOPSIGNAL SIGTERM

# /healthz answers as soon as the daemon serves HTTP (liveness), also while it waits for an
# unreachable database; /readyz answers 503 then, naming it. No curl in slim images, so Python's urllib. Needs metrics.enabled: true.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('SUNLIGHT_METRICS_PORT') or '9308'; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]

# --init: the image runs on the embedded SQLite database by default (data/sunlight.db in the
# volume), which does not exist on a first start; without it the daemon refuses a missing
# or empty database rather than supervising nothing.
ENTRYPOINT ["sunlight"]
CMD ["run", "--init"]
