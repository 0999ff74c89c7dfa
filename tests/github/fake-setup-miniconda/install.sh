#!/usr/bin/env bash
# The fake setup-miniconda's step: a prefix under $RUNNER_TEMP with bin/conda and condabin/conda
# (this directory's `conda`), condabin on $GITHUB_PATH and, as `conda init bash` does, on PATH in
# ~/.bash_profile for `shell: bash -el {0}` steps, and CONDA / CONDA_EXE exported, as
# setup-miniconda does for Miniforge.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix="${RUNNER_TEMP}/miniforge3"
mkdir -p "${prefix}/bin" "${prefix}/condabin" "${prefix}/lib/python3.12/site-packages"
cp "${here}/conda" "${prefix}/bin/conda"
cp "${here}/conda" "${prefix}/condabin/conda"
chmod 755 "${prefix}/bin/conda" "${prefix}/condabin/conda"
printf '%s\n' "${prefix}/condabin" >>"${GITHUB_PATH}"
{
  printf 'CONDA=%s\n' "${prefix}"
  printf 'CONDA_EXE=%s\n' "${prefix}/bin/conda"
  printf 'FAKE_CONDA_CHECKS=%s\n' "${GITHUB_WORKSPACE}/tests/github"
} >>"${GITHUB_ENV}"
# shellcheck disable=SC2016  # $PATH is expanded by the login shell
printf 'export PATH="%s/condabin:$PATH"\n' "${prefix}" >>"${HOME}/.bash_profile"
echo "fake setup-miniconda: conda in ${prefix}"
