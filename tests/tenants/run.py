#!/usr/bin/env python3
"""tests/tenants/run.py — tenants, keys, quotas and limits (SPEC §5), live
events (SSE and ?since=) and /metrics, against a real mmsimd.

Reuses the API suite's server and request helpers (tests/api/run.py).
Standard library only; every wait polls a condition with a deadline.

    python3 tests/tenants/run.py [BINARY] [substring ...]

Ends with exactly one line "N passed, N failed"; exit status 1 on failure.
"""
import json
import os
import re
import select
import shutil
import socket
import sqlite3
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))
sys.path.insert(0, os.path.dirname(HERE))
import run as api  # noqa: E402  (tests/api/run.py: Server, request, …)
import testkit  # noqa: E402
from testkit import Fail, check, eq, wait_until  # noqa: E402

TIMEOUT = api.TIMEOUT
TMP = api.TMP
ONLY = sys.argv[2:]
ADMIN = "adm-" + os.urandom(16).hex()
ADMIN_FILE = os.path.join(TMP, "admin.key")
with open(ADMIN_FILE, "w") as f:
    f.write(ADMIN + "\n")
KEY_RE = re.compile(r"mmk_([a-z0-9-]{1,63})_([0-9a-f]{64})")

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def auth(key):
    return {"Authorization": "Bearer " + key} if key else {}


def req(srv, method, path, key=None, body=None, headers=None):
    h = auth(key)
    h.update(headers or {})
    return api.request(method, path, body, headers=h, server=srv)


def multi(*args, env=None):
    return api.Server("--admin-key-file", ADMIN_FILE, *args, env=env)


def put_tenant(srv, tid, quotas=None):
    r = req(srv, "PUT", "/v1/tenants/" + tid, ADMIN, {"quotas": quotas} if quotas else {})
    eq(r.status, 201, "create tenant %s: %r" % (tid, r.body[:300]))
    m = KEY_RE.fullmatch(r.json["api_key"])
    check(m and m.group(1) == tid, "key format: %r" % r.json["api_key"])
    return r.json["api_key"]


def machine(srv, key, config=None):
    r = req(srv, "POST", "/v1/machines", key, {"config": config or {"memory": "16M"}})
    eq(r.status, 201, "create machine: %r" % r.body[:300])
    return r.json["id"]


# ---- an SSE client over a raw socket ------------------------------------------------

class Stream:
    """GET …/events read incrementally: chunked decoding, SSE parsing."""

    def __init__(self, srv, path, key=None, headers=None, rcvbuf=None):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(TIMEOUT)
        self.s.connect((srv.host, srv.port))
        h = dict(auth(key))
        h.update(headers or {})
        lines = "".join("%s: %s\r\n" % kv for kv in h.items())
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, lines)).encode())
        self.raw = b""
        self.body = b""
        self.ended = False
        self.closed = False
        while b"\r\n\r\n" not in self.raw:
            self._recv(time.monotonic() + TIMEOUT)
            check(not self.closed or b"\r\n\r\n" in self.raw, "stream closed before headers")
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, v in
                        (ln.split(":", 1) for ln in lines[1:])}
        self.pending = b""  # SSE text not yet parsed

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or self.closed:
            return False
        r, _, _ = select.select([self.s], [], [], left)
        if not r:
            return False
        try:
            chunk = self.s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self.raw += chunk
        return True

    def _dechunk(self):
        while not self.ended:
            if b"\r\n" not in self.raw:
                return
            size_line, rest = self.raw.split(b"\r\n", 1)
            n = int(size_line.split(b";")[0], 16)
            if n == 0:
                self.ended = True
                return
            if len(rest) < n + 2:
                return
            self.pending += rest[:n]
            self.raw = rest[n + 2:]

    def next(self, timeout=None):
        """The next SSE block as a dict (event, id, data, comment), or None
        when the deadline passes or the stream ends."""
        deadline = time.monotonic() + (TIMEOUT if timeout is None else timeout)
        while True:
            self._dechunk()
            if b"\n\n" in self.pending:
                block, self.pending = self.pending.split(b"\n\n", 1)
                ev = {}
                for ln in block.decode().split("\n"):
                    if ln.startswith(":"):
                        ev["comment"] = ln[1:]
                    elif ":" in ln:
                        k, v = ln.split(":", 1)
                        ev[k] = v[1:] if v.startswith(" ") else v
                if "data" in ev:
                    ev["json"] = json.loads(ev["data"])
                return ev
            if self.ended or not self._recv(deadline):
                self._dechunk()
                if b"\n\n" not in self.pending:
                    return None

    def events(self, n, timeout=None):
        """The next n events named by an 'event:' line (comments skipped)."""
        out = []
        deadline = time.monotonic() + (TIMEOUT if timeout is None else timeout)
        while len(out) < n:
            ev = self.next(max(0.01, deadline - time.monotonic()))
            if ev is None:
                raise Fail("stream: %d of %d events before the deadline: %r" % (len(out), n, out[-3:]))
            if "event" in ev and ev["event"] != "gap":
                out.append(ev)
        return out

    def close(self):
        self.s.close()


# ---- tenants and keys ------------------------------------------------------------------

