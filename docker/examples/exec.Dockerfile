# `anaconda-ci-auth exec` inside one RUN step: it reads the key from the secret mount
# (/run/secrets/ANACONDA_AUTH_API_KEY), validates it, writes a keyring and a condarc into a private
# /tmp/anaconda-ci-auth-XXXX directory, installs anaconda-registration into base (--register), runs
# conda with that configuration, scrubs the key from conda's output, and removes the directory
# before the step ends, whether conda succeeds or fails.
#
#   docker build -f docker/Dockerfile -t anaconda-ci-auth:0.1.0 .      # once (see docker/README.md)
#   docker build $(anaconda-ci-auth docker-secret) -f exec.Dockerfile -t app .
#
# Why the key never reaches a layer: the secret mount is a read-only tmpfs file that exists only
# while its one RUN step runs, and exec deletes its own files before the step ends, so the snapshot
# BuildKit takes afterwards holds neither. The binary itself is bind-mounted from its image for that
# step only. The key is never an ARG or ENV, so `docker history` and `docker inspect` cannot show
# it. `required=true` fails the step when the secret is missing (exec would stop with exit code 3
# anyway, but BuildKit then says which secret is missing). The final stage copies only /opt/env.

ARG ANACONDA_CI_AUTH_IMAGE=anaconda-ci-auth:0.1.0
ARG CONDA_IMAGE=continuumio/miniconda3:24.11.1-0
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- the static anaconda-ci-auth binary (docker/Dockerfile) --------------------------------------
FROM ${ANACONDA_CI_AUTH_IMAGE} AS anaconda-ci-auth

# ---- build: conda runs inside exec --------------------------------------------------------------
FROM ${CONDA_IMAGE} AS build
# online (the default) checks the key against the Anaconda API; offline checks only its expiry.
ARG ANACONDA_CI_AUTH_VALIDATE=online
COPY environment.yml /tmp/environment.yml
RUN --mount=type=secret,id=ANACONDA_AUTH_API_KEY,required=true \
    --mount=type=bind,from=anaconda-ci-auth,source=/anaconda-ci-auth,target=/usr/local/bin/anaconda-ci-auth \
    anaconda-ci-auth exec --register --validate "${ANACONDA_CI_AUTH_VALIDATE}" -- \
      conda env create --prefix /opt/env --file /tmp/environment.yml \
    && conda clean --all --yes

# ---- runtime: the environment and nothing else ---------------------------------------------------
FROM ${RUNTIME_IMAGE}
COPY --from=build /opt/env /opt/env
ENV PATH=/opt/env/bin:${PATH}
# smoke test
RUN python --version
