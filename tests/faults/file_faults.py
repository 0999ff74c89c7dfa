"""File faults at `--keyring-path P`: each must give a clear error that names the path, exit 8
(filesystem error or an unsafe path, README's exit-code table), never block, and change nothing:
P (type, mode, owner, content), what a symlink points to, no job directory and no
`.anaconda-ci-auth*` file left, no key in any file or on stdout/stderr.

Cases: a FIFO (run with a timeout), a character device (our own node, and the literal /dev/null
inside a private mount namespace so the system's is never at risk), a directory, a symlink to a
file and a dangling one, a parent directory the caller cannot write to (a second user), a full
disk beside P, a full disk in the job directory at each write (a success there must still clean
up exactly), a read-only mount, an immutable file (`chattr +i`), corrupt keyrings; and an empty
file, which anaconda-auth itself creates and which must merge and come back empty.
"""

import os
import stat
import subprocess
import time

import faultlib as fl

R = fl.Results()
ROOT = fl.make_root("files")
EXIT_FS = 8


def keyring_bytes():
    return fl.make_keyring(64 * 1024, seed=fl.SEED)


def expect_refusal(name, path, run_as=None, mention=None, setup_path=None, what=""):
    """Runs setup against `path` and checks the refusal. `mention`: paths the message may name."""
    key = fl.new_key()
    jobs = os.path.join(ROOT, f"jobs-{name}")
    os.makedirs(jobs, mode=0o700)
    if run_as:
        os.chown(jobs, run_as[0], run_as[1])
    job = os.path.join(jobs, "anaconda-ci-auth-job")
    watched = [path] + ([os.path.realpath(path)] if os.path.islink(path) else [])
    before = {p: fl.snapshot(p) for p in watched}
    t0 = time.monotonic()
    r = fl.run(fl.setup_args(setup_path or path, job), key, user=run_as, timeout=10, root=ROOT)
    problems = []
    if r.timed_out:
        problems.append(f"setup blocked (killed after {r.seconds:.0f}s)")
    elif r.rc != EXIT_FS:
        problems.append(f"exit {r.rc}, expected {EXIT_FS}: {r.first_error() or 'no error message'}")
    elif not any(m in r.err for m in (mention or [path])):
        problems.append(f"the error does not name `{path}`: {r.first_error()}")
    for p, b in before.items():
        change = fl.describe_change(b, fl.snapshot(p))
        if change:
            problems.append(f"`{os.path.relpath(p, ROOT)}` {change}")
    if os.path.lexists(job):
        problems.append("the job directory was left behind")
    strays = fl.stray_files(os.path.dirname(path))
    if strays:
        problems.append(f"left beside P: {strays[:2]}")
    problems += fl.output_leaks(r, [key])
    found = fl.scan_tree(ROOT, [key])
    if found:
        problems.append(f"the key is in {[os.path.relpath(p, ROOT) for p in found[:2]]}")
    if r.timed_out:
        # The test cannot clean up for a setup that never returned; its directory would leak.
        subprocess.run(["rm", "-rf", jobs], check=False)
    R.check(name, problems, f"exit {r.rc} in {time.monotonic() - t0:.1f}s, nothing changed{what}: "
            f"{r.first_error()[:90]}")


def case_dir(name):
    d = os.path.join(ROOT, name)
    os.makedirs(d, mode=0o755)
    return d


def fifo():
    p = os.path.join(case_dir("fifo"), "keyring")
    os.mkfifo(p, 0o600)
    expect_refusal("fault-fifo", p)


def chardev():
    p = os.path.join(case_dir("chardev"), "keyring")
    os.mknod(p, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    expect_refusal("fault-char-device", p)


def dev_null():
    """`--keyring-path /dev/null` as root, in a private mount namespace whose /dev is a tmpfs with
    its own null node: the literal path, without risking the machine's /dev/null."""
    key = fl.new_key()
    job = os.path.join(ROOT, "devnull-job", "anaconda-ci-auth-job")
    os.makedirs(os.path.dirname(job), mode=0o700)
    script = (
        'mount -t tmpfs -o size=1m,mode=0755 tmpfs /dev && mknod -m 0666 /dev/null c 1 3 || exit 99\n'
        'timeout 15 "$@" </dev/null >/dev/null 2>"$ERRFILE"; echo "rc=$?"\n'
        'stat -c "%F %t,%T %a %u" /dev/null; ls -A /dev\n'
    )
    errfile = os.path.join(ROOT, "devnull-err")
    env = fl.base_env(key, {"ERRFILE": errfile}, ROOT)
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", fl.BIN,
                        *fl.setup_args("/dev/null", job)], env=env, capture_output=True, text=True,
                       timeout=60, check=False)
    if r.returncode != 0 or "rc=" not in r.stdout:
        # Never fall back to the machine's /dev/null: a binary that replaces it would break the host.
        R.skip("fault-dev-null", f"no private mount namespace with its own /dev here (unshare/mount/mknod): "
               f"{r.stderr.strip()[:120]}; fault-char-device covers a device node")
        return
    lines = r.stdout.split("\n")
    rc = int(lines[0].split("=")[1])
    listing = lines[2:]
    err = open(errfile, encoding="utf-8", errors="replace").read() if os.path.exists(errfile) else ""
    problems = []
    if not lines[1].startswith("character special file 1,3 666"):
        problems.append(f"/dev/null is no longer the device: `{lines[1]}`")
    if rc == 124:
        problems.append("setup blocked")
    elif rc != EXIT_FS:
        problems.append(f"exit {rc}, expected {EXIT_FS}")
    elif "/dev/null" not in err:
        problems.append(f"the error does not name /dev/null: {err.strip()[:100]}")
    strays = [n for n in listing if n.startswith(".anaconda-ci-auth")]
    if strays:
        problems.append(f"left in /dev: {strays}")
    if os.path.lexists(job):
        problems.append("the job directory was left behind")
    if fl.holds_key(err.encode(), [key]):
        problems.append("the key is on stderr")
    R.check("fault-dev-null", problems, f"exit {rc}, /dev/null still the device: "
            f"{(err.strip().splitlines() or [''])[0][:90]}")


