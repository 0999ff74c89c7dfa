"""Crash loop: `kill -9` at random moments of `setup --keyring-path P` and of `cleanup`, on a
multi-megabyte keyring P (0640, owned by another user) shared with many other services.

After each kill P must parse and hold the original content plus, at most, the entries of the
jobs of the current batch (each job merges its own domain, so every entry can be attributed).
After a later `cleanup --dir` of each surviving job directory, or one
`cleanup --sweep --sweep-dir PARENT --max-age 0s`, P must be byte-for-byte the original with its
mode and owner, no `.anaconda-ci-auth*` file may be left beside P, no job directory may remain,
and no file under the test root may hold a key. A batch whose P did not exist must end without P.

Tunable: FAULTS_CRASH_KILLS (1000), FAULTS_CRASH_BATCH (1 job; more: overlapping jobs of distinct
domains), FAULTS_KEYRING_MB (2), FAULTS_CRASH_TMPFS (1: the test root on a tmpfs, so a kill costs no fsync wait),
FAULTS_CRASH_WORKERS (2 independent loops in parallel, each with its own keyring and jobs),
FAULTS_CRASH_SECONDS (900: give up and fail), FAULTS_SEED.
"""

import collections
import multiprocessing
import os
import shutil
import time

import faultlib as fl

R = fl.Results()
TARGET = fl.env_int("FAULTS_CRASH_KILLS", 1000)
BATCH = fl.env_int("FAULTS_CRASH_BATCH", 1)
MB = float(fl.os.environ.get("FAULTS_KEYRING_MB") or 2)
CAP = fl.env_int("FAULTS_CRASH_SECONDS", 900)
WORKERS = fl.env_int("FAULTS_CRASH_WORKERS", 2)


def kill_at(args, key, delay, root):
    """Runs the binary and sends SIGKILL after `delay` seconds. Returns (killed, Run-like)."""
    t0 = time.monotonic()
    p = fl.spawn(args, key, root=root)
    time.sleep(delay)
    killed = p.poll() is None
    if killed:
        p.kill()
    out, err = p.communicate()
    return killed, fl.Run(p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), False,
                          time.monotonic() - t0)


