"""What a merge leaves behind: a relative `--keyring-path` cleaned up from another directory, stale
`.anaconda-ci-auth-*` temporary files of a killed setup (the next setup or a sweep removes them),
the keyring's mode and owner after out-of-order cleanups, and a cleanup killed midway then run
again (it finishes, exit 0, without a warning); half of those kills land right after the restored
keyring is renamed into place (inotify), half at random moments.

Tunable: FAULTS_RERUN_ROUNDS (16), FAULTS_STALE_ATTEMPTS (40 kills to get a stale temp file).
"""

import os
import select
import shutil
import subprocess
import time

import faultlib as fl

R = fl.Results()
RERUN_ROUNDS = fl.env_int("FAULTS_RERUN_ROUNDS", 16)
STALE_ATTEMPTS = fl.env_int("FAULTS_STALE_ATTEMPTS", 40)
ROOT = fl.make_root("left")
BIG = fl.make_keyring(2 * 1024 * 1024, seed=7)


def fresh(name, data, mode=0o644, owner=(0, 0)):
    d = os.path.join(ROOT, name)
    os.makedirs(os.path.join(d, "home"), mode=0o755)
    os.makedirs(os.path.join(d, "jobs"), mode=0o700)
    p = os.path.join(d, "home", "keyring")
    fl.write_file(p, data, mode, *owner)
    return d, p, os.path.join(d, "jobs")


def end_checks(p, before, parent, keys, work):
    problems = []
    change = fl.describe_change(before, fl.snapshot(p))
    if change:
        problems.append(f"P {change}")
    strays = fl.stray_files(os.path.dirname(p))
    if strays:
        problems.append(f"left beside P: {strays[:2]}")
    if os.listdir(parent):
        problems.append(f"job directories left: {os.listdir(parent)[:2]}")
    found = fl.scan_tree(work, keys)
    if found:
        problems.append(f"a key remains in {[os.path.relpath(x, work) for x in found[:2]]}")
    return problems


def relative_path():
    """setup in one directory with a relative --keyring-path; cleanup from another, where the same
    relative path names a different file (which must not be touched)."""
    work = os.path.join(ROOT, "relative")
    a, b = os.path.join(work, "a"), os.path.join(work, "b")
    for d in (os.path.join(a, "kr"), os.path.join(b, "kr"), os.path.join(work, "jobs")):
        os.makedirs(d, mode=0o755)
    orig = fl.make_keyring(32 * 1024, seed=2)
    p, decoy = os.path.join(a, "kr", "keyring"), os.path.join(b, "kr", "keyring")
    fl.write_file(p, orig, 0o644)
    fl.write_file(decoy, fl.make_keyring(16 * 1024, seed=5), 0o644)
    before, decoy_before = fl.snapshot(p), fl.snapshot(decoy)
    key = fl.new_key()
    job = os.path.join(work, "jobs", "anaconda-ci-auth-rel")
    problems = []
    r = fl.run(fl.setup_args("kr/keyring", job), key, cwd=a, root=ROOT)
    if r.rc != 0:
        problems.append(f"setup exited {r.rc}: {r.first_error()}")
    c = fl.run(["cleanup", "--dir", job], cwd=b, root=ROOT)
    if c.rc != 0:
        problems.append(f"cleanup exited {c.rc}: {c.first_error()}")
    change = fl.describe_change(before, fl.snapshot(p))
    if change:
        has = fl.holds_key(open(p, "rb").read(), [key]) is not None
        problems.append(f"cleanup from another directory: P {change}{' and still holds the CI key' if has else ''}")
    change = fl.describe_change(decoy_before, fl.snapshot(decoy))
    if change:
        problems.append(f"the file the relative path names from cleanup's directory {change}")
    if os.path.lexists(job):
        problems.append("the job directory was left behind")
    if fl.scan_tree(work, [key]):
        problems.append("a file still holds the key")
    R.check("leftovers-relative-keyring-path", problems,
            "setup with `kr/keyring` in one directory, cleanup from another: P restored exactly")


