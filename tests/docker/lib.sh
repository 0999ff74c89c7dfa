#!/usr/bin/env bash
# Docker helpers for the docker suite: a private dockerd (own data-root, exec-root and socket, no
# bridge, no iptables), the local base images the builds use (made from busybox-static, since
# nothing can be pulled), BuildKit builds through Debian's docker 20.10 client, and scans of saved
# images, history and metadata for the key. Source tests/lib.sh first.
# shellcheck disable=SC2034,SC2154  # variables are used by the suite; root and bin come from tests/lib.sh

# Debian's docker.io client: a newer /usr/local/bin/docker may come first on PATH and insists on buildx.
docker_cli=/usr/bin/docker
dockerd_bin=/usr/sbin/dockerd
conda_image=aca-test/conda:1
runtime_image=aca-test/runtime:1
ci_auth_image=aca-test/anaconda-ci-auth:1

# docker_env DIR: points the docker client at the private daemon under DIR (call it in the main
# shell, so that tests running in subshells share it).
docker_env() {
  docker_dir="$1"
  export DOCKER_HOST="unix://${docker_dir}/docker.sock"
  export DOCKER_CONFIG="${docker_dir}/config"
  export DOCKER_BUILDKIT=1
}

# docker_start: starts dockerd with everything under docker_dir and waits until it answers.
docker_start() {
  local i pid
  mkdir -p "${docker_dir}/root" "${docker_dir}/exec" "${DOCKER_CONFIG}"
  "${dockerd_bin}" --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    --data-root "${docker_dir}/root" --exec-root "${docker_dir}/exec" \
    -H "${DOCKER_HOST}" --pidfile "${docker_dir}/docker.pid" >"${docker_dir}/dockerd.log" 2>&1 &
  pid=$!
  echo "${pid}" >"${docker_dir}/started.pid"
  for ((i = 0; i < 120; i++)); do
    if "${docker_cli}" version >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "${pid}" 2>/dev/null; then
      echo "dockerd exited; its log:" >&2
      tail -n 20 "${docker_dir}/dockerd.log" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "dockerd did not answer within 60 s" >&2
  return 1
}

# docker_stop: stops the dockerd we started (and, through it, its containerd), then removes its files.
docker_stop() {
  local i pid=""
  [[ -n "${docker_dir:-}" && -d "${docker_dir}" ]] || return 0
  [[ -f "${docker_dir}/started.pid" ]] && pid="$(cat "${docker_dir}/started.pid")"
  if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null; then
    kill -TERM "${pid}" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL "${pid}" 2>/dev/null || true
  fi
  # Leftover overlay or shm mounts would make rm fail; unmount anything still under the dir.
  awk -v d="${docker_dir}/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "${m}" 2>/dev/null || true
  done
  rm -rf "${docker_dir}"
}

# make_rootfs DIR: a minimal root filesystem with busybox-static and its applets.
make_rootfs() {
  local dir="$1" applet
  mkdir -p "${dir}/bin" "${dir}/tmp" "${dir}/root" "${dir}/etc" "${dir}/usr/local/bin"
  chmod 1777 "${dir}/tmp"
  chmod 0700 "${dir}/root"
  cp /bin/busybox "${dir}/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ "${applet}" == busybox ]] || ln -sf busybox "${dir}/bin/${applet}"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"${dir}/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"${dir}/etc/group"
}

# add_glibc DIR BINARY: copies BINARY's shared libraries (and the loader) into DIR at the same paths.
add_glibc() {
  local dir="$1" binary="$2" lib
  for lib in $(ldd "${binary}" | grep -o '/[^ ]*'); do
    mkdir -p "${dir}$(dirname "${lib}")"
    cp -L "${lib}" "${dir}${lib}"
  done
}

# import_rootfs DIR TAG: turns DIR into a local image with a conda-image-like PATH.
import_rootfs() {
  local dir="$1" tag="$2"
  tar -C "${dir}" -cf - . | "${docker_cli}" import \
    --change 'ENV PATH=/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "${tag}" >/dev/null
}

# make_images WORK KEY_FILE KEYRING_FILE: the runtime image (busybox) and the conda image (busybox,
# glibc for the debug binary, the fake conda and the SHA-256 of the credentials it must receive).
make_images() {
  local work="$1" key_file="$2" keyring_file="$3"
  make_rootfs "${work}/runtime"
  import_rootfs "${work}/runtime" "${runtime_image}"
  make_rootfs "${work}/conda"
  add_glibc "${work}/conda" "${bin}"
  mkdir -p "${work}/conda/opt/conda/bin" "${work}/conda/opt/conda/etc/fake-conda"
  install -m 0755 "${root}/tests/docker/fake-conda.sh" "${work}/conda/opt/conda/bin/conda"
  sha256sum <"${key_file}" | cut -d' ' -f1 >"${work}/conda/opt/conda/etc/fake-conda/key.sha256"
  sha256sum <"${keyring_file}" | cut -d' ' -f1 >"${work}/conda/opt/conda/etc/fake-conda/keyring.sha256"
  import_rootfs "${work}/conda" "${conda_image}"
}

# build LOG ARGS...: a BuildKit build with no network and plain progress (bounded); output goes to LOG.
build() {
  local log="$1"
  shift
  timeout 180 "${docker_cli}" build --progress=plain --network=none "$@" >"${log}" 2>&1
}

# run_in IMAGE CMD...: runs CMD in a throw-away container without network.
run_in() {
  local image="$1"
  shift
  timeout 60 "${docker_cli}" run --rm --network=none --entrypoint /bin/sh "${image}" -c "$*"
}

# forms_file KEY OUT: the key and its derived forms, one per line, for grep -F -f.
forms_file() {
  leak_forms "$1" >"$2"
}

# binary_has_key FILE FORMS: true if FILE (binary is fine) contains any form.
binary_has_key() {
  grep -a -q -F -f "$2" -- "$1"
}

# image_scan IMAGE FORMS OUTDIR: fails if the key is in any layer (docker save), in the history or
# in the image metadata.
image_scan() {
  local image="$1" forms="$2" out="$3" name
  name="$(echo "${image}" | tr '/:' '__')"
  "${docker_cli}" save -o "${out}/${name}.tar" "${image}"
  "${docker_cli}" history --no-trunc "${image}" >"${out}/${name}.history"
  "${docker_cli}" inspect "${image}" >"${out}/${name}.inspect"
  local f rc=0
  for f in "${out}/${name}.tar" "${out}/${name}.history" "${out}/${name}.inspect"; do
    if binary_has_key "${f}" "${forms}"; then
      echo "LEAK: ${f} contains the key (or a derived form)" >&2
      rc=1
    fi
  done
  # The scan must have looked at real content: the save holds at least one layer.
  tar -tf "${out}/${name}.tar" >"${out}/${name}.files"
  if ! grep -q 'layer.tar$' "${out}/${name}.files"; then
    echo "docker save of ${image} has no layers" >&2
    rc=1
  fi
  rm -f "${out}/${name}.tar"
  return "${rc}"
}
