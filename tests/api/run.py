#!/usr/bin/env python3
"""tests/api/run.py — the HTTP API suite for mmsimd (SPEC §4, §7).

Starts a real server (`build/mmsimd --listen 127.0.0.1:0`), reads its
`listening on http://HOST:PORT` line, and runs named tests against it:
every route's happy path, every error class (400 404 405 413 415 422), a
malformed-input set after each item of which the server must still be
healthy, 64 concurrent clients, the README tour, start-up flags and a
SIGTERM shutdown that must exit 0.  Standard library only.  Nothing sleeps
to wait: every wait polls a condition with a deadline.

    python3 tests/api/run.py [BINARY] [substring ...]

Ends with exactly one line "N passed, N failed"; exit status 1 on failure.
"""
import base64
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testkit  # noqa: E402
from testkit import Fail, check, eq, read_line, wait_until  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "mmsimd")
ONLY = sys.argv[2:]
TIMEOUT = 15.0  # seconds for any single wait
testkit.TIMEOUT = TIMEOUT
TMP = tempfile.mkdtemp(prefix="mmsim-api-")


# ---- the server ---------------------------------------------------------------

DATA_DIRS = iter(range(1, 1 << 30))


class Server:
    def __init__(self, *args, env=None):
        self.log = os.path.join(TMP, "access-%d.log" % id(self))
        full_env = dict(os.environ)
        for k in list(full_env):
            if k.startswith("MMSIM_"):
                del full_env[k]
        full_env.update(env or {})
        # a fresh data directory per server (the store persists machines);
        # a later --data in args wins
        argv = [BIN, "--listen", "127.0.0.1:0", "--data", os.path.join(TMP, "data-%d" % next(DATA_DIRS)),
                "--log", self.log] + list(args)
        # stderr to a file: a full pipe must never block the server
        self.errpath = os.path.join(TMP, "stderr-%d.txt" % id(self))
        self.proc, self.host, self.port = testkit.start_server(argv, self.errpath, full_env)
        self.url = "http://%s:%d" % (self.host, self.port)

    def conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)

    def stop(self, sig=signal.SIGTERM):
        """Sends sig (None: none, the caller already did) and waits."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        deadline = time.monotonic() + TIMEOUT
        while self.proc.poll() is None and time.monotonic() < deadline:
            select.select([], [], [], 0.01)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            raise Fail("server did not stop within %ss" % TIMEOUT)
        return self.proc.returncode


S = None  # the shared server


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def error(self):
        return (self.json or {}).get("error") or {}


def request(method, path, body=None, headers=None, server=None, conn=None):
    """One request; body may be a dict (sent as JSON), str or bytes."""
    srv = server or S
    h = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    c = conn or srv.conn()
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        return Resp(r.status, hdrs, data)
    finally:
        if conn is None:
            c.close()


def get(path, **kw):
    return request("GET", path, **kw)


def post(path, body=None, **kw):
    return request("POST", path, body, **kw)


def expect_error(r, status, code=None, field=None):
    eq(r.status, status, "status of %r" % r.body[:200])
    e = r.error()
    check(set(e) == {"code", "status", "message", "details"}, "error shape: %r" % r.body[:300])
    eq(e["status"], status, "error.status")
    if code:
        eq(e["code"], code, "error.code")
    check(isinstance(e["message"], str) and e["message"], "error.message")
    check(isinstance(e["details"], dict), "error.details")
    if field is not None:
        eq(e["details"].get("field"), field, "details.field (%s)" % e["message"])
    eq(r.headers.get("content-type"), "application/json", "error content-type")
    return e


def healthy(server=None):
    r = get("/healthz", server=server)
    eq(r.status, 200, "healthz after the previous request")
    eq(r.json, {"status": "ok"}, "healthz body")


def new_machine(config=None, name=None, server=None):
    body = {}
    if config is not None:
        body["config"] = config
    if name is not None:
        body["name"] = name
    r = post("/v1/machines", body, server=server)
    eq(r.status, 201, "create machine: %r" % r.body[:300])
    return r.json["id"]


def alloc(m, order=0, gfp=("GFP_KERNEL",), **extra):
    body = {"order": order, "gfp": list(gfp)}
    body.update(extra)
    return post("/v1/machines/%s/kernel:allocPages" % m, body)


def free(m, pfn, order=0, **extra):
    body = {"pfn": pfn, "order": order}
    body.update(extra)
    return post("/v1/machines/%s/kernel:freePages" % m, body)


def digest(m, server=None):
    r = get("/v1/machines/%s/digest" % m, server=server)
    eq(r.status, 200, "digest")
    return r.json


# ---- raw sockets (chunked bodies, early answers) -----------------------------------

def raw_connect(server=None):
    srv = server or S
    s = socket.create_connection((srv.host, srv.port), timeout=TIMEOUT)
    return s


_leftover = {}  # bytes read past a response, per socket (pipelining)


def raw_read_response(s):
    """Reads one HTTP/1.1 response (Content-Length framed) from socket s."""
    buf = _leftover.pop(s, b"")
    deadline = time.monotonic() + TIMEOUT
    while b"\r\n\r\n" not in buf:
        check(time.monotonic() < deadline, "response headers timed out")
        chunk = s.recv(65536)
        if not chunk:
            raise Fail("connection closed before a response: %r" % buf[:200])
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, v = ln.split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0"))
    while len(rest) < n:
        check(time.monotonic() < deadline, "response body timed out")
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    if len(rest) > n:
        _leftover[s] = rest[n:]
    return Resp(status, hdrs, rest[:n])


# ---- tests ------------------------------------------------------------------------

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def health_and_headers():
    for path, want in (("/healthz", {"status": "ok"}), ("/readyz", {"status": "ready"})):
        r = get(path)
        eq(r.status, 200, path)
        eq(r.json, want, path)
        eq(r.headers.get("content-type"), "application/json", "content-type")
        eq(int(r.headers.get("content-length", -1)), len(r.body), "content-length")
        check(r.headers.get("x-request-id"), "X-Request-Id present")
    a, b = get("/healthz"), get("/healthz")
    check(a.headers["x-request-id"] != b.headers["x-request-id"], "request ids differ")
    r = get("/healthz", headers={"X-Request-Id": "trace-42.a_b"})
    eq(r.headers.get("x-request-id"), "trace-42.a_b", "a sane client request id is echoed")
    r = get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    check(r.headers.get("x-request-id") not in (None, "bad id with spaces"), "bad id replaced")
    r = request("HEAD", "/healthz")
    eq(r.status, 200, "HEAD")
    eq(r.body, b"", "HEAD has no body")


@test
def keep_alive():
    c = S.conn()
    try:
        for i in range(20):
            r = request("GET", "/healthz", conn=c)
            eq(r.status, 200, "request %d on one connection" % i)
            check(r.headers.get("connection", "").lower() != "close", "kept alive")
    finally:
        c.close()


@test
def machines_crud():
    r = post("/v1/machines", {"name": "crud", "config": {"memory": "64M", "cpus": 4, "seed": 7}})
    eq(r.status, 201, "create")
    m = r.json
    check(re.fullmatch(r"m-[1-9][0-9]*", m["id"]), "id form %r" % m["id"])
    eq(r.headers.get("location"), "/v1/machines/" + m["id"], "Location")
    eq(m["name"], "crud", "name")
    eq(m["seq"], 0, "seq")
    eq(m["config"]["memory"], 64 << 20, "config.memory in bytes")
    eq(m["config"]["cpus"], 4, "config.cpus")
    eq(m["config"]["seed"], 7, "config.seed")
    r = get("/v1/machines/" + m["id"])
    eq(r.status, 200, "get")
    eq(r.json, m, "get = create answer")
    # the config answer decodes to the same machine
    r = post("/v1/machines", {"config": m["config"]})
    eq(r.status, 201, "create from an encoded config")
    eq(r.json["config"], m["config"], "config round trip")
    eq(r.json["name"], None, "name is null when not given")
    other = r.json["id"]
    eq(digest(other)["digest"], digest(m["id"])["digest"], "same config, same digest")
    r = request("DELETE", "/v1/machines/" + m["id"])
    eq(r.status, 200, "delete")
    eq(r.json, {}, "delete body")
    expect_error(get("/v1/machines/" + m["id"]), 404, "NOT_FOUND")
    expect_error(request("DELETE", "/v1/machines/" + m["id"]), 404, "NOT_FOUND")
    request("DELETE", "/v1/machines/" + other)
    # explicit default distances are the same machine as implicit ones
    a = new_machine({"memory": "64M", "nodes": 2})
    b = new_machine({"memory": "64M", "nodes": 2, "distance": [[10, 20], [20, 10]]})
    eq(digest(a), digest(b), "default distances, same digest")
    expect_error(post("/v1/machines", {"config": {"memory": "64M", "nodes": 2,
                                                  "distance": [[10, 20], [30, 10]]}}),
                 400, "INVALID_ARGUMENT", "config")
    for x in (a, b):
        request("DELETE", "/v1/machines/" + x)
    # an empty body is {} (all defaults), with or without a content type
    for hdrs in ({}, {"Content-Type": "application/json"}):
        r = post("/v1/machines", b"", headers=hdrs)
        eq(r.status, 201, "empty body → defaults")
        eq(r.json["config"]["memory"], 256 << 20, "default memory")
        request("DELETE", "/v1/machines/" + r.json["id"])


@test
def machines_list_paging():
    ids = [new_machine({"memory": "16M"}, name="page%d" % i) for i in range(5)]
    seen, token, pages = [], None, 0
    while True:
        q = "/v1/machines?page_size=2" + ("&page_token=" + token if token else "")
        r = get(q)
        eq(r.status, 200, "list")
        check(set(r.json) == {"items", "next_page_token"}, "list envelope")
        check(len(r.json["items"]) <= 2, "page_size respected")
        seen += [it["id"] for it in r.json["items"]]
        token = r.json["next_page_token"]
        pages += 1
        check(pages < 100, "paging terminates")
        if not token:
            break
    for i in ids:
        check(i in seen, "%s listed" % i)
    eq(len(seen), len(set(seen)), "no machine listed twice")
    nums = [int(i[2:]) for i in seen]
    eq(nums, sorted(nums), "listed in id order")
    r = get("/v1/machines")
    check(len(r.json["items"]) <= 100, "default page_size 100")
    for bad in ("page_size=0", "page_size=1001", "page_size=abc", "page_size=-1",
                "page_token=zzz", "page_token=m-0", "bogus=1"):
        expect_error(get("/v1/machines?" + bad), 400, "INVALID_ARGUMENT")
    eq(get("/v1/machines?page_size=1000").status, 200, "page_size 1000 allowed")
    for i in ids:
        eq(request("DELETE", "/v1/machines/" + i).status, 200, "delete " + i)


@test
def machine_create_errors():
    cases = [
        ({"bogus": 1}, "bogus"),
        ({"config": {"bogus": 1}}, "config"),
        ({"config": {"memory": "12Q"}}, "config.memory"),
        ({"config": {"memory": -1}}, "config.memory"),
        ({"config": {"memory": "-1K"}}, "config.memory"),
        ({"config": {"cpus": 0}}, "config.cpus"),
        ({"config": {"cpus": "2"}}, "config.cpus"),
        ({"config": {"arch": "sparc"}}, "config.arch"),
        ({"config": {"memory": "1T"}}, "config"),
        ({"config": 5}, "config"),
        ({"name": 5}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 64}, "name"),
        ({"name": "tab\there"}, "name"),
    ]
    for body, field in cases:
        expect_error(post("/v1/machines", body), 400, "INVALID_ARGUMENT", field)
    healthy()


@test
def alloc_free_ops():
    m = new_machine({"memory": "64M"})
    d0 = digest(m)
    eq(d0["seq"], 0, "fresh seq")
    r = alloc(m, 3)
    eq(r.status, 200, "allocPages: %r" % r.body)
    check(set(r.json) == {"pfn", "order", "zone", "node"}, "allocPages result keys")
    eq(r.json["order"], 3, "order")
    eq(r.json["pfn"] % 8, 0, "order-3 block aligned")
    check(r.json["zone"] in ("DMA", "DMA32", "Normal"), "zone name")
    eq(r.json["node"], 0, "node")
    pfn = r.json["pfn"]
    d1 = digest(m)
    eq(d1["seq"], 1, "seq after one op")
    check(d1["digest"] != d0["digest"], "allocation changes the digest")
    f = get("/v1/machines/%s/frames/%d" % (m, pfn)).json
    check("kalloc" in f["flags"], "frame carries kalloc: %r" % f)
    eq(f["order"], 3, "frame order")
    eq(f["refcount"], 1, "refcount")
    r = free(m, pfn, 3)
    eq(r.status, 200, "freePages")
    eq(r.json, {}, "freePages result")
    eq(digest(m)["seq"], 2, "seq after two ops")
    # optional cpu / node, and the "op" field when it names the route's op
    r = alloc(m, 0, cpu=1, node=0, op="allocPages")
    eq(r.status, 200, "allocPages with cpu, node and op")
    eq(free(m, r.json["pfn"], 0, cpu=1).status, 200, "free on cpu 1")
    ok = post("/v1/machines/%s:check" % m)
    eq(ok.status, 200, "check")
    eq(ok.json["ok"], True, "checker clean: %r" % ok.json)
    eq(ok.json["violations"], [], "no violations")
    # form-encoded JSON (what curl -d sends) is accepted
    r = post("/v1/machines/%s/kernel:allocPages" % m, '{"order":0,"gfp":["GFP_ATOMIC"]}',
             headers={"Content-Type": "application/x-www-form-urlencoded"})
    eq(r.status, 200, "form-encoded JSON body")
    r = post("/v1/machines/%s/kernel:allocPages" % m, '{"order":0,"gfp":["GFP_ATOMIC"]}',
             headers={"Content-Type": "application/json; charset=utf-8"})
    eq(r.status, 200, "application/json with a charset")
    request("DELETE", "/v1/machines/" + m)


@test
def errno_422():
    m = new_machine({"memory": "16M"})
    seq = digest(m)["seq"]
    # a block nobody allocated: EINVAL, state unchanged, but a journaled result
    before = digest(m)["digest"]
    e = expect_error(free(m, 2048, 0), 422, "EINVAL")
    eq(e["details"].get("op"), "freePages", "details.op")
    eq(digest(m)["digest"], before, "a failed free changes nothing")
    eq(digest(m)["seq"], seq + 1, "a 422 advances seq")
    # exhaust memory with order-10 blocks → ENOMEM
    got = None
    for _ in range(64):
        r = alloc(m, 10, gfp=["GFP_KERNEL", "__GFP_NOWARN"])
        if r.status != 200:
            got = r
            break
    check(got is not None, "16 MiB ran out of order-10 blocks")
    e = expect_error(got, 422, "ENOMEM")
    eq(e["details"], {"op": "allocPages"}, "details")
    check("allocPages" in e["message"], "message names the op")
    # bad flag combination is an errno too
    expect_error(alloc(m, 0, gfp=["GFP_DMA", "GFP_DMA32"]), 422, "EINVAL")
    request("DELETE", "/v1/machines/" + m)


@test
def op_invalid_400():
    m = new_machine({"memory": "32M", "cpus": 2})
    before = digest(m)
    path = "/v1/machines/%s/kernel:allocPages" % m
    cases = [
        ({"gfp": ["GFP_KERNEL"]}, "order"),
        ({"order": 0}, "gfp"),
        ({"order": 11, "gfp": []}, "order"),
        ({"order": -1, "gfp": []}, "order"),
        ({"order": "3", "gfp": []}, "order"),
        ({"order": 1.5, "gfp": []}, "order"),
        ({"order": None, "gfp": []}, "order"),
        ({"order": 0, "gfp": "GFP_KERNEL"}, "gfp"),
        ({"order": 0, "gfp": ["GFP_BOGUS"]}, "gfp"),
        ({"order": 0, "gfp": [1]}, "gfp"),
        ({"order": 0, "gfp": [], "cpu": 2}, "cpu"),
        ({"order": 0, "gfp": [], "cpu": -1}, "cpu"),
        ({"order": 0, "gfp": [], "node": 1}, "node"),
        ({"order": 0, "gfp": [], "colour": "red"}, "colour"),
        ({"order": 0, "gfp": [], "op": "freePages"}, "op"),
    ]
    for body, field in cases:
        expect_error(post(path, body), 400, "INVALID_ARGUMENT", field)
    for raw in ('{"order": 99999999999999999999999, "gfp": []}',
                '{"order": 1e400, "gfp": []}', '{"order": 0, "gfp": [], "order": 1}'):
        expect_error(post(path, raw), 400, "INVALID_ARGUMENT")
    fpath = "/v1/machines/%s/kernel:freePages" % m
    expect_error(post(fpath, {"pfn": 1 << 40, "order": 0}), 400, "INVALID_ARGUMENT", "pfn")
    expect_error(post(fpath, {"pfn": 10 ** 7, "order": 0}), 400, "INVALID_ARGUMENT", "pfn")
    expect_error(post(fpath, {"pfn": "0x10", "order": 0}), 400, "INVALID_ARGUMENT", "pfn")
    expect_error(post(fpath, {"order": 0}), 400, "INVALID_ARGUMENT", "pfn")
    eq(digest(m), before, "400s change neither state nor seq")
    expect_error(post("/v1/machines/m-999999/kernel:allocPages", {"order": 0, "gfp": []}),
                 404, "NOT_FOUND")
    request("DELETE", "/v1/machines/" + m)


@test
def batch():
    m = new_machine({"memory": "32M"})
    ops = [{"op": "allocPages", "order": 2, "gfp": ["GFP_KERNEL"]},
           {"op": "allocPages", "order": 0, "gfp": ["GFP_KERNEL"], "cpu": 1}]
    r = post("/v1/machines/%s:batch" % m, {"ops": ops})
    eq(r.status, 200, "batch")
    res = r.json["results"]
    eq(len(res), 2, "two results")
    check(all(x["ok"] for x in res), "all ok: %r" % res)
    p2, p0 = res[0]["result"]["pfn"], res[1]["result"]["pfn"]
    eq(digest(m)["seq"], 2, "seq counts batch records")
    # the same records one by one on a twin give the same state
    twin = new_machine({"memory": "32M"})
    for op in ops:
        body = dict(op)
        del body["op"]
        eq(post("/v1/machines/%s/kernel:allocPages" % twin, body).status, 200, "twin op")
    eq(digest(twin), digest(m), "batch = the same ops one by one")
    # stop_on_error default true: stops at the first error (422 counts)
    ops = [{"op": "freePages", "pfn": p2, "order": 2},
           {"op": "freePages", "pfn": p2, "order": 2},
           {"op": "freePages", "pfn": p0, "order": 0, "cpu": 1}]
    r = post("/v1/machines/%s:batch" % m, {"ops": ops})
    res = r.json["results"]
    eq(len(res), 2, "stopped after the error")
    eq(res[0], {"ok": True, "result": {}}, "first ok")
    eq(res[1]["ok"], False, "second failed")
    eq(res[1]["error"]["code"], "EINVAL", "errno code")
    eq(res[1]["error"]["status"], 422, "errno status")
    eq(res[1]["error"]["details"]["index"], 1, "details.index")
    eq(digest(m)["seq"], 4, "422 in a batch advances seq")
    # stop_on_error false goes on; unknown ops and bad records are 400 entries
    ops = [{"op": "noSuchOp"}, 5, {"op": "freePages", "pfn": p0, "order": 0, "cpu": 1},
           {"op": "allocPages", "order": 0, "gfp": [], "bogus": 1}, {"order": 0}]
    r = post("/v1/machines/%s:batch" % m, {"ops": ops, "stop_on_error": False})
    res = r.json["results"]
    eq(len(res), 5, "all records ran")
    eq([x["ok"] for x in res], [False, False, True, False, False], "oks")
    eq(res[0]["error"]["code"], "INVALID_ARGUMENT", "unknown op is 400")
    eq(res[0]["error"]["details"]["field"], "op", "field op")
    check("noSuchOp" in res[0]["error"]["message"], "message names the op")
    eq(res[3]["error"]["details"]["field"], "bogus", "unknown field named")
    eq(res[4]["error"]["details"]["field"], "op", "missing op")
    eq(digest(m)["seq"], 5, "400 records do not advance seq")
    eq(post("/v1/machines/%s:batch" % m, {"ops": []}).json, {"results": []}, "empty batch")
    # envelope errors
    expect_error(post("/v1/machines/%s:batch" % m, {}), 400, "INVALID_ARGUMENT", "ops")
    expect_error(post("/v1/machines/%s:batch" % m, {"ops": {}}), 400, "INVALID_ARGUMENT", "ops")
    expect_error(post("/v1/machines/%s:batch" % m, {"ops": [], "stop_on_error": "no"}),
                 400, "INVALID_ARGUMENT", "stop_on_error")
    expect_error(post("/v1/machines/%s:batch" % m, {"ops": [], "atomic": True}),
                 400, "INVALID_ARGUMENT", "atomic")
    # the length limit (default 10000 records) → 413 naming it
    big = {"ops": [{"op": "freePages", "pfn": 1, "order": 0}] * 10001}
    e = expect_error(post("/v1/machines/%s:batch" % m, big), 413, "PAYLOAD_TOO_LARGE")
    eq(e["details"].get("limit"), 10000, "limit in details")
    check("10000" in e["message"], "message names the limit")
    eq(digest(m)["seq"], 5, "an over-long batch runs nothing")
    r = post("/v1/machines/%s:batch" % m,
             {"ops": [{"op": "freePages", "pfn": 1, "order": 0}] * 10000, "stop_on_error": False})
    eq(r.status, 200, "10000 records are allowed")
    eq(len(r.json["results"]), 10000, "10000 results")
    healthy()
    for x in (m, twin):
        request("DELETE", "/v1/machines/" + x)


@test
def reads_proc_zones_frames():
    m = new_machine({"memory": "64M"})
    for name in ("buddyinfo", "pagetypeinfo", "zoneinfo", "meminfo", "vmstat"):
        r = get("/v1/machines/%s/proc/%s" % (m, name))
        eq(r.status, 200, name)
        eq(r.headers.get("content-type"), "text/plain; charset=utf-8", name + " content type")
        check(len(r.body) > 20, name + " has text")
        j = get("/v1/machines/%s/proc/%s" % (m, name), headers={"Accept": "application/json"})
        eq(j.status, 200, name + " json")
        check(j.json is not None, name + " is JSON")
    txt = get("/v1/machines/%s/proc/buddyinfo" % m).body.decode()
    check(re.match(r"Node 0, zone +DMA ", txt), "buddyinfo text: %r" % txt)
    check("MemTotal:" in get("/v1/machines/%s/proc/meminfo" % m).body.decode(), "meminfo")
    expect_error(get("/v1/machines/%s/proc/slabinfo2" % m), 404, "NOT_FOUND")
    z = get("/v1/machines/%s/zones" % m)
    eq(z.status, 200, "zones")
    check(isinstance(z.json["items"], list) and z.json["items"], "zone items")
    check({"node", "zone", "managed", "watermarks"} <= set(z.json["items"][0]), "zone fields")
    f = get("/v1/machines/%s/frames" % m).json
    eq(f["start"], 0, "frames start")
    eq(f["count"], min(65536, f["nr_pfns"]), "frames count default")
    eq(len(f["states"]), f["count"], "one char per frame")
    check(set(f["states"]) <= set(f["legend"]), "every state is in the legend")
    eq(f["states"][0], ".", "pfn 0 is a hole")
    f = get("/v1/machines/%s/frames?start=0x100&count=16" % m).json
    eq((f["start"], f["count"], len(f["states"])), (256, 16, 16), "start/count")
    nr = f["nr_pfns"]
    eq(get("/v1/machines/%s/frames?start=%d" % (m, nr)).json["count"], 0, "start = nr_pfns")
    for q in ("count=65537", "start=%d" % (nr + 1), "start=abc", "start=-1", "begin=0"):
        expect_error(get("/v1/machines/%s/frames?%s" % (m, q)), 400, "INVALID_ARGUMENT")
    # a free block head and its descriptor agree with the map
    free_map = get("/v1/machines/%s/frames?count=4096" % m).json["states"]
    head = next(i for i, c in enumerate(free_map) if c in "ABCDEFGHIJK")
    d = get("/v1/machines/%s/frames/%d" % (m, head)).json
    check("buddy" in d["flags"], "free head has buddy flag: %r" % d)
    eq(d["order"], ord(free_map[head]) - ord("A"), "order matches the map")
    eq(d["free_block"]["head"], head, "free_block.head")
    for key in ("refcount", "mapcount", "zone", "node", "migratetype"):
        check(key in d, "descriptor has " + key)
    eq(get("/v1/machines/%s/frames/0x%x" % (m, head)).json["pfn"], head, "hex pfn")
    expect_error(get("/v1/machines/%s/frames/%d" % (m, nr)), 404, "NOT_FOUND")
    expect_error(get("/v1/machines/%s/frames/abc" % m), 400, "INVALID_ARGUMENT", "pfn")
    expect_error(get("/v1/machines/%s/frames/99999999999999999999999" % m), 400,
                 "INVALID_ARGUMENT")
    request("DELETE", "/v1/machines/" + m)


def kernel_op(m, name, body=None):
    return post("/v1/machines/%s/kernel:%s" % (m, name), body or {})


def cache_path(m, cache="", action=""):
    return "/v1/machines/%s/kmemCaches%s%s" % (m, "/" + cache if cache else "", action)


SLABINFO_HEADER = (
    "slabinfo - version: 2.1\n"
    "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
    " : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs>"
    " <num_slabs> <sharedavail>\n")


@test
def kmalloc_kfree_ksize():
    m = new_machine({"memory": "64M"})
    r = kernel_op(m, "kmalloc", {"size": 64, "gfp": ["GFP_KERNEL"]})
    eq(r.status, 200, "kmalloc: %r" % r.body)
    eq(set(r.json), {"addr", "cache"}, "kmalloc result keys")
    eq(r.json["cache"], "kmalloc-64", "size class")
    addr = r.json["addr"]
    check(re.fullmatch(r"0xffff888[0-9a-f]{9}", addr), "direct-map hex address %r" % addr)
    eq(digest(m)["seq"], 1, "kmalloc is an operation")
    # ksize and translate are reads: no seq
    r = get("/v1/machines/%s/kernel/ksize?addr=%s" % (m, addr))
    eq((r.status, r.json), (200, {"size": 64}), "ksize")
    eq(get("/v1/machines/%s/kernel/ksize?addr=%d" % (m, int(addr, 16))).json,
       {"size": 64}, "decimal addr")
    t = get("/v1/machines/%s/kernel/translate?addr=%s" % (m, addr)).json
    eq((t["kind"], t["mapped"], t["walk"]), ("direct-map", True, []), "direct map, no walk")
    eq(t["phys"], "0x%x" % (int(addr, 16) - 0xffff888000000000), "__pa")
    eq(t["pfn"], (int(addr, 16) - 0xffff888000000000) >> 12, "pfn")
    f = get("/v1/machines/%s/frames/%d" % (m, t["pfn"])).json
    check("slab" in f["flags"], "the object's frame is a slab page: %r" % f["flags"])
    eq(digest(m)["seq"], 1, "GETs are not operations")
    # sizes with units, cache types, cpu; large and zero sizes have no cache
    r = kernel_op(m, "kmalloc", {"size": "1K", "gfp": ["GFP_KERNEL", "__GFP_RECLAIMABLE"],
                                 "cpu": 1})
    eq((r.status, r.json["cache"]), (200, "kmalloc-rcl-1k"), "reclaimable 1K")
    r = kernel_op(m, "kmalloc", {"size": "20K", "gfp": ["GFP_KERNEL"]})
    eq((r.status, r.json["cache"]), (200, None), "kmalloc_large")
    large = r.json["addr"]
    eq(int(large, 16) % 4096, 0, "kmalloc_large is page aligned")
    eq(get("/v1/machines/%s/kernel/ksize?addr=%s" % (m, large)).json, {"size": 32768},
       "ksize of an order-3 kmalloc_large")
    eq(kernel_op(m, "kmalloc", {"size": 0, "gfp": []}).json,
       {"addr": "0x10", "cache": None}, "ZERO_SIZE_PTR")
    eq(kernel_op(m, "kfree", {"addr": large}).json, {}, "kfree of kmalloc_large")
    # kfree, then the double free: 422 EINVAL, state unchanged, journaled
    r = kernel_op(m, "kfree", {"addr": addr})
    eq((r.status, r.json), (200, {}), "kfree")
    before = digest(m)
    e = expect_error(kernel_op(m, "kfree", {"addr": addr}), 422, "EINVAL")
    eq(e["details"], {"op": "kfree"}, "details.op")
    after = digest(m)
    eq(after["digest"], before["digest"], "a double free changes nothing")
    eq(after["seq"], before["seq"] + 1, "but is a journaled result")
    expect_error(kernel_op(m, "kfree", {"addr": "0x1234567"}), 422, "EINVAL")
    eq(kernel_op(m, "kfree", {"addr": 0}).json, {}, "kfree(NULL)")
    expect_error(kernel_op(m, "kmalloc", {"size": "8M", "gfp": ["GFP_KERNEL"]}), 422,
                 "ENOMEM")
    # ksize of a freed object / no object: 400 naming addr
    expect_error(get("/v1/machines/%s/kernel/ksize?addr=%s" % (m, addr)), 400,
                 "INVALID_ARGUMENT", "addr")
    expect_error(get("/v1/machines/%s/kernel/ksize" % m), 400, "INVALID_ARGUMENT", "addr")
    expect_error(get("/v1/machines/%s/kernel/ksize?addr=xyz" % m), 400,
                 "INVALID_ARGUMENT", "addr")
    expect_error(get("/v1/machines/%s/kernel/ksize?addr=1&x=2" % m), 400,
                 "INVALID_ARGUMENT", "x")
    # bad records: 400, not applied
    seq = digest(m)["seq"]
    for body, field in (({"gfp": []}, "size"), ({"size": 8}, "gfp"),
                        ({"size": "1Q", "gfp": []}, "size"), ({"size": -1, "gfp": []}, "size"),
                        ({"size": 8, "gfp": ["GFP_NOPE"]}, "gfp"),
                        ({"size": 8, "gfp": [], "cpu": 2}, "cpu"),
                        ({"size": 8, "gfp": [], "addr": 1}, "addr")):
        expect_error(kernel_op(m, "kmalloc", body), 400, "INVALID_ARGUMENT", field)
    expect_error(kernel_op(m, "kfree", {}), 400, "INVALID_ARGUMENT", "addr")
    expect_error(kernel_op(m, "kfree", {"addr": "0x"}), 400, "INVALID_ARGUMENT", "addr")
    eq(digest(m)["seq"], seq, "400s are not applied")
    eq(post("/v1/machines/%s:check" % m).json["ok"], True, "checker clean")
    request("DELETE", "/v1/machines/" + m)


@test
def kmem_cache_routes():
    m = new_machine({"memory": "64M"})
    r = post(cache_path(m), {"name": "demo_cache", "size": 100, "align": 8,
                             "flags": ["SLAB_HWCACHE_ALIGN"]})
    eq(r.status, 200, "create: %r" % r.body)
    c = r.json
    eq(set(c), {"name", "object_size", "size", "align", "objects_per_slab",
                "pages_per_slab", "order", "flags", "builtin", "active_objs",
                "num_objs", "slabs"}, "cache keys")
    eq((c["name"], c["object_size"], c["size"], c["align"]), ("demo_cache", 100, 128, 64),
       "SLUB sizing with SLAB_HWCACHE_ALIGN")
    eq((c["objects_per_slab"], c["pages_per_slab"], c["order"]), (32, 1, 0), "slab geometry")
    eq((c["flags"], c["builtin"], c["num_objs"], c["slabs"]),
       (["SLAB_HWCACHE_ALIGN"], False, 0, 0), "flags, no slab yet")
    eq(get(cache_path(m, "demo_cache")).json, c, "GET = create answer")
    # EEXIST is a kernel result (422), not 409 ALREADY_EXISTS
    e = expect_error(post(cache_path(m), {"name": "demo_cache", "size": 8}), 422, "EEXIST")
    eq(e["details"], {"op": "kmemCacheCreate"}, "details.op")
    expect_error(post(cache_path(m), {"name": "kmalloc-64", "size": 8}), 422, "EEXIST")
    expect_error(post(cache_path(m), {"name": "z", "size": 0}), 422, "EINVAL")
    for body, field in (({"size": 8}, "name"), ({"name": "z"}, "size"),
                        ({"name": "a/b", "size": 8}, "name"), ({"name": "a:b", "size": 8}, "name"),
                        ({"name": "", "size": 8}, "name"), ({"name": "x" * 32, "size": 8}, "name"),
                        ({"name": "z", "size": 8, "flags": ["SLAB_NOPE"]}, "flags"),
                        ({"name": "z", "size": 8, "flags": "SLAB_POISON"}, "flags"),
                        ({"name": "z", "size": 8, "align": -1}, "align"),
                        ({"name": "z", "size": "5G"}, "size")):
        expect_error(post(cache_path(m), body), 400, "INVALID_ARGUMENT", field)
    # alloc / free through the path id
    r = post(cache_path(m, "demo_cache", ":alloc"), {"gfp": ["GFP_KERNEL"]})
    eq(r.status, 200, "alloc: %r" % r.body)
    obj = r.json["addr"]
    check(re.fullmatch(r"0x[0-9a-f]+", obj), "hex addr")
    c = get(cache_path(m, "demo_cache")).json
    eq((c["slabs"], c["num_objs"], c["active_objs"]), (1, 32, 32),
       "one cpu slab; its free objects count as active (slabinfo)")
    eq(get("/v1/machines/%s/kernel/ksize?addr=%s" % (m, obj)).json, {"size": 128}, "ksize")
    e = expect_error(request("DELETE", cache_path(m, "demo_cache")), 422, "EBUSY")
    eq(e["details"]["op"], "kmemCacheDestroy", "details.op")
    expect_error(kernel_op(m, "kfree", {"addr": obj}), 422, "EINVAL")
    expect_error(post(cache_path(m, "kmalloc-128", ":free"), {"addr": obj}), 422, "EINVAL")
    eq(post(cache_path(m, "demo_cache", ":free"), {"addr": obj, "cpu": 1}).json, {}, "free")
    expect_error(post(cache_path(m, "demo_cache", ":free"), {"addr": obj}), 422, "EINVAL")
    r = post(cache_path(m, "demo_cache", ":shrink"))
    eq((r.status, r.json), (200, {"freed": 1}), "shrink gives the empty slab back")
    eq(get(cache_path(m, "demo_cache")).json["slabs"], 0, "no slab left")
    eq(request("DELETE", cache_path(m, "demo_cache")).json, {}, "destroy")
    expect_error(get(cache_path(m, "demo_cache")), 404, "NOT_FOUND")
    # unknown cache in the path: 404 naming it, not applied
    seq = digest(m)["seq"]
    for method, path, body in (("DELETE", cache_path(m, "demo_cache"), None),
                               ("POST", cache_path(m, "nope", ":alloc"), {"gfp": []}),
                               ("POST", cache_path(m, "nope", ":free"), {"addr": 1}),
                               ("POST", cache_path(m, "nope", ":shrink"), {})):
        e = expect_error(request(method, path, body), 404, "NOT_FOUND")
        check(e["details"].get("cache") in ("demo_cache", "nope"), "details.cache: %r" % e)
    expect_error(get(cache_path(m, "x" * 100)), 404, "NOT_FOUND")
    expect_error(post(cache_path(m, "x" * 100, ":shrink")), 404, "NOT_FOUND")
    eq(digest(m)["seq"], seq, "404s are not applied")
    # builtin caches cannot go; the path id stays out of the body
    expect_error(request("DELETE", cache_path(m, "kmalloc-64")), 422, "EPERM")
    expect_error(request("DELETE", cache_path(m, "task_struct")), 422, "EPERM")
    expect_error(post(cache_path(m, "kmalloc-64", ":alloc"), {"gfp": [], "cache": "x"}),
                 400, "INVALID_ARGUMENT", "cache")
    expect_error(post(cache_path(m, "kmalloc-64", ":alloc"), {}), 400, "INVALID_ARGUMENT",
                 "gfp")
    expect_error(post(cache_path(m, "kmalloc-64", ":shrink"), {"n": 1}), 400,
                 "INVALID_ARGUMENT", "n")
    # a name that looks like a number stays a name
    eq(post(cache_path(m), {"name": "4096", "size": 4096}).status, 200, "numeric name")
    eq(post(cache_path(m, "4096", ":alloc"), {"gfp": ["GFP_KERNEL"]}).status, 200,
       "alloc from a numeric name")
    eq(get(cache_path(m, "4096")).json["objects_per_slab"], 8, "4 KiB objects, order 3")
    # the list: creation order, paged, the envelope
    r = get(cache_path(m))
    eq(set(r.json), {"items", "next_page_token"}, "list envelope")
    names = [x["name"] for x in r.json["items"]]
    eq(names[:3], ["kmalloc-96", "kmalloc-192", "kmalloc-8"], "oldest first (boot order)")
    eq(names[-1], "4096", "newest last")
    check("kmalloc-96" in names and "dma-kmalloc-8k" in names and
          "vm_area_struct" in names, "kmalloc and engine caches listed")
    eq(r.json["next_page_token"], "", "one page")
    seen, token = [], ""
    for _ in range(100):
        r = get(cache_path(m) + "?page_size=7" + ("&page_token=" + token if token else ""))
        eq(r.status, 200, "page")
        check(len(r.json["items"]) <= 7, "page_size")
        seen += [x["name"] for x in r.json["items"]]
        token = r.json["next_page_token"]
        if not token:
            break
    eq(seen, names, "pages add up to the list")
    for q in ("page_size=0", "page_size=1001", "page_token=abc", "page_token=-1", "x=1"):
        expect_error(get(cache_path(m) + "?" + q), 400, "INVALID_ARGUMENT")
    # methods
    r = request("PUT", cache_path(m, "kmalloc-64"), b"{}")
    expect_error(r, 405, "METHOD_NOT_ALLOWED")
    eq({x.strip() for x in r.headers["allow"].split(",")}, {"GET", "DELETE"}, "Allow")
    r = request("DELETE", cache_path(m))
    eq({x.strip() for x in r.headers["allow"].split(",")}, {"GET", "POST"}, "Allow of the list")
    # the same records in a batch, on a twin: same state
    twin = new_machine({"memory": "64M"})
    ops = [{"op": "kmemCacheCreate", "name": "b", "size": 24},
           {"op": "kmemCacheAlloc", "cache": "b", "gfp": ["GFP_KERNEL"]},
           {"op": "kmalloc", "size": 100, "gfp": ["GFP_KERNEL"]},
           {"op": "kmemCacheAlloc", "cache": "nope", "gfp": []},
           {"op": "kmemCacheDestroy", "cache": "b"}]
    res = post("/v1/machines/%s:batch" % twin, {"ops": ops, "stop_on_error": False}).json
    eq([x["ok"] for x in res["results"]], [True, True, True, False, False], "batch oks")
    eq(res["results"][2]["result"]["cache"], "kmalloc-128", "kmalloc in a batch")
    eq(res["results"][3]["error"]["status"], 404, "unknown cache in a batch: 404")
    eq(res["results"][3]["error"]["details"], {"cache": "nope", "index": 3}, "details")
    eq(res["results"][4]["error"]["code"], "EBUSY", "EBUSY in a batch")
    other = new_machine({"memory": "64M"})
    eq(post(cache_path(other), {"name": "b", "size": 24}).status, 200, "create")
    eq(post(cache_path(other, "b", ":alloc"), {"gfp": ["GFP_KERNEL"]}).json["addr"],
       res["results"][1]["result"]["addr"], "same address one by one")
    eq(kernel_op(other, "kmalloc", {"size": 100, "gfp": ["GFP_KERNEL"]}).status, 200, "kmalloc")
    eq(request("DELETE", cache_path(other, "b")).status, 422, "EBUSY one by one")
    eq(digest(other), digest(twin), "batch = the same records one by one (404 not counted)")
    for x in (m, twin, other):
        eq(post("/v1/machines/%s:check" % x).json["ok"], True, "checker clean")
        request("DELETE", "/v1/machines/" + x)


@test
def slabinfo_proc():
    m = new_machine({"memory": "64M"})
    txt = get("/v1/machines/%s/proc/slabinfo" % m)
    eq(txt.status, 200, "slabinfo")
    eq(txt.headers.get("content-type"), "text/plain; charset=utf-8", "text")
    body = txt.body.decode()
    eq(body[:len(SLABINFO_HEADER)], SLABINFO_HEADER, "the 2.1 header, byte for byte")
    golden = open(os.path.join(ROOT, "tests", "golden", "host", "slabinfo")).read()
    eq(SLABINFO_HEADER, "".join(golden.splitlines(True)[:2]), "the host's header")
    line = re.compile(r"^(\S+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) : tunables +0 +0 +0 : "
                      r"slabdata +(\d+) +(\d+) +0$")
    rows = body[len(SLABINFO_HEADER):].splitlines()
    for row in rows:
        check(line.match(row), "slabinfo row format: %r" % row)
    k64 = next(r for r in rows if r.startswith("kmalloc-64 "))
    eq(k64, "kmalloc-64             0      0     64   64    1 : tunables    0    0    0 : "
            "slabdata      0      0      0", "an empty kmalloc-64, as the host prints it")
    eq(post(cache_path(m), {"name": "newest", "size": 40}).status, 200, "create")
    for _ in range(3):
        eq(kernel_op(m, "kmalloc", {"size": 64, "gfp": ["GFP_KERNEL"]}).status, 200, "kmalloc")
    rows = get("/v1/machines/%s/proc/slabinfo" % m).body.decode().splitlines()[2:]
    check(rows[0].startswith("newest "), "newest cache first: %r" % rows[0])
    k64 = line.match(next(r for r in rows if r.startswith("kmalloc-64 ")))
    eq((k64.group(2), k64.group(3), k64.group(7)), ("64", "64", "1"),
       "one slab of 64 objects, all active (cpu slab)")
    j = get("/v1/machines/%s/proc/slabinfo" % m, headers={"Accept": "application/json"})
    eq(j.status, 200, "json")
    check(isinstance(j.json, list), "slabinfo JSON is a list of caches")
    eq(j.json[0]["name"], "newest", "same order as the text")
    eq(len(j.json), len(rows), "one entry per row")
    e64 = next(x for x in j.json if x["name"] == "kmalloc-64")
    eq((e64["active_objs"], e64["num_objs"], e64["size"], e64["objects_per_slab"],
        e64["pages_per_slab"], e64["slabs"]), (64, 64, 64, 64, 1, 1), "JSON = text")
    eq(e64, get(cache_path(m, "kmalloc-64")).json, "= GET kmemCaches/{cache}")
    request("DELETE", "/v1/machines/" + m)


@test
def vmalloc_kmap_translate():
    m = new_machine({"memory": "64M"})
    r = kernel_op(m, "vmalloc", {"size": "12K"})
    eq(r.status, 200, "vmalloc: %r" % r.body)
    eq(set(r.json), {"addr"}, "vmalloc result")
    va = r.json["addr"]
    eq(va, "0xffffc90000000000", "the first area starts VMALLOC_START")
    t = get("/v1/machines/%s/kernel/translate?addr=0x%x" % (m, int(va, 16) + 0x1234)).json
    eq((t["kind"], t["mapped"]), ("vmalloc", True), "a mapped vmalloc page")
    eq([s["level"] for s in t["walk"]], [4, 3, 2, 1], "a 4-level walk")
    for s in t["walk"]:
        eq(set(s), {"level", "table_pfn", "index", "entry"}, "walk step keys")
        check(re.fullmatch(r"0x[0-9a-f]+", s["entry"]), "entry hex")
        check(int(s["entry"], 16) & 1, "present entries")
    eq(t["walk"][3]["index"], 1, "PTE index of the second page")
    eq(int(t["walk"][3]["entry"], 16) >> 12 & 0xffffffffff, t["pfn"], "leaf names the pfn")
    eq(t["phys"], "0x%x" % (t["pfn"] * 4096 + 0x234), "phys keeps the offset")
    eq(t["addr"], "0x%x" % (int(va, 16) + 0x1234), "addr echoed as hex")
    guard = get("/v1/machines/%s/kernel/translate?addr=0x%x" % (m, int(va, 16) + 3 * 4096)).json
    eq((guard["kind"], guard["mapped"], guard["pfn"], guard["phys"]),
       ("vmalloc", False, None, None), "the guard page is not mapped")
    far = get("/v1/machines/%s/kernel/translate?addr=4096" % m).json
    eq((far["kind"], far["mapped"], far["walk"]), ("unmapped", False, []), "user address")
    expect_error(get("/v1/machines/%s/kernel/translate" % m), 400, "INVALID_ARGUMENT", "addr")
    expect_error(get("/v1/machines/%s/kernel/translate?addr=-5" % m), 400,
                 "INVALID_ARGUMENT", "addr")
    # /proc/vmallocinfo, text and JSON
    txt = get("/v1/machines/%s/proc/vmallocinfo" % m).body.decode()
    eq(txt, "0xffffc90000000000-0xffffc90000004000   16384 pages=3 vmalloc N0=3\n",
       "vmallocinfo text")
    j = get("/v1/machines/%s/proc/vmallocinfo" % m, headers={"Accept": "application/json"}).json
    eq(j, [{"addr": va, "end": "0xffffc90000004000", "size": 16384, "pages": 3,
            "caller": "vmalloc", "nodes": [{"node": 0, "pages": 3}]}], "vmallocinfo JSON")
    eq(kernel_op(m, "vfree", {"addr": va}).json, {}, "vfree")
    expect_error(kernel_op(m, "vfree", {"addr": va}), 422, "EINVAL")
    expect_error(kernel_op(m, "vmalloc", {"size": 0}), 422, "EINVAL")
    expect_error(kernel_op(m, "vmalloc", {"size": "1G"}), 422, "ENOMEM")
    expect_error(kernel_op(m, "vmalloc", {"size": "12K", "cpu": 5}), 400,
                 "INVALID_ARGUMENT", "cpu")
    eq(get("/v1/machines/%s/proc/vmallocinfo" % m).body, b"", "no areas left")
    # kmap on x86_64: the direct-map address; kunmap is a no-op
    r = kernel_op(m, "kmap", {"pfn": 5000})
    eq(r.json, {"addr": "0x%x" % (0xffff888000000000 + 5000 * 4096)}, "kmap = __va")
    eq(kernel_op(m, "kunmap", {"addr": r.json["addr"]}).json, {}, "kunmap")
    expect_error(kernel_op(m, "kmap", {"pfn": 0}), 422, "EINVAL")  # a hole
    expect_error(kernel_op(m, "kmap", {"pfn": 1 << 20}), 400, "INVALID_ARGUMENT", "pfn")
    expect_error(kernel_op(m, "kmap", {"pfn": "5000"}), 400, "INVALID_ARGUMENT", "pfn")
    eq(post("/v1/machines/%s:check" % m).json["ok"], True, "checker clean")
    request("DELETE", "/v1/machines/" + m)
    # i386 with HighMem: kmap answers a pkmap slot (PKMAP_BASE 0xff800000)
    m = new_machine({"arch": "i386", "memory": "1G"})
    high = 950 << 8  # the frame at 950 MiB, above 896 MiB
    r = kernel_op(m, "kmap", {"pfn": high})
    eq(r.status, 200, "kmap highmem: %r" % r.body)
    pk = r.json["addr"]
    check(re.fullmatch(r"0xff8[0-9a-f]{5}", pk), "a pkmap address: %r" % pk)
    eq(kernel_op(m, "kmap", {"pfn": high}).json["addr"], pk, "kmapped twice: same slot")
    t = get("/v1/machines/%s/kernel/translate?addr=%s" % (m, pk)).json
    eq((t["kind"], t["mapped"], t["pfn"]), ("pkmap", True, high), "pkmap translation")
    eq([s["level"] for s in t["walk"]], [2, 1], "a 2-level walk on i386")
    low = kernel_op(m, "kmap", {"pfn": 1000}).json["addr"]
    eq(low, "0x%x" % (0xc0000000 + 1000 * 4096), "lowmem: the direct map at 3 GiB")
    for _ in range(2):
        eq(kernel_op(m, "kunmap", {"addr": pk}).json, {}, "kunmap")
    expect_error(kernel_op(m, "kunmap", {"addr": pk}), 422, "EINVAL")
    r = kernel_op(m, "vmalloc", {"size": 4096})
    check(int(r.json["addr"], 16) >= 0xc0000000 + (896 << 20), "i386 vmalloc above lowmem")
    eq(post("/v1/machines/%s:check" % m).json["ok"], True, "checker clean")
    request("DELETE", "/v1/machines/" + m)


# ---- processes and address spaces ----------------------------------------------------

ANON = ["MAP_PRIVATE", "MAP_ANONYMOUS"]
GOLDEN_ELF = os.path.join(ROOT, "tests", "golden", "elf")


def proc_path(m, pid=None, action=""):
    return "/v1/machines/%s/processes%s%s" % (m, "" if pid is None else "/%s" % pid, action)


def spawn(m, **body):
    r = post(proc_path(m), body)
    eq(r.status, 200, "spawn: %r" % r.body[:300])
    eq(set(r.json), {"pid"}, "spawn answers {pid}")
    return r.json["pid"]


def pop(m, pid, op, body=None):
    """POST …/processes/{pid}:op."""
    return post(proc_path(m, pid, ":" + op), body or {})


def mmap(m, pid, length="64K", prot="rw-", flags=ANON, **extra):
    body = {"length": length, "prot": prot, "flags": list(flags)}
    body.update(extra)
    return pop(m, pid, "mmap", body)


def maps_text(m, pid):
    r = get(proc_path(m, pid, "/maps"))
    eq(r.status, 200, "maps: %r" % r.body[:300])
    eq(r.headers.get("content-type"), "text/plain; charset=utf-8", "maps content type")
    return r.body.decode()


def maps_json(m, pid):
    r = get(proc_path(m, pid, "/maps"), headers={"Accept": "application/json"})
    eq(r.status, 200, "maps json")
    return r.json["items"]


MAPS_LINE = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) "
                       r"([0-9a-f]{2}:[0-9a-f]{2}) ([0-9]+) *(.*)$")


@test
def processes_spawn_list_get():
    m = new_machine({"memory": "64M", "cpus": 2})
    eq(get(proc_path(m)).json, {"items": [], "next_page_token": ""}, "no processes yet")
    p1 = spawn(m)
    p2 = spawn(m, name="worker", rss_limit_pages=16, oom_score_adj=-500, cpu=0)
    eq((p1, p2), (1, 2), "pids from 1, in order")
    summary = {"pid", "ppid", "state", "cpu", "name", "rss", "min_flt", "maj_flt", "vm_size"}
    lst = get(proc_path(m)).json
    eq([x["pid"] for x in lst["items"]], [1, 2], "listed in pid order")
    for x in lst["items"]:
        eq(set(x), summary, "list item fields")
    one = get(proc_path(m, p2)).json
    eq(set(one), summary | {"oom_score_adj", "rss_limit_pages", "mmap_base", "start_brk",
                            "brk", "map_count"}, "one process's fields")
    eq((one["name"], one["cpu"], one["state"], one["ppid"]), ("worker", 0, "running", 0),
       "spawn arguments")
    eq((one["oom_score_adj"], one["rss_limit_pages"]), (-500, 16), "oom_score_adj, limit")
    eq((one["rss"], one["vm_size"], one["map_count"]), (0, 0, 0), "empty address space")
    for key in ("mmap_base", "start_brk", "brk"):
        check(re.fullmatch(r"0x[0-9a-f]+", one[key]), "%s is hex: %r" % (key, one[key]))
    d = get(proc_path(m, p1)).json
    eq((d["name"], d["rss_limit_pages"], d["oom_score_adj"]), ("proc", None, 0), "defaults")
    # paging: page_size 1 walks both with tokens
    a = get(proc_path(m) + "?page_size=1").json
    eq([x["pid"] for x in a["items"]], [1], "first page")
    eq(a["next_page_token"], "1", "token")
    b = get(proc_path(m) + "?page_size=1&page_token=" + a["next_page_token"]).json
    eq([x["pid"] for x in b["items"]], [2], "second page")
    eq(b["next_page_token"], "", "last page")
    for q in ("page_size=0", "page_size=1001", "page_token=x", "colour=red"):
        expect_error(get(proc_path(m) + "?" + q), 400, "INVALID_ARGUMENT")
    # spawn's 400s name the field and change nothing
    before = digest(m)
    for body, field in (({"name": "a" * 16}, "name"), ({"name": ""}, "name"),
                        ({"name": "tab\there"}, "name"), ({"name": 7}, "name"),
                        ({"cpu": 2}, "cpu"), ({"cpu": -2}, "cpu"),
                        ({"oom_score_adj": 1001}, "oom_score_adj"),
                        ({"rss_limit_pages": -2}, "rss_limit_pages"),
                        ({"pid": 3}, "pid"), ({"op": "fork"}, "op")):
        expect_error(post(proc_path(m), body), 400, "INVALID_ARGUMENT", field)
    eq(digest(m), before, "400s change neither state nor seq")
    # an unknown or malformed pid in a GET path
    for sub in ("", "/maps", "/smaps", "/status"):
        e = expect_error(get(proc_path(m, 99, sub)), 404, "NOT_FOUND")
        eq(e["details"], {"pid": 99}, "404 names the pid")
        expect_error(get(proc_path(m, "abc", sub)), 400, "INVALID_ARGUMENT", "pid")
        expect_error(get(proc_path(m, 0, sub)), 400, "INVALID_ARGUMENT", "pid")
    expect_error(get(proc_path(m, 1, "/environ")), 404, "NOT_FOUND")
    r = request("DELETE", proc_path(m))
    expect_error(r, 405, "METHOD_NOT_ALLOWED")
    eq({x.strip() for x in r.headers["allow"].split(",")}, {"GET", "POST"}, "Allow")
    expect_error(request("DELETE", proc_path(m, 1)), 405, "METHOD_NOT_ALLOWED")
    expect_error(get(proc_path(m, 1, ":fork")), 405, "METHOD_NOT_ALLOWED")
    request("DELETE", "/v1/machines/" + m)


@test
def processes_mmap_family():
    m = new_machine({"memory": "64M"})
    pid = spawn(m, name="demo")
    r = mmap(m, pid)
    eq(r.status, 200, "mmap: %r" % r.body[:300])
    eq(set(r.json), {"addr"}, "mmap answers {addr}")
    a = int(r.json["addr"], 16)
    check(re.fullmatch(r"0x[0-9a-f]+", r.json["addr"]), "addr is lowercase hex")
    lines = maps_text(m, pid).splitlines()
    eq(len(lines), 1, "one VMA: %r" % lines)
    mt = MAPS_LINE.match(lines[0])
    check(mt, "maps line format: %r" % lines[0])
    eq((int(mt.group(1), 16), int(mt.group(2), 16), mt.group(3)), (a, a + 65536, "rw-p"),
       "the mapping")
    eq(get(proc_path(m, pid)).json["vm_size"], 65536, "vm_size in bytes")
    # mprotect the middle read-only: three VMAs
    r = pop(m, pid, "mprotect", {"addr": hex(a + 16384), "length": "16K", "prot": "r--"})
    eq((r.status, r.json), (200, {}), "mprotect")
    items = maps_json(m, pid)
    eq([(int(x["start"], 16) - a, int(x["end"], 16) - a, x["perms"]) for x in items],
       [(0, 16384, "rw-p"), (16384, 32768, "r--p"), (32768, 65536, "rw-p")], "split in three")
    eq(set(items[0]), {"start", "end", "perms", "offset", "dev", "inode", "name"}, "maps keys")
    eq((items[0]["offset"], items[0]["dev"], items[0]["inode"], items[0]["name"]),
       (0, "00:00", 0, None), "anonymous")
    eq(get(proc_path(m, pid)).json["map_count"], 3, "map_count")
    # back to rw-: merged again
    eq(pop(m, pid, "mprotect", {"addr": a + 16384, "length": 16384, "prot": "rw-"}).status,
       200, "mprotect back")
    eq(len(maps_json(m, pid)), 1, "merged")
    # madvise (a name), mlock → fault counts, munlock, munmap of a hole punch
    eq(pop(m, pid, "madvise", {"addr": a, "length": "8K", "advice": "MADV_RANDOM"}).json, {},
       "madvise")
    eq(len(maps_json(m, pid)), 2, "MADV_RANDOM splits off a VMA")
    eq(pop(m, pid, "madvise", {"addr": a, "length": "8K", "advice": "MADV_NORMAL"}).status,
       200, "madvise normal")
    r = pop(m, pid, "mlock", {"addr": a, "length": "64K"})
    eq((r.status, r.json), (200, {"minor": 16, "major": 0}), "mlock populates (write faults)")
    # touch: the pages are present now, no faults; a hole is SIGSEGV
    r = pop(m, pid, "touch", {"addr": a, "length": "64K", "access": "write"})
    eq((r.status, r.json), (200, {"pages": 16, "minor": 0, "major": 0, "cow": 0, "zero": 0,
                                  "signal": None}), "touch locked pages")
    pt = get(proc_path(m, pid, "/pagetable?addr=%d" % a)).json
    eq((pt["kind"], pt["mapped"], [w["level"] for w in pt["walk"]]), ("user", True, [4, 3, 2, 1]),
       "pagetable walk of a touched page")
    st = get(proc_path(m, pid, "/status"), headers={"Accept": "application/json"}).json
    eq(st["VmLck"], 64, "VmLck after mlock (kB)")
    eq(pop(m, pid, "munlock", {"addr": a, "length": "64K"}).json, {}, "munlock")
    eq(pop(m, pid, "munmap", {"addr": str(a + 4096), "length": 4096}).json, {}, "munmap")
    eq(len(maps_json(m, pid)), 2, "a hole splits the VMA")
    # brk: grow from start_brk by 3 pages
    sb = int(get(proc_path(m, pid)).json["start_brk"], 16)
    r = pop(m, pid, "brk", {"addr": hex(sb + 3 * 4096)})
    eq((r.status, r.json), (200, {"brk": hex(sb + 3 * 4096)}), "brk")
    check("[heap]" in maps_text(m, pid), "a [heap] VMA")
    eq(pop(m, pid, "brk", {"addr": 0}).json, {"brk": hex(sb + 3 * 4096)},
       "brk(0) answers the break")
    eq(pop(m, pid, "setOomScoreAdj", {"value": 500}).json, {}, "setOomScoreAdj")
    eq(get(proc_path(m, pid)).json["oom_score_adj"], 500, "oom_score_adj written")
    # 422 errno results: journaled (seq + 1), state unchanged
    d0 = digest(m)
    for body, code in ((dict(length=0), "EINVAL"),
                       (dict(length="64K", offset=100), "EINVAL"),
                       (dict(length="64K", flags=["MAP_ANONYMOUS"]), "EINVAL"),
                       (dict(length="64K", addr=a + 1, flags=ANON + ["MAP_FIXED"]), "EINVAL"),
                       (dict(length="1T"), "ENOMEM"),
                       (dict(length="64K", addr=a, flags=ANON + ["MAP_FIXED_NOREPLACE"]),
                        "EEXIST"),
                       (dict(length="64K", flags=["MAP_PRIVATE"]), "EBADF"),
                       (dict(length="64K", flags=["MAP_SHARED"], file="data.bin"),
                        "EBADF")):
        e = expect_error(mmap(m, pid, **body), 422, code)
        eq(e["details"], {"op": "mmap"}, "details.op")
    e = expect_error(pop(m, pid, "mprotect", {"addr": a + 1, "length": 4096, "prot": "r--"}),
                     422, "EINVAL")
    eq(e["details"]["op"], "mprotect", "details.op")
    expect_error(pop(m, pid, "munmap", {"addr": a + 1, "length": 4096}), 422, "EINVAL")
    expect_error(pop(m, pid, "mprotect", {"addr": 0x10000, "length": 4096, "prot": "r--"}),
                 422, "ENOMEM")
    expect_error(pop(m, pid, "mlock", {"addr": 0x10000, "length": 4096}), 422, "ENOMEM")
    expect_error(pop(m, pid, "madvise", {"addr": a + 1, "length": 4096,
                                         "advice": "MADV_DONTNEED"}), 422, "EINVAL")
    d1 = digest(m)
    eq(d1["digest"], d0["digest"], "failed syscalls change nothing")
    eq(d1["seq"], d0["seq"] + 13, "each 422 is a journaled result")
    # 400: names validated in the api, numbers refused; nothing applied
    for op, body, field, needle in (
            ("mmap", {"length": "64K", "prot": "rwz", "flags": ANON}, "prot", "rwz"),
            ("mmap", {"length": "64K", "prot": 3, "flags": ANON}, "prot", "numbers"),
            ("mmap", {"length": "64K", "prot": "rw", "flags": ANON}, "prot", "rw"),
            ("mmap", {"length": "64K", "prot": "rw-", "flags": ["MAP_PRIVTE"]}, "flags",
             "MAP_PRIVTE"),
            ("mmap", {"length": "64K", "prot": "rw-", "flags": [2, 32]}, "flags", "numbers"),
            ("mmap", {"length": "64K", "prot": "rw-", "flags": "MAP_PRIVATE"}, "flags", "array"),
            ("mmap", {"length": "64K", "prot": "rw-", "flags": ["PROT_READ"]}, "flags",
             "PROT_READ"),
            ("mmap", {"length": "64K", "prot": "rw-"}, "flags", "required"),
            ("mmap", {"prot": "rw-", "flags": ANON}, "length", "required"),
            ("mmap", {"length": "64Q", "prot": "rw-", "flags": ANON}, "length", "64Q"),
            ("mmap", {"length": "64K", "prot": "rw-", "flags": ANON, "addr": "0xzz"}, "addr",
             "0xzz"),
            ("mprotect", {"addr": a, "length": 4096, "prot": "rwxs"}, "prot", "rwxs"),
            ("madvise", {"addr": a, "length": 4096, "advice": "MADV_DONTNEEED"}, "advice",
             "MADV_DONTNEEED"),
            ("madvise", {"addr": a, "length": 4096, "advice": 4}, "advice", "MADV_DONTNEED"),
            ("setOomScoreAdj", {"value": 1001}, "value", "1001"),
            ("setOomScoreAdj", {"value": -1001}, "value", "-1001"),
            ("exit", {"status": 256}, "status", "256"),
            ("brk", {}, "addr", "required"),
            ("fork", {"bogus": 1}, "bogus", "bogus"),
            ("mmap", {"pid": pid, "length": 1, "prot": "r--", "flags": ANON}, "pid", "path")):
        e = expect_error(pop(m, pid, op, body), 400, "INVALID_ARGUMENT", field)
        check(needle in e["message"], "%s: message %r names %r" % (op, e["message"], needle))
    eq(digest(m), d1, "400s change neither state nor seq")
    # an unknown pid is 404 for every op (a path id, not ESRCH)
    for op, body in (("fork", {}), ("exit", {}), ("exec", {"elf": ""}),
                     ("mmap", {"length": 1, "prot": "r--", "flags": ANON}),
                     ("munmap", {"addr": 0, "length": 1}),
                     ("mprotect", {"addr": 0, "length": 1, "prot": "---"}),
                     ("madvise", {"addr": 0, "length": 1, "advice": "MADV_NORMAL"}),
                     ("mlock", {"addr": 0, "length": 1}), ("munlock", {"addr": 0, "length": 1}),
                     ("brk", {"addr": 0}), ("setOomScoreAdj", {"value": 0})):
        e = expect_error(pop(m, 4242, op, body), 404, "NOT_FOUND")
        eq(e["details"], {"pid": 4242}, "%s: 404 names the pid" % op)
    expect_error(pop(m, "x", "fork"), 400, "INVALID_ARGUMENT", "pid")
    eq(digest(m), d1, "404s change neither state nor seq")
    r = post("/v1/machines/%s:check" % m).json
    eq((r["ok"], r["violations"]), (True, []), "checker clean")
    request("DELETE", "/v1/machines/" + m)


@test
def processes_exec():
    m = new_machine({"memory": "64M"})
    pid = spawn(m, name="loader")
    # malformed base64 is a bad record (400); a malformed image is ENOEXEC (422)
    for bad in ("not base64!", "QUJD=", "QUJDRA===", "Q", "QU\nJD", 42):
        expect_error(pop(m, pid, "exec", {"elf": bad}), 400, "INVALID_ARGUMENT", "elf")
    seq = digest(m)["seq"]
    for image in (b"", b"hello, world", b"\x7fELF" + b"\0" * 60):
        e = expect_error(pop(m, pid, "exec", {"elf": base64.b64encode(image).decode()}),
                         422, "ENOEXEC")
        eq(e["details"], {"op": "exec"}, "details.op")
    eq(digest(m)["seq"], seq + 3, "ENOEXEC results are journaled")
    eq(maps_text(m, pid), "", "a failed exec leaves the old (empty) address space")
    with open(os.path.join(GOLDEN_ELF, "x86_64-exec.elf"), "rb") as f:
        elf = base64.b64encode(f.read()).decode()
    r = pop(m, pid, "exec", {"elf": elf})
    eq(r.status, 200, "exec: %r" % r.body[:300])
    eq(set(r.json), {"entry", "start_brk", "stack"}, "exec result")
    for k, v in r.json.items():
        check(re.fullmatch(r"0x[0-9a-f]+", v), "%s is hex: %r" % (k, v))
    vmas = []
    for line in maps_text(m, pid).splitlines():
        mt = MAPS_LINE.match(line)
        check(mt, "maps line: %r" % line)
        vmas.append((int(mt.group(1), 16), int(mt.group(2), 16), mt.group(3), mt.group(7)))
    eq(vmas[0][0], 0x400000, "ET_EXEC loads at its p_vaddr")
    names = [v[3] for v in vmas]
    for want in ("[stack]", "[vdso]", "[vvar]"):
        check(want in names, "%s in maps: %r" % (want, names))
    stack = next(v for v in vmas if v[3] == "[stack]")
    sp = int(r.json["stack"], 16)
    check(stack[0] <= sp < stack[1] and stack[2] == "rw-p", "stack pointer in [stack]")
    entry = int(r.json["entry"], 16)
    check(any(v[0] <= entry < v[1] and "x" in v[2] for v in vmas), "entry in an r-x VMA")
    one = get(proc_path(m, pid)).json
    eq((one["start_brk"], one["brk"]), (r.json["start_brk"], r.json["start_brk"]), "brk")
    eq(one["name"], "loader", "exec keeps the name")
    # the heap grows from start_brk
    heap = int(r.json["start_brk"], 16) + 0x5000
    eq(pop(m, pid, "brk", {"addr": hex(heap)}).json, {"brk": hex(heap)}, "brk after exec")
    check(any(ln.endswith("[heap]") for ln in maps_text(m, pid).splitlines()), "[heap]")
    st = get(proc_path(m, pid, "/status"), headers={"Accept": "application/json"}).json
    eq((st["Name"], st["Pid"], st["State"]), ("loader", pid, "R (running)"), "status keys")
    eq(st["VmSize"] * 1024, get(proc_path(m, pid)).json["vm_size"], "VmSize = vm_size")
    eq(st["Uid"], [0, 0, 0, 0], "tab-separated numbers")
    eq(st["Umask"], "0022", "octal stays text")
    check("Name:\tloader\n" in get(proc_path(m, pid, "/status")).body.decode(), "status text")
    sm = get(proc_path(m, pid, "/smaps"), headers={"Accept": "application/json"}).json["items"]
    mj = maps_json(m, pid)
    eq(len(sm), len(mj), "one smaps entry per VMA")
    for x, v in zip(sm, mj):
        for k in v:
            eq(x[k], v[k], "smaps %s as in maps" % k)
        eq(x["Size"], (int(v["end"], 16) - int(v["start"], 16)) // 1024, "Size in kB")
        for k in ("Rss", "Pss", "Anonymous", "Swap", "Locked", "THPeligible"):
            eq(x[k], 0, k)
        check(isinstance(x["VmFlags"], list), "VmFlags is a list")
        eq("rd" in x["VmFlags"], v["perms"][0] == "r", "VmFlags rd matches perms")
    txt = get(proc_path(m, pid, "/smaps")).body.decode()
    check(re.search(r"^Size: +\d+ kB$", txt, re.M) and "VmFlags:" in txt, "smaps text")
    eq(post("/v1/machines/%s:check" % m).json["ok"], True, "checker clean")
    request("DELETE", "/v1/machines/" + m)


@test
def processes_fork_exit():
    m = new_machine({"memory": "64M"})
    parent = spawn(m, name="parent", oom_score_adj=100)
    a = int(mmap(m, parent).json["addr"], 16)
    eq(pop(m, parent, "mprotect", {"addr": a, "length": "16K", "prot": "r--"}).status, 200,
       "mprotect")
    r = pop(m, parent, "fork")
    eq(r.status, 200, "fork: %r" % r.body)
    eq(set(r.json), {"pid"}, "fork answers {pid}")
    child = r.json["pid"]
    check(child != parent, "a new pid")
    eq(maps_text(m, child), maps_text(m, parent), "the child has a copy of every VMA")
    c = get(proc_path(m, child)).json
    eq((c["ppid"], c["name"], c["oom_score_adj"], c["map_count"]), (parent, "parent", 100, 2),
       "child inherits")
    # the copies are independent
    eq(pop(m, child, "munmap", {"addr": a, "length": "64K"}).status, 200, "child munmap")
    eq(maps_text(m, child), "", "child's space is empty")
    eq(len(maps_json(m, parent)), 2, "parent's VMAs stay")
    # exit: reaped at once, its pid is 404 everywhere
    d = digest(m)
    r = pop(m, child, "exit", {"status": 3})
    eq((r.status, r.json), (200, {}), "exit")
    check(digest(m)["digest"] != d["digest"], "exit changes the state")
    expect_error(get(proc_path(m, child)), 404, "NOT_FOUND")
    expect_error(get(proc_path(m, child, "/maps")), 404, "NOT_FOUND")
    expect_error(pop(m, child, "exit"), 404, "NOT_FOUND")
    eq([x["pid"] for x in get(proc_path(m)).json["items"]], [parent], "only the parent left")
    # a grandchild is re-parented when its parent exits
    child = pop(m, parent, "fork").json["pid"]
    grand = pop(m, child, "fork").json["pid"]
    eq(get(proc_path(m, grand)).json["ppid"], child, "grandchild's parent")
    eq(pop(m, child, "exit").status, 200, "child exits")
    eq(get(proc_path(m, grand)).json["ppid"], parent if parent == 1 else 0, "re-parented")
    eq(post("/v1/machines/%s:check" % m).json["ok"], True, "checker clean")
    request("DELETE", "/v1/machines/" + m)


@test
def processes_write_read():
    m = new_machine({"memory": "64M"})
    parent = spawn(m, name="parent")
    a = int(mmap(m, parent, length="16K").json["addr"], 16)
    sh = int(mmap(m, parent, length="8K", flags=["MAP_SHARED", "MAP_ANONYMOUS"]).json["addr"], 16)
    b64 = lambda b: base64.b64encode(b).decode()
    none = {"major": 0, "signal": None}
    # never written: zeros; a read fault maps the zero page
    r = pop(m, parent, "read", {"addr": a + 4094, "length": 4})
    eq((r.status, r.json), (200, dict(none, pages=2, minor=2, cow=0, zero=2, data=b64(bytes(4)))),
       "read of untouched memory")
    # a write across the page boundary: COW of the zero page on both pages
    r = pop(m, parent, "write", {"addr": hex(a + 4093), "data": b64(b"parent")})
    eq((r.status, r.json), (200, dict(none, pages=2, minor=2, cow=2, zero=0)), "write")
    eq(pop(m, parent, "write", {"addr": sh, "data": b64(b"shared")}).json["minor"], 1,
       "shared write")
    child = pop(m, parent, "fork").json["pid"]
    # the child's write copies; the parent still reads its bytes without a fault
    r = pop(m, child, "write", {"addr": a + 4093, "data": b64(b"child!")})
    eq(r.json, dict(none, pages=2, minor=2, cow=2, zero=0), "child's COW write")
    r = pop(m, parent, "read", {"addr": a + 4093, "length": 6})
    eq(r.json, dict(none, pages=2, minor=0, cow=0, zero=0, data=b64(b"parent")),
       "parent reads its own bytes")
    eq(pop(m, child, "read", {"addr": a + 4093, "length": 6}).json["data"], b64(b"child!"),
       "child reads its bytes")
    # shared anonymous memory: the child's write is the parent's
    pop(m, child, "write", {"addr": sh + 2, "data": b64(b"ARED")})
    eq(pop(m, parent, "read", {"addr": sh, "length": 6}).json["data"], b64(b"shARED"),
       "shared across fork")
    # DONTNEED: zeros again
    eq(pop(m, parent, "madvise", {"addr": a, "length": "16K", "advice": "MADV_DONTNEED"}).status,
       200, "dontneed")
    eq(pop(m, parent, "read", {"addr": a + 4093, "length": 6}).json["data"], b64(bytes(6)),
       "zeros after DONTNEED")
    # SIGSEGV part-way: the data stops at the signal's address; the child dies
    r = pop(m, child, "read", {"addr": a + 16384 - 3, "length": 8})
    eq(r.json["signal"], {"name": "SIGSEGV", "code": "SEGV_MAPERR", "addr": hex(a + 16384)},
       "read past the end")
    eq(r.json["data"], b64(bytes(3)), "bytes before the fault")
    expect_error(get(proc_path(m, child)), 404, "NOT_FOUND")
    # bounds and bad input: 400, nothing changed
    d0 = digest(m)
    expect_error(pop(m, parent, "read", {"addr": a, "length": 65537}), 400,
                 "INVALID_ARGUMENT", "length")
    expect_error(pop(m, parent, "write", {"addr": a, "data": b64(bytes(65537))}), 400,
                 "INVALID_ARGUMENT", "data")
    expect_error(pop(m, parent, "write", {"addr": a, "data": "no base64!"}), 400,
                 "INVALID_ARGUMENT", "data")
    expect_error(pop(m, parent, "write", {"addr": a}), 400, "INVALID_ARGUMENT", "data")
    expect_error(pop(m, parent, "read", {"addr": a}), 400, "INVALID_ARGUMENT", "length")
    expect_error(pop(m, 99, "read", {"addr": a, "length": 1}), 404, "NOT_FOUND")
    eq(digest(m)["digest"], d0["digest"], "400s change nothing")
    # the largest read and write go through
    r = pop(m, parent, "write", {"addr": a, "data": b64(bytes(range(256)) * 256)})
    eq(r.json["signal"], {"name": "SIGSEGV", "code": "SEGV_MAPERR", "addr": hex(a + 16384)},
       "64 KiB write past a 16 KiB mapping")
    eq(r.json["pages"], 4, "the 4 pages before the fault were written")


@test
def files_and_page_cache():
    import base64
    m = new_machine({"memory": "64M"})
    base = "/v1/machines/%s/files" % m
    content = bytes(range(256)) * 40  # 10240 bytes: 3 pages
    r = post(base, {"name": "data", "size": "16K",
                    "content": base64.b64encode(content).decode()})
    eq((r.status, r.json), (200, {"name": "data", "size": 16384}), "createFile: %r" % r.body)
    expect_error(post(base, {"name": "data", "size": 1}), 422, "EEXIST")
    expect_error(post(base, {"name": "x", "size": 1, "content": "QUJD"}), 400,
                 "INVALID_ARGUMENT", "content")
    f = get(base + "/data").json
    eq((f["size"], f["cached_pages"], f["dirty_pages"]), (16384, 3, 3), "GET file")
    eq([x["name"] for x in get(base).json["items"]], ["data"], "GET files")
    expect_error(get(base + "/nope"), 404, "NOT_FOUND")
    r = post(base + "/data:read", {"offset": 10000, "length": 1000})
    eq(r.status, 200, "readFile: %r" % r.body)
    eq(base64.b64decode(r.json["data"]), content[10000:] + bytes(1000 - 240), "bytes read")
    eq(post(base + "/data:write", {"offset": 1, "data": "eHl6"}).status, 200, "writeFile")
    eq(base64.b64decode(post(base + "/data:read", {"offset": 0, "length": 4}).json["data"]),
       b"\x00xyz", "written bytes")
    # shared mapping: a touch write dirties, sync cleans, drop then reads from disk
    pid = spawn(m)
    a = mmap(m, pid, length="16K", prot="rw-", flags=["MAP_SHARED"], file="data").json["addr"]
    r = pop(m, pid, "touch", {"addr": a, "length": "16K", "access": "read"})
    eq((r.json["minor"], r.json["major"]), (1, 1), "fault-around, then a hole from the disk")
    fr = get("/v1/machines/%s/frames/%d" % (m, int(get(proc_path(m, pid, "/pagetable?addr=" + a))
                                                   .json["pfn"]))).json
    eq([(x["pid"], x["vaddr"]) for x in fr["mappings"]], [(pid, a)], "rmap of the frame")
    eq(post(base + "/data:sync").status, 200, "syncFile")
    eq(get(base + "/data").json["dirty_pages"], 0, "clean after sync")
    r = post("/v1/machines/%s:dropCaches" % m, {"mode": 3})
    eq(r.status, 200, "dropCaches: %r" % r.body)
    eq(r.json["pagecache"], 0, "mapped pages stay")
    eq(pop(m, pid, "munmap", {"addr": a, "length": "16K"}).status, 200, "munmap")
    eq(post("/v1/machines/%s:dropCaches" % m, {"mode": 1}).json["pagecache"], 4, "now dropped")
    r = post(base + "/data:read", {"offset": 0, "length": 4})
    eq((base64.b64decode(r.json["data"]), r.json["major"]), (b"\x00xyz", 4), "read back from disk")
    expect_error(post("/v1/machines/%s:dropCaches" % m, {"mode": 4}), 400, "INVALID_ARGUMENT", "mode")
    meminfo = get("/v1/machines/%s/proc/meminfo" % m).body.decode()
    check("Cached:" in meminfo, "meminfo")
    eq(post(base + "/data:truncate", {"size": 5}).status, 200, "truncateFile")
    eq(get(base + "/data").json["size"], 5, "truncated")
    expect_error(pop(m, pid, "mmap", {"length": 4096, "prot": "r--", "flags": ["MAP_SHARED"],
                                       "file": "nope"}), 422, "EBADF")
    eq(request("DELETE", base + "/data").status, 200, "deleteFile")
    expect_error(get(base + "/data"), 404, "NOT_FOUND")
    eq(post("/v1/machines/%s:check" % m).json["ok"], True, "checker clean")
    request("DELETE", "/v1/machines/" + m)


@test
def processes_batch_and_digest():
    cfg = {"memory": "64M", "seed": 5}
    m = new_machine(cfg)
    ops = [{"op": "spawn", "name": "b"},
           {"op": "mmap", "pid": 1, "length": "64K", "prot": "rw-", "flags": ANON},
           {"op": "mprotect", "pid": 1, "addr": "0x7ffff7fef000", "length": "4K", "prot": "---"},
           {"op": "fork", "pid": 1},
           {"op": "mmap", "pid": 2, "length": "8K", "prot": "r--", "flags": ANON},
           {"op": "madvise", "pid": 2, "addr": "0x7ffff7fef000", "length": "4K",
            "advice": "MADV_SEQUENTIAL"},
           {"op": "mlock", "pid": 1, "addr": "0x7ffff7ff0000", "length": "4K"},
           {"op": "munlock", "pid": 1, "addr": "0x7ffff7ff0000", "length": "4K"},
           {"op": "brk", "pid": 1, "addr": "0x555555556000"},
           {"op": "setOomScoreAdj", "pid": 2, "value": 1000},
           {"op": "munmap", "pid": 1, "addr": "0x7ffff7fef000", "length": "64K"},
           {"op": "exit", "pid": 2}]
    r = post("/v1/machines/%s:batch" % m, {"ops": ops})
    eq(r.status, 200, "batch")
    res = r.json["results"]
    eq([x["ok"] for x in res], [True] * len(ops), "all ok: %r" % res)
    eq(res[0]["result"], {"pid": 1}, "spawn result")
    eq(res[1]["result"], {"addr": "0x7ffff7fef000"}, "mmap result (the address used below)")
    eq(res[3]["result"], {"pid": 2}, "fork result")
    eq(res[6]["result"], {"minor": 1, "major": 0}, "mlock result")
    eq(res[8]["result"], {"brk": "0x555555556000"}, "brk result")
    eq(digest(m)["seq"], len(ops), "seq counts the records")
    # the same records one by one on a twin: the same state, and every
    # operation changes the digest
    twin = new_machine(cfg)
    prev = digest(twin)["digest"]
    for rec in ops:
        body = {k: v for k, v in rec.items() if k not in ("op", "pid")}
        path = (proc_path(twin) if rec["op"] == "spawn"
                else proc_path(twin, rec["pid"], ":" + rec["op"]))
        eq(post(path, body).status, 200, "twin %s" % rec["op"])
        cur = digest(twin)["digest"]
        check(cur != prev, "%s changes the digest" % rec["op"])
        prev = cur
    eq(digest(twin), digest(m), "batch = the same ops one by one")
    # errors inside a batch: 404 for an unknown pid, 400 for a bad name, 422 errno
    r = post("/v1/machines/%s:batch" % m, {"stop_on_error": False, "ops": [
        {"op": "fork", "pid": 77},
        {"op": "mmap", "pid": 1, "length": "4K", "prot": "rw-", "flags": ["MAP_PRIVTE"]},
        {"op": "mmap", "pid": 1, "length": 0, "prot": "rw-", "flags": ANON},
        {"op": "spawn"}]})
    res = r.json["results"]
    eq([(x["ok"], x.get("error", {}).get("code")) for x in res],
       [(False, "NOT_FOUND"), (False, "INVALID_ARGUMENT"), (False, "EINVAL"), (True, None)],
       "error classes in a batch")
    eq(res[0]["error"]["details"], {"pid": 77, "index": 0}, "404 details")
    eq(res[2]["error"]["details"], {"op": "mmap", "index": 2}, "422 details")
    eq(digest(m)["seq"], len(ops) + 2, "the 422 and the spawn advance seq")
    for x in (m, twin):
        request("DELETE", "/v1/machines/" + x)


@test
def check_and_digest_determinism():
    a, b = new_machine({"memory": "32M", "seed": 3}), new_machine({"memory": "32M", "seed": 3})
    for m in (a, b):
        for order in (0, 1, 5, 0, 3):
            eq(alloc(m, order).status, 200, "alloc")
    eq(digest(a), digest(b), "same config + same ops = same digest and seq")
    eq(alloc(b, 0).status, 200, "one more")
    check(digest(a)["digest"] != digest(b)["digest"], "different ops, different digest")
    r = post("/v1/machines/%s:check" % a, {})
    eq(r.json["ok"], True, "check ok")
    expect_error(post("/v1/machines/%s:check" % a, {"deep": True}), 400, "INVALID_ARGUMENT", "deep")
    for m in (a, b):
        request("DELETE", "/v1/machines/" + m)


@test
def not_found_and_methods():
    for path in ("/v1", "/v1/machine", "/ui/nope.js", "/v1/machines/m-1/nope", "/v2/machines",
                 "/v1/machines//digest", "/healthz/x", "/v1/machines/m-1:explode"):
        e = expect_error(get(path), 404, "NOT_FOUND")
    expect_error(get("/v1/machines/m-0"), 404, "NOT_FOUND")
    expect_error(get("/v1/machines/m-01"), 404, "NOT_FOUND")
    expect_error(get("/v1/machines/bogus/digest"), 404, "NOT_FOUND")
    m = new_machine({"memory": "16M"})
    for method, path, allow in (
            ("PUT", "/v1/machines", {"GET", "POST"}),
            ("DELETE", "/v1/machines", {"GET", "POST"}),
            ("POST", "/healthz", {"GET"}),
            ("POST", "/v1/machines/" + m, {"GET", "DELETE"}),
            ("GET", "/v1/machines/%s/kernel:allocPages" % m, {"POST"}),
            ("GET", "/v1/machines/%s:batch" % m, {"POST"}),
            ("DELETE", "/v1/machines/%s/digest" % m, {"GET"}),
            ("PATCH", "/v1/openapi.json", {"GET"})):
        r = request(method, path, b"{}" if method in ("PUT", "POST", "PATCH") else None)
        expect_error(r, 405, "METHOD_NOT_ALLOWED")
        got = {x.strip() for x in r.headers.get("allow", "").split(",")}
        eq(got, allow, "Allow of %s %s" % (method, path))
    request("DELETE", "/v1/machines/" + m)


@test
def unsupported_media_415():
    for ct in ("text/plain", "application/xml", "multipart/form-data; boundary=x",
               "application/jsonx"):
        expect_error(post("/v1/machines", "{}", headers={"Content-Type": ct}), 415,
                     "UNSUPPORTED_MEDIA_TYPE")
    expect_error(post("/v1/machines", "name=demo",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}),
                 415, "UNSUPPORTED_MEDIA_TYPE")
    r = post("/v1/machines", '{"name":"form"}',
             headers={"Content-Type": "application/x-www-form-urlencoded"})
    eq(r.status, 201, "form-encoded JSON accepted")
    request("DELETE", "/v1/machines/" + r.json["id"])
    healthy()


@test
def malformed_inputs():
    m = new_machine({"memory": "16M"})
    ap = "/v1/machines/%s/kernel:allocPages" % m
    bodies = [
        ("truncated JSON", "/v1/machines", b'{"name": "x", "config": {"memory": '),
        ("truncated string", ap, b'{"order": 0, "gfp": ["GFP_KER'),
        ("trailing garbage", "/v1/machines", b'{} {}'),
        ("top-level array", "/v1/machines", b'[]'),
        ("top-level number", "/v1/machines", b'42'),
        ("top-level string", ap, b'"allocPages"'),
        ("bare word", "/v1/machines", b'hello'),
        ("wrong type", ap, b'{"order": [], "gfp": []}'),
        ("huge integer", ap, b'{"order": 123456789012345678901234567890, "gfp": []}'),
        ("huge real", ap, b'{"order": 1e999, "gfp": []}'),
        ("negative order", ap, b'{"order": -5, "gfp": []}'),
        ("negative size", "/v1/machines", b'{"config": {"memory": -268435456}}'),
        ("negative size string", "/v1/machines", b'{"config": {"swap": "-1M"}}'),
        ("size overflow", "/v1/machines", b'{"config": {"memory": "99999999999T"}}'),
        ("invalid UTF-8", "/v1/machines", b'{"name": "\xff\xfe"}'),
        ("overlong UTF-8", "/v1/machines", b'{"name": "\xc0\xaf"}'),
        ("lone surrogate", "/v1/machines", b'{"name": "\\ud800"}'),
        ("NUL escape", "/v1/machines", b'{"name": "a\\u0000b"}'),
        ("raw control char", "/v1/machines", b'{"name": "a\x01b"}'),
        ("duplicate keys", ap, b'{"order": 0, "order": 1, "gfp": []}'),
        ("unknown op field", ap, b'{"order": 0, "gfp": [], "pfn": 3}'),
        ("null body", "/v1/machines", b'null'),
        ("NaN", ap, b'{"order": NaN, "gfp": []}'),
        ("single quotes", ap, b"{'order': 0}"),
        ("comment", ap, b'{"order": 0, /* c */ "gfp": []}'),
    ]
    for what, path, body in bodies:
        r = post(path, body, headers={"Content-Type": "application/json"})
        check(r.status == 400, "%s: status %d %r" % (what, r.status, r.body[:200]))
        expect_error(r, 400, "INVALID_ARGUMENT")
        healthy()
    eq(digest(m)["seq"], 0, "nothing malformed was applied")
    # too deep: 413 naming the limit (--max-json-depth, 64)
    for what, path, body in [
        ("deep nesting", "/v1/machines", b"[" * 10000),
        ("deep objects", "/v1/machines", b'{"a":' * 5000 + b"1" + b"}" * 5000),
        ("65 levels", ap, b'{"x":' + b"[" * 64 + b"]" * 64 + b"}"),
    ]:
        e = expect_error(post(path, body, headers={"Content-Type": "application/json"}), 413,
                         "PAYLOAD_TOO_LARGE")
        eq(e["details"].get("limit"), "max_json_depth", "%s: the limit is named" % what)
        healthy()
    # 64 levels are fine; the limit is about depth, not size
    ok = b'{"ops": [], "stop_on_error": true}'
    eq(post("/v1/machines/%s:batch" % m, ok, headers={"Content-Type": "application/json"}).status,
       200, "shallow batch")
    nested = b'{"order":0,"gfp":[],"x":' + b"[" * 62 + b"]" * 62 + b"}"
    e = expect_error(post(ap, nested), 400, "INVALID_ARGUMENT", "x")
    # bad query strings and paths
    for path in ("/v1/machines?page_size=%00", "/v1/machines/%ff", "/v1/machines/m-1%2f..",
                 "/v1/machines/" + "m" * 5000):
        r = get(path)
        check(r.status in (400, 404, 414), "%s: %d" % (path[:40], r.status))
        if r.status != 414:  # 414 is a connection-level refusal by libmicrohttpd
            expect_error(r, r.status)
        healthy()
    request("DELETE", "/v1/machines/" + m)


@test
def body_limit_declared_413():
    # Content-Length over --max-body: answered 413 before the body is read
    s = raw_connect()
    try:
        n = 10 * 1024 * 1024
        s.sendall(b"POST /v1/machines HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % n)
        s.sendall(b" " * 65536)
        r = raw_read_response(s)
        expect_error(r, 413, "PAYLOAD_TOO_LARGE")
        eq(r.error()["details"].get("max_body"), 8 << 20, "max_body in details")
        check(r.headers.get("x-request-id"), "413 has a request id")
    finally:
        s.close()
    healthy()
    # the same through an ordinary client (it may see the connection close
    # while still sending; the answer it reads must then be the 413)
    try:
        r = post("/v1/machines", b" " * (10 * 1024 * 1024),
                 headers={"Content-Type": "application/json"})
        expect_error(r, 413, "PAYLOAD_TOO_LARGE")
    except (BrokenPipeError, ConnectionResetError):
        pass
    healthy()
    # exactly at the limit is fine (8 MiB of whitespace around {})
    body = b"{}" + b" " * ((8 << 20) - 2)
    r = post("/v1/machines", body, headers={"Content-Type": "application/json"})
    eq(r.status, 201, "a body of exactly --max-body")
    request("DELETE", "/v1/machines/" + r.json["id"])


@test
def body_limit_chunked_413():
    s = raw_connect()
    try:
        s.sendall(b"POST /v1/machines HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b" " * 65536
        for _ in range(160):  # 10 MiB
            s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        r = raw_read_response(s)
        expect_error(r, 413, "PAYLOAD_TOO_LARGE")
        # the connection stays usable
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        r = raw_read_response(s)
        eq(r.status, 200, "same connection after a chunked 413")
        # a small chunked body is fine
        body = b'{"name":"chunked"}'
        s.sendall(b"POST /v1/machines HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        r = raw_read_response(s)
        eq(r.status, 201, "small chunked body")
        eq(r.json["name"], "chunked", "chunked body decoded")
        request("DELETE", "/v1/machines/" + r.json["id"])
    finally:
        s.close()
    healthy()


def drain(s, window=0.3):
    """Reads what the server sends within window seconds (or until close)."""
    data = b""
    deadline = time.monotonic() + window
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return data
        try:
            chunk = s.recv(65536)
        except OSError:
            return data
        if not chunk:
            return data
        data += chunk


@test
def garbage_on_the_wire():
    for junk in (b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n", b"NOTHTTP / FOO/9\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                 b"GET / HTTP/1.1\r\nHost: \x00x\r\n\r\n",
                 b"POST /v1/machines HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{",
                 b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 40000 + b"\r\n\r\n"):
        s = raw_connect()
        try:
            s.sendall(junk)
            drain(s)
        except OSError:
            pass
        finally:
            s.close()
        healthy()
    # a client that connects and leaves without a word
    s = raw_connect()
    s.close()
    healthy()


@test
def non_utf8_on_the_wire():
    m = new_machine({"memory": "16M"})
    for req, status in (
            (b"POST /v1/machines HTTP/1.1\r\nContent-Type: text/\xff\xfe\r\n"
             b"Content-Length: 2\r\n", 415),
            (b"GET /v1/machines/%s/frames/%%ff%%fe HTTP/1.1\r\n" % m.encode(), 400),
            (b"GET /v1/machines/%s/proc/%%ff HTTP/1.1\r\n" % m.encode(), 404),
            (b"GET /v1/machines/%s/frames?start=%%ff HTTP/1.1\r\n" % m.encode(), 400),
            (b"GET /v1/machines?%ff=1 HTTP/1.1\r\n", 400)):
        s = raw_connect()
        try:
            s.sendall(req + b"Host: x\r\n\r\n" + (b"{}" if req.startswith(b"POST") else b""))
            r = raw_read_response(s)
            expect_error(r, status)
            json.loads(r.body.decode("utf-8"))  # strict UTF-8 JSON
        finally:
            s.close()
    healthy()
    request("DELETE", "/v1/machines/" + m)


@test
def transport_refusals():
    """%00 is never decoded (a NUL would cut the path the router matches:
    /v1/machines/m-1%00 must not answer for m-1), and a Transfer-Encoding
    other than chunked is 400 at once (the body length is unknowable)."""
    m = new_machine({"memory": "16M"})
    r = get("/v1/machines/%s%%00" % m)
    e = expect_error(r, 404, "NOT_FOUND")
    eq(e["details"].get("machine"), m + "%00", "the id as sent")
    expect_error(get("/v1/machines/%s/frames?start=%%00" % m), 400, "INVALID_ARGUMENT")
    eq(get("/v1/machines/%s/frames/%%31" % m).status, 200, "other escapes decode")
    for te in (b"gzip", b"gzip, chunked, identity", b"identity"):
        s = raw_connect()
        try:
            s.sendall(b"POST /v1/machines/%s/kernel:allocPages HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nTransfer-Encoding: %s\r\n\r\n{}"
                      % (m.encode(), te))
            e = expect_error(raw_read_response(s), 400, "INVALID_ARGUMENT")
            eq(e["details"].get("transfer_encoding"), te.decode(), "details")
        finally:
            s.close()
    healthy()
    eq(digest(m)["seq"], 0, "nothing applied")
    request("DELETE", "/v1/machines/" + m)


@test
def pipelined_requests():
    s = raw_connect()
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 3 +
                  b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        got = [raw_read_response(s) for _ in range(4)]
        eq([r.status for r in got], [200] * 4, "four pipelined answers")
        eq(got[3].json, {"status": "ready"}, "in order")
    finally:
        s.close()


@test
def openapi_generated():
    r = get("/v1/openapi.json")
    eq(r.status, 200, "openapi")
    doc, r_doc = r.json, r.body
    eq(doc["openapi"], "3.1.0", "version")
    paths = doc["paths"]
    schemas = doc["components"]["schemas"]
    for op in ("allocPages", "freePages", "kmalloc", "kfree", "vmalloc", "vfree", "kmap",
               "kunmap"):
        p = paths.get("/v1/machines/{m}/kernel:" + op)
        check(p and "post" in p, op + " documented")
        eq(p["post"]["operationId"], op, "operationId")
        check(op + "Record" in schemas and op + "Args" in schemas, op + " schemas")
    for op, path, meth in (("kmemCacheCreate", "", "post"), ("kmemCacheDestroy", "/{cache}", "delete"),
                           ("kmemCacheAlloc", "/{cache}:alloc", "post"),
                           ("kmemCacheFree", "/{cache}:free", "post"),
                           ("kmemCacheShrink", "/{cache}:shrink", "post")):
        p = paths.get("/v1/machines/{m}/kmemCaches" + path, {}).get(meth)
        check(p, "%s documented as %s" % (op, meth))
        eq(p["operationId"], op, "operationId")
        if path:
            eq([x["name"] for x in p["parameters"]], ["m", "cache"], op + " path ids")
            check("cache" not in schemas[op + "Args"]["properties"], "path id not in the body")
            check("cache" in schemas[op + "Record"]["properties"], "but in the record")
    eq(schemas["kmallocResult"]["properties"]["cache"]["type"], ["string", "null"],
       "nullable cache")
    check("SLAB_POISON" in schemas["kmemCacheCreateArgs"]["properties"]["flags"]["items"]["enum"],
          "slab flag names")
    ks = paths["/v1/machines/{m}/kernel/ksize"]["get"]
    check("400" in ks["summary"] and "INVALID_ARGUMENT" in ks["summary"], "ksize documents its 400")
    args = schemas["allocPagesArgs"]
    eq(sorted(args["required"]), ["gfp", "order"], "required args from the table")
    eq(args["properties"]["order"]["maximum"], 10, "order range from the table")
    eq(args["additionalProperties"], False, "unknown fields rejected")
    check("GFP_KERNEL" in args["properties"]["gfp"]["items"]["enum"], "gfp names")
    eq(schemas["freePagesRecord"]["properties"]["op"], {"const": "freePages"}, "record op")
    refs = [x["$ref"] for x in schemas["Batch"]["properties"]["ops"]["items"]["oneOf"]]
    check("#/components/schemas/allocPagesRecord" in refs, "batch lists the records")
    # every $ref resolves
    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "$ref":
                    check(v.startswith("#/components/schemas/") and
                          v.split("/")[-1] in schemas, "dangling $ref " + v)
                else:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(doc)
    # every documented route exists (not 404/405) and nothing is undocumented
    m = new_machine({"memory": "16M"})
    eq(post("/v1/machines/%s/snapshots" % m, {"name": "s0"}).status, 201, "a snapshot")
    eq(post("/v1/machines/%s/files" % m, {"name": "f", "size": 4096}).status, 200, "a file")
    for path, item in paths.items():
        for method in item:
            real = (path.replace("{m}", m).replace("{name}", "buddyinfo")
                    .replace("{pfn}", "1").replace("{cache}", "kmalloc-64")
                    .replace("{lab}", "fork-cow").replace("{s}", "s0")
                    .replace("{file}", "f"))
            if method == "delete":
                continue
            if path.endswith("/events"):
                real += "?since=0"  # a plain page, not a stream
            if "{pid}" in real:  # a live process each time (:exit ends one)
                pid = post("/v1/machines/%s/processes" % m, {}).json["pid"]
                real = real.replace("{pid}", str(pid))
            r = request(method.upper(), real, {} if method == "post" else None)
            check(r.status not in (404, 405), "%s %s → %d" % (method, path, r.status))
    # every route the server serves is documented: the fixed routes of its
    # routing table (server/routes.c) by name, and on every documented path
    # the Allow of a 405 (what the router serves there) is what is documented
    documented = {(meth.upper(), p) for p, item in paths.items() for meth in item}
    table = open(os.path.join(ROOT, "server", "routes.c")).read()
    fixed = re.findall(r'\{"(GET|POST|DELETE|PUT|PATCH)", "(/[^"]*)", srv__', table)
    check(len(fixed) >= 20, "the fixed routes of server/routes.c found (%d)" % len(fixed))
    for meth, p in fixed:
        check((meth, p) in documented, "%s %s documented" % (meth, p))
    for path, item in paths.items():
        real = path.replace("{m}", m).replace("{name}", "buddyinfo").replace(
            "{pfn}", "1").replace("{cache}", "c").replace("{pid}", "1").replace(
            "{s}", "s0").replace("{lab}", "fork-cow").replace("{t}", "t0").replace(
            "{file}", "f")
        r = request("PATCH", real)
        eq(r.status, 405, "PATCH " + path)
        eq(set(r.headers["allow"].split(", ")), {x.upper() for x in item},
           "methods served on %s vs documented" % path)
    # the document passes a real OpenAPI 3.1 validator (and strict JSON
    # Schema 2020-12 compilation of every schema): tests/api/openapi-check.mjs
    tool = os.path.join(ROOT, "tests", "api", "openapi-check.mjs")
    check(os.path.isdir(os.path.join(ROOT, "node_modules", "@seriousme")),
          "node_modules missing: run `make deps`")
    doc_file = os.path.join(TMP, "openapi.json")
    with open(doc_file, "wb") as f:
        f.write(r_doc)
    v = subprocess.run(["node", tool, doc_file], capture_output=True, text=True, timeout=60)
    check(v.returncode == 0, "openapi-check: " + (v.stdout + v.stderr)[-1500:])
    for op in ("fork", "exit", "exec", "mmap", "munmap", "mprotect", "madvise", "mlock",
               "munlock", "brk", "setOomScoreAdj", "trace"):
        p = paths.get("/v1/machines/{m}/processes/{pid}:" + op, {}).get("post")
        check(p, op + " documented")
        eq(p["operationId"], op, "operationId")
        eq([x["name"] for x in p["parameters"]], ["m", "pid"], op + " path ids")
        eq(p["parameters"][1]["schema"]["type"], "integer", "pid is an integer")
        check("pid" not in schemas[op + "Args"]["properties"], "pid not in the body")
        check("pid" in schemas[op + "Record"]["properties"], "but in the record")
        check(op + "Result" in schemas, op + " result schema")
    eq(paths["/v1/machines/{m}/processes"]["post"]["operationId"], "spawn", "spawn route")
    mm = schemas["mmapArgs"]["properties"]
    eq(mm["prot"]["pattern"], "^[r-][w-][x-]$", "prot is a triplet")
    eq(mm["prot"]["type"], "string", "prot is a string")
    check("numbers are not accepted" in mm["prot"]["description"], "prot: names only")
    check("MAP_FIXED_NOREPLACE" in mm["flags"]["items"]["enum"], "mmap flag names")
    check("numbers are not accepted" in mm["flags"]["description"], "flags: names only")
    eq(sorted(schemas["mmapArgs"]["required"]), ["flags", "length", "prot"], "mmap required")
    check("MADV_DONTNEED" in schemas["madviseArgs"]["properties"]["advice"]["enum"], "advice")
    eq(schemas["execArgs"]["properties"]["elf"]["contentEncoding"], "base64", "elf is base64")
    check("faults the range" in paths["/v1/machines/{m}/processes/{pid}:mlock"]["post"]["summary"],
          "mlock documents its populate")
    eq(schemas["touchArgs"]["properties"]["access"]["enum"], ["read", "write", "exec"], "touch access")
    eq(set(schemas["mlockResult"]["required"]), {"minor", "major"}, "mlock result")
    eq(schemas["setOomScoreAdjArgs"]["properties"]["value"]["minimum"], -1000, "oom range")
    eq(schemas["Process"]["properties"]["rss_limit_pages"]["type"], ["integer", "null"],
       "nullable limit")
    check("text/plain" in paths["/v1/machines/{m}/processes/{pid}/maps"]["get"]["responses"]
          ["200"]["content"], "maps is text")
    request("DELETE", "/v1/machines/" + m)


@test
def concurrent_clients():
    n = 64
    cfg = {"memory": "16M", "cpus": 2, "seed": 11}
    plan = [("a", 0, 0), ("a", 1, 1), ("a", 3, 0), ("f", 0, None), ("a", 0, 1),
            ("f", 2, None), ("a", 2, 0), ("f", 1, None), ("f", 4, None), ("a", 0, 0)]
    # the reference, computed alone
    def run(results, k):
        try:
            c = S.conn()
            m = request("POST", "/v1/machines", {"config": cfg}, conn=c).json["id"]
            got = []
            for kind, arg, cpu in plan:
                if kind == "a":
                    r = request("POST", "/v1/machines/%s/kernel:allocPages" % m,
                                {"order": arg, "gfp": ["GFP_KERNEL"], "cpu": cpu}, conn=c)
                    eq(r.status, 200, "alloc")
                    got.append((r.json["pfn"], arg))
                else:
                    pfn, order = got[arg]
                    r = request("POST", "/v1/machines/%s/kernel:freePages" % m,
                                {"pfn": pfn, "order": order}, conn=c)
                    eq(r.status, 200, "free")
                d = request("GET", "/v1/machines/%s/digest" % m, conn=c).json
            chk = request("POST", "/v1/machines/%s:check" % m, conn=c).json
            request("DELETE", "/v1/machines/" + m, conn=c)
            c.close()
            results[k] = (d["digest"], d["seq"], tuple(got), chk["ok"])
        except Exception as e:  # noqa: BLE001 — reported below
            results[k] = e
    ref = {}
    run(ref, 0)
    check(not isinstance(ref[0], Exception), "reference run: %r" % (ref[0],))
    results = {}
    threads = [threading.Thread(target=run, args=(results, k)) for k in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 40
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    check(not any(t.is_alive() for t in threads), "clients finished in time")
    for k in range(n):
        check(not isinstance(results.get(k), Exception), "client %d: %r" % (k, results.get(k)))
        eq(results[k], ref[0], "client %d matches the reference" % k)
    eq(ref[0][1], len(plan), "seq = operations")
    eq(ref[0][3], True, "checker ok")
    healthy()


@test
def access_log():
    get("/healthz", headers={"X-Request-Id": "log-probe-1"})
    def found():
        with open(S.log) as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("id") == "log-probe-1":
                    return rec
        return None
    rec = wait_until(found, what="the access log line")
    eq(rec["method"], "GET", "method")
    eq(rec["path"], "/healthz", "path")
    eq(rec["status"], 200, "status")
    check(isinstance(rec["us"], int) and "ts" in rec and "bytes" in rec, "fields")
    with open(S.log) as f:
        for line in f:
            json.loads(line)  # every line is JSON


def cli(*args, url=None, key=None, stdin=None):
    """Runs `mmsim ARGS` (the CLI beside BIN) against url (default: S)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMSIM_")}
    env["MMSIM_URL"] = url or S.url
    if key is not None:
        env["MMSIM_KEY"] = key
    p = subprocess.run([os.path.join(os.path.dirname(BIN), "mmsim")] + list(args), env=env,
                       input=(stdin or "").encode(), capture_output=True, timeout=TIMEOUT)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@test
