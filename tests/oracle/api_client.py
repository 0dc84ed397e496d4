#!/usr/bin/env python3
"""An independent runwisp API client, written from shared/spec/api.md alone.

It uses only Python's standard library (urllib, hashlib, json) plus PyJWT, so the challenge
answer, the token and the forged tokens come from code runwisp did not write (QUALITY.md §1).

Against a running daemon it:
  * checks the public routes and that a protected route refuses a request without a token;
  * gets a challenge, proves a used nonce and a wrong password are refused, then logs in with
    hex(sha256(password + ":" + nonce)) and checks the token (HS256 header; iss, aud,
    exp - iat = 86400) and the runwisp_jwt cookie's attributes;
  * triggers a task with the bearer token (201, the run object's fields and types), polls
    GET /api/runs/{id} until it ended, reads /log and /log/raw, finds the run in /api/runs;
  * checks the cookie authenticates a GET but not a POST, and that streams opened and closed
    one after another are never refused as too many;
  * forges tokens with PyJWT that the daemon must refuse with 401 (alg none, HS512 with a
    random key, HS256 with a wrong key, expired, and a tampered payload). Given --secret-hex
    (the daemon's signing key, which a test can read from the database) it also signs tokens
    with the real key: correct claims must be accepted, and an expired token, a wrong audience,
    a wrong issuer, an `exp` that is not a number or a missing `exp` must each be 401.

It prints one JSON summary on stdout and exits 0, or prints `api_client: MISMATCH: ...` on
stderr and exits 1 at the first thing that differs from api.md.
"""

import argparse
import hashlib
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

try:
    import jwt  # PyJWT
except ImportError:  # pragma: no cover - reported to the Rust test
    sys.stderr.write(
        "api_client: PyJWT is missing; run: pip install -r tests/oracle/requirements.txt\n"
    )
    sys.exit(3)

ISSUER = "runwisp"
AUDIENCE = "runwisp-api"
TOKEN_TTL_S = 86400
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$", re.IGNORECASE)
HEX64 = re.compile(r"^[0-9a-f]{64}$")
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
RUN_FIELDS = [
    "id",
    "task_name",
    "kind",
    "status",
    "end_reason",
    "exit_code",
    "triggered_by",
    "scheduled_for",
    "created_at",
    "start_at",
    "end_at",
    "duration_ms",
    "retry_attempt",
    "retry_of_run_id",
    "replica_index",
    "message",
]
END_REASONS = {
    "success",
    "failed",
    "timeout",
    "stopped",
    "crashed",
    "skipped",
    "queue_full",
    "log_overflow",
}


class Mismatch(Exception):
    pass


CHECKS = 0


def check(condition, message):
    global CHECKS
    CHECKS += 1
    if not condition:
        raise Mismatch(message)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    def header_all(self, name):
        return self.headers.get_all(name) or []

    def json(self, what):
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError as e:
            raise Mismatch(f"{what}: the body is not JSON ({e}): {self.body[:200]!r}")

    def media_type(self):
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


class Client:
    def __init__(self, base_url, timeout=15.0):
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.count = 0

    def request(self, method, path, body=None, token=None, cookie=None, headers=None):
        data = None
        hdrs = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if cookie is not None:
            hdrs["Cookie"] = cookie
        hdrs.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        self.count += 1
        try:
            with OPENER.open(req, timeout=self.timeout) as r:
                response = Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            response = Response(e.code, e.headers, e.read())
        except (urllib.error.URLError, OSError) as e:
            raise Mismatch(f"{method} {path}: no answer from the daemon: {e}")
        # api.md §3: every response carries X-Content-Type-Options: nosniff.
        check(
            (response.header("X-Content-Type-Options") or "").lower() == "nosniff",
            f"{method} {path}: missing X-Content-Type-Options: nosniff",
        )
        return response


def expect_status(response, status, what):
    check(
        response.status == status,
        f"{what}: expected HTTP {status}, got {response.status}: {response.body[:300]!r}",
    )


