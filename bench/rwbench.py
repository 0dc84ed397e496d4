"""What the Python benchmark drivers share: a runwisp daemon started in a work folder on a free
loopback port, logged in with the challenge-response of `/api/auth`, and JSON calls to it."""

import hashlib
import http.client
import json
import os
import socket
import subprocess
import time


class Daemon:
    def __init__(self, bin_path, work, config):
        self.work = work
        with open(os.path.join(work, "runwisp.toml"), "w") as f:
            f.write(config)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.process = subprocess.Popen(
            [bin_path, "--headless", "--port", str(self.port)],
            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pid_file = os.path.join(work, "data", "daemon.pid")
        for _ in range(400):
            if os.path.exists(pid_file) and open(pid_file).read().strip() == str(self.process.pid):
                break
            time.sleep(0.05)
        self.conn = self.connect()
        password = open(os.path.join(work, "data", "password")).read().strip()
        nonce = self.call("GET", "/api/auth/challenge")[1]["nonce"]
        response = hashlib.sha256(f"{password}:{nonce}".encode()).hexdigest()
        self.token = self.call("POST", "/api/auth", {"nonce": nonce, "response": response})[1]["token"]

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def call(self, method, path, body=None, conn=None):
        conn = conn or self.conn
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Bearer {self.token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        answer = conn.getresponse()
        data = answer.read()
        return answer.status, (json.loads(data) if data else None)

    def db(self):
        import sqlite3
        path = os.path.join(self.work, "data", "runwisp.db")
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)
