"""Concurrency: 16 setups at once merge into one keyring P (0640, owned by another user), each with
its own job directory, then their cleanups run in a random order, one after the other or all at
once. Rounds: every job the same domain; every job its own domain (half of them replacing an
entry that exists); and a P that did not exist before (it must not remain, as `{}` or otherwise).

While jobs remain, P's entry for a domain must hold the key of a job not yet cleaned up (never a
finished job's key) and every other entry must be the original; at the end every cleanup exited 0,
every job directory is gone, P is byte-for-byte the original with its mode and owner (or absent,
if it was), nothing is left beside P and no file holds a key.

Tunable: FAULTS_CONC_JOBS (16), FAULTS_CONC_KB (512, the keyring's size), FAULTS_SEED.
"""

import os
import shutil
import threading
import time

import faultlib as fl

R = fl.Results()
JOBS = fl.env_int("FAULTS_CONC_JOBS", 16)
KB = fl.env_int("FAULTS_CONC_KB", 512)


def entry_problems(path, orig_obj, jobs, done, strict=True):
    """Problems with P while the jobs not in `done` are still set up. Not `strict`: their cleanups
    have started, so an entry may already be back to the original."""
    obj, problem = fl.load_keyring(path)
    running = [j for j in jobs if j["name"] not in done]
    if problem == "missing" and orig_obj is None:
        return [] if not running else ["P is missing while jobs are set up"]
    if problem:
        return [f"P is {problem}"]
    allowed = {}
    for j in running:
        allowed.setdefault(j["domain"], set()).add(j["key"])
    finished = {j["key"] for j in jobs if j["name"] in done}
    problems = fl.compare_merge(orig_obj or {}, obj, allowed, finished)
    if not strict:
        pass
    elif orig_obj is not None or running:
        # A domain with running jobs must hold one of their keys (not the original any more).
        cloud = obj.get("Anaconda Cloud", {})
        for d, keys in allowed.items():
            if fl.entry_api_key(cloud.get(d, "")) not in keys:
                problems.append(f"entry `{d}` holds no running job's key while {len(keys)} jobs use it")
    elif obj is not None:
        problems.append(f"P exists as {fl.json.dumps(obj)[:40]} after every job was cleaned up")
    return problems


def round_(name, domains_mode, order, absent, orig, user, root):
    work = os.path.join(root, name)
    home = os.path.join(work, "home")
    parent = os.path.join(work, "jobs")
    os.makedirs(home, mode=0o755)
    os.makedirs(parent, mode=0o700)
    path = os.path.join(home, "keyring")
    orig_obj = None
    if not absent:
        fl.write_file(path, orig, 0o640, user[0], user[1])
        orig_obj = fl.json.loads(orig)
    before = fl.snapshot(path)
    jobs = []
    for i in range(JOBS):
        if domains_mode == "same":
            domain = "anaconda.com"
        else:
            domain = "anaconda.com" if i == 0 else (f"site{i}.example.org" if i % 2 else f"new{i}.example")
        jobs.append({"name": f"j{i}", "key": fl.new_key(), "domain": domain,
                     "dir": os.path.join(parent, f"anaconda-ci-auth-{name}-{i}")})
    keys = [j["key"] for j in jobs]
    problems = []
    procs = [(j, fl.spawn(fl.setup_args(path, j["dir"], j["domain"]), j["key"], root=work)) for j in jobs]
    for j, p in procs:
        out, err = p.communicate(timeout=300)
        if p.returncode != 0:
            problems.append(f"setup {j['name']} exited {p.returncode}: "
                            f"{err.decode(errors='replace').strip().splitlines()[-1:]}")
    if problems:
        return problems
    problems += [f"after the setups: {p}" for p in entry_problems(path, orig_obj, jobs, set())]
    done = set()
    perm = list(jobs)
    fl.rng.shuffle(perm)
    fl.info(f"{name}: cleanup order {' '.join(j['name'] for j in perm)}")
    if order == "sequential":
        for j in perm:
            r = fl.run(["cleanup", "--dir", j["dir"]], root=work)
            done.add(j["name"])
            if r.rc != 0:
                problems.append(f"cleanup {j['name']} exited {r.rc}: {r.first_error()}")
            if os.path.exists(j["dir"]):
                problems.append(f"cleanup {j['name']} left its job directory "
                                f"({len(done)}. in order; {r.first_error() or 'no message'})")
            problems += [f"after {len(done)} cleanups: {p}" for p in entry_problems(path, orig_obj, jobs, done)]
    else:
        lock = threading.Lock()
        stop = threading.Event()
        seen = []

        def watch():
            while not stop.is_set():
                with lock:
                    snapshot_done = set(done)
                for p in entry_problems(path, orig_obj, jobs, snapshot_done, strict=False):
                    if "P is missing" in p and absent:
                        continue
                    seen.append(f"during concurrent cleanups: {p}")
                time.sleep(0.002)

        running = {}
        for j in perm:
            running[j["name"]] = (j, fl.spawn(["cleanup", "--dir", j["dir"]], root=work))
        t = threading.Thread(target=watch)
        t.start()
        while running:
            for n, (j, p) in list(running.items()):
                if p.poll() is not None:
                    out, err = p.communicate()
                    with lock:
                        done.add(n)
                    del running[n]
                    if p.returncode != 0:
                        problems.append(f"cleanup {n} exited {p.returncode}: "
                                        f"{err.decode(errors='replace').strip().splitlines()[-1:]}")
            time.sleep(0.005)
        stop.set()
        t.join()
        problems += seen[:3]
        left = [j["name"] for j in jobs if os.path.exists(j["dir"])]
        if left:
            problems.append(f"{len(left)} of {JOBS} job directories left after concurrent cleanups")
    after = fl.snapshot(path)
    change = fl.describe_change(before, after)
    if change and before is None:
        problems.append(f"at the end P exists as {after[5][:40]!r} though it did not before the jobs")
    elif change:
        problems.append(f"at the end P {change}")
    strays = fl.stray_files(home)
    if strays:
        problems.append(f"left beside P: {strays[:3]}")
    found = fl.scan_tree(work, keys)
    if found:
        problems.append(f"a key remains in {[os.path.relpath(p, work) for p in found[:3]]}")
    shutil.rmtree(work, ignore_errors=True)
    return problems


def main():
    if os.geteuid() != 0:
        R.fail("concurrency", "must run as root (the keyring belongs to a second user)")
        R.exit()
    user = fl.make_user()
    root = fl.make_root("conc")
    orig = fl.make_keyring(KB * 1024, seed=fl.SEED)
    cases = [
        ("concurrency-same-domain-sequential", "same", "sequential", False),
        ("concurrency-same-domain-concurrent", "same", "concurrent", False),
        ("concurrency-distinct-domains-sequential", "distinct", "sequential", False),
        ("concurrency-distinct-domains-concurrent", "distinct", "concurrent", False),
        ("concurrency-created-keyring", "same", "sequential", True),
    ]
    for name, dm, order, absent in cases:
        t0 = time.monotonic()

        def case(name=name, dm=dm, order=order, absent=absent, t0=t0):
            problems = round_(name, dm, order, absent, orig, user, root)
            what = "created by the setups" if absent else f"{len(orig) // 1024} KiB"
            R.check(name, problems, f"{JOBS} setups at once into one keyring ({what}), cleanups {order} in "
                    f"random order: restored exactly, {time.monotonic() - t0:.0f}s")

        R.run_case(name, case)
    R.exit()


if __name__ == "__main__":
    main()
