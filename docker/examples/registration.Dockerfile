# Anaconda's documented pattern: anaconda-registration (with anaconda-auth) in the base environment
# reads the API key that BuildKit mounts at /run/secrets/ANACONDA_AUTH_API_KEY, so conda
# authenticates to repo.anaconda.cloud with no variable and no file of ours.
#
#   docker build $(anaconda-ci-auth docker-secret) -f registration.Dockerfile -t app .
#   (or: docker build --secret id=ANACONDA_AUTH_API_KEY,src=<file holding the key> ...)
#
# Why the key never reaches a layer: a secret mount is a read-only file on a tmpfs that exists only
# while its one RUN step runs. BuildKit does not snapshot it, does not put it in the build cache, and
# records only the mount flags in the image history. The key is never an ARG or ENV, so neither
# `docker history` nor `docker inspect` can show it. `required=true` makes the step fail when the
# secret is missing, instead of running conda unauthenticated (BuildKit's default is to skip the
# mount). The final stage copies only /opt/env, so conda's package cache, its plugins and the empty
# ~/.anaconda/keyring that anaconda-auth creates stay in the discarded build stage.

ARG CONDA_IMAGE=continuumio/miniconda3:24.11.1-0
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build: authenticated installs, the key mounted per step ------------------------------------
FROM ${CONDA_IMAGE} AS build
RUN --mount=type=secret,id=ANACONDA_AUTH_API_KEY,required=true \
    conda install --yes --name base anaconda-registration \
      --channel https://repo.anaconda.cloud/repo/anaconda-tools --override-channels
COPY environment.yml /tmp/environment.yml
RUN --mount=type=secret,id=ANACONDA_AUTH_API_KEY,required=true \
    conda env create --prefix /opt/env --file /tmp/environment.yml \
    && conda clean --all --yes

# ---- runtime: the environment and nothing else ---------------------------------------------------
FROM ${RUNTIME_IMAGE}
COPY --from=build /opt/env /opt/env
ENV PATH=/opt/env/bin:${PATH}
# smoke test
RUN python --version
