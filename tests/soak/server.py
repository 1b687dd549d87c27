#!/usr/bin/env python3
"""tests/soak/server.py — the server's soak (make soak):

  load        wrk (tests/soak/load.lua) at 64 connections for SOAK_SECONDS
              (default 180) mixing reads, touches, forks and exits over 8
              machines, durability strict.  Pass: no answer but 200/429,
              the server's VmRSS after warm-up (the first fifth) grows by
              less than 10% (+8 MiB), its open fds return to their count
              before the load, the checker is clean on every machine.
  valgrind    mmsimd under valgrind memcheck for a short session (every
              route family, errors, a batch, a delete), then SIGTERM: exit 0
              and "ERROR SUMMARY: 0 errors" (definite leaks count).
  slowloris   SOAK_SLOW_CONNECTIONS (default 1100, beyond libmicrohttpd's
              default limit of 1020 connections) from 127.0.0.2-127.0.0.9
              that send a header byte a second and never finish, while a
              client on 127.0.0.1 makes requests one after another.  Pass: every client request
              answered, its p99 within 10x of the p99 without the slow
              connections (at least 50 ms).

    python3 tests/soak/server.py [BINARY] [load|valgrind|slowloris ...]

Prints the measured numbers and ends with "N passed, N failed".
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import testkit  # noqa: E402
from testkit import Fail, check, eq  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "mmsimd")
ONLY = sys.argv[2:]
SECONDS = int(os.environ.get("SOAK_SECONDS", "180"))
NSLOW = int(os.environ.get("SOAK_SLOW_CONNECTIONS", "1100"))
TMP = tempfile.mkdtemp(prefix="mmsim-soak-")
testkit.TIMEOUT = 60.0
ANON = ["MAP_PRIVATE", "MAP_ANONYMOUS"]


def status_of(pid):
    out = {}
    for line in open("/proc/%d/status" % pid):
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return int(out["VmRSS"].split()[0]), len(os.listdir("/proc/%d/fd" % pid))


def machine_with_mapping(srv, config):
    m = srv.machine(config)
    eq(srv.post("/v1/machines/%s/processes" % m, {})[0], 200, "spawn")
    st, j = srv.post("/v1/machines/%s/processes/1:mmap" % m,
                     {"length": "4M", "prot": "rw-", "flags": ANON})
    eq(st, 200, "mmap")
    return m, j["addr"]


def load():
    check(shutil.which("wrk"), "wrk is not installed (make deps)")
    srv = testkit.Server(BIN, TMP)
    try:
        ms = [machine_with_mapping(srv, {"memory": "64M", "cpus": 2}) for _ in range(8)]
        rss0, fd0 = status_of(srv.pid)
        samples = []
        stop = threading.Event()

        def sample():
            while not stop.wait(2.0):
                samples.append((time.monotonic(),) + status_of(srv.pid))
        th = threading.Thread(target=sample)
        t0 = time.monotonic()
        th.start()
        out = subprocess.run(
            ["wrk", "-t2", "-c64", "-d%ds" % SECONDS, "--latency", "-s",
             os.path.join(HERE, "load.lua"), "http://%s:%d" % (srv.host, srv.port), "--"]
            + ["%s=%s" % (m, a) for m, a in ms],
            capture_output=True, text=True, timeout=SECONDS + 120).stdout
        stop.set()
        th.join()
        print(out.strip())
        rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
        total = int(re.search(r"(\d+) requests in", out).group(1))
        bad = int(re.search(r"bad (\d+)", out).group(1))
        warm = [s for s in samples if s[0] - t0 >= SECONDS / 5]
        check(warm, "no samples after the warm-up")
        rss_w, rss_max = warm[0][1], max(s[1] for s in warm)
        fd_max = max(s[2] for s in samples)
        # the load's connections are gone once wrk exits: fds come back
        testkit.wait_until(lambda: status_of(srv.pid)[1] <= fd0, what="fds back to %d" % fd0)
        rss1, fd1 = status_of(srv.pid)
        print("load: %d requests in %d s (%.0f req/s), %d bad; VmRSS %d kB before, "
              "%d kB after warm-up, %d kB max, %d kB at the end; fds %d before, %d max "
              "under load, %d after" % (total, SECONDS, rate, bad, rss0, rss_w, rss_max,
                                         rss1, fd0, fd_max, fd1))
        eq(bad, 0, "answers other than 200/429")
        check(rss_max <= rss_w * 1.10 + 8192, "VmRSS grew after the warm-up: %d -> %d kB"
              % (rss_w, rss_max))
        for m, _ in ms:
            st, j = srv.post("/v1/machines/%s:check" % m)
            check(st == 200 and j["ok"], "checker of %s: %r" % (m, j))
        eq(srv.stop(), 0, "exit status")
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()


def valgrind():
    check(shutil.which("valgrind"), "valgrind is not installed (make deps)")
    log = os.path.join(TMP, "valgrind.txt")
    wrapper = os.path.join(TMP, "mmsimd-valgrind")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec valgrind -q --error-exitcode=9 --leak-check=full "
                "--errors-for-leak-kinds=definite --log-file=%s %s \"$@\"\n" % (log, BIN))
    os.chmod(wrapper, 0o755)
    srv = testkit.Server(wrapper, TMP)
    try:
        m, addr = machine_with_mapping(srv, {"memory": "16M"})
        i = srv.machine({"memory": "16M", "arch": "i386"})
        for path, body in [
                ("/kernel:allocPages", {"order": 2, "gfp": ["GFP_KERNEL"]}),
                ("/kernel:kmalloc", {"size": "100", "gfp": ["GFP_KERNEL"]}),
                ("/kernel:vmalloc", {"size": "64K"}),
                ("/kmemCaches", {"name": "vg", "size": "200"}),
                ("/kmemCaches/vg:alloc", {"gfp": ["GFP_KERNEL"]}),
                ("/processes/1:touch", {"addr": addr, "length": "64K", "access": "write"}),
                ("/processes/1:fork", {}),
                ("/processes/2:exit", {}),
                ("/processes/1:mprotect", {"addr": addr, "length": "8K", "prot": "r--"}),
                ("/processes/1:munmap", {"addr": addr, "length": "4K"}),
                ("/kernel:allocPages", {"order": 99, "gfp": ["GFP_KERNEL"]})]:
            check(srv.post("/v1/machines/%s%s" % (m, path), body)[0] in (200, 400, 422), path)
        srv.post("/v1/machines/%s:batch" % i, {"ops": [{"op": "spawn"}, {"op": "nope"},
                                                       {"op": "vmalloc", "size": "1M"}],
                                               "stop_on_error": False})
        for path in ("/digest", "/journal", "/proc/meminfo", "/proc/slabinfo", "/zones",
                     "/frames?count=64", "/frames/5", "/processes", "/processes/1/smaps",
                     "/kmemCaches", "/kernel/translate?addr=0x1000", "/nope"):
            srv.request("GET", "/v1/machines/%s%s" % (m, path))
        srv.request("GET", "/v1/openapi.json")
        srv.post("/v1/machines/%s:check" % m)
        eq(srv.request("DELETE", "/v1/machines/" + i)[0], 200, "delete")
        rc = srv.stop()
        text = open(log).read()
        summary = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
        print("valgrind: exit %d, %s" % (rc, text.strip().splitlines()[-1] if text.strip()
                                        else "no messages (-q: no errors)"))
        eq(rc, 0, "exit status under valgrind (9 = memcheck errors):\n" + text[-3000:])
        check(not summary or summary[-1] == "0", "memcheck errors:\n" + text[-3000:])
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()


def timed_requests(srv, m, n):
    lat = []
    for k in range(n):
        t = time.monotonic()
        st = srv.request("GET", "/healthz" if k % 2 else "/v1/machines/%s/digest" % m,
                         timeout=30)[0]
        lat.append(time.monotonic() - t)
        eq(st, 200, "client request %d" % k)
    lat.sort()
    return lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def slowloris():
    srv = testkit.Server(BIN, TMP)
    socks = []
    try:
        m = srv.machine({"memory": "16M"})
        p50a, p99a = timed_requests(srv, m, 400)
        for k in range(NSLOW):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.%d" % (2 + k % 8), 0))
            s.settimeout(10)
            s.connect((srv.host, srv.port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            socks.append(s)
        stop = threading.Event()
        dropped = [0]

        def drip():
            while not stop.wait(1.0):
                for s in list(socks):
                    try:
                        s.sendall(b"a")
                    except OSError:
                        socks.remove(s)
                        dropped[0] += 1
        th = threading.Thread(target=drip)
        th.start()
        try:
            p50b, p99b = timed_requests(srv, m, 400)
        finally:
            stop.set()
            th.join()
        print("slowloris: %d slow connections from 127.0.0.2-9 (%d closed by the server); "
              "client on 127.0.0.1: p50 %.2f ms p99 %.2f ms without, p50 %.2f ms p99 %.2f "
              "ms with them" % (NSLOW, dropped[0], p50a * 1e3, p99a * 1e3, p50b * 1e3, p99b * 1e3))
        check(p99b <= max(10 * p99a, 0.05), "p99 %.1f ms vs %.1f ms" % (p99b * 1e3, p99a * 1e3))
        eq(srv.stop(), 0, "exit status")
    finally:
        for s in socks:
            s.close()
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()


def main():
    passed = failed = 0
    for fn in (load, valgrind, slowloris):
        if ONLY and fn.__name__ not in ONLY:
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
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