@test
def single_tenant_mode():
    srv = api.Server()
    try:
        m = machine(srv, None)
        eq(req(srv, "GET", "/v1/machines/" + m).status, 200, "no key needed")
        for method, path in (("GET", "/v1/tenants"), ("PUT", "/v1/tenants/a"),
                             ("POST", "/v1/tenants/a:rotateKey")):
            e = api.expect_error(req(srv, method, path, None, {} if method != "GET" else None),
                                 403, "PERMISSION_DENIED")
            check("--admin-key-file" in e["message"], "names the flag: %r" % e["message"])
        eq(req(srv, "GET", "/metrics").status, 200, "metrics open on loopback single-tenant")
    finally:
        eq(srv.stop(), 0, "exit")
    api.startup_error(["--listen", "0.0.0.0:0", "--data", os.path.join(TMP, "st")],
                      want="--admin-key-file")
    bad = os.path.join(TMP, "short.key")
    with open(bad, "w") as f:
        f.write("short\n")
    api.startup_error(["--admin-key-file", bad, "--data", os.path.join(TMP, "st")],
                      want="the admin key must be")
    api.startup_error(["--admin-key-file", os.path.join(TMP, "absent"), "--data",
                       os.path.join(TMP, "st")], want="absent")


@test
def admin_routes_and_keys():
    srv = multi()
    try:
        # no key / bad key → 401 with WWW-Authenticate; a tenant key → 403
        r = req(srv, "GET", "/v1/tenants")
        api.expect_error(r, 401, "UNAUTHENTICATED")
        check(r.headers.get("www-authenticate", "").startswith("Bearer"), "WWW-Authenticate")
        api.expect_error(req(srv, "GET", "/v1/tenants", "nope"), 401, "UNAUTHENTICATED")
        api.expect_error(req(srv, "GET", "/v1/tenants", ADMIN + "x"), 401, "UNAUTHENTICATED")
        api.expect_error(req(srv, "GET", "/metrics"), 401, "UNAUTHENTICATED")
        ka = put_tenant(srv, "alpha")
        api.expect_error(req(srv, "GET", "/v1/tenants", ka), 403, "PERMISSION_DENIED")
        api.expect_error(req(srv, "PUT", "/v1/tenants/x", ka, {}), 403, "PERMISSION_DENIED")
        api.expect_error(req(srv, "GET", "/metrics", ka), 403, "PERMISSION_DENIED")
        # the admin key does not manage machines
        api.expect_error(req(srv, "GET", "/v1/machines", ADMIN), 403, "PERMISSION_DENIED")
        # bad ids, bad quotas
        for bad in ("Alpha", "a_b", "a" * 64, "a.b"):
            r = req(srv, "PUT", "/v1/tenants/" + bad, ADMIN, {})
            check(r.status in (400, 404), "%s: %d" % (bad, r.status))
            api.expect_error(r, r.status)
        api.expect_error(req(srv, "PUT", "/v1/tenants/q", ADMIN, {"quotas": {"cpus": 1}}),
                         400, "INVALID_ARGUMENT", "quotas")
        api.expect_error(req(srv, "PUT", "/v1/tenants/q", ADMIN, {"quotas": {"machines": -1}}),
                         400, "INVALID_ARGUMENT", "quotas")
        # shown once: get/list never carry a key
        kb = put_tenant(srv, "beta", {"machines": 3, "memory": "1G"})
        check(ka != kb, "distinct keys")
        r = req(srv, "GET", "/v1/tenants/beta", ADMIN)
        eq(r.status, 200, "get tenant")
        check("api_key" not in r.json and ka not in r.body.decode() and kb not in r.body.decode(),
              "no key in GET")
        eq(r.json["quotas"]["machines"], 3, "quota")
        eq(r.json["quotas"]["memory"], 1 << 30, "quota memory")
        r = req(srv, "GET", "/v1/tenants", ADMIN)
        eq([t["id"] for t in r.json["items"]], ["alpha", "beta"], "list")
        check(kb not in r.body.decode(), "no key in the list")
        r = req(srv, "GET", "/v1/tenants?page_size=1", ADMIN)
        eq(r.json["next_page_token"], "alpha", "page token")
        r = req(srv, "GET", "/v1/tenants?page_size=1&page_token=alpha", ADMIN)
        eq([t["id"] for t in r.json["items"]], ["beta"], "second page")
        # PUT again: new quotas, same key
        r = req(srv, "PUT", "/v1/tenants/beta", ADMIN, {"quotas": {"machines": 5}})
        eq(r.status, 200, "update")
        check("api_key" not in r.json, "update shows no key")
        eq(r.json["quotas"]["machines"], 5, "updated quota")
        eq(req(srv, "GET", "/v1/machines", kb).status, 200, "key unchanged by update")
        api.expect_error(req(srv, "GET", "/v1/tenants/nobody", ADMIN), 404, "NOT_FOUND")
        # rotation keeps the id; the old key stops at once
        m = machine(srv, ka)
        r = req(srv, "POST", "/v1/tenants/alpha:rotateKey", ADMIN, {})
        eq(r.status, 200, "rotate")
        ka2 = r.json["api_key"]
        eq(KEY_RE.fullmatch(ka2).group(1), "alpha", "rotation keeps the id")
        check(ka2 != ka, "a new secret")
        api.expect_error(req(srv, "GET", "/v1/machines", ka), 401, "UNAUTHENTICATED")
        eq(req(srv, "GET", "/v1/machines/" + m, ka2).status, 200, "machine kept")
        # a key of another tenant's shape with a wrong secret
        forged = "mmk_alpha_" + "0" * 64
        api.expect_error(req(srv, "GET", "/v1/machines", forged), 401, "UNAUTHENTICATED")
        api.expect_error(req(srv, "GET", "/v1/machines", "mmk_ghost_" + "1" * 64), 401)
        api.expect_error(req(srv, "GET", "/v1/machines", None), 401)
        api.expect_error(req(srv, "GET", "/v1/machines", None, headers={"Authorization": ka2}),
                         401)  # no Bearer scheme
        # keys never stored or logged in clear
        db = open(os.path.join(srv_data(srv), "mmsim.db"), "rb").read()
        wal = os.path.join(srv_data(srv), "mmsim.db-wal")
        db += open(wal, "rb").read() if os.path.exists(wal) else b""
        for k in (ka, ka2, kb, ADMIN):
            check(k.encode() not in db and k.split("_")[-1].encode() not in db, "key in the db")
            check(k not in open(srv.log).read(), "key in the access log")
        check('"tenant":"alpha"' in open(srv.log).read(), "access log names the tenant")
        # delete: machines go, the key stops
        eq(req(srv, "DELETE", "/v1/tenants/alpha", ADMIN).status, 200, "delete tenant")
        api.expect_error(req(srv, "GET", "/v1/machines", ka2), 401)
        api.expect_error(req(srv, "GET", "/v1/tenants/alpha", ADMIN), 404)
        ka3 = put_tenant(srv, "alpha")
        eq(req(srv, "GET", "/v1/machines", ka3).json["items"], [], "a new alpha has no machines")
        api.expect_error(req(srv, "GET", "/v1/machines/" + m, ka3), 404, "NOT_FOUND")
    finally:
        eq(srv.stop(), 0, "exit")