def cli_get_post():
    rc, out, _ = cli("get", "/healthz")
    eq((rc, json.loads(out)), (0, {"status": "ok"}), "mmsim get /healthz")
    rc, out, _ = cli("post", "/v1/machines", '{"config": {"memory": "16M"}}')
    eq(rc, 0, "mmsim post machine")
    m = json.loads(out)["id"]
    rc, out, _ = cli("post", "/v1/machines/%s/processes" % m)
    eq((rc, json.loads(out)), (0, {"pid": 1}), "post without a body")
    rc, out, _ = cli("post", "/v1/machines/%s/processes/1:setOomScoreAdj" % m, "-",
                     stdin='{"value": 7}')
    eq(rc, 0, "body from stdin")
    eq(get("/v1/machines/%s/processes/1" % m).json["oom_score_adj"], 7, "it was applied")
    rc, out, _ = cli("get", "/v1/machines/%s/proc/buddyinfo" % m)
    check(rc == 0 and out.startswith("Node 0, zone"), "Linux text as curl gets it: %r" % out)
    rc, out, err = cli("post", "/v1/machines/%s/processes/1:setOomScoreAdj" % m, '{"value": 5000}')
    eq(rc, 1, "a 4xx exits 1")
    eq(json.loads(out)["error"]["status"], 400, "the error body is printed")
    check("400" in err, "the status line on stderr")
    rc, out, _ = cli("get", "/v1/nothing")
    eq((rc, json.loads(out)["error"]["status"]), (1, 404), "404")
    eq(cli("get")[0], 2, "usage")
    eq(cli("get", "no-slash")[0], 2, "PATH must start with /")
    eq(cli("get", "/healthz", url="ftp://x")[0], 2, "not an http URL")
    # nothing listens: a port that was just free
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = "http://127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    eq(cli("get", "/healthz", url=dead)[0], 2, "unreachable")
    # what goes on the wire: a one-shot listener reads the request; the
    # URL's path prefix is kept and MMSIM_KEY is the Bearer key
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    got = {}
    def serve():
        c, _ = ls.accept()
        data = b""
        while b"\r\n\r\n" not in data or not data.endswith(b"}"):
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
        got["req"] = data.decode()
        c.sendall(b"HTTP/1.0 201 Created\r\nContent-Length: 2\r\n\r\n{}")
        c.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    rc, out, _ = cli("post", "/v1/machines", '{"a":1}', key="sekrit-1",
                     url="http://127.0.0.1:%d/base/" % ls.getsockname()[1])
    t.join(TIMEOUT)
    ls.close()
    eq((rc, out), (0, "{}\n"), "answer")
    req = got.get("req", "")
    check(req.startswith("POST /base/v1/machines HTTP/1."), "request line: %r" % req[:60])
    check("\r\nAuthorization: Bearer sekrit-1\r\n" in req, "bearer key: %r" % req)
    check("\r\nContent-Type: application/json\r\n" in req, "content type")
    check(req.endswith('\r\n\r\n{"a":1}'), "body: %r" % req)
    request("DELETE", "/v1/machines/" + m)