def expect_problem(response, status, what, detail=None):
    """api.md: errors are application/problem+json {title, status, detail}."""
    expect_status(response, status, what)
    check(
        response.media_type() == "application/problem+json",
        f"{what}: an error must be application/problem+json, got {response.header('Content-Type')!r}",
    )
    problem = response.json(what)
    for key in ("title", "status", "detail"):
        check(key in problem, f"{what}: the problem lacks {key!r}: {problem}")
    check(problem["status"] == status, f"{what}: problem status {problem['status']} != {status}")
    check(
        isinstance(problem["detail"], str) and problem["detail"],
        f"{what}: the problem's detail must be a sentence: {problem}",
    )
    if detail is not None:
        check(
            detail.lower() in problem["detail"].lower(),
            f"{what}: expected the detail to say {detail!r}, got {problem['detail']!r}",
        )
    return problem


def expect_json(response, status, what):
    expect_status(response, status, what)
    check(
        response.media_type() == "application/json",
        f"{what}: expected application/json, got {response.header('Content-Type')!r}",
    )
    return response.json(what)


def answer(password, nonce):
    """The challenge response of api.md §1.2."""
    return hashlib.sha256(f"{password}:{nonce}".encode("utf-8")).hexdigest()


def challenge(client):
    body = expect_json(client.request("GET", "/api/auth/challenge"), 200, "GET /api/auth/challenge")
    nonce = body.get("nonce")
    check(
        isinstance(nonce, str) and HEX64.match(nonce) is not None,
        f"the nonce must be 64 lowercase hex characters, got {nonce!r}",
    )
    return nonce


def parse_set_cookie(value):
    parts = [p.strip() for p in value.split(";")]
    name, _, cookie_value = parts[0].partition("=")
    attrs = {}
    for part in parts[1:]:
        if not part:
            continue
        key, sep, val = part.partition("=")
        attrs[key.strip().lower()] = val.strip() if sep else True
    return name.strip(), cookie_value.strip(), attrs


def check_token(token, secret):
    """The JWT of api.md §1.3, decoded by PyJWT."""
    check(isinstance(token, str) and token.count(".") == 2, f"the token is not a JWT: {token!r}")
    header = jwt.get_unverified_header(token)
    check(header.get("alg") == "HS256", f"the token's alg must be HS256, got {header}")
    options = {
        "verify_signature": secret is not None,
        "verify_exp": True,
        "verify_iat": True,
        "verify_aud": True,
        "verify_iss": True,
        "require": ["iat", "exp", "iss", "aud"],
    }
    try:
        claims = jwt.decode(
            token,
            key=secret or "",
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options=options,
        )
    except jwt.PyJWTError as e:
        raise Mismatch(f"PyJWT refused the daemon's token: {type(e).__name__}: {e}")
    check(claims.get("iss") == ISSUER, f"iss must be {ISSUER!r}: {claims}")
    check(claims.get("aud") == AUDIENCE, f"aud must be {AUDIENCE!r}: {claims}")
    for key in ("iat", "exp"):
        check(
            isinstance(claims[key], int) and not isinstance(claims[key], bool),
            f"{key} must be an integer NumericDate: {claims}",
        )
    check(
        claims["exp"] - claims["iat"] == TOKEN_TTL_S,
        f"exp - iat must be {TOKEN_TTL_S} s (24 h), got {claims['exp'] - claims['iat']}",
    )
    check(
        abs(claims["iat"] - time.time()) < 120,
        f"iat {claims['iat']} is not about now ({int(time.time())})",
    )
    return header, claims