def srv_data(srv):
    argv = srv.proc.args
    return argv[len(argv) - 1 - argv[::-1].index("--data") + 1]


@test
def tenants_persist_across_restart():
    data = os.path.join(TMP, "persist")
    srv = multi("--data", data)
    try:
        ka = put_tenant(srv, "keep", {"machines": 7})
        kb = put_tenant(srv, "other")
        m = machine(srv, ka)
        eq(req(srv, "POST", "/v1/machines/%s/processes" % m, ka, {}).status, 200, "spawn")
        d = req(srv, "GET", "/v1/machines/%s/digest" % m, ka).json
    finally:
        eq(srv.stop(), 0, "exit")
    c = sqlite3.connect(os.path.join(data, "mmsim.db"))
    eq(c.execute("SELECT version FROM schema_version").fetchone()[0], 2, "schema 2")
    eq(c.execute("SELECT tenant FROM machines").fetchall(), [("keep",)], "owner stored")
    c.close()
    srv = multi("--data", data)
    try:
        wait_until(lambda: req(srv, "GET", "/readyz").status == 200, what="recovery")
        eq(req(srv, "GET", "/v1/machines/%s/digest" % m, ka).json, d, "same digest after restart")
        api.expect_error(req(srv, "GET", "/v1/machines/" + m, kb), 404, "NOT_FOUND")
        eq(req(srv, "GET", "/v1/tenants/keep", ADMIN).json["quotas"]["machines"], 7, "quotas kept")
    finally:
        eq(srv.stop(), 0, "exit")
    # the same data single-tenant: stored tenants wait; "default" owns nothing here
    srv = api.Server("--data", data)
    try:
        wait_until(lambda: req(srv, "GET", "/readyz").status == 200, what="recovery")
        api.expect_error(req(srv, "GET", "/v1/machines/" + m), 404, "NOT_FOUND")
    finally:
        eq(srv.stop(), 0, "exit")


@test
def schema_1_migrates():
    """A version-1 database (before tenants) opens as version 2; its
    machines belong to the tenant "default"."""
    data = os.path.join(TMP, "v1")
    os.makedirs(data)
    c = sqlite3.connect(os.path.join(data, "mmsim.db"))
    c.executescript(
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE schema_version(version INTEGER NOT NULL);"
        "INSERT INTO schema_version VALUES(1);"
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "INSERT INTO meta VALUES('next_machine', 4);"
        "CREATE TABLE machines(id INTEGER PRIMARY KEY, name TEXT,"
        " config TEXT NOT NULL, created_seq INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE operations(machine INTEGER NOT NULL,"
        " seq INTEGER NOT NULL, status INTEGER NOT NULL,"
        " record TEXT NOT NULL, result TEXT NOT NULL,"
        " PRIMARY KEY(machine, seq)) WITHOUT ROWID;"
        "CREATE TABLE snapshots(machine INTEGER NOT NULL, name TEXT NOT NULL,"
        " seq INTEGER NOT NULL, format INTEGER NOT NULL, blob BLOB NOT NULL,"
        " PRIMARY KEY(machine, name));"
        "INSERT INTO machines VALUES(3, 'old', '{\"memory\":16777216}', 0);"
        "INSERT INTO operations VALUES(3, 1, 200, '{\"op\":\"spawn\"}', '{\"pid\":1}');"
        "PRAGMA application_id=1835889513;")
    c.commit()
    c.close()
    srv = api.Server("--data", data)
    try:
        wait_until(lambda: req(srv, "GET", "/readyz").status == 200, what="recovery")
        r = req(srv, "GET", "/v1/machines/m-3")
        eq((r.status, r.json["seq"], r.json["name"]), (200, 1, "old"), "the old machine")
        eq(machine(srv, None), "m-4", "ids continue")
    finally:
        eq(srv.stop(), 0, "exit")
    c = sqlite3.connect(os.path.join(data, "mmsim.db"))
    eq(c.execute("SELECT version FROM schema_version").fetchone()[0], 2, "migrated")
    eq(c.execute("SELECT id, tenant FROM machines ORDER BY id").fetchall(),
       [(3, "default"), (4, "default")], "owners")
    c.close()


