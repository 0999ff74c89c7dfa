#!/usr/bin/env bash
# Throughput of exec's output scrubber (a script, never a test): builds the release binary, writes
# SCRUB_GIB GiB of child output to a file (log-like text by default; SCRUB_CONTENT=base64 for
# wrapped base64, =short for 2-byte lines), then times with hyperfine, in interleaved rounds,
#   cat FILE                                                   (the baseline)
#   anaconda-ci-auth exec --validate offline -- cat FILE       (the same output, scrubbed)
#   sh -c 'cat FILE | cat'                                     (a relay that does nothing to it)
# with the output written to a file on tmpfs (--output=FILE), into a pipe that hyperfine reads
# (--output=pipe) and to /dev/null. Also the peak RSS of exec (/usr/bin/time -v). Writes the raw
# hyperfine JSON and a Markdown summary to target/bench/scrub/.
# SCRUB_INSTRUCTIONS=1 instead counts the instructions exec itself executes (valgrind callgrind;
# not cat's, not the kernel's) for the first 1,000 bytes and the first 64 MiB of the content,
# into target/bench/scrub/instructions.txt: repeatable where wall-clock times are not.
# SCRUB_BIN=PATH times that binary instead of building this tree's (before/after comparisons).
# Usage: benches/scrub.sh   (SCRUB_GIB=2, SCRUB_RUNS=5 runs per command and round, SCRUB_ROUNDS=3)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${root}/target/bench/scrub"
gib="${SCRUB_GIB:-2}"
runs="${SCRUB_RUNS:-5}"
rounds="${SCRUB_ROUNDS:-3}"
content="${SCRUB_CONTENT:-text}"
bin="${SCRUB_BIN:-${root}/target/release/anaconda-ci-auth}"
work=""

stop() {
  [[ -n "${work}" ]] && rm -rf "${work}"
  return 0
}