def make_stale(p, parent, work):
    """Kills setups until one leaves a `.anaconda-ci-auth*` file beside P: every other attempt the
    moment such a file appears there (inotify), the others at random moments.
    Returns (stale names, keys used, attempts)."""
    keys = []
    probe = fl.run(fl.setup_args(p, os.path.join(parent, "anaconda-ci-auth-probe")), fl.new_key(), root=work)
    fl.run(["cleanup", "--dir", os.path.join(parent, "anaconda-ci-auth-probe")], root=work)
    duration = probe.seconds
    for i in range(STALE_ATTEMPTS):
        key = fl.new_key()
        keys.append(key)
        job = os.path.join(parent, f"anaconda-ci-auth-k{i}")
        if i % 2 == 0:
            ino = fl.Inotify()
            ino.watch(os.path.dirname(p), fl.IN_CREATE)
            proc = fl.spawn(fl.setup_args(p, job), key, root=work)
            deadline = time.monotonic() + 10
            hit = False
            while not hit and proc.poll() is None and time.monotonic() < deadline:
                if select.select([ino.fd], [], [], 0.05)[0]:
                    hit = any(name.startswith(".anaconda-ci-auth") for _d, name, _m in ino.read())
            # At once: writing a cached 2 MB file takes a few milliseconds.
            proc.kill()
            ino.close()
        else:
            proc = fl.spawn(fl.setup_args(p, job), key, root=work)
            time.sleep(fl.rng.uniform(0.3, 1.0) * duration)
        proc.kill()
        proc.communicate()
        strays = fl.stray_files(os.path.dirname(p))
        if strays:
            return strays, keys, i + 1
    return [], keys, STALE_ATTEMPTS


def stale_temp(by):
    work, p, parent = fresh(f"stale-{by}", BIG)
    before = fl.snapshot(p)
    strays, keys, attempts = make_stale(p, parent, work)
    name = f"leftovers-stale-temp-files-{by}"
    if not strays:
        R.ok(name, f"no temporary file left beside P after {attempts} kills of setup")
        return
    fl.info(f"{name}: after {attempts} kills, beside P: {strays}")
    problems = []
    if by == "next-setup":
        key = fl.new_key()
        keys.append(key)
        job = os.path.join(parent, "anaconda-ci-auth-next")
        r = fl.run(fl.setup_args(p, job), key, root=work)
        if r.rc != 0:
            problems.append(f"the next setup exited {r.rc}: {r.first_error()}")
        still = [s for s in strays if os.path.lexists(os.path.join(os.path.dirname(p), s))]
        if still:
            problems.append(f"the next setup left the stale {still[:2]}")
        c = fl.run(["cleanup", "--sweep", "--sweep-dir", parent, "--max-age", "0s"], root=work)
    else:
        c = fl.run(["cleanup", "--sweep", "--sweep-dir", parent, "--max-age", "0s"], root=work)
        still = [s for s in strays if os.path.lexists(os.path.join(os.path.dirname(p), s))]
        if still:
            problems.append(f"the sweep left the stale {still[:2]}")
    if c.rc != 0:
        problems.append(f"the sweep exited {c.rc}: {c.first_error()}")
    problems += [f"after the sweep: {x}" for x in end_checks(p, before, parent, keys, work)]
    R.check(name, problems, f"the stale {strays[0]} (from a killed setup) was removed by the {by}")
    shutil.rmtree(work, ignore_errors=True)