@test
def tenant_commit_failure():
    """A tenant change whose commit fails answers 503 and is undone: the
    tenant is what the store holds."""
    srv = multi(env={"MMSIM_TEST_HOOKS": "1"})
    try:
        k = put_tenant(srv, "kept")
        eq(api.post("/v1/test:failCommits", {"n": 1}, server=srv).status, 200, "hook")
        api.expect_error(req(srv, "PUT", "/v1/tenants/lost", ADMIN, {}), 503, "UNAVAILABLE")
        api.expect_error(req(srv, "GET", "/v1/tenants/lost", ADMIN), 404, "NOT_FOUND")
        put_tenant(srv, "lost")  # a new key, shown
        eq(api.post("/v1/test:failCommits", {"n": 1}, server=srv).status, 200, "hook")
        api.expect_error(req(srv, "POST", "/v1/tenants/kept:rotateKey", ADMIN, {}), 503)
        eq(req(srv, "GET", "/v1/machines", k).status, 200, "the stored key still works")
    finally:
        eq(srv.stop(), 0, "exit")


@test
def isolation_matrix():
    """Tenant A with tenant B's ids on every documented route answers what
    a never-made id answers (404, same message shape) and learns nothing;
    B's machine is untouched."""
    srv = multi()
    try:
        ka, kb = put_tenant(srv, "ta"), put_tenant(srv, "tb")
        mb = machine(srv, kb)
        ma = machine(srv, ka)
        ma2 = machine(srv, ka)
        for mid in (ma, ma2, mb):  # random ids: nothing to count from
            check(re.fullmatch(r"m-[1-9][0-9]*", mid) and int(mid[2:]) > 1000000, mid)
        eq(req(srv, "DELETE", "/v1/machines/" + ma2, ka).status, 200, "delete")
        pid = req(srv, "POST", "/v1/machines/%s/processes" % mb, kb, {}).json["pid"]
        eq(req(srv, "POST", "/v1/machines/%s/kmemCaches" % mb, kb,
               {"name": "cb", "size": 64}).status, 200, "cache")
        before = req(srv, "GET", "/v1/machines/%s/digest" % mb, kb).json
        paths = req(srv, "GET", "/v1/openapi.json").json["paths"]
        ghost = "m-999999"
        n = 0
        for path, item in paths.items():
            if "{m}" not in path:
                continue
            for method in item:
                def real(mid):
                    p = (path.replace("{m}", mid).replace("{name}", "meminfo")
                         .replace("{pfn}", "1").replace("{cache}", "cb")
                         .replace("{pid}", str(pid)))
                    return p + ("?since=0" if p.endswith("/events") else "")
                body = {} if method in ("post", "put") else None
                r1 = req(srv, method.upper(), real(mb), ka, body)
                r2 = req(srv, method.upper(), real(ghost), ka, body)
                e1 = api.expect_error(r1, 404, "NOT_FOUND")
                e2 = api.expect_error(r2, 404, "NOT_FOUND")
                eq(e1["message"].replace(mb, "M"), e2["message"].replace(ghost, "M"),
                   "%s %s: same answer as a never-made id" % (method, path))
                eq(json.dumps(e1["details"]).replace(mb, "M"),
                   json.dumps(e2["details"]).replace(ghost, "M"), "details " + path)
                n += 1
        check(n > 40, "every machine route tried (%d)" % n)
        # batch naming B's machine, SSE on B's machine
        api.expect_error(req(srv, "POST", "/v1/machines/%s:batch" % mb, ka,
                             {"ops": [{"op": "spawn"}]}), 404)
        st = Stream(srv, "/v1/machines/%s/events" % mb, ka)
        eq(st.status, 404, "SSE on another tenant's machine")
        st.close()
        # listing: only one's own
        eq([x["id"] for x in req(srv, "GET", "/v1/machines", ka).json["items"]], [ma], "A's list")
        eq([x["id"] for x in req(srv, "GET", "/v1/machines", kb).json["items"]], [mb], "B's list")
        r = req(srv, "GET", "/v1/machines?page_size=1", ka)
        eq(r.json["next_page_token"], "", "no hint of B's machines in paging")
        eq(req(srv, "GET", "/v1/machines/%s/digest" % mb, kb).json, before, "B untouched")
        eq(req(srv, "GET", "/v1/machines/" + mb, kb).status, 200, "B still has it")
        tb = req(srv, "GET", "/v1/tenants/tb", ADMIN).json
        eq(tb["usage"]["machines"], 1, "usage counts B's machine")
    finally:
        eq(srv.stop(), 0, "exit")