class Loop:
    def __init__(self, work, user):
        self.work = work
        self.user = user
        self.home = os.path.join(work, "home")
        self.home_absent = os.path.join(work, "home-absent")
        self.parent = os.path.join(work, "jobs")
        for d in (self.home, self.home_absent):
            os.makedirs(d, mode=0o755)
        os.makedirs(self.parent, mode=0o700)
        self.path = os.path.join(self.home, "keyring")
        self.original = fl.make_keyring(int(MB * 1024 * 1024), seed=fl.SEED, domains=("anaconda.com", "dom1.example"))
        self.original_obj = fl.json.loads(self.original)
        self.mode = 0o640
        self.reset_present()
        self.snap = fl.snapshot(self.path)
        self.kills = collections.Counter()
        self.completed = collections.Counter()
        self.violations = collections.Counter()
        self.examples = []
        self.batches = 0
        self.bad_batches = 0
        self.durations = {}

    def reset_present(self):
        fl.write_file(self.path, self.original, self.mode, self.user[0], self.user[1])

    def reset(self):
        for d in os.listdir(self.parent):
            shutil.rmtree(os.path.join(self.parent, d), ignore_errors=True)
        for home in (self.home, self.home_absent):
            for n in os.listdir(home):
                p = os.path.join(home, n)
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    os.unlink(p)
        self.reset_present()

    def violation(self, category, detail):
        self.violations[category] += 1
        if len(self.examples) < 8:
            self.examples.append(f"batch {self.batches}: {category}: {detail}")

    def calibrate(self):
        """Durations of an uninterrupted setup and cleanup, to spread the kills over them."""
        times = {"setup": [], "cleanup": []}
        for i in range(3):
            key = fl.new_key()
            job = os.path.join(self.parent, f"anaconda-ci-auth-cal{i}")
            r = fl.run(fl.setup_args(self.path, job), key, root=self.work)
            times["setup"].append(r.seconds)
            c = fl.run(["cleanup", "--dir", job], root=self.work)
            times["cleanup"].append(c.seconds)
            if r.rc != 0:
                return f"an uninterrupted setup failed (exit {r.rc}): {r.first_error()}"
            # The harness's own check: without a kill, the end state must already hold.
            change = fl.describe_change(self.snap, fl.snapshot(self.path))
            left = os.listdir(self.parent) + fl.stray_files(self.home)
            if change or left or c.rc != 0:
                return (f"an uninterrupted setup and cleanup do not restore P (cleanup exit {c.rc}; "
                        f"P {change or 'unchanged'}; left {left[:2]})")
        self.reset()
        self.durations = {k: sorted(v)[1] for k, v in times.items()}
        self.ratio = self.durations["cleanup"] / self.durations["setup"]
        self.recent = collections.deque(times["setup"], maxlen=9)
        return None

    def estimate(self, phase):
        """How long an uninterrupted run takes now (the machine's load changes): the median of the
        latest uninterrupted setups, scaled for cleanup."""
        d = sorted(self.recent)[len(self.recent) // 2]
        return d if phase == "setup" else d * self.ratio

    def check_after_kill(self, path, original_obj, allowed, phase):
        obj, problem = fl.load_keyring(path)
        if original_obj is None:
            if problem == "missing":
                return
            if problem:
                self.violation(f"after a kill during {phase}: P (absent before) is {problem.split(' (')[0]}", problem)
                return
            ours = [d for d in obj.get("Anaconda Cloud", {}) if d in allowed]
            if set(obj) != {"Anaconda Cloud"} or not ours:
                self.violation(f"after a kill during {phase}: P (absent before) exists without a job entry",
                               fl.json.dumps(obj)[:80])
                return
            problems = fl.compare_merge({}, obj, allowed)
        elif problem:
            self.violation(f"after a kill during {phase}: P is {problem.split(' (')[0]}", problem)
            return
        else:
            problems = fl.compare_merge(original_obj, obj, allowed)
        if problems:
            self.violation(f"after a kill during {phase}: P has an entry that is neither original nor a job's",
                           problems[0])

    def batch(self, absent):
        self.batches += 1
        path = os.path.join(self.home_absent, "keyring") if absent else self.path
        original_obj = None if absent else self.original_obj
        # Each batch starts at another kind of entry: one with a username and repo tokens, a
        # plain one, none yet.
        domains = ["anaconda.com", "dom1.example", f"new{self.batches}.example"]
        domains = domains[self.batches % 3:] + domains[:self.batches % 3]
        jobs = []
        for j in range(BATCH):
            jobs.append({"key": fl.new_key(), "domain": domains[j % 3] if j < 3 else f"x{j}.example",
                         "dir": os.path.join(self.parent, f"anaconda-ci-auth-b{self.batches}j{j}")})
        allowed = {j["domain"]: {j["key"]} for j in jobs}
        for j in jobs:
            args = fl.setup_args(path, j["dir"], j["domain"])
            if fl.rng.random() < 0.6:
                delay = fl.rng.uniform(0, self.estimate("setup"))
                killed, _ = kill_at(args, j["key"], delay, self.work)
                self.kills["setup" if killed else "setup-finished-first"] += 1
                self.check_after_kill(path, original_obj, allowed, "setup")
            else:
                r = fl.run(args, j["key"], root=self.work)
                if r.rc != 0:
                    self.violation("an uninterrupted setup failed", f"exit {r.rc}: {r.first_error()}")
                elif not absent:
                    self.recent.append(r.seconds)
            # A cleanup killed, sometimes its re-run killed too (a job cancelled twice).
            for _ in range(fl.rng.choice([1, 1, 2])):
                if not os.path.isdir(j["dir"]):
                    break
                delay = fl.rng.uniform(0, self.estimate("cleanup"))
                killed, _ = kill_at(["cleanup", "--dir", j["dir"]], None, delay, self.work)
                self.kills["cleanup" if killed else "cleanup-finished-first"] += 1
                self.check_after_kill(path, original_obj, allowed, "cleanup")
        # Recovery: what a later job or the user's next cleanup does.
        how = fl.rng.choice(["dir", "sweep"])
        notes = []
        if how == "dir":
            for j in jobs:
                if os.path.isdir(j["dir"]):
                    r = fl.run(["cleanup", "--dir", j["dir"]], root=self.work)
                    if r.rc != 0:
                        notes.append(f"cleanup --dir exit {r.rc}: {r.first_error()}")
        else:
            r = fl.run(["cleanup", "--sweep", "--sweep-dir", self.parent, "--max-age", "0s"], root=self.work)
            if r.rc != 0:
                notes.append(f"sweep exit {r.rc}: {r.first_error()}")
        recovered = f"after cleanup --{how}"
        note = f" [{notes[0]}]" if notes else ""
        bad = False
        if absent:
            if os.path.lexists(path):
                self.violation(f"{recovered}: P (absent before) exists", f"{fl.snapshot(path)[5][:60]!r}{note}")
                bad = True
        else:
            change = fl.describe_change(self.snap, fl.snapshot(path))
            if change:
                obj, _ = fl.load_keyring(path)
                cloud = (obj or {}).get("Anaconda Cloud", {})
                diff = [d for d in set(cloud) | set(self.original_obj["Anaconda Cloud"])
                        if cloud.get(d) != self.original_obj["Anaconda Cloud"].get(d)]
                detail = f"entries differing: {sorted(diff)[:3]}" if diff else ""
                self.violation(f"{recovered}: P {change.split(' (')[0]}", f"{change} {detail}{note}")
                bad = True
        strays = fl.stray_files(os.path.dirname(path))
        if strays:
            self.violation(f"{recovered}: .anaconda-ci-auth* files beside P", f"{strays[:2]}{note}")
            bad = True
        left = os.listdir(self.parent)
        if left:
            stateless = [d for d in left if not os.path.exists(os.path.join(self.parent, d, "state.json"))]
            kind = "without a state file (setup killed before writing it)" if len(stateless) == len(left) else \
                "with a state file"
            self.violation(f"{recovered}: job directories remain, {kind}",
                           f"{len(left)} left: {[sorted(os.listdir(os.path.join(self.parent, d))) for d in left][:2]}"
                           f"{note}")
            bad = True
        found = fl.scan_tree(self.work, [j["key"] for j in jobs])
        if found:
            self.violation(f"{recovered}: a file holds a job's key",
                           f"{[os.path.relpath(p, self.work) for p in found[:2]]}{note}")
            bad = True
        if bad:
            self.bad_batches += 1
            self.reset()

    def total_kills(self):
        return self.kills["setup"] + self.kills["cleanup"]


def worker(args):
    """One independent loop: its own tmpfs, keyring and job parent. Returns its counters."""
    index, user, root, target = args
    fl.rng.seed(fl.SEED + index)
    work = os.path.join(root, f"fs{index}")
    where = "a tmpfs"
    if os.environ.get("FAULTS_CRASH_TMPFS", "1") != "0":
        why = fl.mount_tmpfs(work, "128m")
        if why:
            where = f"the disk (tmpfs not mounted: {why})"
    else:
        os.makedirs(work)
        where = "the disk"
    try:
        loop = Loop(work, user)
        why = loop.calibrate()
        if why:
            return {"error": why}
        fl.info(f"worker {index}: keyring {len(loop.original) / 1e6:.1f} MB on {where}; uninterrupted setup "
                f"{loop.durations['setup']:.3f}s, cleanup {loop.durations['cleanup']:.3f}s")
        t0 = time.monotonic()
        while loop.total_kills() < target and time.monotonic() - t0 < CAP:
            loop.batch(absent=loop.batches % 6 == 5)
        return {"kills": dict(loop.kills), "violations": dict(loop.violations), "examples": loop.examples,
                "batches": loop.batches, "bad": loop.bad_batches}
    finally:
        fl.umount(work)


def main():
    if os.geteuid() != 0:
        R.fail("crash-loop", "must run as root (the keyring belongs to a second user)")
        R.exit()
    user = fl.make_user()
    root = fl.make_root("crash")
    t0 = time.monotonic()
    fl.info(f"crash loop: {WORKERS} workers, seed {fl.SEED}")
    share = -(-TARGET // WORKERS)
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        results = pool.map(worker, [(i, user, root, share) for i in range(WORKERS)])
    elapsed = time.monotonic() - t0
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        R.fail("crash-loop", errors[0])
        R.exit()
    k = collections.Counter()
    violations = collections.Counter()
    examples = []
    batches = bad = 0
    for r in results:
        k.update(r["kills"])
        violations.update(r["violations"])
        examples += r["examples"]
        batches += r["batches"]
        bad += r["bad"]
    total = k["setup"] + k["cleanup"]
    nviol = sum(violations.values())
    summary = (f"{k['setup']} kills during setup, {k['cleanup']} during cleanup "
               f"({k['setup-finished-first']} setups and {k['cleanup-finished-first']} cleanups finished before their kill), "
               f"{batches} batches of {BATCH} job(s), {bad} batches with violations ({nviol} in all), {elapsed:.0f}s")
    for cat, n in violations.most_common():
        fl.info(f"{n:5d} x {cat}")
    for ex in examples[:10]:
        fl.info(f"e.g. {ex}")
    if total < TARGET:
        R.fail("crash-loop", f"only {total} of {TARGET} kills within {CAP}s; {summary}")
    elif nviol:
        R.fail("crash-loop", f"{summary}; most common: {violations.most_common(1)[0][0]}")
    else:
        R.ok("crash-loop", summary)
    R.exit()


if __name__ == "__main__":
    main()
