"""Shared helpers for the black-box fault tests of anaconda-ci-auth (stdlib only).

Every case drives the binary named by $ANACONDA_CI_AUTH_BIN (default target/debug/anaconda-ci-auth)
from outside: throw-away canary keys, a private test root, throw-away users made with `useradd`.
Each case prints one line `PASS name - reason`, `FAIL name - reason` or `SKIP name - reason`;
tests/suites/25-faults.sh counts them.
"""

import atexit
import base64
import ctypes
import ctypes.util
import json
import os
import random
import secrets
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time

ROOT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("ANACONDA_CI_AUTH_BIN") or os.path.join(ROOT_DIR, "target", "debug", "anaconda-ci-auth")
KEY_VAR = "FAULTS_API_KEY"
SEED = int(os.environ.get("FAULTS_SEED") or secrets.randbits(32))
rng = random.Random(SEED)


def env_int(name, default):
    """An iteration count or limit from the environment, so a longer run needs no edit."""
    return int(os.environ.get(name) or default)


# ---------------------------------------------------------------------------------------------
# Reporting


class Results:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def ok(self, name, reason):
        self.passed += 1
        print(f"PASS {name} - {reason}", flush=True)

    def fail(self, name, reason):
        self.failed += 1
        print(f"FAIL {name} - {reason}", flush=True)

    def skip(self, name, reason):
        print(f"SKIP {name} - {reason}", flush=True)

    def check(self, name, problems, ok_reason):
        """PASS when `problems` is empty, else FAIL with the first problem (and how many)."""
        if problems:
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            self.fail(name, f"{problems[0]}{more}")
            for p in problems[1:5]:
                info(f"also: {p}")
        else:
            self.ok(name, ok_reason)

    def run_case(self, name, fn, *args):
        """Runs one case; an exception in the test code itself is a failure of that case."""
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - a crash of a case must not hide the others
            self.fail(name, f"the test raised {type(e).__name__}: {e}")

    def exit(self):
        sys.exit(1 if self.failed else 0)