@test
def readme_tour():
    readme = open(os.path.join(ROOT, "README.md")).read()
    m = re.search(r"<!-- tour:begin -->(.*?)<!-- tour:end -->", readme, re.S)
    check(m, "README has a tour between markers")
    blocks = re.findall(r"```sh\n(.*?)```", m.group(1), re.S)
    check(len(blocks) >= 1, "tour has sh blocks")
    script = "set -e\n" + "\n".join(blocks)
    env = dict(os.environ, MMSIM=S.url)
    p = subprocess.run(["sh", "-c", script], env=env, capture_output=True, timeout=60)
    out = p.stdout.decode()
    eq(p.returncode, 0, "tour exit status (stderr %r)" % p.stderr.decode()[-500:])
    check('"error"' not in out, "tour answers carry no error:\n" + out[-1500:])
    check(re.search(r"machine m-[0-9]+", out), "tour created a machine")
    check("Node 0, zone" in out, "tour printed buddyinfo")
    check(re.search(r"allocated pfn [0-9]+", out), "tour allocated")
    check('"seq":2' in out, "tour digest after 2 ops")
    check('"ok":true' in out, "tour check ok")
    # the process part: one VMA, the split after mprotect, the child's copy
    check(re.search(r"^process [0-9]+$", out, re.M), "tour spawned a process")
    mt = re.search(r"^mapped at (0x[0-9a-f]+)$", out, re.M)
    check(mt, "tour mapped memory:\n" + out[-1500:])
    a = int(mt.group(1), 16)
    one = "%08x-%08x rw-p 00000000 00:00 0 " % (a, a + 65536)
    split = ("%08x-%08x r--p 00000000 00:00 0 \n%08x-%08x rw-p 00000000 00:00 0 \n"
             % (a, a + 16384, a + 16384, a + 65536))
    check(one + "\n{}\n" + split in out, "maps, mprotect, maps again:\n" + out[-1500:])
    check(re.search(r"^child [0-9]+\n" + re.escape(split), out, re.M),
          "the child's maps are the parent's:\n" + out[-1500:])
    # write, fork, the child's COW write, the parent's bytes unchanged
    check('"pages":1,"minor":1,"major":0,"cow":0,"zero":0,"signal":null}\nchild' in out,
          "the parent's first write: one fault:\n" + out[-1500:])
    check('"pages":1,"minor":1,"major":0,"cow":1,"zero":0,"signal":null}\n'
          '{"pages":1,"minor":0,"major":0,"cow":0,"zero":0,"signal":null,"data":"cGFyZW50"}\n'
          'parent\n' in out, "the child's COW write, the parent's read:\n" + out[-1500:])


