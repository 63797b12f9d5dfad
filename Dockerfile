# The platform image: what Argo pods (pipeline steps) and KServe predictors run.
# Installs from the same lock file as `make demo`, so a step's environment hash (lock-file
# hash, Python major.minor, mlplatform version) is the same here as on a laptop, and a step
# cached by either is a hit for the other when they share an artifact store.
#
#   docker build -t ghcr.io/mlplatform/mlplatform:0.1.0 .
#   then pin it by digest: MLPLATFORM_IMAGE_DIGEST=sha256:... mlp pipeline compile ...
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY requirements/lock.txt requirements/lock.txt
RUN uv venv /opt/venv && uv pip install --python /opt/venv/bin/python -r requirements/lock.txt
COPY pyproject.toml README.md ./
COPY src/ src/
RUN uv pip install --python /opt/venv/bin/python --no-deps .

FROM python:${PYTHON_VERSION}-slim-bookworm
# Pods run with a read-only root filesystem: bytecode is compiled at build time, and /tmp is an
# emptyDir mounted by the workflow.
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Project pipelines (files loaded with --file) live beside the package, at the same relative
# paths as in the repository, so their module names match the compiled spec.
# The launcher in a pod recomputes each step's code and env key components and refuses to run
# when they differ from the compiled ones: the env component hashes the lock file named here,
# the one this image was installed from (a laptop compiling with the same lock computes the
# same value). mlplatform itself is a wheel in /opt/venv; its component modules are hashed by
# source all the same (mlplatform.pipelines.codehash), so an editable checkout agrees.
COPY requirements/lock.txt requirements/lock.txt
ENV MLPLATFORM_LOCK_FILE=/app/requirements/lock.txt
COPY examples/ examples/
RUN groupadd --gid 1000 mlp && useradd --uid 1000 --gid 1000 --no-create-home --shell /usr/sbin/nologin mlp
USER 1000:1000
ENTRYPOINT []
CMD ["python", "-m", "mlplatform", "--help"]