def login(client, password, secret):
    # A nonce is single use: consumed by the first attempt naming it, right or wrong.
    nonce = challenge(client)
    wrong = client.request(
        "POST", "/api/auth", {"nonce": nonce, "response": answer(password + "x", nonce)}
    )
    expect_problem(wrong, 401, "login with a wrong password", "Invalid password")
    replay = client.request("POST", "/api/auth", {"nonce": nonce, "response": answer(password, nonce)})
    expect_problem(replay, 401, "login naming a used nonce", "Invalid or expired challenge")

    nonce = challenge(client)
    response = client.request("POST", "/api/auth", {"nonce": nonce, "response": answer(password, nonce)})
    body = expect_json(response, 200, "POST /api/auth")
    token = body.get("token")
    header, claims = check_token(token, secret)

    cookies = [c for c in response.header_all("Set-Cookie") if c.strip().startswith("runwisp_jwt=")]
    check(len(cookies) == 1, f"the login must set one runwisp_jwt cookie, got {response.header_all('Set-Cookie')}")
    name, value, attrs = parse_set_cookie(cookies[0])
    check(value == token, "the runwisp_jwt cookie must hold the same token as the body")
    check(attrs.get("httponly") is True, f"the cookie must be HttpOnly: {cookies[0]}")
    check(
        str(attrs.get("samesite", "")).lower() == "strict",
        f"the cookie must be SameSite=Strict: {cookies[0]}",
    )
    check(attrs.get("path") == "/", f"the cookie must have Path=/: {cookies[0]}")
    check(attrs.get("max-age") == str(TOKEN_TTL_S), f"the cookie must have Max-Age=86400: {cookies[0]}")
    if client.base.startswith("http://"):
        check("secure" not in attrs, f"over plain HTTP the cookie must not be Secure: {cookies[0]}")
    else:
        check(attrs.get("secure") is True, f"over TLS the cookie must be Secure: {cookies[0]}")
    cookie_summary = {
        "name": name,
        "http_only": True,
        "same_site": attrs["samesite"],
        "path": attrs["path"],
        "max_age": int(attrs["max-age"]),
        "secure": "secure" in attrs,
    }
    return token, header, claims, cookie_summary


def check_time(run, key, nullable=True):
    value = run[key]
    if value is None:
        check(nullable, f"run.{key} must not be null: {run}")
        return None
    check(
        isinstance(value, str) and RFC3339_UTC.match(value) is not None,
        f"run.{key} must be an RFC 3339 UTC time, got {value!r}",
    )
    return value


def millis(stamp):
    """Unix milliseconds of an RFC 3339 UTC time like 2024-01-02T03:04:05.678Z."""
    import datetime

    date = datetime.datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc
    )
    frac = stamp[19:-1]
    ms = int(round(float(frac) * 1000)) if frac else 0
    return int(date.timestamp()) * 1000 + ms


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_run(run, task):
    """The run object of api.md §2, field by field."""
    check(isinstance(run, dict), f"a run must be an object, got {run!r}")
    missing = [f for f in RUN_FIELDS if f not in run]
    check(not missing, f"the run object lacks {missing}: {run}")
    check(isinstance(run["id"], str) and ULID.match(run["id"]), f"run.id must be a ULID: {run['id']!r}")
    check(run["task_name"] == task, f"run.task_name must be {task!r}: {run['task_name']!r}")
    check(run["kind"] == "task", f"run.kind must be 'task': {run['kind']!r}")
    check(run["status"] in ("pending", "running", "ended"), f"run.status unknown: {run['status']!r}")
    check(run["triggered_by"] == "api", f"run.triggered_by must be 'api': {run['triggered_by']!r}")
    if run["status"] == "ended":
        check(run["end_reason"] in END_REASONS, f"run.end_reason unknown: {run['end_reason']!r}")
    else:
        check(run["end_reason"] is None, f"run.end_reason must be null while not ended: {run}")
    if run["status"] == "running":
        check(run["exit_code"] is None, f"run.exit_code must be null while running: {run}")
    check(run["exit_code"] is None or is_int(run["exit_code"]), f"run.exit_code: {run['exit_code']!r}")
    check_time(run, "scheduled_for")
    check_time(run, "created_at", nullable=False)
    start = check_time(run, "start_at")
    end = check_time(run, "end_at")
    check(run["duration_ms"] is None or is_int(run["duration_ms"]), f"run.duration_ms: {run['duration_ms']!r}")
    check(is_int(run["retry_attempt"]) and run["retry_attempt"] >= 0, f"run.retry_attempt: {run['retry_attempt']!r}")
    check(run["retry_of_run_id"] is None or isinstance(run["retry_of_run_id"], str), f"run.retry_of_run_id: {run}")
    check(run["replica_index"] is None or is_int(run["replica_index"]), f"run.replica_index: {run}")
    check(run["message"] is None or isinstance(run["message"], str), f"run.message: {run['message']!r}")
    if run["status"] == "running":
        check(start is not None, f"a running run has a start_at: {run}")
    if start is not None and end is not None:
        check(millis(end) >= millis(start), f"end_at before start_at: {run}")
        check(
            run["duration_ms"] == millis(end) - millis(start),
            f"duration_ms {run['duration_ms']} != end_at - start_at ({millis(end) - millis(start)} ms)",
        )
    check(millis(run["created_at"]) <= time.time() * 1000 + 60_000, f"created_at is in the future: {run}")
    return run


