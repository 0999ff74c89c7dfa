"""Root merging into a keyring in a directory another user owns, while that user races: the moment
setup (or cleanup) renames the merged keyring into place, the user's process (inotify, reacting in
microseconds) swaps P for a symlink to a root-owned victim file. Whatever root does next must not
reach the victim: its mode and owner never change. P's group is another group of the user's (a
symlink the user makes gets the primary group, so root's "give the file back" sees a difference). Also: a setuid/setgid mode the user gave P is
never restored by root.

Tunable: FAULTS_RACE_ROUNDS (10 rounds for setup and 10 for cleanup).
"""

import os
import subprocess
import time

import faultlib as fl

R = fl.Results()
ROUNDS = fl.env_int("FAULTS_RACE_ROUNDS", 10)

# Runs as the directory's owner: waits for `keyring` to be renamed into its directory, then swaps it
# for a symlink to the victim. Standalone (the user cannot read the repository).
RACER = r"""
import ctypes, ctypes.util, os, struct, sys
d, victim = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
fd = libc.inotify_init1(0)
if fd < 0 or libc.inotify_add_watch(fd, d.encode(), 0x80) < 0:
    print("inotify failed", flush=True)
    sys.exit(2)
print("ready", flush=True)
while True:
    buf = os.read(fd, 4096)
    i = 0
    while i < len(buf):
        _wd, _mask, _c, n = struct.unpack_from("iIII", buf, i)
        name = buf[i + 16:i + 16 + n].rstrip(b"\0")
        i += 16 + n
        if name == b"keyring":
            tmp = os.path.join(d, ".swap")
            os.symlink(victim, tmp)
            os.rename(tmp, os.path.join(d, "keyring"))
            print("swapped", flush=True)
            sys.exit(0)
"""


class Scene:
    def __init__(self, user):
        self.user = user
        self.root = fl.make_root("race")
        self.home = os.path.join(self.root, "home")
        os.mkdir(self.home, 0o755)
        os.chown(self.home, user[0], user[1])
        self.path = os.path.join(self.home, "keyring")
        vdir = os.path.join(self.root, "system")
        os.mkdir(vdir, 0o755)
        self.victim = os.path.join(vdir, "victim")
        self.jobs = os.path.join(self.root, "jobs")
        os.mkdir(self.jobs, 0o700)
        self.orig = fl.make_keyring(256 * 1024, seed=3)
        self.python = fl.python_for(user)
        self.group = fl.make_group(user[2])

    def reset(self, mode=0o640):
        for n in os.listdir(self.home):
            os.unlink(os.path.join(self.home, n))
        fl.write_file(self.path, self.orig, mode, self.user[0], self.group)
        fl.write_file(self.victim, b"root's file\n", 0o644, 0, 0)
        for n in os.listdir(self.jobs):
            subprocess.run(["rm", "-rf", os.path.join(self.jobs, n)], check=False)

    def racer(self):
        p = subprocess.Popen([self.python, "-c", RACER, self.home, self.victim], user=self.user[0],
                             group=self.user[1], extra_groups=[], stdout=subprocess.PIPE, text=True, cwd="/")
        line = p.stdout.readline().strip()
        if line != "ready":
            p.kill()
            raise RuntimeError(f"the racer did not start: {line!r}")
        return p

    @staticmethod
    def stop(p):
        try:
            out, _ = p.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        return "swapped" in (out or "")


def race(scene, phase):
    changed, swapped, problems = 0, 0, []
    for i in range(ROUNDS):
        scene.reset()
        before = fl.snapshot(scene.victim)
        key = fl.new_key()
        job = os.path.join(scene.jobs, f"anaconda-ci-auth-{phase}{i}")
        if phase == "setup":
            p = scene.racer()
            fl.run(fl.setup_args(scene.path, job), key, root=scene.root)
        else:
            r = fl.run(fl.setup_args(scene.path, job), key, root=scene.root)
            if r.rc != 0:
                problems.append(f"setup exited {r.rc}: {r.first_error()}")
                continue
            p = scene.racer()
            fl.run(["cleanup", "--dir", job], root=scene.root)
        swapped += scene.stop(p)
        change = fl.describe_change(before, fl.snapshot(scene.victim))
        if change:
            changed += 1
            if not problems:
                problems.append(f"round {i + 1}: root's victim file {change} through the swapped symlink")
    if changed:
        problems[0] += f" ({changed} of {ROUNDS} rounds)"
    R.check(f"race-symlink-swap-{phase}", problems,
            f"victim untouched in {ROUNDS} rounds ({swapped} swaps landed right after the {phase}'s rename)")


def setuid_mode(scene):
    """A mode with setuid/setgid bits the directory's owner gave P is not restored by root."""
    scene.reset(mode=0o6750)
    key = fl.new_key()
    job = os.path.join(scene.jobs, "anaconda-ci-auth-suid")
    problems = []
    r = fl.run(fl.setup_args(scene.path, job), key, root=scene.root)
    if r.rc != 0:
        problems.append(f"setup exited {r.rc}: {r.first_error()}")
    mode_during = os.lstat(scene.path).st_mode & 0o7777 if os.path.exists(scene.path) else None
    c = fl.run(["cleanup", "--dir", job], root=scene.root)
    if c.rc != 0:
        problems.append(f"cleanup exited {c.rc}: {c.first_error()}")
    mode = os.lstat(scene.path).st_mode & 0o7777
    if mode_during is not None and mode_during & 0o6000:
        problems.append(f"during the job P has mode {mode_during:o} (setuid/setgid)")
    if mode & 0o6000:
        problems.append(f"after cleanup P has mode {mode:o}: root restored the setuid/setgid bits")
    elif mode != 0o750:
        problems.append(f"after cleanup P has mode {mode:o}, expected 750 (the original without setuid/setgid)")
    R.check("race-setuid-bits-dropped", problems, f"mode 6750 came back as {mode:o}")


def main():
    if os.geteuid() != 0:
        R.fail("race", "must run as root (root merges into a second user's keyring)")
        R.exit()
    scene = Scene(fl.make_user())
    t0 = time.monotonic()
    R.run_case("race-symlink-swap-setup", race, scene, "setup")
    R.run_case("race-symlink-swap-cleanup", race, scene, "cleanup")
    R.run_case("race-setuid-bits-dropped", setuid_mode, scene)
    fl.info(f"races: {time.monotonic() - t0:.0f}s")
    R.exit()


if __name__ == "__main__":
    main()
