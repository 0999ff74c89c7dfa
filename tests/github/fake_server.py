"""Loopback test server for the GitHub Action suite: a fake Anaconda API and a fake release host.

Routes:
  GET /ok/api/account       200 {"user": {"username": "ci-bot"}} (needs a Bearer token)
  GET /reject/api/account   401
  GET /files/<path>         a file from --files (a fake release: v<version>/<asset>)

It binds 127.0.0.1 on a free port and writes the port to --port-file. For every Bearer token it
receives it appends the token's SHA-256 (never the token) to --token-log, so a test can prove
which key was sent without the key being written anywhere.
"""

import argparse
import hashlib
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_handler(files_dir, token_log):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - signature from the base class
            pass

        def _send(self, status, body, content_type="application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _record_token(self):
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer "):
                return False
            digest = hashlib.sha256(auth[len("Bearer "):].encode()).hexdigest()
            with open(token_log, "a", encoding="utf-8") as log:
                log.write(f"{self.path} {digest}\n")
            return True

        def do_GET(self):  # noqa: N802 - name from the base class
            if self.path == "/ok/api/account":
                if not self._record_token():
                    self._send(401, b'{"error": "no token"}')
                    return
                self._send(200, json.dumps({"user": {"username": "ci-bot"}}).encode())
            elif self.path == "/reject/api/account":
                self._record_token()
                self._send(401, b'{"error": {"code": "auth_required", "message": "invalid key"}}')
            elif self.path.startswith("/files/") and files_dir:
                rel = os.path.normpath(self.path[len("/files/"):]).lstrip("/")
                full = os.path.join(files_dir, rel)
                if ".." in rel.split(os.sep) or not os.path.isfile(full):
                    self._send(404, b"not found", "text/plain")
                    return
                with open(full, "rb") as f:
                    self._send(200, f.read(), "application/octet-stream")
            else:
                self._send(404, b'{"error": "not found"}')

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--token-log", required=True)
    parser.add_argument("--files", default="")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.files, args.token_log))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