def info(msg):
    print(f"  {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Keys and the forms of a key that must never be found in a file


def make_jwt(marker, lifetime=365 * 86400):
    """A syntactically valid, unsigned Anaconda-style API key carrying a unique marker."""

    def b(d):
        return base64.urlsafe_b64encode(json.dumps(d, separators=(",", ":")).encode()).rstrip(b"=").decode()

    claims = {"exp": int(time.time()) + lifetime, "sub": "d04c356b-afd2-4b3e-80f2-403113e0974b", "canary": marker}
    sig = base64.urlsafe_b64encode(b"not-a-real-signature").rstrip(b"=").decode()
    return b({"alg": "RS256", "kid": "default", "typ": "JWT"}) + "." + b(claims) + "." + sig


def new_key():
    return make_jwt("CANARY" + secrets.token_hex(8))


def key_needles(key):
    """Byte strings whose presence means a file holds the key in some form: the raw key, and the
    base64 (standard and url-safe) of the key at each of the three byte alignments, so the key is
    found inside any base64 blob (a keyring entry, a base64 of `Bearer <key>`, ...)."""
    raw = key.encode()
    needles = {raw}
    for shift in range(3):
        enc = base64.b64encode(b"\0" * shift + raw)
        core = enc[4:-4]  # drop the characters that depend on the padding or the prefix
        needles.add(core)
        needles.add(core.replace(b"+", b"-").replace(b"/", b"_"))
    return needles


def holds_key(data, keys):
    """The key (from `keys`) found in `data`, or None."""
    for k in keys:
        for n in key_needles(k):
            if n in data:
                return k
    return None


def scan_tree(root, keys, skip=()):
    """Regular files under `root` that hold any of `keys`, as a list of paths. Special files are
    never opened (a FIFO would block)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = os.path.join(dirpath, name)
            if p in skip:
                continue
            try:
                st = os.lstat(p)
                if not stat.S_ISREG(st.st_mode):
                    continue
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if holds_key(data, keys):
                found.append(p)
    return found


# ---------------------------------------------------------------------------------------------
# Keyrings


def entry_payload(domain, api_key, username=None, repo_tokens=()):
    d = {"domain": domain, "api_key": api_key}
    if username:
        d["username"] = username
    d["repo_tokens"] = list(repo_tokens)
    d["version"] = 2
    return base64.b64encode(json.dumps(d, separators=(",", ":")).encode()).decode()


def make_keyring(target_bytes, seed=0, domains=("anaconda.com",)):
    """A keyring as anaconda-auth writes it (json.dumps defaults, no trailing newline) of about
    `target_bytes`: the listed Anaconda domains with a user's key, username and repo tokens, many
    other domains, and many other services (other keyring users share the file)."""
    r = random.Random(seed)
    cloud = {}
    for d in domains:
        cloud[d] = entry_payload(d, make_jwt("USERKEY" + d), "someone", [{"token": "tok-" + d, "org_name": "org"}])
    for i in range(60):
        d = f"site{i}.example.org"
        cloud[d] = entry_payload(d, make_jwt(f"OTHER{i}"))
    data = {"Anaconda Cloud": cloud}
    s = 0
    while len(json.dumps(data)) < target_bytes:
        svc = f"service-{s}"
        data[svc] = {
            f"user{u}@{svc}": base64.b64encode(r.randbytes(150)).decode() + "\u00e9\u2603" for u in range(50)
        }
        s += 1
    return json.dumps(data).encode()


def load_keyring(path):
    """(parsed object, None) or (None, problem)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None, "missing"
    except OSError as e:
        return None, f"unreadable ({e.strerror})"
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return None, f"not valid JSON ({len(data)} bytes)"
    if not isinstance(obj, dict):
        return None, "not a JSON object"
    return obj, None


def entry_api_key(value):
    """The api_key inside a keyring entry value, or None."""
    try:
        return json.loads(base64.b64decode(value)).get("api_key")
    except (ValueError, TypeError, AttributeError):
        return None


def compare_merge(orig, now, allowed, finished=()):
    """Problems with keyring `now` against `orig`, where `allowed` maps a domain of "Anaconda Cloud"
    to the set of api keys its entry may hold besides the original entry. Every other service and
    entry must be exactly the original. `finished`: keys of jobs already cleaned up, for the message."""
    problems = []
    if set(now) - set(orig) - {"Anaconda Cloud"}:
        problems.append(f"new services {sorted(set(now) - set(orig))[:3]}")
    for svc, users in orig.items():
        if svc not in now:
            problems.append(f"service `{svc}` lost")
            continue
        if svc != "Anaconda Cloud":
            if now[svc] != users:
                problems.append(f"service `{svc}` changed")
            continue
    cloud_now = now.get("Anaconda Cloud", {})
    cloud_orig = orig.get("Anaconda Cloud", {})
    if not isinstance(cloud_now, dict):
        return problems + ["`Anaconda Cloud` is not an object"]
    for d in set(cloud_now) | set(cloud_orig):
        v_now, v_orig = cloud_now.get(d), cloud_orig.get(d)
        if v_now == v_orig:
            continue
        k = entry_api_key(v_now) if v_now is not None else None
        if d in allowed and k is not None and k in allowed[d]:
            continue
        if v_now is None:
            problems.append(f"entry `{d}` lost")
        elif k is not None and k in finished:
            problems.append(f"entry `{d}` holds the key of a job already cleaned up")
        elif d in allowed:
            problems.append(f"entry `{d}` holds neither the original nor a running job's key")
        else:
            problems.append(f"entry `{d}` differs from the original and no job for it is running")
    return problems


# ---------------------------------------------------------------------------------------------
# Files


def snapshot(path):
    """What a path is: type, mode, owner, device number and content (regular files), for
    "nothing changed" checks. Never opens special files."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    content = None
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            content = f.read()
    elif stat.S_ISLNK(st.st_mode):
        content = os.readlink(path)
    elif stat.S_ISDIR(st.st_mode):
        content = sorted(os.listdir(path))
    return (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_rdev, content)


def describe_change(before, after):
    if before == after:
        return None
    if before is None:
        return "was created"
    if after is None:
        return "was removed"
    names = ["type", "mode", "owner", "group", "device", "content"]
    diffs = [n for n, a, b in zip(names, before, after) if a != b]
    detail = ""
    if "mode" in diffs:
        detail = f" ({before[1]:o} -> {after[1]:o})"
    elif "type" in diffs:
        detail = f" ({stat.filemode(before[0])[0]} -> {stat.filemode(after[0])[0]})"
    return "changed " + "/".join(diffs) + detail


def stray_files(directory):
    """Our temporary, lock or record files beside a keyring."""
    try:
        return sorted(n for n in os.listdir(directory) if n.startswith(".anaconda-ci-auth"))
    except OSError:
        return []


def write_file(path, data, mode=0o600, uid=None, gid=None):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    if uid is not None:
        os.chown(path, uid, gid)


def make_root(name):
    base = os.environ.get("FAULTS_TMP") or None
    root = tempfile.mkdtemp(prefix=f"faults-{name}-", dir=base)
    os.chmod(root, 0o755)
    atexit.register(remove_tree, root)
    return root


def remove_tree(root):
    if os.environ.get("FAULTS_KEEP"):
        return
    subprocess.run(["chattr", "-R", "-i", root], capture_output=True, check=False)
    shutil.rmtree(root, ignore_errors=True)


def mount_tmpfs(path, size):
    """Mounts a tmpfs of `size` (e.g. "1m") at `path`; None on success, else the reason."""
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return (r.stderr.strip() or f"mount exited {r.returncode}")
    atexit.register(lambda: subprocess.run(["umount", "-l", path], capture_output=True, check=False))
    return None


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True, check=False)


# ---------------------------------------------------------------------------------------------
# Users


_users = []


def make_user():
    """A throw-away user (uid, gid, name), removed at exit."""
    name = "flt" + secrets.token_hex(4)
    r = subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"useradd failed: {r.stderr.strip()}")
    _users.append(name)
    import pwd

    pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid, name


def make_group(member):
    """A throw-away group with `member` (a user name) in it; its gid. Removed at exit."""
    name = "flg" + secrets.token_hex(4)
    for cmd in (["groupadd", name], ["usermod", "-a", "-G", name, member]):
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {r.stderr.strip()}")
    _groups.append(name)
    import grp

    return grp.getgrnam(name).gr_gid


_groups = []


def python_for(user):
    """A Python interpreter `user` can run (ours may sit in root's home)."""
    for cand in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        try:
            r = subprocess.run([cand, "-c", "pass"], user=user[0], group=user[1], extra_groups=[], cwd="/",
                               capture_output=True, check=False)
        except OSError:
            continue
        if r.returncode == 0:
            return cand
    raise RuntimeError(f"no Python interpreter that user {user[2]} can run")


@atexit.register
def _remove_users():
    for name in _users:
        subprocess.run(["userdel", name], capture_output=True, check=False)
    for name in _groups:
        subprocess.run(["groupdel", name], capture_output=True, check=False)


# ---------------------------------------------------------------------------------------------
# Running the binary


class Run:
    def __init__(self, rc, out, err, timed_out, seconds):
        self.rc, self.out, self.err, self.timed_out, self.seconds = rc, out, err, timed_out, seconds

    def first_error(self):
        lines = [ln for ln in self.err.splitlines() if ln.startswith("error") or "warning" in ln]
        return (lines[0] if lines else self.err.strip().splitlines()[-1] if self.err.strip() else "")[:200]


def base_env(key=None, extra=None, root="/"):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root, "TMPDIR": root, "LANG": "C.UTF-8"}
    if key is not None:
        env[KEY_VAR] = key
    if extra:
        env.update(extra)
    return env


def preexec(umask=None):
    def fn():
        if umask is not None:
            os.umask(umask)

    return fn


def spawn(args, key=None, extra_env=None, cwd=None, user=None, umask=None, root="/"):
    """Starts the binary (args without the binary) and returns the Popen."""
    kw = {}
    if user is not None:
        kw = {"user": user[0], "group": user[1], "extra_groups": []}
    return subprocess.Popen([BIN, *args], env=base_env(key, extra_env, root), cwd=cwd or "/",
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=preexec(umask), **kw)


def run(args, key=None, extra_env=None, cwd=None, user=None, umask=None, timeout=60, root="/"):
    t0 = time.monotonic()
    p = spawn(args, key, extra_env, cwd, user, umask, root)
    try:
        out, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        timed_out = True
    return Run(p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), timed_out,
               time.monotonic() - t0)


