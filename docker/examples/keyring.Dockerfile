# A keyring file as the build secret: `anaconda-ci-auth docker-secret --kind keyring` writes the
# anaconda-auth keyring for the key (validated first) and prints `--secret id=anaconda_keyring,...`.
# The step mounts it where anaconda-auth looks by default, ~/.anaconda/keyring (HOME is /root).
#
#   docker build $(anaconda-ci-auth docker-secret --kind keyring) -f keyring.Dockerfile -t app .
#
# Two settings on the conda command, neither of them secret:
# - PYTHON_KEYRING_BACKEND: BuildKit mounts secrets read-only, and anaconda-auth drops its file
#   keyring when it cannot open the file for appending, so conda would silently get no credentials.
#   Naming the backend skips that check; reading the file is all conda needs.
# - ANACONDA_AUTH_USE_UNIFIED_REPO_API_KEY: makes anaconda-auth 0.9 to 0.15.2 send the API key to
#   repo.anaconda.cloud too (later versions do it by default).
#
# Why the key never reaches a layer: the secret mount is a read-only tmpfs file that exists only
# while its one RUN step runs; BuildKit does not snapshot it or cache it, and records only the mount
# flags in the history. The key is never an ARG or ENV. `required=true` fails the step when the
# secret is missing, instead of installing unauthenticated. The final stage copies only /opt/env.

ARG CONDA_IMAGE=continuumio/miniconda3:24.11.1-0
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build: the keyring mounted for the one step that needs it ----------------------------------
FROM ${CONDA_IMAGE} AS build
COPY environment.yml /tmp/environment.yml
RUN --mount=type=secret,id=anaconda_keyring,target=/root/.anaconda/keyring,required=true \
    PYTHON_KEYRING_BACKEND=anaconda_auth.token.AnacondaKeyring \
    ANACONDA_AUTH_USE_UNIFIED_REPO_API_KEY=true \
    conda env create --prefix /opt/env --file /tmp/environment.yml \
    && conda clean --all --yes

# ---- runtime: the environment and nothing else ---------------------------------------------------
FROM ${RUNTIME_IMAGE}
COPY --from=build /opt/env /opt/env
ENV PATH=/opt/env/bin:${PATH}
# smoke test
RUN python --version
