"""A fake Anaconda API on 127.0.0.1 for the benchmarks: GET /api/account answers 200
{"user":{"username":"ci-bot"}} when the Bearer key's SHA-256 equals $BENCH_KEY_SHA256, else 401.

Owns: the two server implementations compared in BENCHMARKS.md, `asyncio` (a minimal HTTP/1.1
responder, the one the benchmarks use) and `stdlib` (http.server, for the comparison only).
Usage: python3 fake_api.py asyncio|stdlib PORT_FILE   (writes the bound port to PORT_FILE when ready)
       python3 fake_api.py probe URL N   (N sequential GETs, a new connection each, key from $BENCH_KEY;
                                          prints the per-request latency in ms as JSON)
"""

import asyncio
import hashlib
import http.client
import http.server
import json
import os
import statistics
import sys
import time
import urllib.parse

WANT = os.environ["BENCH_KEY_SHA256"]
OK = json.dumps({"user": {"username": "ci-bot"}}).encode()
DENIED = json.dumps({"error": {"code": "auth_required"}}).encode()


def answer(path, authorization):
    """(status line, body) for a request."""
    good = (path == "/api/account" and authorization is not None
            and hashlib.sha256(authorization.encode()).hexdigest() == WANT)
    return ("200 OK", OK) if good else ("401 Unauthorized", DENIED)


def response_bytes(status, body):
    head = (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode() + body


async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        writer.write(response_bytes(*answer(path, headers.get("authorization"))))
        await writer.drain()
    except (asyncio.IncompleteReadError, IndexError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve_asyncio(port_file):
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=256)
    write_port(port_file, server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


class StdlibHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        status, body = answer(self.path, self.headers.get("Authorization"))
        self.send_response(int(status.split()[0]))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def write_port(port_file, port):
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.rename(tmp, port_file)


def probe(url, count):
    """Server latency seen by one warm client process: connect, GET, read, close."""
    parsed = urllib.parse.urlsplit(url)
    headers = {"Authorization": "Bearer " + os.environ["BENCH_KEY"]}
    times = []
    for _ in range(count):
        start = time.perf_counter()
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
        conn.request("GET", "/api/account", headers=headers)
        status = conn.getresponse().status
        conn.close()
        times.append((time.perf_counter() - start) * 1000)
        if status != 200:
            raise SystemExit(f"probe: HTTP {status}")
    print(json.dumps({"requests": count, "mean_ms": statistics.mean(times),
                      "median_ms": statistics.median(times), "stdev_ms": statistics.stdev(times)}))


def main():
    impl, port_file = sys.argv[1], sys.argv[2]
    if impl == "probe":
        probe(port_file, int(sys.argv[3]))
    elif impl == "asyncio":
        asyncio.run(serve_asyncio(port_file))
    else:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StdlibHandler)
        write_port(port_file, server.server_address[1])
        server.serve_forever()


if __name__ == "__main__":
    main()
