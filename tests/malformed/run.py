#!/usr/bin/env python3
"""tests/malformed/run.py — the malformed-input corpus (corpus/*.jsonl, written
by make-corpus.py) against a live mmsimd on a free loopback port.

Three machines: T, which the requests address ({m}, with a process {pid}),
and U1 (x86_64) and U2 (i386), which nothing addresses.  Each request is
sent on its own connection, byte for byte as the corpus says.  Verdicts:

  - a request that reached the application (its answer carries
    X-Request-Id) answers 4xx with the SPEC §4 error shape
    {"error":{"code","status","message",…}} whose status is the HTTP one —
    or, for "batch-refused", 200 with every record refused (ok false, a 4xx
    error in that shape);
  - a request libmicrohttpd refused itself answers 4xx or closes;
  - never a 5xx; /healthz answers 200 after every request;
  - at the end the digests of T, U1 and U2 are unchanged (nothing malformed
    was applied) and T's invariant checker is clean.

    python3 tests/malformed/run.py [BINARY] [category ...]

Ends with "N passed, N failed" (one test per request, plus the final
checks); prints the number of requests, how many reached the application
and the 5xx count.
"""
import base64
import glob
import json
import os
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import testkit  # noqa: E402
from testkit import Fail, check, eq  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "mmsimd")
ONLY = sys.argv[2:]
TIMEOUT = 30.0
testkit.TIMEOUT = TIMEOUT


def wire(e, m):
    """The request's bytes."""
    path = e["path"].replace("{m}", m).replace("{pid}", "1")
    if "fill" in e:
        body = e.get("prefix", "") + e["fill"][0] * e["fill"][1] + e.get("suffix", "")
    else:
        body = e.get("body")
    body = body.encode("latin-1") if body is not None else b""
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (e["method"], path)
    names = set()
    for k, v in e.get("headers", []):
        names.add(k.lower())
        head += k + "\r\n" if v is None else "%s: %s\r\n" % (k, v)
    if "big_header" in e:
        k, chunk, n = e["big_header"]
        head += "%s: %s\r\n" % (k, chunk * n)
    out = head.encode("latin-1")
    if e.get("chunked"):
        out += b"Transfer-Encoding: chunked\r\n\r\n"
        for i in range(0, len(body), 1 << 16):
            piece = body[i:i + (1 << 16)]
            out += b"%x\r\n%s\r\n" % (len(piece), piece)
        return out + b"0\r\n\r\n"
    if "content-length" not in names and "transfer-encoding" not in names:
        out += b"Content-Length: %d\r\n" % len(body)
    return out + b"\r\n" + body


def send(host, port, data):
    """Sends data and reads until the server closes: (status, headers, body)
    or None when it closed without an answer."""
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    buf = b""
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused early (413 before the body): read the answer
        deadline = time.monotonic() + TIMEOUT
        while True:
            check(time.monotonic() < deadline, "no answer within %ss" % TIMEOUT)
            try:
                chunk = s.recv(1 << 16)
            except ConnectionResetError:
                break
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    if b"\r\n\r\n" not in buf:
        return None
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, body


def error_shape(j, status, what):
    e = (j or {}).get("error") if isinstance(j, dict) else None
    check(isinstance(e, dict), "%s: no error object: %r" % (what, j))
    check(isinstance(e.get("code"), str) and isinstance(e.get("message"), str),
          "%s: error without code/message: %r" % (what, e))
    eq(e.get("status"), status, "%s: error.status" % what)


def verdict(e, r, stats):
    """Checks one answer; raises Fail."""
    if r is None:
        stats["closed"] += 1  # refused by libmicrohttpd without an answer
        return
    status, hdrs, body = r
    if status >= 500:
        stats["5xx"] += 1
    check(status < 500, "status %d: %r" % (status, body[:300]))
    if "x-request-id" not in hdrs:
        stats["transport"] += 1
        check(400 <= status < 500, "transport answer %d" % status)
        return
    stats["app"] += 1
    eq(hdrs.get("content-type"), "application/json", "content type")
    j = json.loads(body)
    if e.get("expect") == "batch-refused":
        eq(status, 200, "batch status: %r" % body[:300])
        results = j["results"]
        check(results, "no results")
        for k, res in enumerate(results):
            eq(res.get("ok"), False, "record %d applied" % k)
            error_shape({"error": res.get("error")}, res["error"].get("status"), "record %d" % k)
            check(400 <= res["error"]["status"] < 500 and res["error"]["status"] != 422,
                  "record %d: status %r" % (k, res["error"]["status"]))
        return
    check(400 <= status < 500 and status != 422,
          "status %d (want a refusal): %r" % (status, body[:300]))
    error_shape(j, status, "answer")


def main():
    tmp = tempfile.mkdtemp(prefix="mmsim-malformed-")
    srv = testkit.Server(BIN, tmp)
    passed = failed = 0
    stats = {"app": 0, "transport": 0, "closed": 0, "5xx": 0}
    try:
        t = srv.machine({"memory": "16M"})
        u1 = srv.machine({"memory": "32M", "cpus": 2})
        u2 = srv.machine({"memory": "16M", "arch": "i386"})
        for m in (t, u1):
            eq(srv.post("/v1/machines/%s/processes" % m, {"name": "p"})[0], 200, "spawn")
            eq(srv.post("/v1/machines/%s/processes/1:mmap" % m,
                        {"length": "64K", "prot": "rw-",
                         "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]})[0], 200, "mmap")
        before = {m: srv.digest(m) for m in (t, u1, u2)}
        n = 0
        for path in sorted(glob.glob(os.path.join(HERE, "corpus", "*.jsonl"))):
            cat = os.path.basename(path)[:-len(".jsonl")]
            if ONLY and cat not in ONLY:
                continue
            cp = cf = 0
            for line in open(path):
                e = json.loads(line)
                n += 1
                try:
                    verdict(e, send(srv.host, srv.port, wire(e, t)), stats)
                    eq(srv.get("/healthz")[0], 200, "healthz after the request")
                    cp += 1
                except (Fail, ValueError, KeyError, OSError) as x:
                    cf += 1
                    print("FAIL %s: %s: %s" % (cat, e["name"], x))
            print("%s %-14s %d requests" % ("ok  " if not cf else "FAIL", cat, cp + cf))
            passed += cp
            failed += cf
        try:
            for m in (t, u1, u2):
                eq(srv.digest(m), before[m], "digest of %s" % m)
            st, j = srv.post("/v1/machines/%s:check" % t)
            check(st == 200 and j["ok"], "check of %s: %r" % (t, j))
            eq(srv.stop(), 0, "exit status after SIGTERM")
            passed += 1
            print("ok   digests unchanged, checker clean, clean exit")
        except (Fail, OSError) as x:
            failed += 1
            print("FAIL final checks: %s" % x)
        print("%d requests: %d reached the application, %d refused by the "
              "transport, %d closed without an answer; %d answered 5xx"
              % (n, stats["app"], stats["transport"], stats["closed"], stats["5xx"]))
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
