"""`cleanup` with no --dir/--state, as GitLab's after_script runs it: it finds the job's
directories by the job id (CI_JOB_ID) in the job-directory parent ($TMPDIR here, shared and sticky
like /tmp). What it finds there must not make it act outside: a symlinked `anaconda-ci-auth-*`
entry pointing at another job directory, a state.json that another user wrote into a directory,
or a job directory another user owns. Nothing they point at may change (keyrings they name, the
directory a link points to, files they list).
"""

import hashlib
import json
import os
import subprocess

import faultlib as fl

R = fl.Results()
JOB_ID = "4242"


def gitlab_env(tmpdir):
    return {"GITLAB_CI": "true", "CI_JOB_ID": JOB_ID, "TMPDIR": tmpdir, "CI_PROJECT_DIR": "/nonexistent-project"}


def fingerprint(key):
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def tree(path):
    """Snapshot of every entry under `path` (and `path` itself)."""
    out = {path: fl.snapshot(path)}
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            out[p] = fl.snapshot(p)
    return out


def diff(before, after, base):
    for p in sorted(set(before) | set(after)):
        change = fl.describe_change(before.get(p), after.get(p))
        if change:
            return f"`{os.path.relpath(p, base)}` {change}"
    return None


class Scene:
    def __init__(self, user):
        self.user = user
        self.root = fl.make_root("trust")
        self.shared = os.path.join(self.root, "tmp")
        os.mkdir(self.shared)
        os.chmod(self.shared, 0o1777)

    def keyring(self, name, key):
        """A root-owned keyring holding `key` for anaconda.com, outside the job parent."""
        d = os.path.join(self.root, name)
        os.mkdir(d, 0o700)
        p = os.path.join(d, "keyring")
        fl.write_file(p, json.dumps({"Anaconda Cloud": {"anaconda.com": fl.entry_payload("anaconda.com", key)},
                                     "other": {"u": "p"}}).encode(), 0o600)
        return p

    def cleanup(self):
        return fl.run(["--ci", "gitlab", "cleanup"], extra_env=gitlab_env(self.shared), root=self.root)

    def forged_state(self, d, keyring, key, files):
        return {
            "tool": "anaconda-ci-auth", "format": 1, "command": "setup", "dir": d, "created_at": 1796100000,
            "ci": "gitlab", "job": JOB_ID, "mode": "keyring", "domain": "anaconda.com",
            "fingerprint": fingerprint(key), "expires_at": None, "key_source": "environment variable X",
            "files": files, "env": {},
            "keyring_merge": {"path": keyring, "domain": "anaconda.com", "backup": os.path.join(d, "keyring.backup"),
                              "created_file": False, "original_empty": False, "original_mode": 0o600,
                              "created_dirs": [], "original_owner": [0, 0]},
        }


def symlinked_entry(scene):
    """A real job directory of this job outside the parent (with a merge into a keyring), reached
    through a symlink another user put into the shared parent."""
    key = fl.new_key()
    elsewhere = os.path.join(scene.root, "elsewhere")
    os.mkdir(elsewhere, 0o700)
    q = scene.keyring("q", fl.new_key())
    job = os.path.join(elsewhere, "anaconda-ci-auth-real")
    r = fl.run(fl.setup_args(q, job, ci="gitlab"), key, extra_env=gitlab_env(elsewhere), root=scene.root)
    if r.rc != 0:
        R.fail("cleanup-trust-symlinked-entry", f"setup exited {r.rc}: {r.first_error()}")
        return
    link = os.path.join(scene.shared, "anaconda-ci-auth-link")
    os.symlink(job, link)
    os.lchown(link, scene.user[0], scene.user[1])
    before = {**tree(elsewhere), **tree(os.path.dirname(q))}
    c = scene.cleanup()
    problem = diff(before, {**tree(elsewhere), **tree(os.path.dirname(q))}, scene.root)
    R.check("cleanup-trust-symlinked-entry",
            [f"cleanup (exit {c.rc}) followed the symlinked entry: {problem}"] if problem else [],
            f"the directory behind the link and its keyring untouched (exit {c.rc})")


def foreign_state(scene):
    """A root-owned directory in the parent whose state.json (and backup) another user wrote: it
    names a root keyring whose entry it would 'restore' from the user's backup, and a root file."""
    victim_key = fl.new_key()
    q = scene.keyring("q2", victim_key)
    d = os.path.join(scene.shared, "anaconda-ci-auth-forged")
    os.mkdir(d, 0o755)
    important = os.path.join(d, "condarc.yml")
    fl.write_file(important, b"root's file\n", 0o644)
    state = scene.forged_state(d, q, victim_key, [important, os.path.join(d, "keyring.backup")])
    fl.write_file(os.path.join(d, "state.json"), json.dumps(state).encode(), 0o644, scene.user[0], scene.user[1])
    fl.write_file(os.path.join(d, "keyring.backup"), b"{}", 0o644, scene.user[0], scene.user[1])
    before = {**tree(d), **tree(os.path.dirname(q))}
    c = scene.cleanup()
    problem = diff(before, {**tree(d), **tree(os.path.dirname(q))}, scene.root)
    R.check("cleanup-trust-foreign-state-file",
            [f"cleanup (exit {c.rc}) acted on a state.json owned by another user: {problem}"] if problem else [],
            f"a state.json owned by another user is ignored (exit {c.rc})")


def foreign_dir(scene):
    """A job directory another user owns, with a state.json naming a root keyring."""
    victim_key = fl.new_key()
    q = scene.keyring("q3", victim_key)
    d = os.path.join(scene.shared, "anaconda-ci-auth-theirs")
    os.mkdir(d, 0o755)
    os.chown(d, scene.user[0], scene.user[1])
    state = scene.forged_state(d, q, victim_key, [os.path.join(d, "keyring.backup")])
    fl.write_file(os.path.join(d, "state.json"), json.dumps(state).encode(), 0o644, scene.user[0], scene.user[1])
    fl.write_file(os.path.join(d, "keyring.backup"), b"{}", 0o644, scene.user[0], scene.user[1])
    before = {**tree(d), **tree(os.path.dirname(q))}
    c = scene.cleanup()
    problem = diff(before, {**tree(d), **tree(os.path.dirname(q))}, scene.root)
    R.check("cleanup-trust-foreign-job-dir",
            [f"cleanup (exit {c.rc}) acted on another user's job directory: {problem}"] if problem else [],
            f"another user's job directory is ignored (exit {c.rc})")


def main():
    if os.geteuid() != 0:
        R.fail("cleanup-trust", "must run as root (a second user plants the entries)")
        R.exit()
    user = fl.make_user()
    for name, fn in [("cleanup-trust-symlinked-entry", symlinked_entry),
                     ("cleanup-trust-foreign-state-file", foreign_state),
                     ("cleanup-trust-foreign-job-dir", foreign_dir)]:
        scene = Scene(user)
        R.run_case(name, fn, scene)
        subprocess.run(["rm", "-rf", scene.root], check=False)
    R.exit()


if __name__ == "__main__":
    main()
