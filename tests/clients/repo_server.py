"""Loopback package repositories for the real-client tests (tests/suites/27-clients.sh).

Owns the HTTPS server the real clients (py-rattler, pip, uv) talk to, and the tiny packages it
serves, built at test time:

  /conda/<subdir>/<file>      a conda channel (noarch/repodata.json, linux-64/repodata.json and one
                              noarch package `probe-pkg`), 200 only with `Authorization: Bearer KEY`
  /simple/...                 a PEP 503 simple index with one wheel `probe-wheel`, 200 only with
  /wheels/<file>              `Authorization: Basic base64(USER:PASSWORD)`
  /public/simple/...          an anonymous index with nothing in it (a job's own public index)
  anything else               404

Accepted credentials are given as SHA-256 values (--bearer-sha256 of the key, --basic-sha256 of
`user:password`), so no secret is on a command line. Every request is one JSON line in --log:
method, host (without the port), path, client (the first word of its User-Agent), scheme (`none`, `bearer`, `basic`,
`other`), the Basic user name, `sha` (the SHA-256 of the Bearer token or of `user:password`, never
the secret itself) and the status.

Usage:
  repo_server.py build DIR                 builds DIR/conda (the channel) and DIR/wheels
  repo_server.py serve --dir DIR --cert PEM --cert-key PEM --port-file FILE --log FILE
                       [--bearer-sha256 HEX]... [--basic-sha256 HEX]...
  repo_server.py check LOG --skip N --client NAME --host HOST --path PREFIX --sha HEX [--user U]
                       --expect sent|refused|absent
      The requests logged after the first N lines from that client to HOST under PREFIX: `sent`
      passes if there is at least one and every one carried exactly that credential (so the first
      did too) and none got 401; `refused` if at least one got 401 and none carried it; `absent`
      if none carried it (no request at all included). Prints what the client did.
  repo_server.py get URL                   GET with the CA in SSL_CERT_FILE and the Authorization
                                           header in $PROBE_AUTHORIZATION (if set); prints the status
"""

import argparse
import base64
import bz2
import hashlib
import html
import http.server
import io
import json
import os
import ssl
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