def mode_out_of_order():
    """Two jobs merge the same domain into a 0640 keyring of another user; the first one is cleaned
    up first (not last-in-first-out). Mode, owner and content come back."""
    if os.geteuid() != 0:
        R.fail("leftovers-mode-after-out-of-order-cleanups", "must run as root (P belongs to a second user)")
        return
    user = fl.make_user()
    work, p, parent = fresh("mode", fl.make_keyring(64 * 1024, seed=9), 0o640, user[:2])
    before = fl.snapshot(p)
    jobs = [(fl.new_key(), os.path.join(parent, f"anaconda-ci-auth-{i}")) for i in range(2)]
    problems = []
    for key, job in jobs:
        r = fl.run(fl.setup_args(p, job), key, root=work)
        if r.rc != 0:
            problems.append(f"setup exited {r.rc}: {r.first_error()}")
    for key, job in jobs:
        c = fl.run(["cleanup", "--dir", job], root=work)
        if c.rc != 0:
            problems.append(f"cleanup exited {c.rc}: {c.first_error()}")
    problems += end_checks(p, before, parent, [k for k, _ in jobs], work)
    R.check("leftovers-mode-after-out-of-order-cleanups", problems,
            "0640 keyring of another user, cleanups first-in-first-out: mode, owner and content restored")


def killed_cleanup_rerun():
    orig = fl.make_keyring(1024 * 1024, seed=11)
    work, p, parent = fresh("rerun", orig, 0o640)
    before = fl.snapshot(p)
    problems, kills, keys = [], 0, []
    cal = None
    for i in range(RERUN_ROUNDS * 3):
        if kills >= RERUN_ROUNDS:
            break
        key = fl.new_key()
        keys.append(key)
        job = os.path.join(parent, f"anaconda-ci-auth-{i}")
        r = fl.run(fl.setup_args(p, job), key, root=work)
        if r.rc != 0:
            problems.append(f"setup exited {r.rc}: {r.first_error()}")
            break
        if cal is None:
            c = fl.run(["cleanup", "--dir", job], root=work)
            cal = c.seconds
            continue
        if i % 2:
            # Right after the restored keyring is renamed into place: the window between putting
            # the entry back and removing the job's record of it.
            ino = fl.Inotify()
            ino.watch(os.path.dirname(p), fl.IN_MOVED_TO)
            proc = fl.spawn(["cleanup", "--dir", job], root=work)
            deadline = time.monotonic() + 10
            hit = False
            while not hit and proc.poll() is None and time.monotonic() < deadline:
                if select.select([ino.fd], [], [], 0.05)[0]:
                    hit = any(name == "keyring" for _d, name, _m in ino.read())
            ino.close()
        else:
            proc = fl.spawn(["cleanup", "--dir", job], root=work)
            time.sleep(fl.rng.uniform(0.05, 1.0) * cal)
        killed = proc.poll() is None
        proc.kill()
        proc.communicate()
        if not killed or not os.path.isdir(job):
            continue
        kills += 1
        c = fl.run(["cleanup", "--dir", job], root=work)
        warn = [ln for ln in c.err.splitlines() if "warning" in ln.lower()]
        if c.rc != 0:
            problems.append(f"round {kills}: the re-run exited {c.rc}: {c.first_error()}")
        elif warn:
            problems.append(f"round {kills}: the re-run warned: {warn[0][:140]}")
        if os.path.lexists(job):
            problems.append(f"round {kills}: the re-run left the job directory")
        change = fl.describe_change(before, fl.snapshot(p))
        if change:
            problems.append(f"round {kills}: P {change}")
            fl.write_file(p, orig, 0o640)
        if os.path.lexists(job):
            subprocess.run(["rm", "-rf", job], check=False)
    problems += end_checks(p, before, parent, keys, work)
    if kills < RERUN_ROUNDS and not problems:
        problems.append(f"only {kills} cleanups could be killed midway")
    R.check("leftovers-killed-cleanup-rerun", problems,
            f"{kills} cleanups killed midway; each re-run exited 0 without a warning and restored P exactly")


def main():
    t0 = time.monotonic()
    R.run_case("leftovers-relative-keyring-path", relative_path)
    R.run_case("leftovers-stale-temp-files-next-setup", stale_temp, "next-setup")
    R.run_case("leftovers-stale-temp-files-sweep", stale_temp, "sweep")
    R.run_case("leftovers-mode-after-out-of-order-cleanups", mode_out_of_order)
    R.run_case("leftovers-killed-cleanup-rerun", killed_cleanup_rerun)
    fl.info(f"leftovers: {time.monotonic() - t0:.0f}s")
    R.exit()


if __name__ == "__main__":
    main()
