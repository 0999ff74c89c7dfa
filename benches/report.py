"""Turns the raw benchmark output of benches/run.sh into the Markdown report (stdout).

Owns: the machine description, the timing table, the ratio targets and their verdicts.
Usage: python3 report.py OUT_DIR BINARY PYTHON
"""

import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

MIB = 1024 * 1024


def load_rounds(out):
    """{round: {command: hyperfine result}} from the NAME-rROUND.json files."""
    rounds = {}
    for path in sorted(out.glob("*-r*.json")):
        number = int(path.stem.rsplit("-r", 1)[1])
        for r in json.loads(path.read_text())["results"]:
            rounds.setdefault(number, {})[r["command"]] = r
    return rounds


def merge(parts):
    """One result from the results of the same command in several rounds."""
    times = [t for p in parts for t in p["times"]]
    weights = [len(p["times"]) for p in parts]
    cpu = {k: sum(p[k] * w for p, w in zip(parts, weights)) / len(times) for k in ("user", "system")}
    return {"times": times, "mean": statistics.mean(times), "stddev": statistics.stdev(times),
            "median": statistics.median(times), "min": min(times), "max": max(times), **cpu}


def merged_results(rounds):
    names = []
    for per_round in rounds.values():
        names += [n for n in per_round if n not in names]
    return {n: merge([pr[n] for pr in rounds.values() if n in pr]) for n in names}


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    mem_kib = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")))
    hyperfine = subprocess.run(["hyperfine", "--version"], capture_output=True, text=True).stdout.strip()
    return [
        ("CPUs (nproc)", str(os.cpu_count())),
        ("CPU model", cpu),
        ("memory", f"{mem_kib / MIB:.1f} GiB"),
        ("kernel", platform.release()),
        ("load average at report time", " ".join(f"{x:.2f}" for x in os.getloadavg())),
        ("timer", hyperfine),
    ]


def ms(seconds):
    return f"{seconds * 1000:.2f} ms"


def cpu(r):
    return r["user"] + r["system"]


def timing_rows(results):
    yield "| command | wall mean ± σ | median | min | max | CPU (user+sys) mean | runs |"
    yield "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for name, r in results.items():
        yield (f"| `{name}` | {ms(r['mean'])} ± {ms(r['stddev'])} | {ms(r['median'])} | {ms(r['min'])} "
               f"| {ms(r['max'])} | {ms(cpu(r))} | {len(r['times'])} |")


def ratios(a, b):
    """a/b as 'mean (median, min, CPU)'."""
    return (f"{a['mean'] / b['mean']:.2f}× (median {a['median'] / b['median']:.2f}×, "
            f"min {a['min'] / b['min']:.2f}×, CPU {cpu(a) / cpu(b):.2f}×)")


def verdict(ok):
    return "**met**" if ok else "**missed**"


def per_round(rounds, a, b):
    """The range of a/b wall-clock mean ratios over the rounds that ran both."""
    values = [r[a]["mean"] / r[b]["mean"] for r in rounds.values() if a in r and b in r]
    return f"; per round {min(values):.2f}–{max(values):.2f}×" if len(values) > 1 else ""


def target_rows(results, rss, size, rounds):
    ours = results["setup --validate offline"]
    py = results["python TokenInfo.save()"]
    floor = results["printf floor"]
    online = results["setup (online)"]
    curl = results["curl GET /api/account"]
    yield "| target | measured: wall-clock mean ratio (median, min, CPU-time ratios) | verdict |"
    yield "| --- | --- | --- |"
    speedup = py["mean"] / ours["mean"]
    off, save, pf = "setup --validate offline", "python TokenInfo.save()", "printf floor"
    on, get = "setup (online)", "curl GET /api/account"
    yield (f"| offline setup ≥ 100× faster than Python `TokenInfo.save()` | {ratios(py, ours)}"
           f"{per_round(rounds, save, off)} | {verdict(speedup >= 100)} |")
    vs_floor = ours["mean"] / floor["mean"]
    yield (f"| offline setup within 3× of the `printf` floor | {ratios(ours, floor)}{per_round(rounds, off, pf)} "
           f"| {verdict(vs_floor <= 3)} |")
    vs_curl = online["mean"] / curl["mean"]
    yield (f"| online setup within 2× of `curl` | {ratios(online, curl)}{per_round(rounds, on, get)} "
           f"| {verdict(vs_curl <= 2)} |")
    peak = max(v for k, v in rss.items() if k.startswith("setup"))
    yield f"| setup peak RSS < 15 MiB | {peak / 1024:.1f} MiB | {verdict(peak < 15 * 1024)} |"
    yield (f"| stripped release binary < 6 MB | {size:,} bytes ({size / MIB:.2f} MiB) "
           f"| {verdict(size < 6_000_000)} |")


DIAGNOSTICS = (
    ("offline setup vs a shell doing the same filesystem work", "setup --validate offline",
     "shell floor: mkdir + 4 files"),
    ("offline setup vs printf, both on tmpfs", "setup --validate offline (dir on tmpfs)", "printf floor (tmpfs)"),
    ("offline setup on ext4 vs on tmpfs", "setup --validate offline", "setup --validate offline (dir on tmpfs)"),
    ("offline setup vs `anaconda-ci-auth --version`", "setup --validate offline", "anaconda-ci-auth --version"),
    ("online setup vs online validate (no files)", "setup (online)", "validate (online)"),
)


def diagnostic_rows(results, rounds):
    yield "| comparison | wall-clock mean ratio (median, min, CPU-time ratios) |"
    yield "| --- | --- |"
    for label, a, b in DIAGNOSTICS:
        if a in results and b in results:
            yield f"| {label} | {ratios(results[a], results[b])}{per_round(rounds, a, b)} |"


def main():
    out, binary, python = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    rounds = load_rounds(out)
    results = merged_results(rounds)
    rss = {}
    for line in (out / "rss.txt").read_text().splitlines():
        name, kib = line.split("\t")
        rss[name] = int(kib)
    size = binary.stat().st_size
    file_info = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True).stdout.strip()
    lib = subprocess.run([python, "-c", "import anaconda_auth; print(anaconda_auth.__version__)"],
                         capture_output=True, text=True).stdout.strip()
    print("## Machine\n")
    print("| | |\n| --- | --- |")
    for k, v in machine():
        print(f"| {k} | {v} |")
    print(f"\nanaconda-auth {lib} on {platform.python_version()}; binary `{binary.name}`: {file_info}\n")
    print(f"## Timings (whole processes, {len(rounds)} rounds merged)\n")
    print("\n".join(timing_rows(results)))
    print("\n## Peak memory (max RSS over 5 runs, /usr/bin/time -v)\n")
    print("| command | max RSS |\n| --- | ---: |")
    for name, kib in rss.items():
        print(f"| `{name}` | {kib / 1024:.1f} MiB |")
    print("\n## Fake API server latency (one warm client, 2000 requests, new connection each)\n")
    print("| server | mean | median | σ |\n| --- | ---: | ---: | ---: |")
    for impl in ("asyncio", "stdlib"):
        p = json.loads((out / f"server-{impl}.probe").read_text())
        print(f"| {impl} | {p['mean_ms']:.3f} ms | {p['median_ms']:.3f} ms | {p['stdev_ms']:.3f} ms |")
    print("\n## Targets\n")
    print("\n".join(target_rows(results, rss, size, rounds)))
    print("\n## Diagnostics\n")
    print("\n".join(diagnostic_rows(results, rounds)))


if __name__ == "__main__":
    main()