def directory():
    p = os.path.join(case_dir("directory"), "keyring")
    os.mkdir(p, 0o700)
    fl.write_file(os.path.join(p, "inside"), b"x")
    expect_refusal("fault-directory", p)


def symlink_file():
    d = case_dir("symlink")
    target = os.path.join(d, "real-keyring")
    fl.write_file(target, keyring_bytes(), 0o600)
    p = os.path.join(d, "keyring")
    os.symlink(target, p)
    expect_refusal("fault-symlink-to-file", p, what=" (link and target)")


def symlink_dangling():
    d = case_dir("dangling")
    p = os.path.join(d, "keyring")
    target = os.path.join(d, "nowhere", "keyring")
    os.symlink(target, p)
    expect_refusal("fault-symlink-dangling", p)
    if os.path.lexists(target) or os.path.lexists(os.path.dirname(target)):
        R.fail("fault-symlink-dangling-target", "the link's target (or its directory) was created")


def parent_not_writable():
    if os.geteuid() != 0:
        R.fail("fault-parent-not-writable", "must run as root (it runs setup as a second user)")
        return
    user = fl.make_user()
    d = case_dir("ro-parent")
    p = os.path.join(d, "keyring")
    fl.write_file(p, keyring_bytes(), 0o644)
    expect_refusal("fault-parent-not-writable", p, run_as=user, mention=[p, d], what=" (as a second user)")


