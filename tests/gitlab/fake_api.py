"""A fake Anaconda API on 127.0.0.1 for the GitLab scenarios.

GET /ok/api/account answers 200 with a user, /reject/api/account answers 401, and
/releases/<path> serves the files of $FAKE_RELEASES_DIR (a release mirror for install-binary.sh).
Each request's Bearer token is compared by SHA-256 with $FAKE_API_KEY_SHA256 and the result
appended to the log file (never the token). Usage: fake_api.py PORT_FILE LOG_FILE
"""

import hashlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        digest = hashlib.sha256(token.encode()).hexdigest()
        same = "key-matches" if digest == os.environ.get("FAKE_API_KEY_SHA256") else "key-differs"
        with open(sys.argv[2], "a", encoding="utf-8") as log:
            log.write(f"{self.path} {same}\n")
        if self.path == "/ok/api/account":
            self.answer(200, {"user": {"username": "ci-bot"}})
        elif self.path == "/reject/api/account":
            self.answer(401, {"error": {"code": "invalid_token", "message": "token rejected"}})
        elif self.path.startswith("/releases/") and ".." not in self.path:
            self.send_file(os.path.join(os.environ["FAKE_RELEASES_DIR"], self.path[len("/releases/"):]))
        else:
            self.answer(404, {"error": "not found"})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_file(self, path):
        if not os.path.isfile(path):
            self.answer(404, {"error": "not found"})
            return
        with open(path, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