CONDA_NAME = "probe-pkg"
CONDA_FILE = "probe-pkg-1.0.0-0.tar.bz2"
CONDA_CONTENT = b"hello from probe-pkg\n"
WHEEL_PROJECT = "probe-wheel"
WHEEL_FILE = "probe_wheel-1.0.0-py3-none-any.whl"
WHEEL_MODULE = b'GREETING = "hello from probe-wheel"\n'


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def tar_member(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 1700000000
    tar.addfile(info, io.BytesIO(data))


def build_conda(channel):
    """A noarch conda package in the .tar.bz2 format and the channel's repodata."""
    rel = "share/probe/hello.txt"
    index = {"name": CONDA_NAME, "version": "1.0.0", "build": "0", "build_number": 0, "depends": [],
             "license": "BSD-3-Clause", "subdir": "noarch", "noarch": "generic", "timestamp": 1700000000000}
    paths = {"paths": [{"_path": rel, "path_type": "hardlink", "sha256": sha256_hex(CONDA_CONTENT),
                        "size_in_bytes": len(CONDA_CONTENT)}], "paths_version": 1}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        tar_member(tar, "info/index.json", json.dumps(index, indent=2).encode())
        tar_member(tar, "info/paths.json", json.dumps(paths, indent=2).encode())
        tar_member(tar, "info/files", (rel + "\n").encode())
        tar_member(tar, rel, CONDA_CONTENT)
    package = bz2.compress(raw.getvalue())
    for subdir in ("noarch", "linux-64"):
        os.makedirs(os.path.join(channel, subdir), exist_ok=True)
    with open(os.path.join(channel, "noarch", CONDA_FILE), "wb") as f:
        f.write(package)
    record = dict(index, md5=hashlib.md5(package).hexdigest(), sha256=sha256_hex(package), size=len(package))
    for subdir, packages in (("noarch", {CONDA_FILE: record}), ("linux-64", {})):
        repodata = {"info": {"subdir": subdir}, "packages": packages, "packages.conda": {},
                    "repodata_version": 1}
        with open(os.path.join(channel, subdir, "repodata.json"), "w", encoding="utf-8") as f:
            json.dump(repodata, f, indent=2)


def build_wheel(wheels):
    """A pure-Python wheel with one module, written by hand (no build backend needed)."""
    os.makedirs(wheels, exist_ok=True)
    dist = "probe_wheel-1.0.0.dist-info"
    files = {
        "probe_wheel/__init__.py": WHEEL_MODULE,
        f"{dist}/METADATA": b"Metadata-Version: 2.1\nName: probe-wheel\nVersion: 1.0.0\n",
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: repo_server.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(os.path.join(wheels, WHEEL_FILE), "w", zipfile.ZIP_DEFLATED) as whl:
        for name, data in files.items():
            whl.writestr(zipfile.ZipInfo(name, (2023, 11, 14, 0, 0, 0)), data)


def credential(authorization):
    """(scheme, user, sha) of an Authorization header; the secret itself is dropped here."""
    if not authorization:
        return "none", "", ""
    if authorization.startswith("Bearer "):
        return "bearer", "", sha256_hex(authorization[len("Bearer "):].encode())
    if authorization.startswith("Basic "):
        try:
            pair = base64.b64decode(authorization[len("Basic "):], validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return "other", "", ""
        return "basic", pair.split(":", 1)[0], sha256_hex(pair.encode())
    return "other", "", ""


class Repo:
    def __init__(self, root, bearer, basic, log):
        self.root = root
        self.bearer = set(bearer)
        self.basic = set(basic)
        self.log = log

    def answer(self, method, target, headers):
        path = urllib.parse.unquote(urllib.parse.urlsplit(target).path)
        scheme, user, sha = credential(headers.get("authorization"))
        if path.startswith("/conda/"):
            ok = scheme == "bearer" and sha in self.bearer
            status, ctype, body = self.file("conda", path[len("/conda/"):]) if ok else (401, "text/plain", b"unauthorized")
        elif path.startswith(("/simple", "/wheels/")):
            ok = scheme == "basic" and sha in self.basic
            if not ok:
                status, ctype, body = 401, "text/plain", b"unauthorized"
            elif path.startswith("/wheels/"):
                status, ctype, body = self.file("wheels", path[len("/wheels/"):])
            else:
                status, ctype, body = self.simple(path[len("/simple"):].strip("/"))
        elif path.startswith("/public/simple"):
            status, ctype, body = (200, "text/html", b"<!DOCTYPE html><html><body></body></html>") \
                if path.strip("/") == "public/simple" else (404, "text/plain", b"not found")
        else:
            status, ctype, body = 404, "text/plain", b"not found"
        client = (headers.get("user-agent") or "-").split(" ")[0].split("/")[0]
        host = (headers.get("host") or "-").rsplit(":", 1)[0]
        entry = {"method": method, "host": host, "path": path, "client": client, "scheme": scheme,
                 "user": user, "sha": sha, "status": status}
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
        return status, ctype, body

    def file(self, area, rel):
        rel = os.path.normpath(rel).lstrip("/")
        full = os.path.join(self.root, area, rel)
        if rel.startswith("..") or not os.path.isfile(full):
            return 404, "text/plain", b"not found"
        with open(full, "rb") as f:
            data = f.read()
        return 200, "application/json" if rel.endswith(".json") else "application/octet-stream", data

    def simple(self, project):
        if project == "":
            links = f'<a href="{WHEEL_PROJECT}/">{WHEEL_PROJECT}</a>'
        elif project == WHEEL_PROJECT:
            with open(os.path.join(self.root, "wheels", WHEEL_FILE), "rb") as f:
                digest = sha256_hex(f.read())
            links = f'<a href="/wheels/{WHEEL_FILE}#sha256={digest}">{html.escape(WHEEL_FILE)}</a>'
        else:
            return 404, "text/plain", b"not found"
        return 200, "text/html", f"<!DOCTYPE html><html><body>{links}</body></html>".encode()


def serve(args):
    repo = Repo(args.dir, args.bearer_sha256, args.basic_sha256, args.log)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (http.server's naming)
            self.reply(send_body=True)

        def do_HEAD(self):  # noqa: N802 (uv asks for a wheel's size first)
            self.reply(send_body=False)

        def reply(self, send_body):
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, ctype, body = repo.answer(self.command, self.path, headers)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="probe"')
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.cert_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(tmp, args.port_file)
    server.serve_forever()


def get(url):
    request = urllib.request.Request(url)
    if os.environ.get("PROBE_AUTHORIZATION"):
        request.add_header("Authorization", os.environ["PROBE_AUTHORIZATION"])
    context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            print(response.status)
    except urllib.error.HTTPError as error:
        print(error.code)


def check(args):
    with open(args.log, encoding="utf-8") as f:
        entries = [json.loads(line) for line in f.read().splitlines()[args.skip:]]
    seen = [e for e in entries if e["client"] == args.client and e["host"] == args.host
            and e["path"].startswith(args.path)]
    if not seen:
        print(f"{args.client}: no request to {args.host} {args.path}*")
        return 0 if args.expect == "absent" else 1
    first = seen[0]
    print(f"{args.client}: {len(seen)} requests to {args.host} {args.path}*; the first: {first['method']} "
          f"{first['path']} with {first['scheme']} credentials {first['user']}, answered {first['status']}")
    expected = [e["sha"] == args.sha and (args.user is None or e["user"] == args.user) for e in seen]
    for e, ok in zip(seen, expected):
        print(f"  {e['method']} {e['path']} {e['scheme']} {e['user'] or '-'} "
              f"{'the expected credential' if ok else 'another credential' if e['sha'] else 'no credential'} "
              f"{e['status']}")
    if args.expect == "sent":
        return 0 if all(expected) and all(e["status"] != 401 for e in seen) else 1
    if args.expect == "absent":
        return 0 if not any(expected) else 1
    return 0 if not any(expected) and any(e["status"] == 401 for e in seen) else 1


def main():
    parser = argparse.ArgumentParser(description="Loopback conda channel and wheel index.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build")
    build.add_argument("dir")
    server = commands.add_parser("serve")
    server.add_argument("--dir", required=True)
    server.add_argument("--cert", required=True)
    server.add_argument("--cert-key", required=True)
    server.add_argument("--port-file", required=True)
    server.add_argument("--log", required=True)
    server.add_argument("--bearer-sha256", action="append", default=[])
    server.add_argument("--basic-sha256", action="append", default=[])
    checker = commands.add_parser("check")
    checker.add_argument("log")
    checker.add_argument("--skip", type=int, default=0)
    checker.add_argument("--client", required=True)
    checker.add_argument("--host", required=True)
    checker.add_argument("--path", required=True)
    checker.add_argument("--sha", required=True)
    checker.add_argument("--user")
    checker.add_argument("--expect", choices=("sent", "refused", "absent"), required=True)
    getter = commands.add_parser("get")
    getter.add_argument("url")
    args = parser.parse_args()
    if args.command == "build":
        build_conda(os.path.join(args.dir, "conda"))
        build_wheel(os.path.join(args.dir, "wheels"))
    elif args.command == "serve":
        serve(args)
    elif args.command == "check":
        return check(args)
    else:
        get(args.url)


if __name__ == "__main__":
    sys.exit(main())
