"""File modes under umask 000: while setup and cleanup run, an inotify watcher on every directory
of the test root (job directories as they appear, the keyring's directory, $GITHUB_ENV's) looks at
each file the moment it is created, written, renamed or chmod-ed: a file that holds a key form and
is readable by group or others at that moment is a failure. The keyring merged into is 0640
before the job (its mode comes back after cleanup, but it must not hold the key while 0640).

Tunable: FAULTS_MODES_ROUNDS (3 runs of each variant).
"""

import os
import select
import stat
import threading
import time

import faultlib as fl

R = fl.Results()
ROUNDS = fl.env_int("FAULTS_MODES_ROUNDS", 3)
MASK = fl.IN_CREATE | fl.IN_MODIFY | fl.IN_CLOSE_WRITE | fl.IN_MOVED_TO | fl.IN_ATTRIB


class Watcher:
    def __init__(self, root, keys):
        self.root, self.keys = root, keys
        self.ino = fl.Inotify()
        self.seen = []
        self.looked = 0
        self.stop = threading.Event()
        for dirpath, _dirs, _files in os.walk(root):
            self.ino.watch(dirpath, MASK)
        self.thread = threading.Thread(target=self.loop)
        self.thread.start()

    def look(self, path):
        try:
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                self.ino.watch(path, MASK)
                for n in os.listdir(path):
                    self.look(os.path.join(path, n))
                return
            if not stat.S_ISREG(st.st_mode):
                return
            with open(path, "rb") as f:
                data = f.read()
            after = stat.S_IMODE(os.lstat(path).st_mode)
        except OSError:
            return
        self.looked += 1
        # Wide both before and after the read: the content was readable by others at that moment.
        wide = stat.S_IMODE(st.st_mode) & after & 0o077
        if wide and fl.holds_key(data, self.keys):
            self.seen.append(f"`{os.path.relpath(path, self.root)}` held the key with mode "
                             f"{stat.S_IMODE(st.st_mode):o}")

    def loop(self):
        while not self.stop.is_set():
            ready, _, _ = select.select([self.ino.fd], [], [], 0.05)
            if not ready:
                continue
            for d, name, _mask in self.ino.read():
                if d and name:
                    self.look(os.path.join(d, name))

    def close(self):
        time.sleep(0.05)
        self.stop.set()
        self.thread.join()
        self.ino.close()


def static_check(root, keys):
    out = []
    for p in fl.scan_tree(root, keys):
        mode = stat.S_IMODE(os.lstat(p).st_mode)
        if mode & 0o077:
            out.append(f"`{os.path.relpath(p, root)}` holds the key with mode {mode:o} after setup")
    return out


def variant(name, make_args, extra_env=None, watch_dirs=()):
    problems, looked = [], 0
    for i in range(ROUNDS):
        root = fl.make_root(f"modes-{name}")
        os.chmod(root, 0o755)
        for d in ("home", "jobs", *watch_dirs):
            os.makedirs(os.path.join(root, d), mode=0o755)
        p = os.path.join(root, "home", "keyring")
        fl.write_file(p, fl.make_keyring(256 * 1024, seed=i), 0o640)
        key = fl.new_key()
        env = {k: v.replace("{root}", root) for k, v in (extra_env or {}).items()}
        w = Watcher(root, [key])
        try:
            r = fl.run(make_args(root, p), key, extra_env=env, umask=0, root=root)
            if r.rc != 0:
                problems.append(f"setup exited {r.rc}: {r.first_error()}")
            problems += static_check(root, [key])
            job = os.path.join(root, "jobs", "anaconda-ci-auth-job")
            c = fl.run(["cleanup", "--dir", job] if os.path.isdir(job) else ["cleanup", "--sweep", "--sweep-dir",
                                                                               root, "--max-age", "0s"],
                       extra_env=env, umask=0, root=root)
            if c.rc != 0:
                problems.append(f"cleanup exited {c.rc}: {c.first_error()}")
        finally:
            w.close()
        problems += list(dict.fromkeys(w.seen))
        looked += w.looked
    R.check(f"modes-{name}", problems, f"umask 000, {ROUNDS} runs: {looked} looks at files as they changed, "
            "no key in a file readable by group or others")


def main():
    def merge(root, p):
        return fl.setup_args(p, os.path.join(root, "jobs", "anaconda-ci-auth-job"))

    def job_keyring(root, p):
        return ["setup", "--ci", "none", "--api-key-env", fl.KEY_VAR, "--validate", "offline", "--no-sweep"]

    def both(root, p):
        return fl.setup_args(p, os.path.join(root, "jobs", "anaconda-ci-auth-job"), extra=["--mode", "both"])

    def github(root, p):
        return ["setup", "--ci", "github", "--api-key-env", fl.KEY_VAR, "--validate", "offline", "--mode", "env",
                "--dir", os.path.join(root, "jobs", "anaconda-ci-auth-job")]

    gh_env = {"GITHUB_ACTIONS": "true", "GITHUB_ENV": "{root}/gh/env", "GITHUB_OUTPUT": "{root}/gh/output",
              "RUNNER_TEMP": "{root}/jobs", "GITHUB_EVENT_NAME": "push"}
    R.run_case("modes-keyring-merge", variant, "keyring-merge", merge)
    R.run_case("modes-job-keyring", variant, "job-keyring", job_keyring)
    R.run_case("modes-env-and-keyring", variant, "env-and-keyring", both)
    R.run_case("modes-github-env-file", variant, "github-env-file", github, gh_env, ("gh",))
    R.exit()


if __name__ == "__main__":
    main()
