# The zenodo-atlas image: Prefect 3.8.8 plus this project, used by the compose worker, the one-shot
# deployment registration and the optional local Zenodo server.
FROM prefecthq/prefect:3.8.8-python3.11

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false

WORKDIR /app

# Only the packages: no virtualenv, test data or local state from the build context.
COPY pyproject.toml README.md ./
COPY zenodo ./zenodo
COPY sessions ./sessions
COPY atlas ./atlas
COPY tasks ./tasks
COPY flows ./flows
COPY deployments ./deployments
COPY zenodo_atlas ./zenodo_atlas

# A regular install: deployments name module paths (zenodo_atlas.flows.*), found in site-packages.
RUN pip install . && zenodo-atlas --help > /dev/null

RUN mkdir -p /data/sessions /data/atlas /data/work