def fill(mount, leave_pages):
    """Fills a tmpfs so that `leave_pages` pages stay free."""
    filler = os.path.join(mount, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    size = os.path.getsize(filler)
    os.truncate(filler, max(0, size - size % 4096 - leave_pages * 4096))


def enospc_beside():
    d = os.path.join(ROOT, "full")
    why = fl.mount_tmpfs(d, "1m")
    if why:
        R.skip("fault-enospc-beside-keyring", f"cannot mount a tmpfs here: {why}")
        return
    p = os.path.join(d, "keyring")
    fl.write_file(p, fl.make_keyring(300 * 1024, seed=1), 0o644)
    fill(d, 4)
    expect_refusal("fault-enospc-beside-keyring", p, what=" (disk full beside P)")
    fl.umount(d)


def enospc_job_dir():
    """The job directory on a full tmpfs, with 0..N pages left: whichever write fails, P is either
    untouched (setup failed) or restored exactly by cleanup (setup succeeded)."""
    mnt = os.path.join(ROOT, "fulljob")
    why = fl.mount_tmpfs(mnt, "512k")
    if why:
        R.skip("fault-enospc-job-dir", f"cannot mount a tmpfs here: {why}")
        return
    d = case_dir("fulljob-home")
    p = os.path.join(d, "keyring")
    orig = keyring_bytes()
    fl.write_file(p, orig, 0o644)
    before = fl.snapshot(p)
    problems, outcomes = [], []
    for pages in range(0, 9):
        for n in os.listdir(mnt):
            subprocess.run(["rm", "-rf", os.path.join(mnt, n)], check=False)
        fill(mnt, pages)
        key = fl.new_key()
        job = os.path.join(mnt, "anaconda-ci-auth-job")
        r = fl.run(fl.setup_args(p, job), key, timeout=30, root=ROOT)
        os.unlink(os.path.join(mnt, "filler"))
        if r.rc == 0:
            outcomes.append(f"{pages}:ok")
            c = fl.run(["cleanup", "--dir", job], root=ROOT)
            if c.rc != 0:
                problems.append(f"{pages} pages free: setup succeeded, cleanup exited {c.rc}: {c.first_error()}")
        else:
            outcomes.append(f"{pages}:exit{r.rc}")
            if r.rc != EXIT_FS:
                problems.append(f"{pages} pages free: exit {r.rc}, expected {EXIT_FS}: {r.first_error()}")
        change = fl.describe_change(before, fl.snapshot(p))
        if change:
            obj, _ = fl.load_keyring(p)
            has = fl.holds_key(open(p, "rb").read(), [key]) is not None
            problems.append(f"{pages} pages free ({outcomes[-1]}): P {change}"
                            f"{' and holds the CI key' if has else ''}")
            fl.write_file(p, orig, 0o644)
        if os.path.lexists(job):
            problems.append(f"{pages} pages free ({outcomes[-1]}): the job directory was left behind")
            subprocess.run(["rm", "-rf", job], check=False)
        if fl.scan_tree(ROOT, [key]):
            problems.append(f"{pages} pages free ({outcomes[-1]}): a file still holds the key")
        problems += fl.output_leaks(r, [key])
    fl.umount(mnt)
    R.check("fault-enospc-job-dir", problems, f"job directory on a full disk, by free pages: {' '.join(outcomes)}")


def read_only():
    d = os.path.join(ROOT, "ro")
    why = fl.mount_tmpfs(d, "2m")
    if why:
        R.skip("fault-read-only-mount", f"cannot mount a tmpfs here: {why}")
        return
    p = os.path.join(d, "keyring")
    fl.write_file(p, keyring_bytes(), 0o644)
    r = subprocess.run(["mount", "-o", "remount,ro", d], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        R.fail("fault-read-only-mount", f"cannot remount read-only: {r.stderr.strip()}")
        return
    expect_refusal("fault-read-only-mount", p, mention=[p, d])
    fl.umount(d)


def immutable():
    d = case_dir("immutable")
    p = os.path.join(d, "keyring")
    fl.write_file(p, keyring_bytes(), 0o644)
    r = subprocess.run(["chattr", "+i", p], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        R.skip("fault-immutable", f"the test filesystem does not support chattr +i: {r.stderr.strip()}")
        return
    try:
        expect_refusal("fault-immutable", p, what=" (chattr +i)")
    finally:
        subprocess.run(["chattr", "-i", p], capture_output=True, check=False)


def corrupt():
    variants = {
        "not-json": b'{"Anaconda Cloud": {"anaconda.com": "abc"',
        "list": b'["Anaconda Cloud"]',
        "service-not-object": b'{"Anaconda Cloud": "x", "other": {"u": "p"}}',
        "value-not-string": b'{"Anaconda Cloud": {"anaconda.com": 5}}',
        "binary": bytes(range(256)),
        "nul-padded": b"\0" * 4096,
    }
    for v, data in variants.items():
        d = case_dir(f"corrupt-{v}")
        p = os.path.join(d, "keyring")
        fl.write_file(p, data, 0o644)
        expect_refusal(f"fault-corrupt-keyring-{v}", p)


def empty():
    """anaconda-auth creates an empty keyring when it probes its backend: it merges, and cleanup
    leaves it empty again, with its mode."""
    d = case_dir("empty")
    p = os.path.join(d, "keyring")
    fl.write_file(p, b"", 0o644)
    before = fl.snapshot(p)
    key = fl.new_key()
    job = os.path.join(ROOT, "empty-job", "anaconda-ci-auth-job")
    os.makedirs(os.path.dirname(job), mode=0o700)
    r = fl.run(fl.setup_args(p, job), key, root=ROOT)
    problems = []
    if r.rc != 0:
        problems.append(f"setup exited {r.rc}: {r.first_error()}")
    else:
        obj, prob = fl.load_keyring(p)
        if prob or fl.entry_api_key(obj.get("Anaconda Cloud", {}).get("anaconda.com", "")) != key:
            problems.append(f"after setup P does not hold the job's entry ({prob})")
        c = fl.run(["cleanup", "--dir", job], root=ROOT)
        if c.rc != 0:
            problems.append(f"cleanup exited {c.rc}: {c.first_error()}")
    change = fl.describe_change(before, fl.snapshot(p))
    if change:
        problems.append(f"at the end P {change}")
    if os.path.lexists(job):
        problems.append("the job directory was left behind")
    if fl.scan_tree(ROOT, [key]):
        problems.append("a file still holds the key")
    R.check("fault-empty-keyring", problems, "an empty keyring merges and comes back empty with its mode")


def main():
    for name, fn in [("fault-fifo", fifo), ("fault-char-device", chardev), ("fault-dev-null", dev_null),
                     ("fault-directory", directory), ("fault-symlink-to-file", symlink_file),
                     ("fault-symlink-dangling", symlink_dangling),
                     ("fault-parent-not-writable", parent_not_writable),
                     ("fault-enospc-beside-keyring", enospc_beside), ("fault-enospc-job-dir", enospc_job_dir),
                     ("fault-read-only-mount", read_only), ("fault-immutable", immutable),
                     ("fault-corrupt-keyring", corrupt), ("fault-empty-keyring", empty)]:
        R.run_case(name, fn)
    R.exit()


if __name__ == "__main__":
    main()