def trigger_and_wait(client, token, task, deadline_s):
    response = client.request("POST", f"/api/tasks/{task}/run", token=token)
    created = check_run(expect_json(response, 201, f"POST /api/tasks/{task}/run"), task)
    # A run that finished before its start was even recorded (a command of a few milliseconds)
    # is answered as it is: ended, with its outcome (README, "How it behaves").
    check(
        created["status"] in ("running", "pending")
        or created["end_reason"] in ("skipped", "queue_full")
        or (created["status"] == "ended" and created["start_at"] is not None),
        f"a triggered run is running, pending, ran already, or ended as skipped/queue_full: {created}",
    )
    polls = 0
    deadline = time.monotonic() + deadline_s
    run = created
    while run["status"] != "ended":
        check(time.monotonic() < deadline, f"run {created['id']} did not end within {deadline_s} s: {run}")
        time.sleep(0.05)
        polls += 1
        run = check_run(
            expect_json(client.request("GET", f"/api/runs/{created['id']}", token=token), 200, "GET /api/runs/{id}"),
            task,
        )
        check(run["id"] == created["id"], f"GET /api/runs/{{id}} answered another run: {run}")
    check(run["end_reason"] == "success", f"the run must succeed: {run}")
    check(run["exit_code"] == 0, f"the run must exit 0: {run}")
    check(run["start_at"] is not None and run["end_at"] is not None, f"an ended run has start_at and end_at: {run}")
    return created, run, polls