require_tools() {
  local missing=()
  command -v hyperfine >/dev/null || missing+=(hyperfine)
  [[ -x /usr/bin/time ]] || missing+=(time)
  if ((${#missing[@]})); then
    echo "scrub bench: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# make_input FILE: SCRUB_GIB GiB of the chosen content (a 1.5 MiB block repeated).
make_input() {
  python3 - "$1" "${gib}" "${content}" <<'EOF'
import base64, os, random, sys
path, gib, content = sys.argv[1], float(sys.argv[2]), sys.argv[3]
rng = random.Random(1)
if content == "text":
    words = ("the quick brown fox conda package install solving environment done downloading "
             "extracting verifying transaction numpy pandas python openssl libgcc 1.26.4 py311h "
             "2024-05-01 INFO DEBUG WARNING /opt/conda/pkgs https://repo.anaconda.com/pkgs/main").split()
    block = "".join(" ".join(rng.choice(words) for _ in range(rng.randint(3, 16))) + "\n"
                    for _ in range(20000)).encode()
elif content == "base64":
    block = base64.encodebytes(rng.randbytes(1200 * 1024))
elif content == "short":
    block = b"y\n" * (768 * 1024)
else:
    sys.exit(f"unknown SCRUB_CONTENT {content}")
total = int(gib * 1024 ** 3)
with open(path, "wb") as f:
    written = 0
    while written < total:
        chunk = block[: total - written]
        f.write(chunk)
        written += len(chunk)
EOF
}

# count_instructions INPUT: instructions of exec -- cat for two prefixes of INPUT.
count_instructions() {
  command -v valgrind >/dev/null || {
    echo "scrub bench: installing valgrind"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
  }
  local size
  for size in 1000 $((64 * 1024 * 1024)); do
    head -c "${size}" "$1" >"${work}/part"
    valgrind --tool=callgrind --callgrind-out-file="${work}/callgrind.out" "${bin}" exec --validate offline \
      --api-key-env BENCH_KEY --ci none -- cat "${work}/part" >"${work}/output" 2>"${work}/valgrind.log"
    cmp -s "${work}/part" "${work}/output" || { echo "scrub bench: output differs from input" >&2; return 1; }
    printf '%s bytes of %s\t%s instructions\n' "${size}" "${content}" \
      "$(awk '/Collected/ {print $4}' "${work}/valgrind.log")"
  done | tee "${out}/instructions.txt"
}

main() {
  require_tools
  if [[ -z "${SCRUB_BIN:-}" ]]; then
    echo "scrub bench: cargo build --release"
    (cd "${root}" && cargo build --release --locked --quiet)
  fi
  mkdir -p "${out}"
  work="$(mktemp -d -p /dev/shm)"
  trap stop EXIT
  export HOME="${work}/home" TMPDIR="${work}/tmp"
  mkdir -p "${HOME}" "${TMPDIR}"
  unset ANACONDA_AUTH_API_KEY GITHUB_ACTIONS GITLAB_CI BUILDKITE JENKINS_URL
  BENCH_KEY="$(python3 -c 'import base64, json, time
b = lambda d: base64.urlsafe_b64encode(json.dumps(d, separators=(",", ":")).encode()).rstrip(b"=").decode()
print(b({"alg": "RS256", "kid": "default", "typ": "JWT"}) + "." + b({"exp": int(time.time()) + 86400 * 365, "sub": "d04c356b-afd2-4b3e-80f2-403113e0974b"}) + "." + base64.urlsafe_b64encode(bytes(range(256))).rstrip(b"=").decode())')"
  export BENCH_KEY
  local input="${work}/input" exec_cmd sink round
  if [[ "${SCRUB_INSTRUCTIONS:-0}" == 1 ]]; then
    gib=0.0625
    make_input "${input}"
    count_instructions "${input}"
    return
  fi
  rm -f "${out}"/*.json "${out}/rss.txt"
  echo "scrub bench: writing ${gib} GiB of ${content}"
  make_input "${input}"
  exec_cmd="${bin} exec --validate offline --api-key-env BENCH_KEY --ci none -- cat ${input}"
  for ((round = 1; round <= rounds; round++)); do
    for sink in file pipe null; do
      local output="${sink}"
      [[ "${sink}" == file ]] && output="${work}/output"
      [[ "${sink}" == null ]] && output=null
      echo "scrub bench: output to ${sink} (round ${round} of ${rounds})"
      hyperfine -N --style basic --warmup 1 --runs "${runs}" --output="${output}" \
        --export-json "${out}/${sink}-r${round}.json" \
        -n "cat" "cat ${input}" -n "exec -- cat" "${exec_cmd}" -n "cat | cat" "sh -c 'cat ${input} | cat'"
    done
  done
  rm -f "${work}/output"
  local kib
  kib="$(/usr/bin/time -v "${bin}" exec --validate offline --api-key-env BENCH_KEY --ci none -- cat "${input}" \
    2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}')"
  printf 'exec -- cat\t%s\n' "${kib}" >"${out}/rss.txt"
  python3 - "${out}" "${gib}" "${content}" <<'EOF' | tee "${out}/results.md"
import glob, json, os, statistics, sys
out, gib, content = sys.argv[1], float(sys.argv[2]), sys.argv[3]
size = gib * 1024 ** 3
print(f"{gib:g} GiB of {content}; throughput = bytes / mean wall time; ratio = cat's mean / exec's mean; "
      "relay: `cat | cat`, exec's mean over the relay's\n")
print("| output to | cat | exec -- cat | ratio (all runs) | per-round ratios | exec CPU (user+sys) per GiB "
      "| relay | exec / relay |")
print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
for sink in ("file", "pipe", "null"):
    times = {"cat": [], "exec -- cat": [], "cat | cat": []}
    cpu, ratios = [], []
    for path in sorted(glob.glob(os.path.join(out, f"{sink}-r*.json"))):
        res = {r["command"]: r for r in json.load(open(path))["results"]}
        for name in times:
            times[name].extend(res[name]["times"])
        ratios.append(res["cat"]["mean"] / res["exec -- cat"]["mean"])
        cpu.append(res["exec -- cat"]["user"] + res["exec -- cat"]["system"])
    cat, ex = statistics.mean(times["cat"]), statistics.mean(times["exec -- cat"])
    relay = statistics.mean(times["cat | cat"])
    gbps = lambda t: f"{size / t / 1e9:.2f} GB/s"
    print(f"| {sink} | {cat:.3f} s ({gbps(cat)}) | {ex:.3f} s ({gbps(ex)}) | {cat / ex:.2f}x | "
          f"{', '.join(f'{r:.2f}' for r in ratios)} | {statistics.mean(cpu) / gib:.3f} s | "
          f"{relay:.3f} s | {ex / relay:.2f} |")
rss = open(os.path.join(out, "rss.txt")).read().split("\t")[1].strip()
print(f"\nexec peak RSS: {int(rss) / 1024:.1f} MiB")
EOF
}

main "$@"