# ---- quotas and limits -------------------------------------------------------------------

@test
def quotas_and_limits():
    srv = multi("--max-batch", "4", "--max-body", "4K", "--max-json-depth", "8",
                "--rate", "0")
    try:
        kq = put_tenant(srv, "q", {"machines": 2, "memory": "48M"})
        machine(srv, kq, {"memory": "16M"})
        r = req(srv, "POST", "/v1/machines", kq, {"config": {"memory": "64M"}})
        e = api.expect_error(r, 429, "RESOURCE_EXHAUSTED")
        eq(e["details"]["limit"], "memory", "memory quota named")
        check(r.headers.get("retry-after"), "Retry-After")
        m2 = machine(srv, kq, {"memory": "16M"})
        r = req(srv, "POST", "/v1/machines", kq, {"config": {"memory": "16M"}})
        e = api.expect_error(r, 429, "RESOURCE_EXHAUSTED")
        eq(e["details"]["limit"], "machines", "machine quota named")
        check("2 machines" in e["message"], e["message"])
        # another tenant is not affected
        ko = put_tenant(srv, "other")
        machine(srv, ko)
        # batch length, body size, JSON depth: 413 naming the limit
        r = req(srv, "POST", "/v1/machines/%s:batch" % m2, kq, {"ops": [{"op": "spawn"}] * 5})
        e = api.expect_error(r, 413, "PAYLOAD_TOO_LARGE")
        check("--max-batch" in e["message"], e["message"])
        r = req(srv, "POST", "/v1/machines/%s/processes" % m2, kq, b"{}" + b" " * 5000,
                {"Content-Type": "application/json"})
        e = api.expect_error(r, 413, "PAYLOAD_TOO_LARGE")
        eq(e["details"].get("max_body"), 4096, "max_body named")
        r = req(srv, "POST", "/v1/machines/%s/processes" % m2, kq,
                b'{"name":' + b"[" * 9 + b"]" * 9 + b"}", {"Content-Type": "application/json"})
        e = api.expect_error(r, 413, "PAYLOAD_TOO_LARGE")
        eq(e["details"]["limit"], "max_json_depth", "depth named")
    finally:
        eq(srv.stop(), 0, "exit")


@test
def rate_limit_token_bucket():
    srv = multi("--rate", "1000", "--rate-burst", "1000")
    try:
        kr = put_tenant(srv, "slow", {"requests_per_second": 1, "burst": 3})
        kf = put_tenant(srv, "fast")
        got = [req(srv, "GET", "/v1/machines", kr).status for _ in range(6)]
        eq(got[:3], [200, 200, 200], "the burst passes")
        check(429 in got[3:], "then 429: %r" % got)
        r = req(srv, "GET", "/v1/machines", kr)
        e = api.expect_error(r, 429, "RESOURCE_EXHAUSTED")
        eq(e["details"]["limit"], "requests_per_second", "rate limit named")
        check(int(r.headers["retry-after"]) >= 1, "Retry-After seconds")
        eq(req(srv, "GET", "/v1/machines", kf).status, 200, "other tenants unaffected")
        wait_until(lambda: req(srv, "GET", "/v1/machines", kr).status == 200, timeout=5,
                   what="a token after Retry-After")
        eq(req(srv, "GET", "/healthz").status, 200, "health is not rate limited")
    finally:
        eq(srv.stop(), 0, "exit")


