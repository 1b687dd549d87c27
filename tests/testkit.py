"""testkit — helpers shared by the Python suites (tests/api, tests/durability):
assertions that raise Fail, a deadline-bounded poll (never a sleep-to-wait)
and a line reader for a child's pipe with a deadline."""

import os
import select
import shutil
import time
import traceback

TIMEOUT = 15.0  # default seconds for any single wait; a suite may change it


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def eq(got, want, what=""):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def wait_until(cond, timeout=None, what="condition"):
    """Polls cond() until it is truthy; raises after the deadline."""
    deadline = time.monotonic() + (TIMEOUT if timeout is None else timeout)
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Fail("timed out waiting for " + what)
        # a poll, not a sleep-to-wait: select on nothing for 5 ms
        select.select([], [], [], 0.005)


def read_line(f, timeout):
    """Reads one line from a pipe with a deadline (no blocking readline);
    None when the deadline passes first."""
    fd = f.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return None
        chunk = os.read(fd, 1)
        if not chunk:
            break
        buf += chunk
    return buf.decode("utf-8", "replace").rstrip("\n")


def start_server(argv, errpath, env=None):
    """Starts mmsimd (argv with --listen 127.0.0.1:0), stderr to errpath
    (a full pipe must never block the server), reads its `listening on
    http://HOST:PORT` line.  Returns (proc, host, port)."""
    import re
    import subprocess
    with open(errpath, "wb") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=env)
    line = read_line(proc.stdout, TIMEOUT)
    m = re.fullmatch(r"listening on http://([0-9.]+):([0-9]+)", line or "")
    if not m:
        proc.kill()
        proc.wait()
        err = open(errpath, "rb").read()[-2000:]
        raise Fail("no 'listening on' line: %r %r" % (line, err))
    return proc, m.group(1), int(m.group(2))


class Server:
    """A mmsimd on a free loopback port with its own data directory under
    tmp, and JSON requests to it: request() returns (status, json or bytes,
    headers)."""

    def __init__(self, binary, tmp, *args):
        import tempfile
        self.dir = tempfile.mkdtemp(dir=tmp)
        self.log = os.path.join(self.dir, "access.log")
        self.errpath = os.path.join(self.dir, "stderr.txt")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MMSIM_")}
        argv = [binary, "--listen", "127.0.0.1:0", "--data",
                os.path.join(self.dir, "data"), "--log", self.log] + list(args)
        self.proc, self.host, self.port = start_server(argv, self.errpath, env)
        self.pid = self.proc.pid

    def request(self, method, path, body=None, timeout=None):
        import http.client
        import json
        c = http.client.HTTPConnection(self.host, self.port,
                                       timeout=timeout or TIMEOUT)
        try:
            hdrs = {}
            if body is not None:
                body = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            try:
                j = json.loads(data) if r.getheader("Content-Type") == "application/json" else data
            except ValueError:
                j = data
            return r.status, j, {k.lower(): v for k, v in r.getheaders()}
        finally:
            c.close()

    def get(self, path):
        return self.request("GET", path)[:2]

    def post(self, path, body=None):
        return self.request("POST", path, body if body is not None else {})[:2]

    def machine(self, config=None):
        st, j = self.post("/v1/machines", {"config": config or {"memory": "16M"}})
        eq(st, 201, "create machine: %r" % (j,))
        return j["id"]

    def digest(self, m):
        st, j = self.get("/v1/machines/%s/digest" % m)
        eq(st, 200, "digest of %s" % m)
        return j["digest"]

    def stop(self):
        """SIGTERM, then the exit status (a hung server is killed: Fail)."""
        import signal
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + TIMEOUT
        while self.proc.poll() is None and time.monotonic() < deadline:
            select.select([], [], [], 0.01)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            raise Fail("server did not stop within %ss" % TIMEOUT)
        return self.proc.returncode


def run_tests(tests, only, width=28, stop=None):
    """Runs each test function whose name contains one of `only` (all when
    empty), printing "ok NAME secs" or "FAIL NAME why (line N)"; stop(),
    if given, is asked after a failure whether to give up (a dead server).
    Returns (passed, failed)."""
    passed = failed = 0
    for fn in tests:
        if only and not any(o in fn.__name__ for o in only):
            continue
        t = time.monotonic()
        try:
            fn()
            passed += 1
            print("ok   %-*s %6.2fs" % (width, fn.__name__, time.monotonic() - t), flush=True)
        except Exception as e:  # noqa: BLE001 — any failure is the test's
            failed += 1
            where = traceback.extract_tb(e.__traceback__)[-1]
            print("FAIL %-*s %s (line %d)" % (width, fn.__name__, e, where.lineno), flush=True)
            if stop and stop():
                break
    return passed, failed


def finish(name, t0, tmp, passed, failed):
    """The suite's closing lines (its time, then "N passed, N failed") after
    removing its scratch directory; returns the exit status."""
    print("%s suite took %.1fs" % (name, time.monotonic() - t0))
    shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
