"""Other ways the key reaches anaconda-auth: `exec`, `docker-secret --kind keyring`, the
keyring-backend settings that hide the file keyring from the library, and finding the library's
conda plugin.

Owns: the library loading the key inside `exec`, the docker keyring secret being byte-identical to
TokenInfo.save() and loading at its mount target with the advertised run environment, and setup
flagging a PYTHON_KEYRING_BACKEND or keyringrc.cfg that would make the job keyring invisible.
"""

import json
import shutil
from pathlib import Path

from compat import KEY_ENV, LIB_VERSIONS, PROBE_LOAD, SAVE_ENTRY, case, check, sha

HIDING_BACKEND = "keyring.backends.null.Keyring"


@case("exec-library-loads-key", LIB_VERSIONS)
def exec_loads(t, version):
    python = str(t.world.pythons[version])
    proc = t.bin("exec", "--validate", "offline", "--api-key-env", KEY_ENV, "--ci", "none", "--",
                 python, "-c", PROBE_LOAD, "anaconda.com")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    check(got["version"] == version, f"exec ran anaconda-auth {got['version']}")
    check(got["api_key_sha"] == sha(t.world.canary), "inside exec the library loaded another key")
    left = [p.name for p in t.tmp.iterdir() if p.name.startswith("anaconda-ci-auth")]
    check(not left, f"exec left {left} in TMPDIR")


@case("docker-secret-keyring-loads-at-mount-target", LIB_VERSIONS)
def docker_keyring(t, version):
    proc = t.bin("docker-secret", "--kind", "keyring", "--validate", "offline", "--api-key-env", KEY_ENV,
                 "--ci", "none", "--json")
    info = json.loads(proc.stdout)
    check(info["mount_target"] == "/root/.anaconda/keyring", f"mount target {info['mount_target']}")
    secret = Path(info["path"]).read_bytes()
    home = t.home()
    saved = t.home()
    t.lib(version, SAVE_ENTRY, saved, env={"COMPAT_KEY": t.world.canary, "COMPAT_DOMAIN": "anaconda.com"})
    check(secret == (saved / ".anaconda" / "keyring").read_bytes(), "the secret differs from TokenInfo.save()")
    # What the build step sees: the secret mounted at ~/.anaconda/keyring and the advertised env.
    (home / ".anaconda").mkdir()
    shutil.copyfile(info["path"], home / ".anaconda" / "keyring")
    got = t.lib(version, PROBE_LOAD, home, env=info.get("run_env", {}), args=("anaconda.com",))
    check(got["backend"] == "AnacondaKeyring", f"backend was {got['backend']}")
    check(got["api_key_sha"] == sha(t.world.canary), "the mounted secret loads another key")
    t.bin("cleanup", "--dir", info["dir"])
    check(not Path(info["dir"]).exists(), "cleanup --dir left the docker secret directory")


def hidden_setup(t, version, env, home, marker):
    """Setup in an environment that hides the file keyring: either the library still finds the key
    after sourcing env.sh, or setup warns about MARKER."""
    job = t.path("job")
    proc = t.bin("setup", "--validate", "offline", "--api-key-env", KEY_ENV, "--ci", "none", "--json",
                 "--dir", str(job), env=env, home=home)
    warnings = " ".join(json.loads(proc.stdout).get("warnings", []))
    got = t.lib(version, PROBE_LOAD, home, env=env, source=job / "env.sh", args=("anaconda.com",), expect=None)
    if isinstance(got, dict) and got.get("api_key_sha") == sha(t.world.canary):
        return
    check(marker in warnings, f"the library cannot see the job keyring and setup did not warn about {marker}")


@case("hidden-by-PYTHON_KEYRING_BACKEND-is-flagged", ("0.15.3",))
def hidden_by_env(t, version):
    hidden_setup(t, version, {"PYTHON_KEYRING_BACKEND": HIDING_BACKEND}, t.home(), "PYTHON_KEYRING_BACKEND")


@case("hidden-by-keyringrc.cfg-is-flagged", ("0.15.3",))
def hidden_by_config(t, version):
    home = t.home()
    config = home / ".config" / "python_keyring"
    config.mkdir(parents=True)
    (config / "keyringrc.cfg").write_text(f"[backend]\ndefault-keyring={HIDING_BACKEND}\n")
    hidden_setup(t, version, {}, home, "keyringrc.cfg")


@case("status-finds-the-real-conda-plugin", LIB_VERSIONS)
def status_finds_plugin(t, version):
    """`status` reads the plugin from the real anaconda-auth's installed metadata: a conda
    environment whose site-packages are the ones this anaconda-auth was installed into."""
    venv = Path(t.world.pythons[version]).parent.parent
    prefix = t.path("prefix")
    (prefix / "bin").mkdir(parents=True)
    conda = prefix / "bin" / "conda"
    conda.write_text("#!/bin/sh\nexit 0\n")
    conda.chmod(0o755)
    (prefix / "lib").symlink_to(venv / "lib")
    proc = t.bin("status", "--json", "--ci", "none", env={"CONDA_EXE": str(conda)})
    got = json.loads(proc.stdout)["conda"]
    check(got["path"] == str(conda), f"status found conda at {got['path']}")
    check(got["plugin"] == "installed", f"plugin {got['plugin']}")
    check(got["plugin_version"] == version, f"plugin version {got['plugin_version']}, expected {version}")
    # The same environment without anaconda-auth: the plugin is missing and status says so.
    bare = t.path("bare")
    (bare / "bin").mkdir(parents=True)
    (bare / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    shutil.copy(conda, bare / "bin" / "conda")
    proc = t.bin("status", "--json", "--ci", "none", env={"CONDA_EXE": str(bare / "bin" / "conda")})
    report = json.loads(proc.stdout)
    check(report["conda"]["plugin"] == "missing", f"plugin {report['conda']['plugin']}")
    check(any("has no anaconda-auth plugin" in w for w in report["warnings"]), "no warning for a missing plugin")