@test
def readme_kernel_allocators():
    readme = open(os.path.join(ROOT, "README.md")).read()
    m = re.search(r"<!-- kernel:begin -->(.*?)<!-- kernel:end -->", readme, re.S)
    check(m, "README has the kernel allocators example between markers")
    script = "set -e\n" + "\n".join(re.findall(r"```sh\n(.*?)```", m.group(1), re.S))
    p = subprocess.run(["sh", "-c", script], env=dict(os.environ, MMSIM=S.url),
                       capture_output=True, timeout=60)
    out = p.stdout.decode()
    eq(p.returncode, 0, "example exit status (stderr %r)" % p.stderr.decode()[-500:])
    eq(out.count('"error"'), 1, "exactly one error, the double free:\n" + out[-1500:])
    check('"code":"EINVAL"' in out, "the double free is EINVAL")
    check('{"size":64}' in out, "ksize")
    check(re.search(r"^my_cache +32 +32 +128 +32 +1 :", out, re.M), "slabinfo row:\n" + out)
    check('"kind":"vmalloc","mapped":true' in out, "vmalloc translation")
    check(re.search(r"^0xffffc90000000000-0xffffc90000004000 +16384 pages=3 vmalloc", out,
                    re.M), "vmallocinfo")


def startup_error(args, env=None, want_rc=2, want=""):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MMSIM_")}
    full_env.update(env or {})
    p = subprocess.run([BIN] + args, capture_output=True, timeout=TIMEOUT, env=full_env)
    eq(p.returncode, want_rc, "exit status of %r (stderr %r)" % (args, p.stderr[-300:]))
    check(want.encode() in p.stderr, "%r: stderr %r lacks %r" % (args, p.stderr[:300], want))
    check(b"listening on" not in p.stdout, "did not listen")


