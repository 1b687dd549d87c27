#!/usr/bin/env python3
"""tests/durability/run.py — the journal, recovery and crash suite (SPEC §6).

Starts real servers (`build/mmsimd --listen 127.0.0.1:0 --data DIR`) and
restarts them on the same data directory:

  restart_keeps_everything   digests, seqs, names, deletions and the id
                             counter survive a SIGTERM restart
  journal_ndjson             GET …/journal: header line, seq from 1, 422
                             lines with their error, batches expanded,
                             400/404 not journaled; replaying its records
                             on a fresh machine gives the same digest
  readyz_during_recovery     /readyz and machine routes answer 503 until a
                             large journal is replayed
  kill9_strict               clients stream mutating requests, the server
                             is kill -9'd at random moments (ROUNDS times):
                             every acknowledged operation is in the
                             recovered journal, in order, at most one
                             unacknowledged one more per client, and the
                             digest equals a replay of the journal
  kill9_relaxed              --durability relaxed: only operations
                             acknowledged in the last 50 ms may be lost
  refuses_bad_databases      corrupt, foreign, non-sqlite and newer-schema
                             files are refused with a clear message and
                             left byte-for-byte untouched
  commit_failure_503         (test hook) a failed group commit answers 503,
                             the machine is rebuilt from the committed
                             journal and serves again
  snapshots_api              create (named, default name, 409, 400),
                             list, get, delete, automatic snapshots every N
                             with the last K kept
  rewind_restore_clone       on random histories: :restore and :rewind
                             give the digest the machine had at that seq,
                             equal to a fresh replay of the truncated
                             journal; later operations and snapshots are
                             gone; :clone {seq} has the digest of seq and
                             the journal prefix; all of it survives a
                             restart
  corrupt_snapshot_falls_back  a corrupt (or foreign-format) newest
                             snapshot is skipped for an older one, then for
                             the config; the digest is the same
  recovery_from_snapshot     a restart replays only the tail after the
                             newest snapshot

    python3 tests/durability/run.py [BINARY] [substring ...]

Ends with exactly one line "N passed, N failed".  Standard library only.
"""
import hashlib
import http.client
import json
import os
import random
import re
import select
import signal
import sqlite3
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
TIMEOUT = 20.0
testkit.TIMEOUT = TIMEOUT
ROUNDS = int(os.environ.get("MMSIM_CRASH_ROUNDS", "20"))
TMP = tempfile.mkdtemp(prefix="mmsim-dur-")
_dirs = iter(range(1, 1 << 30))


def new_data_dir():
    d = os.path.join(TMP, "data-%d" % next(_dirs))
    os.makedirs(d)
    return d


class Server:
    def __init__(self, data, *args, ready=True):
        self.data = data
        self.errpath = os.path.join(TMP, "stderr-%d.txt" % next(_dirs))
        env = {k: v for k, v in os.environ.items() if not k.startswith("MMSIM_")}
        env["MMSIM_TEST_HOOKS"] = "1"
        self.log = os.path.join(TMP, "log-%d" % next(_dirs))
        argv = [BIN, "--listen", "127.0.0.1:0", "--data", data, "--log",
                self.log] + list(args)
        self.proc, self.host, self.port = testkit.start_server(argv, self.errpath, env)
        if ready:
            wait_until(lambda: self.get("/readyz")[0] == 200, what="readyz 200")

    def stderr(self):
        return open(self.errpath, "rb").read().decode("utf-8", "replace")

    def conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)

    def request(self, method, path, body=None, conn=None):
        c = conn or self.conn()
        try:
            hdrs = {}
            if body is not None:
                body = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            ctype = r.getheader("Content-Type")
            try:
                j = json.loads(data) if ctype == "application/json" else data
            except ValueError:
                j = data
            return r.status, j, ctype
        finally:
            if conn is None:
                c.close()

    def get(self, path):
        return self.request("GET", path)[:2]

    def post(self, path, body=None):
        return self.request("POST", path, body if body is not None else {})[:2]

    def machine(self, config=None, name=None):
        body = {"config": config or {"memory": "16M"}}
        if name:
            body["name"] = name
        st, j = self.post("/v1/machines", body)
        eq(st, 201, "create machine: %r" % (j,))
        return j["id"]

    def digest(self, m):
        st, j = self.get("/v1/machines/%s/digest" % m)
        eq(st, 200, "digest of %s" % m)
        return j

    def journal(self, m):
        st, body, ctype = self.request("GET", "/v1/machines/%s/journal" % m)
        eq(st, 200, "journal of %s" % m)
        eq(ctype, "application/x-ndjson", "journal content type")
        lines = body.decode().split("\n")
        eq(lines[-1], "", "journal ends with a newline")
        return [json.loads(x) for x in lines[:-1]]

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Fail("server did not stop")
        return self.proc.returncode

    def kill9(self):
        self.proc.kill()
        self.proc.wait()


def records(journal):
    """The operation records of journal lines (seq/result/error removed)."""
    out = []
    for line in journal[1:]:
        out.append({k: v for k, v in line.items() if k not in ("seq", "result", "error")})
    return out


def replay_digest(srv, journal):
    """Digest of a fresh machine given the journal's config and records."""
    m = srv.machine(journal[0]["machine"]["config"])
    recs = records(journal)
    for i in range(0, len(recs), 10000):
        st, j = srv.post("/v1/machines/%s:batch" % m, {"ops": recs[i:i + 10000],
                                                       "stop_on_error": False})
        eq(st, 200, "replay batch")
    d = srv.digest(m)
    eq(srv.request("DELETE", "/v1/machines/" + m)[0], 200, "delete replay machine")
    return d