def setup_args(keyring, jobdir, domain=None, extra=(), ci="none"):
    a = ["setup", "--ci", ci, "--api-key-env", KEY_VAR, "--validate", "offline", "--dir", jobdir,
         "--keyring-path", keyring]
    if domain:
        a += ["--domain", domain]
    return a + list(extra)


def output_leaks(r, keys):
    """Problems if stdout or stderr of a run holds a key."""
    for name, text in (("stdout", r.out), ("stderr", r.err)):
        if holds_key(text.encode(), keys):
            return [f"the key is on {name}"]
    return []


# ---------------------------------------------------------------------------------------------
# inotify (ctypes): watchers that react within microseconds of a rename or a write

IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_ISDIR = 0x40000000

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class Inotify:
    def __init__(self):
        self.fd = _libc.inotify_init1(0)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.wd = {}

    def watch(self, path, mask):
        wd = _libc.inotify_add_watch(self.fd, path.encode(), mask)
        if wd < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")
        self.wd[wd] = path
        return wd

    def read(self):
        """Blocks for events; yields (directory, name, mask)."""
        buf = os.read(self.fd, 65536)
        i = 0
        while i < len(buf):
            wd, mask, _cookie, length = struct.unpack_from("iIII", buf, i)
            name = buf[i + 16:i + 16 + length].rstrip(b"\0").decode(errors="replace")
            i += 16 + length
            yield self.wd.get(wd, ""), name, mask

    def close(self):
        os.close(self.fd)
