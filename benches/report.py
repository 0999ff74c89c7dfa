"""Turns the raw benchmark output of benches/run.sh into the Markdown report (stdout).

Owns: the machine description, the timing table, the ratio targets and their verdicts.
Usage: python3 report.py OUT_DIR BINARY PYTHON
"""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

MIB = 1024 * 1024


def load_results(out):
    results = {}
    for path in sorted(out.glob("*.json")):
        for r in json.loads(path.read_text())["results"]:
            results[r["command"]] = r
    return results


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


def target_rows(results, rss, size):
    ours = results["setup --validate offline"]
    py = results["python TokenInfo.save()"]
    floor = results["printf floor"]
    online = results["setup (online)"]
    curl = results["curl GET /api/account"]
    yield "| target | measured: wall-clock mean ratio (median, min, CPU-time ratios) | verdict |"
    yield "| --- | --- | --- |"
    speedup = py["mean"] / ours["mean"]
    yield (f"| offline setup ≥ 100× faster than Python `TokenInfo.save()` | {ratios(py, ours)} "
           f"| {verdict(speedup >= 100)} |")
    vs_floor = ours["mean"] / floor["mean"]
    yield f"| offline setup within 3× of the `printf` floor | {ratios(ours, floor)} | {verdict(vs_floor <= 3)} |"
    vs_curl = online["mean"] / curl["mean"]
    yield f"| online setup within 2× of `curl` | {ratios(online, curl)} | {verdict(vs_curl <= 2)} |"
    peak = max(v for k, v in rss.items() if k.startswith("setup"))
    yield f"| setup peak RSS < 15 MiB | {peak / 1024:.1f} MiB | {verdict(peak < 15 * 1024)} |"
    yield (f"| stripped release binary < 6 MB | {size:,} bytes ({size / MIB:.2f} MiB) "
           f"| {verdict(size < 6_000_000)} |")


def main():
    out, binary, python = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    results = load_results(out)
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
    print("## Timings (whole processes)\n")
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
    print("\n".join(target_rows(results, rss, size)))


if __name__ == "__main__":
    main()