@test
def startup_flags():
    data = os.path.join(TMP, "d1")
    startup_error(["--listen", "0.0.0.0:0", "--data", data], want="loopback")
    startup_error(["--listen", "10.1.2.3:0", "--data", data], want="loopback")
    startup_error(["--listen", "127.0.0.1:0", "--data", data], env={"MMSIM_LISTEN": "x"},
                  want_rc=2, want="MMSIM_LISTEN")
    startup_error(["--admin-key-file", "/dev/null", "--listen", "127.0.0.1:0", "--data", data],
                  want="the admin key must be")
    startup_error(["--durability", "sometimes"], want="--durability")
    startup_error(["--max-body", "lots"], want="--max-body")
    startup_error(["--threads", "0"], want="--threads")
    startup_error(["--listen", "127.0.0.1:70000"], want="--listen")
    startup_error(["--frobnicate"], want="unknown option")
    p = subprocess.run([BIN, "--help"], capture_output=True, timeout=TIMEOUT)
    eq(p.returncode, 0, "--help")
    check(b"--listen" in p.stdout, "usage text")
    # flags and env accepted; data dir created; env as listen address
    srv = Server("--durability", "relaxed", "--threads", "2", "--max-body", "64K",
                 "--max-batch", "3", "--data", os.path.join(TMP, "made", "here"))
    try:
        check(os.path.isdir(os.path.join(TMP, "made", "here")), "--data created")
        healthy(srv)
        r = post("/v1/machines", b"{}" + b" " * (64 * 1024), server=srv,
                 headers={"Content-Type": "application/json"})
        expect_error(r, 413, "PAYLOAD_TOO_LARGE")
        m = new_machine({"memory": "16M"}, server=srv)
        r = post("/v1/machines/%s:batch" % m, {"ops": [{"op": "noop"}] * 4}, server=srv)
        expect_error(r, 413, "PAYLOAD_TOO_LARGE")
    finally:
        eq(srv.stop(), 0, "exit status after SIGTERM")
    env_srv = Server(env={"MMSIM_MAX_BODY": "2K", "MMSIM_MAX_MACHINES": "2"})
    try:
        r = post("/v1/machines", b"{}" + b" " * 4096, server=env_srv,
                 headers={"Content-Type": "application/json"})
        expect_error(r, 413, "PAYLOAD_TOO_LARGE")
        a = new_machine({"memory": "16M"}, server=env_srv)
        new_machine({"memory": "16M"}, server=env_srv)
        r = post("/v1/machines", {}, server=env_srv)
        expect_error(r, 429, "RESOURCE_EXHAUSTED")
        check(r.headers.get("retry-after"), "429 carries Retry-After")
        eq(request("DELETE", "/v1/machines/" + a, server=env_srv).status, 200, "delete")
        new_machine({"memory": "16M"}, server=env_srv)
    finally:
        eq(env_srv.stop(signal.SIGINT), 0, "exit status after SIGINT")


