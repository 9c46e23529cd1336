# syntax=docker/dockerfile:1
# The pullguard container image: `make image` builds the wheel into dist/, then this file.
# Non-root (UID/GID 65532), nothing written at run time (bytecode compiled at build time), so it
# runs with readOnlyRootFilesystem: true. Checked statically by scripts/check_dockerfile.py.
# PYTHON_IMAGE pins the base; pin it by digest for production builds:
#   make image PYTHON_IMAGE=python:3.12.8-slim-bookworm@sha256:<digest from your registry>
ARG PYTHON_IMAGE=python:3.12.8-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
COPY dist/pullguard-*.whl /tmp/wheels/
# the cluster extra: the image also serves in-cluster scans (the ServiceAccount's token)
RUN python -m venv /opt/pullguard \
 && wheel="$(ls /tmp/wheels/pullguard-*.whl)" \
 && /opt/pullguard/bin/pip install "${wheel}[cluster]" \
 && /opt/pullguard/bin/pip uninstall --yes pip \
 && /opt/pullguard/bin/python -m compileall -q /opt/pullguard/lib

FROM ${PYTHON_IMAGE}
COPY --from=build /opt/pullguard /opt/pullguard
ENV PATH=/opt/pullguard/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["pullguard"]
CMD ["--help"]
