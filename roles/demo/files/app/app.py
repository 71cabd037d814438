"""swarmdata's demo application: a tiny HTTP notes service that keeps its data in one namespace.

POST /notes         stores the request body as a new note, returns {"name", "sha256", "node"}
GET  /notes         lists the notes' names
GET  /notes/<name>  returns one note
GET  /health        ok

Each note is a file in <data>/notes, written to a temporary name and renamed, so a replica never holds half of
one. Python's standard library only.
"""

import hashlib
import json
import os
import re
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DATA = os.environ.get("DEMO_DATA", "/data")
NOTES = os.path.join(DATA, "notes")
NAME = re.compile(r"^[0-9]+-[A-Za-z0-9_.-]+\.txt$")
LIMIT = 1 << 20


class Notes(BaseHTTPRequestHandler):
    server_version = "swarmdata-demo/1"

    def reply(self, code, body, kind="application/json"):
        data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path == "/health":
            return self.reply(200, b"ok\n", "text/plain")
        if self.path == "/notes":
            names = sorted(n for n in os.listdir(NOTES) if NAME.match(n)) if os.path.isdir(NOTES) else []
            return self.reply(200, {"notes": names, "node": socket.gethostname()})
        if self.path.startswith("/notes/") and NAME.match(self.path[7:]):
            try:
                with open(os.path.join(NOTES, self.path[7:]), "rb") as f:
                    return self.reply(200, f.read(), "text/plain")
            except FileNotFoundError:
                pass
        return self.reply(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        if self.path != "/notes":
            return self.reply(404, {"error": "not found"})
        size = int(self.headers.get("Content-Length") or 0)
        if size <= 0 or size > LIMIT:
            return self.reply(400, {"error": "a note is 1 byte to 1 MiB"})
        body = self.rfile.read(size)
        os.makedirs(NOTES, exist_ok=True)
        name = "%d-%s.txt" % (time.time_ns(), re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()))
        tmp = os.path.join(NOTES, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(NOTES, name))
        return self.reply(201, {"name": name, "sha256": hashlib.sha256(body).hexdigest(),
                                "node": socket.gethostname()})

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


if __name__ == "__main__":
    port = int(os.environ.get("DEMO_PORT", "8080"))
    ThreadingHTTPServer(("", port), Notes).serve_forever()
