#!/usr/bin/env python3
"""tests/exhaust/run.py — resource exhaustion against a live mmsimd: the
server's machine limit (429 RESOURCE_EXHAUSTED, then room again after a
delete), huge mappings under each overcommit policy (ENOMEM, never a host
allocation), a fork bomb inside a machine (bounded by pid_max: EAGAIN), and
memory pressure inside a machine (pages, kmalloc, vmalloc, faults until
ENOMEM).  After each: the server answers /healthz, the machine's checker is
clean, a bystander machine's digest is unchanged, and the server's own
resident set (VmRSS of /proc/PID/status) grew by less than 64 MiB.

    python3 tests/exhaust/run.py [BINARY] [substring ...]

Ends with "N passed, N failed".
"""
import os
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import testkit  # noqa: E402
from testkit import Fail, check, eq  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "mmsimd")
ONLY = sys.argv[2:]
TMP = tempfile.mkdtemp(prefix="mmsim-exhaust-")
testkit.TIMEOUT = 60.0
ANON = ["MAP_PRIVATE", "MAP_ANONYMOUS"]
S = None  # the shared server
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise Fail("no VmRSS")


def batch(m, ops, stop=False):
    st, j = S.post("/v1/machines/%s:batch" % m, {"ops": ops, "stop_on_error": stop})
    eq(st, 200, "batch: %r" % (j,))
    return j["results"]


def errno_of(res):
    return None if res["ok"] else res["error"]["code"]


def healthy_and_clean(m, bystander=None, digest=None):
    eq(S.get("/healthz")[0], 200, "healthz")
    st, j = S.post("/v1/machines/%s:check" % m)
    check(st == 200 and j["ok"], "checker of %s: %r" % (m, j))
    if bystander:
        eq(S.digest(bystander), digest, "bystander digest")


def op(m, path, body):
    return S.post("/v1/machines/%s%s" % (m, path), body)


@test
def machines_up_to_the_limit():
    srv = testkit.Server(BIN, TMP, "--max-machines", "4")
    try:
        ids = [srv.machine({"memory": "4M"}) for _ in range(4)]
        st, j, h = srv.request("POST", "/v1/machines", {"config": {"memory": "4M"}})
        eq(st, 429, "fifth machine")
        eq(j["error"]["code"], "RESOURCE_EXHAUSTED", "code")
        eq(j["error"]["status"], 429, "error.status")
        check(h.get("retry-after"), "Retry-After")
        eq(srv.request("DELETE", "/v1/machines/" + ids[0])[0], 200, "delete")
        srv.machine({"memory": "4M"})
        eq(srv.request("POST", "/v1/machines", {"config": {"memory": "4M"}})[0], 429,
           "full again")
        eq(srv.get("/healthz")[0], 200, "healthz")
    finally:
        eq(srv.stop(), 0, "clean exit")


@test
def huge_mappings():
    u = S.machine({"memory": "16M"})
    du = S.digest(u)
    rss0 = rss_kb(S.pid)
    for policy, flags, want in (
            ("never", ANON, "ENOMEM"),
            ("heuristic", ANON, "ENOMEM"),
            ("heuristic", ANON + ["MAP_NORESERVE"], None),
            ("always", ANON, None),
            ("never", ANON + ["MAP_NORESERVE"], "ENOMEM")):
        m = S.machine({"memory": "16M", "overcommit": policy})
        eq(S.post("/v1/machines/%s/processes" % m, {})[0], 200, "spawn")
        st, j = op(m, "/processes/1:mmap", {"length": "1T", "prot": "rw-", "flags": flags})
        if want:
            eq(st, 422, "%s %s: %r" % (policy, flags, j))
            eq(j["error"]["code"], want, "errno")
        else:
            eq(st, 200, "%s %s: %r" % (policy, flags, j))
        # beyond the address space: ENOMEM under every policy
        st, j = op(m, "/processes/1:mmap", {"length": "256T", "prot": "rw-",
                                            "flags": ANON + ["MAP_NORESERVE"]})
        eq((st, j["error"]["code"]), (422, "ENOMEM"), "256T")
        # writes into a huge accepted mapping run the machine out of memory
        if not want:
            addr = j_addr = S.post("/v1/machines/%s/processes/1:mmap" % m,
                                   {"length": "64M", "prot": "rw-",
                                    "flags": ANON + ["MAP_NORESERVE"]})[1]["addr"]
            st, j = op(m, "/processes/1:touch", {"addr": addr, "length": "64M",
                                                 "access": "write"})
            eq((st, j["error"]["code"]), (422, "ENOMEM"), "touch of %s" % j_addr)
        healthy_and_clean(m, u, du)
        S.request("DELETE", "/v1/machines/" + m)
    check(rss_kb(S.pid) - rss0 < 64 << 10, "server RSS grew by %d kB" % (rss_kb(S.pid) - rss0))