def file_hash(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# ---- tests -----------------------------------------------------------------------

def populate(srv):
    """Several machines with varied history; returns their ids."""
    a = srv.machine({"memory": "16M"}, name="alpha")
    b = srv.machine({"memory": "32M", "cpus": 4, "seed": 7})
    c = srv.machine({"memory": "16M"}, name="doomed")
    for m in (a, b):
        st, j = srv.post("/v1/machines/%s/processes" % m)
        eq(st, 201 if st == 201 else 200, "spawn")
        pid = j["pid"]
        st, j = srv.post("/v1/machines/%s/processes/%d:mmap" % (m, pid),
                         {"length": "64K", "prot": "rw-",
                          "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]})
        eq(st, 200, "mmap %r" % (j,))
        for order in (0, 3, 10, 10, 10, 10):
            srv.post("/v1/machines/%s/kernel:allocPages" % m,
                     {"order": order, "gfp": ["GFP_KERNEL"]})
        srv.post("/v1/machines/%s:batch" % m, {"ops": [
            {"op": "kmalloc", "size": 100, "gfp": ["GFP_KERNEL"]},
            {"op": "vmalloc", "size": "64K"},
            {"op": "fork", "pid": pid}]})
    srv.post("/v1/machines/%s/kernel:allocPages" % c, {"order": 1, "gfp": ["GFP_KERNEL"]})
    eq(srv.request("DELETE", "/v1/machines/" + c)[0], 200, "delete")
    return [a, b], c


@test
def restart_keeps_everything():
    data = new_data_dir()
    srv = Server(data)
    try:
        ms, gone = populate(srv)
        before = {m: srv.digest(m) for m in ms}
        listing = srv.get("/v1/machines")[1]
    finally:
        eq(srv.stop(), 0, "exit after SIGTERM")
    for _ in range(2):  # twice: a recovered server persists the same way
        srv = Server(data)
        try:
            for m in ms:
                eq(srv.digest(m), before[m], "digest and seq of %s after restart" % m)
            eq(srv.get("/v1/machines")[1], listing, "machine list after restart")
            eq(srv.get("/v1/machines/" + gone)[0], 404, "deleted machine stays deleted")
        finally:
            eq(srv.stop(), 0, "exit after SIGTERM")
    srv = Server(data)
    try:
        new = srv.machine()
        eq(new, "m-4", "ids are never reused (m-3 was deleted)")
        for m in ms:
            check(srv.digest(m)["seq"] > 5, "seq of %s" % m)
    finally:
        srv.stop()


@test
def journal_ndjson():
    srv = Server(new_data_dir())
    try:
        m = srv.machine({"memory": "16M"}, name="j")
        st, _ = srv.post("/v1/machines/%s/kernel:allocPages" % m, {"order": 2, "gfp": ["GFP_KERNEL"]})
        eq(st, 200, "alloc")
        st, _ = srv.post("/v1/machines/%s/kernel:allocPages" % m, {"order": 11, "gfp": ["GFP_KERNEL"]})
        eq(st, 400, "rejected (not journaled)")
        st, _ = srv.post("/v1/machines/%s/processes/77:fork" % m)
        eq(st, 404, "no such pid (not journaled)")
        for _ in range(8):  # 16M: order-10 blocks run out → 422 lines
            srv.post("/v1/machines/%s/kernel:allocPages" % m, {"order": 10, "gfp": ["GFP_KERNEL"]})
        st, j = srv.post("/v1/machines/%s:batch" % m, {"ops": [
            {"op": "spawn"}, {"op": "kmalloc", "size": 64, "gfp": ["GFP_KERNEL"]}]})
        eq(st, 200, "batch")
        jr = srv.journal(m)
        head = jr[0]
        eq(list(head), ["mmsim_journal", "machine"], "header keys")
        eq(head["mmsim_journal"], 1, "format version")
        eq(head["machine"]["id"], m, "header id")
        eq(head["machine"]["name"], "j", "header name")
        eq(head["machine"]["config"], srv.get("/v1/machines/" + m)[1]["config"], "header config")
        lines = jr[1:]
        eq([x["seq"] for x in lines], list(range(1, len(lines) + 1)), "seqs from 1")
        eq(len(lines), srv.digest(m)["seq"], "one line per operation")
        eq(len(lines), 1 + 8 + 2, "rejected requests are not journaled; batch expanded")
        eq(list(lines[0])[0], "seq", "seq comes first")
        eq(lines[0]["op"], "allocPages", "op")
        eq(lines[0]["order"], 2, "args")
        check("result" in lines[0] and "error" not in lines[0], "200 line has a result")
        errs = [x for x in lines if "error" in x]
        check(errs, "422 lines present")
        for x in errs:
            eq(x["error"]["code"], "ENOMEM", "422 line carries its error")
            check("result" not in x, "422 line has no result")
        eq([x["op"] for x in lines[-2:]], ["spawn", "kmalloc"], "batch expanded in order")
        eq(replay_digest(srv, jr), srv.digest(m), "replayed journal digest")
    finally:
        eq(srv.stop(), 0, "exit")


@test
def readyz_during_recovery():
    data = new_data_dir()
    srv = Server(data, "--snapshot-every", "0")
    try:
        m = srv.machine()
        st, j = srv.post("/v1/machines/%s/processes" % m)
        pid = j["pid"]
        ops = [{"op": "setOomScoreAdj", "pid": pid, "value": (i % 2001) - 1000}
               for i in range(10000)]
        for _ in range(40):
            st, _ = srv.post("/v1/machines/%s:batch" % m, {"ops": ops})
            eq(st, 200, "batch")
        want = srv.digest(m)
    finally:
        eq(srv.stop(), 0, "exit")
    srv = Server(data, "--snapshot-every", "0", ready=False)
    try:
        st, _ = srv.get("/readyz")
        eq(st, 503, "readyz while recovering 400k operations")
        st, j = srv.get("/v1/machines/%s/digest" % m)
        eq(st, 503, "machine routes while recovering")
        eq(srv.get("/healthz")[0], 200, "healthz while recovering")
        wait_until(lambda: srv.get("/readyz")[0] == 200, what="readyz 200")
        eq(srv.digest(m), want, "digest after recovery")
        # the streamed export of 400k lines (chunked, from its own cursor)
        st, body, ctype = srv.request("GET", "/v1/machines/%s/journal" % m)
        eq(st, 200, "export")
        lines = body.split(b"\n")
        eq(len(lines), 400003, "header + 400001 operations + final newline")
        eq(json.loads(lines[-2])["seq"], 400001, "last line")
    finally:
        srv.stop()


class Client(threading.Thread):
    """Streams mutating requests to one machine on a keep-alive connection;
    records (record, ack time) of every acknowledged (200/422) one."""

    def __init__(self, srv, m, pid, seed, count=None, oom_only=False):
        super().__init__(daemon=True)
        self.srv, self.m, self.pid = srv, m, pid
        self.rng = random.Random(seed)
        self.acked = []
        self.count = count  # None: until the server goes away
        self.unavailable = 0  # 503 answers (counted, then continue)
        self.oom_only = oom_only  # only setOomScoreAdj: records name the pid

    def run(self):
        try:
            c = self.srv.conn()
            while self.count is None or len(self.acked) + self.unavailable < self.count:
                if self.oom_only or self.rng.random() < 0.7:
                    v = self.rng.randrange(-1000, 1001)
                    path = "/v1/machines/%s/processes/%d:setOomScoreAdj" % (self.m, self.pid)
                    rec = {"op": "setOomScoreAdj", "pid": self.pid, "value": v}
                    body = {"value": v}
                else:
                    o = self.rng.randrange(0, 4)
                    path = "/v1/machines/%s/kernel:allocPages" % self.m
                    rec = {"op": "allocPages", "order": o, "gfp": ["GFP_KERNEL"]}
                    body = {"order": o, "gfp": ["GFP_KERNEL"]}
                st = self.srv.request("POST", path, body, conn=c)[0]
                if st == 503 and self.count is not None:
                    self.unavailable += 1
                    continue
                if st not in (200, 422):
                    return
                self.acked.append((rec, time.monotonic()))
        except (OSError, http.client.HTTPException):
            return


def crash_rounds(mode, rounds, window, extra=()):
    """Runs rounds of load + kill -9 + restart; window = how many seconds of
    acknowledged operations may be lost (0 for strict)."""
    data = new_data_dir()
    args = ["--durability", mode] + list(extra)
    srv = Server(data, *args)
    machines = []
    for _ in range(4):
        m = srv.machine({"memory": "16M"})
        st, j = srv.post("/v1/machines/%s/processes" % m)
        machines.append((m, j["pid"]))
    truth = {m: records(srv.journal(m)) for m, _ in machines}
    rng = random.Random(1234)
    lost_max = 0
    total = 0
    for rnd in range(rounds):
        clients = [Client(srv, m, pid, rnd * 10 + k) for k, (m, pid) in enumerate(machines)]
        for c in clients:
            c.start()
        wait_until(lambda: all(len(c.acked) > 0 for c in clients), what="load running")
        select.select([], [], [], rng.uniform(0.02, 0.3))  # a random moment
        t_kill = time.monotonic()
        srv.kill9()
        for c in clients:
            c.join(TIMEOUT)
        srv = Server(data, *args)
        for c in clients:
            got = records(srv.journal(c.m))
            want = truth[c.m] + [r for r, _ in c.acked]
            must = truth[c.m] + [r for r, t in c.acked if t < t_kill - window]
            check(got[:len(must)] == must,
                  "round %d %s: acknowledged operations missing or out of order "
                  "(%d in journal, %d acknowledged before the window)" %
                  (rnd, c.m, len(got), len(must)))
            check(len(got) <= len(want) + 1 and got == (want + got[len(want):])[:len(got)],
                  "round %d %s: journal is not the acknowledged sequence (+1 in flight): "
                  "%d lines, %d acked" % (rnd, c.m, len(got), len(want)))
            lost_max = max(lost_max, len(want) - len(got))
            total += len(c.acked)
            eq(srv.digest(c.m)["seq"], len(got), "seq = journal length")
            truth[c.m] = got
    if extra:
        check("(0 from a snapshot)" not in recovered_line(srv),
              "recovery started from snapshots: %r" % recovered_line(srv))
    for m, _ in machines:
        jr = srv.journal(m)
        eq(replay_digest(srv, jr), srv.digest(m), "%s: digest = replay of the journal" % m)
    eq(srv.stop(), 0, "exit")
    print("     %s: %d rounds, %d acknowledged operations, at most %d lost in a "
          "round" % (mode, rounds, total, lost_max), flush=True)
    return lost_max


@test
def kill9_strict():
    # automatic snapshots every 37 operations: crashes land around them too
    lost = crash_rounds("strict", ROUNDS, 0.0, ["--snapshot-every", "37"])
    eq(lost, 0, "strict mode loses no acknowledged operation")


@test
def kill9_relaxed():
    # relaxed starts a commit at most 50 ms after an operation is applied;
    # the commit itself (an fsync) then takes what the disk takes, which on
    # a loaded machine can be hundreds of ms: the bound allows for it.  The
    # behaviour checked exactly is that the journal is the acknowledged
    # sequence, in order, cut at one point.
    crash_rounds("relaxed", max(3, ROUNDS // 4), 0.050 + 1.0)


def refused(data, want):
    db = os.path.join(data, "mmsim.db")
    h = file_hash(db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMSIM_")}
    p = subprocess.run([BIN, "--listen", "127.0.0.1:0", "--data", data, "--log", ""],
                       capture_output=True, timeout=TIMEOUT, env=env)
    eq(p.returncode, 1, "exit status for %s" % want)
    err = p.stderr.decode()
    check(want in err and "refusing" in err, "message %r should say %r" % (err, want))
    check(p.stdout == b"", "no 'listening on' line")
    eq(file_hash(db), h, "the refused file is untouched")


@test
def refuses_bad_databases():
    # corrupt: a good database with a page overwritten
    data = new_data_dir()
    srv = Server(data)
    m = srv.machine()
    for i in range(300):
        srv.post("/v1/machines/%s/kernel:allocPages" % m, {"order": 0, "gfp": ["GFP_KERNEL"]})
    eq(srv.stop(), 0, "exit")
    db = os.path.join(data, "mmsim.db")
    check(os.path.getsize(db) > 4 * 4096, "database has several pages")
    with open(db, "r+b") as f:
        f.seek(2 * 4096)
        f.write(bytes(random.Random(5).randrange(256) for _ in range(4096)))
    refused(data, "corrupt")
    # not sqlite at all
    data = new_data_dir()
    with open(os.path.join(data, "mmsim.db"), "wb") as f:
        f.write(b"hello, this is a text file and not a database\n" * 100)
    refused(data, "not an sqlite database")
    # another program's sqlite database
    data = new_data_dir()
    c = sqlite3.connect(os.path.join(data, "mmsim.db"))
    c.execute("CREATE TABLE t(x)")
    c.execute("INSERT INTO t VALUES(1)")
    c.commit()
    c.close()
    refused(data, "another program's")
    data = new_data_dir()
    c = sqlite3.connect(os.path.join(data, "mmsim.db"))
    c.execute("PRAGMA application_id = 1234")
    c.execute("CREATE TABLE t(x)")
    c.commit()
    c.close()
    refused(data, "another program's")
    # a newer schema
    data = new_data_dir()
    srv = Server(data)
    srv.machine()
    eq(srv.stop(), 0, "exit")
    c = sqlite3.connect(os.path.join(data, "mmsim.db"))
    c.execute("UPDATE schema_version SET version = 99")
    c.commit()
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    refused(data, "newer mmsimd")


@test
def commit_failure_503():
    data = new_data_dir()
    srv = Server(data)
    try:
        m = srv.machine()
        other = srv.machine()
        for x in (m, other):
            st, j = srv.post("/v1/machines/%s/kernel:allocPages" % x, {"order": 1, "gfp": ["GFP_KERNEL"]})
            eq(st, 200, "alloc")
        good = srv.digest(m)
        other_d = srv.digest(other)
        st, _ = srv.post("/v1/test:failCommits", {"n": 1})
        eq(st, 200, "test hook")
        st, j = srv.post("/v1/machines/%s/kernel:allocPages" % m, {"order": 3, "gfp": ["GFP_KERNEL"]})
        eq(st, 503, "a failed commit answers 503: %r" % (j,))
        eq(j["error"]["code"], "UNAVAILABLE", "error code")
        check("full" in j["error"]["message"], "message names the cause: %r" % j)
        eq(srv.digest(m), good, "machine rebuilt from the committed journal")
        eq(srv.digest(other), other_d, "reads keep working; other machine intact")
        st, j = srv.post("/v1/machines/%s/kernel:allocPages" % m, {"order": 3, "gfp": ["GFP_KERNEL"]})
        eq(st, 200, "writes resume once the store works")
        after = srv.digest(m)
        eq(after["seq"], good["seq"] + 1, "seq continues from the committed journal")
    finally:
        eq(srv.stop(), 0, "exit")
    srv = Server(data)
    try:
        eq(srv.digest(m), after, "digest after restart")
    finally:
        srv.stop()


@test
def commit_failures_under_load():
    """Failed commits while 4 clients stream: exactly the acknowledged
    operations are journaled, in order; the 503 ones are not."""
    data = new_data_dir()
    srv = Server(data)
    try:
        machines, clients = [], []
        for _ in range(3):
            m = srv.machine()
            machines.append((m, None))
            for k in range(2):  # two clients per machine: a machine's
                # entries then sit in the failed batch AND the pending one
                st, j = srv.post("/v1/machines/%s/processes" % m)
                clients.append(Client(srv, m, j["pid"], 99 + len(clients), count=500,
                                      oom_only=True))
        for c in clients:
            c.start()
        for _ in range(8):
            wait_until(lambda: sum(len(c.acked) for c in clients) > 0, what="load")
            st, _ = srv.post("/v1/test:failCommits", {"n": 2})
            eq(st, 200, "hook")
            select.select([], [], [], 0.03)
        for c in clients:
            c.join(TIMEOUT * 3)
            check(not c.is_alive(), "client finished")
        n503 = sum(c.unavailable for c in clients)
        check(n503 > 0, "some requests got 503")
        in_failed = sum(int(re.search(r"entries, (\d+) requests", line).group(1))
                        for line in open(srv.log) if "commit-failed" in line)
        print("     %d answers 503: %d in failed commits, %d pending behind them" %
              (n503, in_failed, n503 - in_failed), flush=True)
        digests = {m: srv.digest(m) for m, _ in machines}
        for m, _ in machines:
            got = records(srv.journal(m))[2:]  # after the two spawns
            mine = [c for c in clients if c.m == m]
            eq(len(got), sum(len(c.acked) for c in mine), "%s: journal length" % m)
            for c in mine:
                eq([r for r in got if r["pid"] == c.pid], [r for r, _ in c.acked],
                   "%s pid %d: journal = acknowledged operations" % (m, c.pid))
    finally:
        eq(srv.stop(), 0, "exit")
    srv = Server(data)
    try:
        for m, _ in machines:
            eq(srv.digest(m), digests[m], "%s after restart" % m)
            eq(replay_digest(srv, srv.journal(m)), digests[m], "%s: replay" % m)
    finally:
        srv.stop()


@test
def locked_database_503():
    """A real sqlite error: another process holds the write lock, so the
    commit fails with SQLITE_BUSY after the busy timeout: 503, rebuild,
    and writes resume when the lock is gone."""
    data = new_data_dir()
    srv = Server(data)
    try:
        m = srv.machine()
        st, _ = srv.post("/v1/machines/%s/kernel:allocPages" % m, {"order": 0, "gfp": ["GFP_KERNEL"]})
        eq(st, 200, "alloc")
        good = srv.digest(m)
        other = sqlite3.connect(os.path.join(data, "mmsim.db"), isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            st, j = srv.post("/v1/machines/%s/kernel:allocPages" % m, {"order": 2, "gfp": ["GFP_KERNEL"]})
            eq(st, 503, "commit under a foreign write lock: %r" % (j,))
            check("locked" in j["error"]["message"], "message names the cause: %r" % j)
            eq(srv.digest(m), good, "rebuilt from the committed journal (reads work)")
        finally:
            other.execute("ROLLBACK")
            other.close()
        st, _ = srv.post("/v1/machines/%s/kernel:allocPages" % m, {"order": 2, "gfp": ["GFP_KERNEL"]})
        eq(st, 200, "writes resume when the lock is gone")
        after = srv.digest(m)
        eq(after["seq"], good["seq"] + 1, "seq")
    finally:
        eq(srv.stop(), 0, "exit")
    srv = Server(data)
    try:
        eq(srv.digest(m), after, "after restart")
    finally:
        srv.stop()


@test
def relaxed_sigterm_flushes():
    """relaxed: operations answered just before SIGTERM are committed at exit."""
    data = new_data_dir()
    srv = Server(data, "--durability", "relaxed")
    try:
        m = srv.machine()
        c = srv.conn()
        for i in range(500):
            st = srv.request("POST", "/v1/machines/%s/kernel:allocPages" % m,
                             {"order": i % 3, "gfp": ["GFP_KERNEL"]}, conn=c)[0]
            check(st in (200, 422), "alloc")
        want = srv.digest(m)
    finally:
        eq(srv.stop(), 0, "exit")
    srv = Server(data, "--durability", "relaxed")
    try:
        eq(srv.digest(m), want, "everything answered before SIGTERM survives")
    finally:
        srv.stop()


@test
def interrupted_first_start_is_initialised():
    """An empty sqlite file without our application_id and without tables
    (a first start killed before its schema commit) is initialised."""
    data = new_data_dir()
    c = sqlite3.connect(os.path.join(data, "mmsim.db"))
    c.execute("PRAGMA journal_mode=WAL")
    c.close()
    srv = Server(data)
    try:
        srv.machine()
    finally:
        eq(srv.stop(), 0, "exit")
    c = sqlite3.connect(os.path.join(data, "mmsim.db"))
    eq(c.execute("PRAGMA application_id").fetchone()[0], 0x6d6d7369, "application_id")
    eq(c.execute("SELECT version FROM schema_version").fetchone()[0], 2, "schema version")
    eq(c.execute("PRAGMA journal_mode").fetchone()[0], "wal", "WAL")
    c.close()


@test
def offline_run_and_check():
    """`mmsim run` on a journal exported from the server prints the same
    digest; --check passes on it, fails (1) on a tampered copy, and a
    malformed line exits 2 naming it."""
    cli = os.path.join(os.path.dirname(BIN), "mmsim")
    srv = Server(new_data_dir())
    try:
        m = srv.machine({"memory": "16M", "seed": 3})
        st, j = srv.post("/v1/machines/%s/processes" % m)
        pid = j["pid"]
        srv.post("/v1/machines/%s/processes/%d:mmap" % (m, pid),
                 {"length": "64K", "prot": "rw-", "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]})
        for o in (0, 10, 10, 10, 10, 10, 10, 10, 10, 2):
            srv.post("/v1/machines/%s/kernel:allocPages" % m, {"order": o, "gfp": ["GFP_KERNEL"]})
        srv.post("/v1/machines/%s:batch" % m, {"ops": [{"op": "fork", "pid": pid},
                                                       {"op": "kmalloc", "size": 300, "gfp": ["GFP_KERNEL"]}]})
        want = srv.digest(m)
        st, body, _ = srv.request("GET", "/v1/machines/%s/journal" % m)
    finally:
        srv.stop()
    path = os.path.join(TMP, "journal.ndjson")
    open(path, "wb").write(body)
    for args in ([], ["--check"]):
        p = subprocess.run([cli, "run", path] + args, capture_output=True, timeout=TIMEOUT)
        eq(p.returncode, 0, "mmsim run %s: %r" % (args, p.stderr))
        out = p.stdout.decode().strip().split("\n")
        eq(json.loads(out[-1]), want, "offline digest and seq")
        eq(len(out), want["seq"] + 1, "one line per operation + the digest")
    lines = body.decode().split("\n")
    i = next(k for k, x in enumerate(lines) if '"result":{"pfn"' in x)
    tampered = os.path.join(TMP, "tampered.ndjson")
    rec = json.loads(lines[i])
    rec["result"]["pfn"] += 1
    open(tampered, "w").write("\n".join(lines[:i] + [json.dumps(rec)] + lines[i + 1:]))
    p = subprocess.run([cli, "run", tampered, "--check"], capture_output=True, timeout=TIMEOUT)
    eq(p.returncode, 1, "--check on a tampered journal")
    check(b"differs" in p.stderr, "says what differs: %r" % p.stderr)
    bad = os.path.join(TMP, "bad.ndjson")
    open(bad, "w").write("\n".join(lines[:3] + ["{not json"] + lines[3:]))
    p = subprocess.run([cli, "run", bad], capture_output=True, timeout=TIMEOUT)
    eq(p.returncode, 2, "malformed record")
    check(b":4:" in p.stderr, "names line 4: %r" % p.stderr)


# ---- history: snapshots, rewind, restore, clone -------------------------------------

class History:
    """Random operations on one machine, one request each, tracking what
    the answers say (pids, mappings, allocations) so later operations mostly
    succeed; digests[seq] is recorded every `every` operations."""

    def __init__(self, srv, m, seed, every=10):
        self.srv, self.m, self.rng, self.every = srv, m, random.Random(seed), every
        self.digests = {}
        self.pids, self.maps, self.kmem = [], {}, []
        st, j = srv.post("/v1/machines/%s/processes" % m)
        eq(st, 201 if st == 201 else 200, "spawn")
        self.pids.append(j["pid"])
        self.maps[j["pid"]] = []
        self.seq = srv.digest(m)["seq"]

    def op(self):
        r, m = self.rng, "/v1/machines/" + self.m
        pid = r.choice(self.pids)
        k = r.random()
        if k < 0.25 or not self.maps[pid]:
            flags = ["MAP_PRIVATE" if r.random() < 0.8 else "MAP_SHARED", "MAP_ANONYMOUS"]
            st, j = self.srv.post("%s/processes/%d:mmap" % (m, pid), {
                "length": r.randrange(1, 33) * 4096, "prot": "rw-", "flags": flags})
            if st == 200:
                self.maps[pid].append(int(j["addr"], 16))
        elif k < 0.55:
            a = r.choice(self.maps[pid])  # every mapping has its first page
            st, j = self.srv.post("%s/processes/%d:touch" % (m, pid), {
                "addr": a, "length": 4096,
                "access": r.choice(["read", "write", "write"])})
        elif k < 0.62 and len(self.pids) < 8:
            st, j = self.srv.post("%s/processes/%d:fork" % (m, pid))
            if st == 200:
                self.pids.append(j["pid"])
                self.maps[j["pid"]] = list(self.maps[pid])
        elif k < 0.66 and len(self.pids) > 1:
            st, j = self.srv.post("%s/processes/%d:exit" % (m, pid))
            self.pids.remove(pid)
        elif k < 0.72:
            a = self.maps[pid].pop(r.randrange(len(self.maps[pid])))
            st, j = self.srv.post("%s/processes/%d:munmap" % (m, pid), {
                "addr": a, "length": 4096})
        elif k < 0.82:
            st, j = self.srv.post("%s/kernel:kmalloc" % m, {
                "size": r.randrange(1, 3000), "gfp": ["GFP_KERNEL"]})
            if st == 200:
                self.kmem.append(j["addr"])
        elif k < 0.88 and self.kmem:
            st, j = self.srv.post("%s/kernel:kfree" % m, {
                "addr": self.kmem.pop(r.randrange(len(self.kmem)))})
        elif k < 0.94:
            st, j = self.srv.post("%s/kernel:allocPages" % m, {
                "order": r.randrange(0, 4), "gfp": ["GFP_KERNEL"]})
        else:
            st, j = self.srv.post("%s/kernel:vmalloc" % m, {"size": r.randrange(1, 20) * 4096})
        check(st in (200, 422), "operation answered %d: %r" % (st, j))
        self.tick()
        if isinstance(j, dict) and j.get("signal") and pid in self.pids:
            self.pids.remove(pid)  # killed (out of memory on a fault)
        if not self.pids:
            st, j = self.srv.post("/v1/machines/%s/processes" % self.m)
            eq(st, 201 if st == 201 else 200, "spawn")
            self.pids.append(j["pid"])
            self.maps[j["pid"]] = []
            self.tick()

    def tick(self):
        self.seq += 1
        if self.seq % self.every == 0:
            self.digests[self.seq] = self.srv.digest(self.m)

    def run(self, n):
        for _ in range(n):
            self.op()
        self.digests[self.seq] = self.srv.digest(self.m)
        eq(self.digests[self.seq]["seq"], self.seq, "seq")

    def rewound(self, seq):
        """After a rewind: later digests are another history, and the
        processes are those of seq (their mappings are forgotten)."""
        self.digests = {s: d for s, d in self.digests.items() if s <= seq}
        self.seq = seq
        st, j = self.srv.get("/v1/machines/%s/processes" % self.m)
        eq(st, 200, "processes")
        self.pids = [p["pid"] for p in j["items"]]
        self.maps = {p: [] for p in self.pids}
        self.kmem = []
        check(self.pids, "a process survives the rewind")


def snapshot_names(srv, m):
    st, j = srv.get("/v1/machines/%s/snapshots" % m)
    eq(st, 200, "list snapshots")
    return [(s["name"], s["seq"]) for s in j["items"]]


@test
def snapshots_api():
    srv = Server(new_data_dir(), "--snapshot-every", "10", "--snapshot-keep", "2")
    try:
        m = srv.machine({"memory": "16M"})
        h = History(srv, m, 5)
        h.run(44)  # seq 45: automatic at 10, 20, 30, 40 -> the last 2 kept
        eq(snapshot_names(srv, m), [("auto-30", 30), ("auto-40", 40)], "automatic snapshots")
        base = "/v1/machines/%s/snapshots" % m
        st, j = srv.post(base, {"name": "before-x"})
        eq(st, 201, "create: %r" % (j,))
        eq(j, {"name": "before-x", "seq": 45, "automatic": False}, "created")
        eq(srv.post(base, {"name": "before-x"})[0], 409, "a name in use")
        st, j = srv.post(base, {"name": "before-x"})
        eq(j["error"]["code"], "ALREADY_EXISTS", "409 code")
        for bad in ("", "a b", "auto-7", "x" * 64, 5, "a/b"):
            eq(srv.post(base, {"name": bad})[0], 400, "bad name %r" % (bad,))
        eq(srv.post(base, {"nom": "x"})[0], 400, "unknown field")
        st, j = srv.post(base, {})
        eq((st, j["name"]), (201, "snap-45"), "default name")
        eq(srv.get(base + "/before-x"), (200, {"name": "before-x", "seq": 45,
                                                "automatic": False}), "get one")
        eq(srv.get(base + "/nope")[0], 404, "unknown snapshot")
        eq(srv.request("DELETE", base + "/snap-45")[0], 200, "delete")
        eq(srv.request("DELETE", base + "/snap-45")[0], 404, "deleted already")
        eq(srv.post(base + "/nope:restore")[0], 404, "restore unknown")
        eq(srv.get("/v1/machines/m-99/snapshots")[0], 404, "unknown machine")
        eq(snapshot_names(srv, m), [("auto-30", 30), ("auto-40", 40),
                                    ("before-x", 45)], "list")
        h.run(20)  # 65: auto-50, auto-60; the named one stays
        eq(snapshot_names(srv, m), [("before-x", 45), ("auto-50", 50),
                                    ("auto-60", 60)], "automatic trimmed, named kept")
    finally:
        eq(srv.stop(), 0, "exit")


def journal_records(srv, m):
    return records(srv.journal(m))


@test
def rewind_restore_clone():
    data = new_data_dir()
    srv = Server(data, "--snapshot-every", "25", "--snapshot-keep", "3")
    try:
        m = srv.machine({"memory": "32M", "cpus": 2})
        h = History(srv, m, 11)
        h.run(199)  # seq 200
        full = journal_records(srv, m)
        eq(len(full), 200, "journal length")
        base = "/v1/machines/" + m
        eq(srv.post(base + "/snapshots", {"name": "mid"})[0], 201, "named")
        h.run(40)   # 240; auto-225 taken; keep 3 → 175, 200, 225
        eq(snapshot_names(srv, m), [("auto-175", 175), ("auto-200", 200),
                                    ("mid", 200), ("auto-225", 225)], "snapshots")
        # restore = rewind to the snapshot's seq
        st, j = srv.post(base + "/snapshots/mid:restore")
        eq((st, j), (200, {"seq": 200}), "restore")
        h.rewound(200)
        eq(srv.digest(m), h.digests[200], "digest after restore = the digest at 200")
        eq(journal_records(srv, m), full, "journal after restore = the first 200")
        eq(snapshot_names(srv, m), [("auto-175", 175), ("auto-200", 200),
                                    ("mid", 200)], "later snapshots gone")
        # rewind to a point between snapshots
        st, j = srv.post(base + ":rewind", {"seq": 130})
        eq((st, j), (200, {"seq": 130}), "rewind")
        h.rewound(130)
        eq(srv.digest(m), h.digests[130], "digest after rewind = the digest at 130")
        jr = srv.journal(m)
        eq(records(jr), full[:130], "journal after rewind = its first 130")
        eq(replay_digest(srv, jr), h.digests[130], "= a fresh replay of the prefix")
        eq(snapshot_names(srv, m), [], "snapshots after 130 gone")
        for bad in ({"seq": 131}, {"seq": -1}, {}, {"seq": "5"}, {"seq": 3, "x": 1}):
            eq(srv.post(base + ":rewind", bad)[0], 400, "bad rewind %r" % (bad,))
        eq(srv.post(base + ":rewind", {"seq": 130}), (200, {"seq": 130}), "no-op rewind")
        # a new history from 130
        h.run(45)   # 175: auto-150, auto-175 of the new history
        new = journal_records(srv, m)
        eq(new[:130], full[:130], "the prefix stays")
        check(new[130:] != full[130:175], "a new history after the rewind")
        # clones: at a past seq, and at the current one
        st, c1 = srv.post(base + ":clone", {"seq": 100})
        eq(st, 201, "clone: %r" % (c1,))
        eq(c1["seq"], 100, "clone seq")
        eq(srv.digest(c1["id"]), h.digests[100], "clone at 100 = the digest at 100")
        eq(journal_records(srv, c1["id"]), full[:100], "clone journal = the prefix")
        st, c2 = srv.post(base + ":clone")
        eq(st, 201, "clone now: %r" % (c2,))
        eq(srv.digest(c2["id"])["digest"], srv.digest(m)["digest"], "clone now = now")
        eq(snapshot_names(srv, c2["id"]), snapshot_names(srv, m), "clone keeps the snapshots")
        eq(srv.post(base + ":clone", {"seq": 176})[0], 400, "clone beyond seq")
        # the clone lives its own life
        hc = History(srv, c2["id"], 99)
        hc.run(30)
        eq(srv.digest(m), h.digests[175], "source untouched by its clone")
        eq(srv.post("/v1/machines/%s:rewind" % c2["id"], {"seq": 175})[0], 200,
           "rewind the clone")
        eq(srv.digest(c2["id"])["digest"], h.digests[175]["digest"], "clone rewound")
        want = {x: (srv.digest(x), journal_records(srv, x), snapshot_names(srv, x))
                for x in (m, c1["id"], c2["id"])}
    finally:
        eq(srv.stop(), 0, "exit")
    srv = Server(data, "--snapshot-every", "25", "--snapshot-keep", "3")
    try:
        for x, (d, jr, names) in want.items():
            eq(srv.digest(x), d, "%s digest after restart" % x)
            eq(journal_records(srv, x), jr, "%s journal after restart" % x)
            eq(snapshot_names(srv, x), names, "%s snapshots after restart" % x)
    finally:
        eq(srv.stop(), 0, "exit")


@test
def commit_failure_rebuilds_from_snapshot():
    srv = Server(new_data_dir(), "--snapshot-every", "10")
    try:
        m = srv.machine()
        h = History(srv, m, 17)
        h.run(24)  # seq 25: auto-10, auto-20
        good = srv.digest(m)
        eq(srv.post("/v1/test:failCommits", {"n": 1})[0], 200, "test hook")
        st, j = srv.post("/v1/machines/%s/kernel:allocPages" % m, {"order": 0, "gfp": ["GFP_KERNEL"]})
        eq(st, 503, "failed commit")
        eq(srv.digest(m), good, "rebuilt")
        log = open(srv.log).read()
        check("from snapshot auto-20 + 5 operations" in log, "rebuilt from the last snapshot")
        # a failed snapshot creation: the list comes back from the store
        eq(srv.post("/v1/test:failCommits", {"n": 1})[0], 200, "test hook")
        eq(srv.post("/v1/machines/%s/snapshots" % m, {"name": "lost"})[0], 503,
           "snapshot not durable")
        eq(snapshot_names(srv, m), [("auto-10", 10), ("auto-20", 20)], "list rebuilt")
        # a failed rewind: the machine keeps its history
        eq(srv.post("/v1/test:failCommits", {"n": 1})[0], 200, "test hook")
        eq(srv.post("/v1/machines/%s:rewind" % m, {"seq": 3})[0], 503, "rewind not durable")
        eq(srv.digest(m), good, "history kept")
        eq(len(srv.journal(m)), 26, "journal kept")
        # a failed clone: no machine
        eq(srv.post("/v1/test:failCommits", {"n": 1})[0], 200, "test hook")
        st, j = srv.post("/v1/machines/%s:clone" % m, {"seq": 12})
        eq(st, 503, "clone not durable")
        st, j = srv.get("/v1/machines")
        eq([x["id"] for x in j["items"]], [m], "no clone left")
    finally:
        eq(srv.stop(), 0, "exit")


def recovered_line(srv):
    lines = [json.loads(x) for x in open(srv.log) if '"recovered"' in x]
    check(lines, "a recovered event in the log")
    return lines[-1]["detail"]


@test
def recovery_from_snapshot():
    data = new_data_dir()
    srv = Server(data, "--snapshot-every", "100")
    try:
        m = srv.machine({"memory": "16M"})
        st, j = srv.post("/v1/machines/%s/processes" % m)
        ops = [{"op": "setOomScoreAdj", "pid": j["pid"], "value": i % 1000}
               for i in range(1033)]
        eq(srv.post("/v1/machines/%s:batch" % m, {"ops": ops})[0], 200, "batch")
        want = srv.digest(m)
        eq(want["seq"], 1034, "seq")
    finally:
        eq(srv.stop(), 0, "exit")
    srv = Server(data, "--snapshot-every", "100")
    try:
        eq(srv.digest(m), want, "digest after restart")
        detail = recovered_line(srv)
        check("1 machines (1 from a snapshot), 34 operations replayed" in detail,
              "replayed only the tail after auto-1000: %r" % detail)
    finally:
        eq(srv.stop(), 0, "exit")


def damage_snapshot(data, name=None, fmt=None):
    db = sqlite3.connect(os.path.join(data, "mmsim.db"))
    rows = db.execute("SELECT machine, name, blob FROM snapshots" +
                      (" WHERE name = ?" if name else ""), (name,) if name else ()).fetchall()
    check(rows, "snapshots to damage")
    for machine, nm, blob in rows:
        b = bytearray(blob)
        b[len(b) // 2] ^= 0x5a
        db.execute("UPDATE snapshots SET blob = ?, format = coalesce(?, format) "
                   "WHERE machine = ? AND name = ?",
                   (bytes(b) if fmt is None else blob, fmt, machine, nm))
    db.commit()
    db.close()


@test
def corrupt_snapshot_falls_back():
    data = new_data_dir()
    args = ("--snapshot-every", "20")
    srv = Server(data, *args)
    try:
        m = srv.machine({"memory": "16M"})
        h = History(srv, m, 3)
        h.run(90)   # 91: autos at 40, 60, 80 (and 20, trimmed? keep 4: 20..80)
        want = srv.digest(m)
        names = snapshot_names(srv, m)
    finally:
        eq(srv.stop(), 0, "exit")
    damage_snapshot(data, "auto-80")
    srv = Server(data, *args)
    try:
        eq(srv.digest(m), want, "digest with the newest snapshot corrupt")
        log = open(srv.log).read()
        check('"snapshot-unusable"' in log and "auto-80" in log and "checksum" in log,
              "the corrupt snapshot is logged")
        check("31 operations replayed" in recovered_line(srv),
              "fell back to auto-60: %r" % recovered_line(srv))
        eq(snapshot_names(srv, m), names, "the list is unchanged")
    finally:
        eq(srv.stop(), 0, "exit")
    damage_snapshot(data, "auto-60", fmt=99)
    damage_snapshot(data, "auto-40")
    damage_snapshot(data, "auto-20")
    srv = Server(data, *args)
    try:
        eq(srv.digest(m), want, "digest with every snapshot unusable")
        check("(0 from a snapshot), 91 operations replayed" in recovered_line(srv),
              "full replay: %r" % recovered_line(srv))
        check("this build reads" in open(srv.log).read(), "the foreign format is logged")
        # a rewind onto a corrupt snapshot's seq replays instead
        st, j = srv.post("/v1/machines/%s/snapshots/auto-60:restore" % m)
        eq(st, 200, "restore of a damaged snapshot replays the journal")
        eq(srv.digest(m), h.digests[60], "digest at 60")
    finally:
        eq(srv.stop(), 0, "exit")


def main():
    t0 = time.monotonic()
    passed, failed = testkit.run_tests(TESTS, ONLY)
    return testkit.finish("durability", t0, TMP, passed, failed)


if __name__ == "__main__":
    sys.exit(main())