def read_logs(client, token, run_id, expect_stdout, expect_stderr):
    path = f"/api/runs/{run_id}/log"
    log = expect_json(client.request("GET", path, token=token), 200, f"GET {path}")
    for key in ("lines", "first_available", "total_lines", "truncated", "finished"):
        check(key in log, f"the log window lacks {key!r}: {log}")
    check(isinstance(log["lines"], list), f"log.lines must be a list: {log}")
    check(is_int(log["total_lines"]) and is_int(log["first_available"]), f"log counters must be integers: {log}")
    check(log["finished"] is True, f"the log of an ended run is finished: {log}")
    check(log["truncated"] is False, f"a short log is not truncated: {log}")
    check(len(log["lines"]) == log["total_lines"], f"a short log comes whole by default: {log}")
    numbers = [line.get("n") for line in log["lines"]]
    check(
        numbers == list(range(log["first_available"], log["first_available"] + len(numbers))),
        f"log line numbers must count up from first_available: {numbers}",
    )
    for line in log["lines"]:
        check(set(line) >= {"n", "stream", "text"}, f"a log line has n, stream and text: {line}")
        check(isinstance(line["text"], str) and isinstance(line["stream"], str), f"bad log line: {line}")
    pairs = [(line["stream"], line["text"]) for line in log["lines"]]
    for text in expect_stdout:
        check(("stdout", text) in pairs, f"the log must have the stdout line {text!r}: {pairs}")
    for text in expect_stderr:
        check(("stderr", text) in pairs, f"the log must have the stderr line {text!r}: {pairs}")

    # A window: the last line alone, from the end.
    tail = expect_json(client.request("GET", f"{path}?from=-1&limit=1", token=token), 200, f"GET {path}?from=-1")
    check(
        [line["n"] for line in tail["lines"]] == [log["total_lines"]],
        f"?from=-1&limit=1 must be the last line alone: {tail}",
    )

    raw = client.request("GET", f"{path}/raw", token=token)
    expect_status(raw, 200, f"GET {path}/raw")
    check(raw.media_type() == "text/plain", f"the raw log must be text/plain, got {raw.header('Content-Type')!r}")
    text = raw.body.decode("utf-8", errors="replace")
    raw_lines = text.splitlines()
    check(
        len(raw_lines) == log["total_lines"],
        f"the raw log has {len(raw_lines)} lines, the log window counts {log['total_lines']}",
    )
    for line, shown in zip(raw_lines, log["lines"]):
        check(shown["text"] in line, f"raw line {line!r} does not hold {shown['text']!r}")
    return log, raw


def expect_unauthorized(client, token, what):
    response = client.request("GET", "/api/tasks", token=token)
    expect_problem(response, 401, f"GET /api/tasks with {what}")
    status = expect_json(client.request("GET", "/api/auth/status", token=token), 200, "GET /api/auth/status")
    check(status.get("authenticated") is False, f"/api/auth/status must say not authenticated with {what}")
    return response.status


def forge(client, secret):
    now = int(time.time())
    good = {"iat": now, "exp": now + 3600, "iss": ISSUER, "aud": AUDIENCE}
    random_key = os.urandom(32)
    forged = {
        "alg_none": jwt.encode(good, None, algorithm="none"),
        "hs512_random_key": jwt.encode(good, os.urandom(64), algorithm="HS512"),
        "hs256_wrong_key": jwt.encode(good, random_key, algorithm="HS256"),
        "expired_wrong_key": jwt.encode(
            dict(good, iat=now - TOKEN_TTL_S - 3600, exp=now - 3600), random_key, algorithm="HS256"
        ),
    }
    results = {}
    if secret is not None:
        # The real key: these are refused for their claims alone.
        accepted = jwt.encode(good, secret, algorithm="HS256")
        expect_json(client.request("GET", "/api/tasks", token=accepted), 200, "a PyJWT token signed with the daemon's key")
        results["pyjwt_real_key_accepted"] = 200
        forged.update(
            {
                "expired": jwt.encode(dict(good, iat=now - TOKEN_TTL_S - 60, exp=now - 60), secret, algorithm="HS256"),
                "wrong_aud": jwt.encode(dict(good, aud="someone-else"), secret, algorithm="HS256"),
                "wrong_iss": jwt.encode(dict(good, iss="not-runwisp"), secret, algorithm="HS256"),
                "exp_string": jwt.encode(dict(good, exp=str(now + 3600)), secret, algorithm="HS256"),
                "no_exp": jwt.encode({k: v for k, v in good.items() if k != "exp"}, secret, algorithm="HS256"),
                "hs512_real_key": jwt.encode(good, secret + secret, algorithm="HS512"),
            }
        )
    for name, token in forged.items():
        results[name] = expect_unauthorized(client, token, f"a forged token ({name})")
    return results


def tampered(client, token):
    """The daemon's own token with its payload changed (exp in the past), signature kept."""
    import base64

    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(time.time()) - 3600
    new = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return expect_unauthorized(client, f"{head}.{new}.{sig}", "a tampered payload")