@test
def fork_bomb_bounded_by_pid_max():
    u = S.machine({"memory": "16M"})
    du = S.digest(u)
    m = S.machine({"memory": "128M", "pid_max": 301})
    eq(S.post("/v1/machines/%s/processes" % m, {})[0], 200, "spawn")
    res = batch(m, [{"op": "fork", "pid": 1}] * 400)
    ok = sum(1 for r in res if r["ok"])
    errs = {errno_of(r) for r in res if not r["ok"]}
    eq(errs, {"EAGAIN"}, "fork failures")
    st, j = S.get("/v1/machines/%s/processes?page_size=1000" % m)
    n = len(j["items"])
    eq(n, ok + 1, "processes")
    check(n <= 300, "%d processes with pid_max 301" % n)
    # the bomb's children fork too: still EAGAIN, never more than pid_max
    res = batch(m, [{"op": "fork", "pid": p["pid"]} for p in j["items"][:50]])
    eq({errno_of(r) for r in res}, {"EAGAIN"}, "grandchildren")
    healthy_and_clean(m, u, du)
    # all exit: the machine is usable again
    res = batch(m, [{"op": "exit", "pid": p["pid"]} for p in j["items"] if p["pid"] != 1])
    check(all(r["ok"] for r in res), "exits")
    eq(len(S.get("/v1/machines/%s/processes" % m)[1]["items"]), 1, "one left")
    res = batch(m, [{"op": "fork", "pid": 1}])
    check(res[0]["ok"], "fork after the bomb: %r" % res[0])
    healthy_and_clean(m, u, du)
    S.request("DELETE", "/v1/machines/" + m)


@test
def fork_bomb_bounded_by_memory():
    m = S.machine({"memory": "8M"})
    eq(S.post("/v1/machines/%s/processes" % m, {})[0], 200, "spawn")
    op(m, "/processes/1:mmap", {"length": "256K", "prot": "rw-", "flags": ANON + ["MAP_POPULATE"]})
    res = batch(m, [{"op": "fork", "pid": 1}] * 2000)
    errs = {errno_of(r) for r in res if not r["ok"]}
    check(errs <= {"ENOMEM", "EAGAIN"} and errs, "fork failures %r" % errs)
    healthy_and_clean(m)
    S.request("DELETE", "/v1/machines/" + m)


@test
def memory_pressure_inside_a_machine():
    u = S.machine({"memory": "16M"})
    du = S.digest(u)
    rss0 = rss_kb(S.pid)
    m = S.machine({"memory": "16M"})
    res = batch(m, [{"op": "allocPages", "order": 0, "gfp": ["GFP_KERNEL"]}] * 5000)
    check(errno_of(res[-1]) == "ENOMEM", "pages run out: %r" % res[-1])
    res = batch(m, [{"op": "kmalloc", "size": "4M", "gfp": ["GFP_KERNEL"]},
                    {"op": "kmalloc", "size": "64", "gfp": ["GFP_ATOMIC"]},
                    {"op": "vmalloc", "size": "1G"},
                    {"op": "kmemCacheCreate", "name": "x", "size": "1M"},
                    {"op": "spawn"}])
    # GFP_ATOMIC may still dip into the reserves below min
    eq([errno_of(res[0]), errno_of(res[2])], ["ENOMEM"] * 2, "kmalloc_large, vmalloc")
    healthy_and_clean(m, u, du)
    # a process faulting with no memory left: ENOMEM, the machine intact
    m2 = S.machine({"memory": "16M"})
    eq(S.post("/v1/machines/%s/processes" % m2, {})[0], 200, "spawn")
    for k in range(3):
        st, j = op(m2, "/processes/1:mmap", {"length": "1G", "prot": "rw-",
                                             "flags": ANON + ["MAP_NORESERVE"]})
        eq(st, 200, "mmap %d" % k)
        st, j = op(m2, "/processes/1:touch", {"addr": j["addr"], "length": "1G",
                                              "access": ["write", "read", "read"][k]})
        eq((st, j["error"]["code"]), (422, "ENOMEM"), "touch %d" % k)
        healthy_and_clean(m2, u, du)
    # a process holding the memory exits: the frames come back
    st, meminfo = S.request("GET", "/v1/machines/%s/proc/meminfo" % m2)[:2]
    eq(op(m2, "/processes/1:exit", {})[0], 200, "exit")
    res = batch(m2, [{"op": "allocPages", "order": 0, "gfp": ["GFP_KERNEL"]}] * 100)
    check(all(r["ok"] for r in res), "memory again after the exit")
    healthy_and_clean(m2, u, du)
    grew = rss_kb(S.pid) - rss0
    check(grew < 64 << 10, "server RSS grew by %d kB" % grew)
    for x in (m, m2, u):
        S.request("DELETE", "/v1/machines/" + x)


def main():
    global S
    S = testkit.Server(BIN, TMP)
    passed = failed = 0
    try:
        for fn in TESTS:
            if ONLY and not any(s in fn.__name__ for s in ONLY):
                continue
            try:
                fn()
                passed += 1
                print("ok   " + fn.__name__)
            except Exception as x:  # noqa: BLE001 — a test's failure, reported
                failed += 1
                print("FAIL %s: %s" % (fn.__name__, x))
                if not isinstance(x, Fail):
                    traceback.print_exc()
        try:
            eq(S.stop(), 0, "exit status")
        except Fail as x:
            failed += 1
            print("FAIL server exit: %s" % x)
    finally:
        if S.proc.poll() is None:
            S.proc.kill()
            S.proc.wait()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