def connect_from(srv, ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((ip, 0))
    s.settimeout(TIMEOUT)
    s.connect((srv.host, srv.port))
    return s


def closed_by_server(s, timeout=None):
    """True once the server closed s (EOF or reset) before the deadline."""
    deadline = time.monotonic() + (TIMEOUT if timeout is None else timeout)
    while True:
        r, _, _ = select.select([s], [], [], 0.05 if timeout != 0 else 0)
        if r:
            try:
                if s.recv(4096) == b"":
                    return True
            except OSError:
                return True
        if time.monotonic() >= deadline:
            return False


@test
def connection_limits():
    srv = api.Server("--max-connections", "20", "--max-connections-per-ip", "8")
    try:
        # per IP: the 9th from one address is closed at once, another address is fine
        mine = [connect_from(srv, "127.0.0.5") for _ in range(8)]
        extra = connect_from(srv, "127.0.0.5")
        check(closed_by_server(extra), "9th connection from one IP closed")
        other = connect_from(srv, "127.0.0.6")
        other.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        eq(api.raw_read_response(other).status, 200, "another IP is served")
        # total: past 20 open connections the next ones are shut
        more = [connect_from(srv, "127.0.1.%d" % i) for i in range(1, 14)]
        wait_until(lambda: sum(closed_by_server(s, 0.01) for s in more) >= 1,
                   what="connections over --max-connections closed")
        for s in mine + more + [extra, other]:
            s.close()

        def served():
            try:
                return api.get("/healthz", server=srv).status == 200
            except OSError:  # the server has not seen every close yet
                return False
        wait_until(served, what="service once the connections are closed")
        text = req(srv, "GET", "/metrics").body.decode()
        check(metric(text, "mmsim_http_connections_refused_total") >= 1, "refusals counted")
    finally:
        eq(srv.stop(), 0, "exit")
    srv = api.Server("--behind-proxy", "--max-connections-per-ip", "2")
    try:
        conns = [connect_from(srv, "127.0.0.7") for _ in range(6)]
        for s in conns:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            eq(api.raw_read_response(s).status, 200, "behind a proxy: no per-IP limit")
            s.close()
    finally:
        eq(srv.stop(), 0, "exit")


@test
def slowloris_header_timeout():
    """Hundreds of connections from 127.0.0.2 and up send headers a byte at
    a time; they are cut at --header-timeout while a client on 127.0.0.1
    keeps being served."""
    srv = api.Server("--header-timeout", "2", "--max-connections", "1000")
    stop = threading.Event()
    slow = []
    try:
        for i in range(300):
            slow.append(connect_from(srv, "127.0.%d.%d" % (i // 200, 2 + i % 200)))

        def drip():
            msg = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
            k = 0
            while not stop.is_set() and k < len(msg):
                for s in slow:
                    try:
                        s.send(msg[k:k + 1])
                    except OSError:
                        pass
                k += 1
                stop.wait(0.1)
        t = threading.Thread(target=drip, daemon=True)
        t.start()
        lat = []
        c = srv.conn()
        t_end = time.monotonic() + 3
        while time.monotonic() < t_end or len(lat) < 100:
            t0 = time.monotonic()
            r = api.request("GET", "/healthz", conn=c, server=srv)
            lat.append(time.monotonic() - t0)
            eq(r.status, 200, "the normal client is served")
            if len(lat) > 3000:
                break
        c.close()
        wait_until(lambda: all(closed_by_server(s, 0) for s in slow), timeout=TIMEOUT,
                   what="every slow connection cut by the header deadline")
        lat.sort()
        print("     slowloris: %d requests beside 300 slow connections, p50 %.2f ms, "
              "p99 %.2f ms" % (len(lat), lat[len(lat) // 2] * 1e3, lat[len(lat) * 99 // 100] * 1e3))
        text = req(srv, "GET", "/metrics").body.decode()
        check(metric(text, "mmsim_http_header_timeouts_total") >= 300, "timeouts counted")
    finally:
        stop.set()
        for s in slow:
            s.close()
        eq(srv.stop(), 0, "exit")


# ---- events ------------------------------------------------------------------------------

@test
def events_live_resume_filter():
    srv = multi("--sse-heartbeat", "1")
    try:
        k = put_tenant(srv, "ev")
        m = machine(srv, k)
        base = "/v1/machines/%s/events" % m
        st = Stream(srv, base, k)
        eq(st.status, 200, "stream status")
        eq(st.headers.get("content-type"), "text/event-stream", "content type")
        first = st.next()
        eq(first.get("retry"), "2000", "first block: retry")
        pid = req(srv, "POST", "/v1/machines/%s/processes" % m, k, {}).json["pid"]
        req(srv, "POST", "/v1/machines/%s/processes/%d:mmap" % (m, pid), k,
            {"length": "64K", "prot": "rw-", "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]})
        r = req(srv, "POST", "/v1/machines/%s/processes/%d:touch" % (m, pid), k,
                {"addr": "0x7ffff7fef000", "length": "8K", "access": "write"})
        evs = st.events(3)
        eq([e["event"] for e in evs], ["op"] * 3, "op events")
        eq([e["json"]["op"] for e in evs], ["spawn", "mmap", "touch"], "op names in order")
        eq([int(e["id"]) for e in evs], [1, 2, 3], "ids")
        eq([e["json"]["seq"] for e in evs], [1, 2, 3], "seq")
        if r.status == 200:
            eq(evs[2]["json"]["pgfault"], r.json["minor"] + r.json["major"], "fault counts")
        bad = req(srv, "POST", "/v1/machines/%s/kernel:freePages" % m, k, {"pfn": 1, "order": 0})
        eq(bad.status, 422, "an errno result")
        ev = st.events(1)[0]
        eq((ev["json"]["ok"], ev["json"]["errno"]), (False, bad.json["error"]["code"]), "errno event")
        # heartbeat comments while idle
        wait_until(lambda: "comment" in (st.next(0.2) or {}), what="a heartbeat comment")
        st.close()
        # resume with Last-Event-ID: the stream continues after it
        st = Stream(srv, base, k, {"Last-Event-ID": "2"})
        evs = st.events(2)
        eq([int(e["id"]) for e in evs], [3, 4], "resumed after id 2")
        st.close()
        # type filter
        api.expect_error(req(srv, "GET", base + "?types=op,bogus", k), 400, "INVALID_ARGUMENT",
                         "types")
        st = Stream(srv, base + "?types=oom_kill", k, {"Last-Event-ID": "0"})
        req(srv, "POST", "/v1/machines/%s/processes" % m, k, {})
        blk = st.next(2.5)
        check(blk is not None and "event" not in blk, "only heartbeats pass ?types=oom_kill: %r" % blk)
        st.close()
        st = Stream(srv, base + "?types=op", k, {"Last-Event-ID": "4"})
        eq(st.events(1)[0]["json"]["op"], "spawn", "?types=op passes ops")
        # ?since= as JSON for scripts
        r = req(srv, "GET", base + "?since=0", k)
        eq([e["id"] for e in r.json["items"]], [1, 2, 3, 4, 5], "since=0")
        eq(r.json["last_id"], 5, "last_id")
        r = req(srv, "GET", base + "?since=3&limit=1", k)
        eq([e["id"] for e in r.json["items"]], [4], "since=3 limit=1")
        eq(req(srv, "GET", base + "?since=5", k).json["items"], [], "nothing newer")
        api.expect_error(req(srv, "GET", base + "?since=x", k), 400, "INVALID_ARGUMENT", "since")
        # deleting the machine ends its streams with a reason
        eq(req(srv, "DELETE", "/v1/machines/" + m, k).status, 200, "delete")
        blk = st.next()
        while blk is not None and blk.get("event") != "end":
            blk = st.next()
        check(blk and "deleted" in blk["json"]["reason"], "end event: %r" % blk)
        check(st.next(2) is None and st.ended, "the stream ends")
        st.close()
    finally:
        eq(srv.stop(), 0, "exit")


@test
def events_ring_resume_gap():
    srv = api.Server()
    try:
        m = machine(srv, None, {"memory": "16M", "event_ring": 16})
        for _ in range(20):
            eq(req(srv, "POST", "/v1/machines/%s/processes" % m, None, {}).status, 200, "spawn")
        r = req(srv, "GET", "/v1/machines/%s/events?since=0" % m)
        eq((r.json["oldest_id"], r.json["lost"]), (5, 4), "the ring kept 16")
        eq(r.json["items"][0]["id"], 5, "oldest first")
        st = Stream(srv, "/v1/machines/%s/events" % m, None, {"Last-Event-ID": "1"})
        st.next()  # retry
        gap = st.next()
        eq(gap.get("event"), "gap", "a gap event")
        eq(gap["json"], {"lost": 3, "oldest_id": 5}, "gap details")
        eq(int(st.events(1)[0]["id"]), 5, "then the oldest held")
        st.close()
    finally:
        eq(srv.stop(), 0, "exit")


@test
def events_slow_reader_dropped():
    """A reader that stops reading is dropped with a final event; another
    reader of the same machine gets every event meanwhile."""
    srv = api.Server("--sse-max-lag", "1000")
    try:
        m = machine(srv, None, {"memory": "16M", "event_ring": 65536})
        base = "/v1/machines/%s/events" % m
        slow = Stream(srv, base, None, rcvbuf=4096)
        good = Stream(srv, base, None)
        got = []
        done = threading.Event()

        def consume():
            while not done.is_set():
                ev = good.next(0.2)
                if ev and ev.get("event") == "op":
                    got.append(int(ev["id"]))
        t = threading.Thread(target=consume, daemon=True)
        t.start()
        sent = 0
        ops = [{"op": "allocPages", "order": 0, "gfp": ["GFP_KERNEL"]}] * 50

        def dropped():
            return metric(api.get("/metrics", server=srv).body.decode(),
                          "mmsim_sse_dropped_total") >= 1
        deadline = time.monotonic() + 60
        while not dropped():
            check(time.monotonic() < deadline, "the slow reader was never dropped")
            r = api.post("/v1/machines/%s:batch" % m, {"ops": ops}, server=srv)
            eq(r.status, 200, "batch")
            sent += 50
            if sent % 500 == 0:  # let the good reader keep up
                wait_until(lambda: len(got) >= sent - 200, what="the good reader keeping up")
        for _ in range(4):
            eq(api.post("/v1/machines/%s:batch" % m, {"ops": ops}, server=srv).status, 200, "more")
            sent += 50
        wait_until(lambda: len(got) == sent, what="every event for the good reader (%d)" % sent)
        eq(got, list(range(1, sent + 1)), "in order, none missing")
        # the slow reader, reading at last, finds the reason and the end
        blk = slow.next()
        while blk is not None and blk.get("event") != "dropped":
            blk = slow.next()
        check(blk is not None and "too slow" in blk["json"]["reason"], "dropped event: %r" % blk)
        check("--sse-max-lag" in blk["json"]["reason"], "names the limit")
        check(slow.next(5) is None and (slow.ended or slow.closed), "then the stream ends")
        done.set()
        t.join(TIMEOUT)
        good.close()
        slow.close()
        api.healthy(srv)
    finally:
        eq(srv.stop(), 0, "exit")


@test
def events_end_on_shutdown():
    srv = api.Server()
    m = machine(srv, None)
    st = Stream(srv, "/v1/machines/%s/events" % m, None)
    st.next()
    srv.proc.send_signal(15)
    blk = st.next()
    eq(blk.get("event"), "end", "final event on shutdown")
    check("shutting down" in blk["json"]["reason"], blk["json"])
    eq(srv.stop(None), 0, "exit 0 with a stream open")
    st.close()


# ---- metrics -----------------------------------------------------------------------------

METRIC_LINE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"'
                         r'(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)\})? '
                         r'([-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[-+]?Inf|NaN)')


def parse_metrics(text):
    """Checks the Prometheus text format 0.0.4 strictly enough to fail on a
    bad line: HELP/TYPE before samples, one TYPE per family, valid names,
    labels and values, histogram buckets cumulative with +Inf = _count."""
    types, samples = {}, {}
    check(text.endswith("\n"), "ends with a newline")
    for ln in text.split("\n")[:-1]:
        if ln.startswith("# HELP "):
            continue
        if ln.startswith("# TYPE "):
            _, _, name, typ = ln.split(" ", 3)
            check(name not in types, "one TYPE for " + name)
            check(typ in ("counter", "gauge", "histogram", "summary", "untyped"), typ)
            types[name] = typ
            continue
        check(not ln.startswith("#") and ln, "stray line %r" % ln)
        mt = METRIC_LINE.fullmatch(ln)
        check(mt, "not a sample line: %r" % ln)
        name = mt.group(1)
        fam = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        check(fam in types, "sample before its TYPE: %r" % ln)
        if types[fam] == "counter":
            check(name.endswith("_total"), "counter named _total: " + name)
        key = (name, mt.group(3) or "")
        check(key not in samples, "duplicate sample " + ln)
        samples[key] = float(mt.group(7))
    for (name, labels), v in samples.items():
        if name.endswith("_bucket"):
            base = name[:-7]
            rest = re.sub(r',?le="[^"]*"', "", labels)
            buckets = sorted((float(re.search(r'le="([^"]*)"', l).group(1).replace("+Inf", "inf")), vv)
                             for (n, l), vv in samples.items()
                             if n == name and re.sub(r',?le="[^"]*"', "", l) == rest)
            vals = [b[1] for b in buckets]
            check(vals == sorted(vals), "cumulative buckets for " + base)
            eq(buckets[-1][1], samples[(base + "_count", rest)], "+Inf = _count for " + base)
    return samples


def metric(text, name, labels=""):
    return parse_metrics(text).get((name, labels), 0)


@test
def metrics_prometheus_text():
    srv = multi()
    try:
        k = put_tenant(srv, "mt")
        t0 = req(srv, "GET", "/metrics", ADMIN)
        eq(t0.status, 200, "metrics")
        check(t0.headers["content-type"].startswith("text/plain; version=0.0.4"), "content type")
        s0 = parse_metrics(t0.body.decode())
        m = machine(srv, k)
        for _ in range(3):
            req(srv, "POST", "/v1/machines/%s/kernel:allocPages" % m, k,
                {"order": 1, "gfp": ["GFP_KERNEL"]})
        req(srv, "GET", "/v1/machines/nope", k)
        st = Stream(srv, "/v1/machines/%s/events" % m, k)
        st.next()
        s1 = parse_metrics(req(srv, "GET", "/metrics", ADMIN).body.decode())
        route = 'method="POST",route="/v1/machines/{m}/kernel:allocPages",status="200"'
        eq(s1[("mmsim_http_requests_total", route)], 3, "requests by route and status")
        eq(s1[("mmsim_http_requests_total", 'method="GET",route="/v1/machines/{m}",status="404"')],
           1, "404s")
        eq(s1[("mmsim_http_request_duration_seconds_count",
                'method="POST",route="/v1/machines/{m}/kernel:allocPages"')], 3, "latency histogram")
        eq(s1[("mmsim_machines", "")] - s0[("mmsim_machines", "")], 1, "machines gauge moves")
        eq(s1[("mmsim_tenants", "")], 1, "tenants")
        eq(s1[("mmsim_sse_subscribers", "")], 1, "one stream")
        eq(s1[("mmsim_simulated_memory_bytes", "")], 16 << 20, "simulated memory")
        eq(s1[("mmsim_engine_vm_events", 'event="pgalloc"')] -
           s0.get(("mmsim_engine_vm_events", 'event="pgalloc"'), 0), 6, "engine pgalloc")
        check(s1[("mmsim_journal_commits_total", "")] > s0[("mmsim_journal_commits_total", "")],
              "commits counted")
        check(s1[("mmsim_journal_commit_duration_seconds_count", "")] >= 1, "commit latency")
        check(s1[("mmsim_auth_failures_total", "")] == 0, "no auth failures yet")
        req(srv, "GET", "/v1/machines", "bad")
        st.close()
        s2 = parse_metrics(req(srv, "GET", "/metrics", ADMIN).body.decode())
        eq(s2[("mmsim_auth_failures_total", "")], 1, "auth failure counted")
        eq(s2[("mmsim_sse_streams_total", "")], 1, "streams counted")
        # promtool, when the host has it
        tool = shutil.which("promtool")
        if tool:
            import subprocess
            p = subprocess.run([tool, "check", "metrics"], input=req(srv, "GET", "/metrics", ADMIN).body,
                               capture_output=True, timeout=TIMEOUT)
            eq(p.returncode, 0, "promtool check metrics: %r" % p.stdout[-500:])
    finally:
        eq(srv.stop(), 0, "exit")


# ---- runner ------------------------------------------------------------------------------

def main():
    t0 = time.monotonic()
    passed, failed = testkit.run_tests(TESTS, ONLY)
    return testkit.finish("tenants", t0, TMP, passed, failed)


if __name__ == "__main__":
    sys.exit(main())