def streams_free_their_slots(client, token, opened=12, wait_s=10.0):
    """api.md §3 caps *concurrent* streams at 8 per address: streams opened and closed one after
    another must keep getting 200 (a stream whose client left gives its slot back)."""
    retries = 0
    for i in range(opened):
        deadline = time.monotonic() + wait_s
        while True:
            req = urllib.request.Request(
                client.base + "/api/runs/stream",
                headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
            )
            client.count += 1
            try:
                with OPENER.open(req, timeout=client.timeout) as r:
                    check(r.status == 200, f"GET /api/runs/stream: expected 200, got {r.status}")
                    media = (r.headers.get("Content-Type") or "").split(";")[0].strip()
                    check(media == "text/event-stream", f"GET /api/runs/stream: content type {media!r}")
                break
            except urllib.error.HTTPError as e:
                e.read()
                check(
                    e.code == 503 and time.monotonic() < deadline,
                    f"stream {i + 1} of {opened}, each closed before the next: HTTP {e.code} after "
                    f"{wait_s} s (a closed stream must free its slot)",
                )
                retries += 1
                time.sleep(0.05)
    return {"opened_one_after_another": opened, "retries_503": retries}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:9477")
    parser.add_argument("--password", default=os.environ.get("RUNWISP_PASSWORD"))
    parser.add_argument("--task", required=True, help="a task with api_trigger on that succeeds quickly")
    parser.add_argument("--expect-stdout", action="append", default=[], help="a line the task prints on stdout")
    parser.add_argument("--expect-stderr", action="append", default=[], help="a line the task prints on stderr")
    parser.add_argument("--forbidden-task", help="a task with api_trigger = false (403)")
    parser.add_argument("--service", help="a service (triggering it is 409)")
    parser.add_argument("--secret-hex", help="the daemon's signing key, to verify and forge with the real key")
    parser.add_argument("--token-only", action="store_true", help="log in, print the token alone, exit")
    parser.add_argument("--deadline", type=float, default=30.0, help="seconds to wait for the run")
    args = parser.parse_args()
    if not args.password:
        parser.error("give --password or set RUNWISP_PASSWORD")
    secret = bytes.fromhex(args.secret_hex) if args.secret_hex else None
    client = Client(args.base_url)

    if args.token_only:
        nonce = challenge(client)
        body = expect_json(
            client.request("POST", "/api/auth", {"nonce": nonce, "response": answer(args.password, nonce)}),
            200,
            "POST /api/auth",
        )
        check_token(body["token"], secret)
        print(body["token"])
        return

    health = expect_json(client.request("GET", "/health"), 200, "GET /health")
    check(health.get("status") == "healthy", f"/health must say healthy: {health}")
    for key in ("version", "fingerprint", "uptime_s"):
        check(key in health, f"/health lacks {key!r}: {health}")
    status = expect_json(client.request("GET", "/api/auth/status"), 200, "GET /api/auth/status")
    check(status == {"auth_required": True, "authenticated": False}, f"anonymous /api/auth/status: {status}")
    expect_problem(client.request("GET", "/api/tasks"), 401, "GET /api/tasks without a token")
    expect_problem(client.request("POST", f"/api/tasks/{args.task}/run"), 401, "POST run without a token")

    token, header, claims, cookie = login(client, args.password, secret)
    status = expect_json(client.request("GET", "/api/auth/status", token=token), 200, "GET /api/auth/status")
    check(status == {"auth_required": True, "authenticated": True}, f"/api/auth/status with the token: {status}")

    # The cookie authenticates GET only (api.md §1.4).
    jar = f"runwisp_jwt={token}"
    tasks = expect_json(client.request("GET", "/api/tasks", cookie=jar), 200, "GET /api/tasks with the cookie")
    names = [t.get("name") for t in tasks.get("tasks", [])]
    check(args.task in names, f"GET /api/tasks must list {args.task!r}: {names}")
    expect_problem(
        client.request("POST", f"/api/tasks/{args.task}/run", cookie=jar), 401, "a POST carried only by the cookie"
    )

    one = expect_json(client.request("GET", f"/api/tasks/{args.task}", token=token), 200, "GET /api/tasks/{name}")
    check(one.get("name") == args.task and one.get("kind") == "task", f"GET /api/tasks/{{name}}: {one}")
    check(one.get("api_trigger") is True, f"{args.task} must allow API triggers: {one}")

    created, run, polls = trigger_and_wait(client, token, args.task, args.deadline)
    log, raw = read_logs(client, token, run["id"], args.expect_stdout, args.expect_stderr)

    page = expect_json(client.request("GET", f"/api/runs?task={args.task}&limit=5", token=token), 200, "GET /api/runs")
    check(set(page) >= {"runs", "next_before"}, f"/api/runs answers runs and next_before: {page}")
    check(run["id"] in [r["id"] for r in page["runs"]], f"/api/runs?task= must list run {run['id']}")
    for r in page["runs"]:
        check_run(r, args.task)
    expect_problem(
        client.request("POST", f"/api/runs/{run['id']}/stop", token=token), 409, "stopping an ended run"
    )

    # Documented errors.
    unknown_run = "0" * 26
    expect_problem(client.request("GET", f"/api/runs/{unknown_run}", token=token), 404, "an unknown run id")
    expect_problem(client.request("GET", "/api/runs/not-a-ulid", token=token), 400, "a malformed run id")
    expect_problem(client.request("POST", "/api/tasks/no-such-task/run", token=token), 404, "triggering an unknown task")
    expect_problem(client.request("GET", "/api/no-such-route", token=token), 404, "an unknown route")
    wrong_method = client.request("GET", f"/api/tasks/{args.task}/run", token=token)
    expect_problem(wrong_method, 405, "GET on a POST route")
    check("POST" in (wrong_method.header("Allow") or ""), f"405 must name POST in Allow: {wrong_method.header('Allow')!r}")
    not_json = client.request("POST", "/api/auth", headers={"Content-Type": "text/plain"})
    expect_problem(not_json, 415, "POST /api/auth with a text/plain body")
    errors = {"unknown_run": 404, "bad_run_id": 400, "unknown_task": 404, "unknown_route": 404, "wrong_method": 405,
              "wrong_content_type": 415, "stop_ended_run": 409}
    if args.forbidden_task:
        expect_problem(
            client.request("POST", f"/api/tasks/{args.forbidden_task}/run", token=token),
            403,
            "triggering a task with api_trigger = false",
            "API triggering disabled for this task",
        )
        errors["api_trigger_false"] = 403
    if args.service:
        expect_problem(
            client.request("POST", f"/api/tasks/{args.service}/run", token=token), 409, "triggering a service"
        )
        errors["trigger_service"] = 409

    streams = streams_free_their_slots(client, token)

    forged = forge(client, secret)
    forged["tampered_payload"] = tampered(client, token)

    summary = {
        "ok": True,
        "base_url": client.base,
        "token": {
            "alg": header["alg"],
            "iss": claims["iss"],
            "aud": claims["aud"],
            "ttl_s": claims["exp"] - claims["iat"],
            "signature_verified": secret is not None,
        },
        "cookie": cookie,
        "run": {
            "id": run["id"],
            "task_name": run["task_name"],
            "created_status": created["status"],
            "status": run["status"],
            "end_reason": run["end_reason"],
            "exit_code": run["exit_code"],
            "triggered_by": run["triggered_by"],
            "duration_ms": run["duration_ms"],
            "polls": polls,
        },
        "log": {
            "total_lines": log["total_lines"],
            "lines": [[line["stream"], line["text"]] for line in log["lines"]],
            "raw_bytes": len(raw.body),
        },
        "errors": errors,
        "streams": streams,
        "forged_rejected": forged,
        "requests": client.count,
        "checks": CHECKS,
    }
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    try:
        main()
    except Mismatch as e:
        sys.stderr.write(f"api_client: MISMATCH: {e}\n")
        sys.exit(1)