@test
def sigterm_drains_in_flight():
    srv = Server()
    try:
        m = new_machine({"memory": "16M"}, server=srv)
        # a request in flight: headers and half the body sent
        body = json.dumps({"order": 0, "gfp": ["GFP_KERNEL"]}).encode()
        s = raw_connect(srv)
        s.sendall(b"POST /v1/machines/%s/kernel:allocPages HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                  % (m.encode(), len(body)) + body[:5])
        # an idle keep-alive connection
        idle = srv.conn()
        eq(request("GET", "/healthz", conn=idle, server=srv).status, 200, "idle conn")
        wait_until(lambda: any('"path":"/healthz"' in ln for ln in open(srv.log)),
                   what="the idle connection's request to be logged")
        srv.proc.send_signal(signal.SIGTERM)
        # the listener goes away: new connections are refused
        def refused():
            try:
                c = socket.create_connection((srv.host, srv.port), timeout=1)
                c.close()
                return False
            except OSError:
                return True
        wait_until(refused, what="the listening socket to close")
        check(srv.proc.poll() is None, "still running while a request is in flight")
        # a new request on an open connection is refused with 503
        r = request("GET", "/readyz", conn=idle, server=srv)
        expect_error(r, 503, "UNAVAILABLE")
        eq(r.headers.get("connection", "").lower(), "close", "503 closes the connection")
        s.sendall(body[5:])
        r = raw_read_response(s)
        eq(r.status, 200, "the in-flight request is answered: %r" % r.body)
        eq(r.headers.get("connection", "").lower(), "close", "Connection: close while stopping")
        s.close()
        idle.close()
        rc = srv.stop(None)
    finally:
        if srv.proc.poll() is None:
            srv.stop(signal.SIGKILL)
    eq(rc, 0, "exit status after SIGTERM")


@test
def reclaim_routes():
    """:tick, :reclaim, …:trace, GET …/lru, /proc counters, journaled."""
    m = new_machine({"memory": "64M", "page_policy": "lru", "swappiness": 100})
    pid = spawn(m, rss_limit_pages=2)
    eq(mmap(m, pid, length="16K", addr="0x100000000",
            flags=ANON + ["MAP_FIXED"]).status, 200, "mmap")
    r = pop(m, pid, "trace", {"addr": "0x100000000", "pages": [0, 1, 0, 2, 1],
                              "access": "write"})
    eq(r.status, 200, "trace: %r" % r.body[:300])
    eq(r.json, {"hits": 1, "misses": 4, "sequence": "MMHMM", "resident": [1, 2],
                "signal": None}, "trace under lru, 2 frames")
    expect_error(pop(m, pid, "trace", {"addr": 0, "pages": "0", "access": "read"}),
                 400, "INVALID_ARGUMENT", "pages")
    expect_error(pop(m, 99, "trace", {"addr": 0, "pages": [], "access": "read"}),
                 404, "NOT_FOUND")
    # the LRU: the two resident pages on node 0's inactive anon list
    r = get("/v1/machines/%s/lru" % m)
    eq(r.status, 200, "lru")
    node = r.json["items"][0]
    eq(node["lists"]["inactive_anon"]["count"], 2, "inactive anon")
    eq(len(node["lists"]["inactive_anon"]["pfns"]), 2, "their pfns")
    eq(node["kswapd"]["awake"], False, "kswapd asleep")
    # a file in the page cache, reclaimed on request
    eq(post("/v1/machines/%s/files" % m, {"name": "f", "size": "64K"}).status, 200, "file")
    r = post("/v1/machines/%s/files/f:read" % m, {"offset": 0, "length": 65536})
    eq(r.status, 200, "readFile: %r" % r.body[:200])
    r = post("/v1/machines/%s:reclaim" % m, {"pages": 16})
    eq(r.status, 200, "reclaim: %r" % r.body[:300])
    eq(r.json["requested"], 16, "requested")
    eq(r.json["reclaimed"], 16, "reclaimed")
    check(r.json["scanned"] >= 16 and r.json["passes"] >= 1, "scanned, passes")
    expect_error(post("/v1/machines/%s:reclaim" % m, {"pages": 1, "node": 3}),
                 400, "INVALID_ARGUMENT", "node")
    r = post("/v1/machines/%s:tick" % m, {"n": 2})
    eq(r.json, {"ticks": 2, "kswapd_runs": 0, "sleeps": 0, "passes": 0,
                "scanned": 0, "reclaimed": 0}, "tick with kswapd asleep")
    vmstat = get("/v1/machines/%s/proc/vmstat" % m).body.decode()
    check("pgsteal_proactive 16\n" in vmstat, "pgsteal_proactive in vmstat")
    # the 16 evicted pages left shadow entries: the clock moved 16, and
    # reading them back refaults 16 (none activated: no active pages)
    ws = get("/v1/machines/%s/lru" % m).json["items"][0]["workingset"]
    eq(ws, {"nonresident_age": 16, "shadow_nodes": 1}, "workingset after reclaim")
    r = post("/v1/machines/%s/files/f:read" % m, {"offset": 0, "length": 65536})
    eq(r.status, 200, "readFile again: %r" % r.body[:200])
    vmstat = get("/v1/machines/%s/proc/vmstat" % m).body.decode()
    check("\nworkingset_refault_file 16\n" in vmstat, "refaults in vmstat")
    check("\nworkingset_activate_file 0\n" in vmstat, "none activated")
    check("pgsteal_file 16\n" in vmstat, "file pages")
    meminfo = get("/v1/machines/%s/proc/meminfo" % m).body.decode()
    check(re.search(r"^Inactive\(anon\): +8 kB$", meminfo, re.M), "Inactive(anon)")
    # all of it is in the journal: a replay gives the same digest
    d = digest(m)
    check(d, "digest")
    journal = get("/v1/machines/%s/journal" % m).body.decode().splitlines()
    ops = [json.loads(ln).get("op") for ln in journal[1:]]
    for op in ("trace", "reclaim", "tick"):
        check(op in ops, op + " journaled")


@test
def swap_routes():
    m = new_machine({"memory": "64M", "swap": "16M"})
    header = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
    r = get("/v1/machines/%s/proc/swaps" % m)
    eq((r.status, r.body.decode()),
       (200, header + "/dev/vda2" + " " * 31 + "partition\t16380\t\t0\t\t-2\n"), "/proc/swaps")
    j = get("/v1/machines/%s/proc/swaps" % m, headers={"Accept": "application/json"}).json
    eq(j, [{"filename": "/dev/vda2", "type": "partition", "size_kb": 16380, "used_kb": 0,
            "priority": -2}], "/proc/swaps as JSON")
    # MADV_PAGEOUT writes the written pages to swap; a read faults one back
    pid = spawn(m)
    a = int(mmap(m, pid, length="16K").json["addr"], 16)
    b64 = lambda b: base64.b64encode(b).decode()
    for i in range(4):
        eq(pop(m, pid, "write", {"addr": a + i * 4096, "data": b64(b"page%d" % i)}).status, 200,
           "write")
    eq(pop(m, pid, "madvise", {"addr": a, "length": "16K", "advice": "MADV_PAGEOUT"}).status,
       200, "pageout")
    eq(get("/v1/machines/%s/proc/swaps" % m).body.decode().split("\t")[-3], "16",
       "16 kB used")
    meminfo = get("/v1/machines/%s/proc/meminfo" % m).body.decode()
    check(re.search(r"^SwapTotal: +16380 kB$", meminfo, re.M), "SwapTotal")
    check(re.search(r"^SwapFree: +16364 kB$", meminfo, re.M), "SwapFree")
    pt = get(proc_path(m, pid, "/pagetable?addr=%d" % (a + 4096))).json
    eq((pt["kind"], pt["mapped"], pt["pfn"], pt["swap"]), ("swap", False, None,
                                                          {"type": 0, "offset": 2}),
       "a swap entry in the walk")
    st = get(proc_path(m, pid, "/status"), headers={"Accept": "application/json"}).json
    eq(st["VmSwap"], 16, "VmSwap")
    r = pop(m, pid, "read", {"addr": a + 4096, "length": 5})
    eq((r.status, r.json), (200, {"pages": 1, "minor": 0, "major": 1, "cow": 0, "zero": 0,
                                  "signal": None, "data": b64(b"page1")}), "major fault back")
    # the first fault reads a whole readahead window: the four slots
    vmstat = get("/v1/machines/%s/proc/vmstat" % m).body.decode()
    check("pswpout 4\n" in vmstat and "pswpin 4\n" in vmstat, "pswpout 4, pswpin 4")
    check("swap_ra 3\n" in vmstat, "three pages read ahead")
    check("nr_swapcached 4\n" in vmstat, "the pages read stay in the swap cache")
    meminfo = get("/v1/machines/%s/proc/meminfo" % m).body.decode()
    check(re.search(r"^SwapCached: +16 kB$", meminfo, re.M), "SwapCached")
    r = pop(m, pid, "read", {"addr": a + 3 * 4096, "length": 5})
    eq((r.json["major"], r.json["minor"], r.json["data"]), (0, 1, b64(b"page3")),
       "a page read ahead: a minor fault")
    check("swap_ra_hit 1\n" in get("/v1/machines/%s/proc/vmstat" % m).body.decode(),
          "a readahead hit")
    f = get("/v1/machines/%s/frames" % m).json
    eq((f["states"].count("w"), f["legend"]["w"]), (2, "swap cache, unmapped"),
       "the two pages read ahead and not mapped yet")
    eq(post("/v1/machines/%s:check" % m, {}).json["ok"], True, "checker clean")
    # a machine without swap lists none
    m2 = new_machine({"memory": "64M"})
    eq(get("/v1/machines/%s/proc/swaps" % m2).body.decode(), header, "no swap area")
    for x in (m, m2):
        request("DELETE", "/v1/machines/" + x)


# ---- runner --------------------------------------------------------------------------

def main():
    global S
    t0 = time.monotonic()
    try:
        S = Server()
    except Exception as e:  # noqa: BLE001
        print("FAIL server start: %s" % e)
        print("0 passed, 1 failed")
        return 1
    def server_died():
        if S.proc.poll() is None:
            return False
        print("     the server died with status %s" % S.proc.returncode)
        return True
    passed, failed = testkit.run_tests(TESTS, ONLY, stop=server_died)
    if not ONLY or any(o in "sigterm_exit_0" for o in ONLY):
        try:
            rc = S.stop()
            eq(rc, 0, "shared server exit status after SIGTERM")
            passed += 1
            print("ok   %-28s" % "sigterm_exit_0", flush=True)
        except Exception as e:  # noqa: BLE001
            failed += 1
            print("FAIL %-28s %s" % ("sigterm_exit_0", e), flush=True)
    else:
        S.stop()
    err = open(S.errpath, "rb").read().decode("utf-8", "replace").strip()
    if err:
        print("server stderr:\n" + err[-2000:])
    return testkit.finish("api", t0, TMP, passed, failed)


if __name__ == "__main__":
    sys.exit(main())
