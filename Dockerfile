# govbot container image: `docker build -t govbot:0.1.0 .` (or podman/buildah/kaniko).
#
# Two stages: the first builds a wheel of govbot and of every dependency; the second installs only those wheels
# (no compiler, no pip cache, no source tree) and runs as an unprivileged user. Nothing secret is baked in: every
# credential comes from the environment at run time (see docs/operations.md). The image writes nothing to its own
# filesystem, so it runs with a read-only root; give it a writable /tmp (an emptyDir in Kubernetes).
#
# The base is pinned by its full version; to pin by digest as well, replace the tag with
# `python:3.11.14-slim-bookworm@sha256:<digest>` as your registry reports it.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ----------------------------------------------------------------------------------------------- build stage
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
# Only what the wheel needs (see .dockerignore): the package, its metadata and the README it names.
COPY pyproject.toml README.md ./
COPY govbot ./govbot
RUN pip wheel --wheel-dir /wheels .

# --------------------------------------------------------------------------------------------- runtime stage
FROM ${PYTHON_IMAGE} AS runtime

# HOME, matplotlib's cache and every temporary file go to /tmp, the one writable place; no .pyc is written at
# run time (the install step below compiles them once, into the image).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    VIRTUAL_ENV=/opt/govbot \
    PATH=/opt/govbot/bin:$PATH \
    GOVBOT_LOG_FORMAT=json \
    GOVBOT_PORT=3000

RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/govbot \
    && /opt/govbot/bin/pip install --no-index --find-links /wheels govbot \
    && groupadd --system --gid 10001 govbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin govbot

WORKDIR /tmp
# A numeric user, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
EXPOSE 3000

ENTRYPOINT ["govbot"]
CMD ["serve"]
