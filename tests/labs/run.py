#!/usr/bin/env python3
"""tests/labs/run.py — the labs routes (SPEC §4.1 /v1/labs), the lab files
under clients/labs/ and the web UI's file serving, against a live mmsimd.

Every lab's reference solution (its "solution" operation file) must score
full marks and its "wrong" one less; grading must be deterministic and
never reveal the solutions; bad attempts are 4xx.  The static part checks
Content-Type, ETag / If-None-Match, 404 and path traversal.  The frame
map part checks the anonymous / COW / zero-page states and the reverse
mappings of a frame.  Standard library only.

    python3 tests/labs/run.py [BINARY]

Ends with exactly one line "N passed, N failed".
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from testkit import Fail, check, eq, read_line  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "mmsimd")
LABS = os.path.join(ROOT, "clients", "labs")
TMP = tempfile.mkdtemp(prefix="mmsim-labs-")


class Server:
    def __init__(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MMSIM_")}
        self.err = open(os.path.join(TMP, "stderr.txt"), "wb")
        # the web files and labs the build installed beside the binary
        self.proc = subprocess.Popen([BIN, "--listen", "127.0.0.1:0", "--data", os.path.join(TMP, "data"),
                                      "--log", ""], stdout=subprocess.PIPE, stderr=self.err, env=env)
        line = read_line(self.proc.stdout, 15)
        m = re.fullmatch(r"listening on http://([0-9.]+):([0-9]+)", line or "")
        if not m:
            self.proc.kill()
            raise Fail("no 'listening on' line: %r" % line)
        self.host, self.port = m.group(1), int(m.group(2))

    def req(self, method, path, body=None, headers=None, raw=False):
        c = http.client.HTTPConnection(self.host, self.port, timeout=15)
        data = json.dumps(body) if body is not None and not isinstance(body, (str, bytes)) else body
        c.request(method, path, body=data, headers=headers or {})
        r = c.getresponse()
        text = r.read()
        c.close()
        if raw:
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), text
        try:
            return r.status, json.loads(text) if text else None
        except ValueError:
            return r.status, text.decode("utf-8", "replace")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=15)
        self.err.close()


def lab_files():
    out = {}
    for name in sorted(os.listdir(LABS)):
        if name.endswith(".json"):
            with open(os.path.join(LABS, name)) as f:
                out[name[:-5]] = json.load(f)
    return out


def run_opfile(s, lab_id, opfile):
    """:start, the operation file's records through :batch, then an attempt."""
    st, start = s.req("POST", "/v1/labs/%s:start" % lab_id, {})
    eq(st, 201, "%s :start %r" % (lab_id, start))
    m = start["machine"]
    st, res = s.req("POST", "/v1/machines/%s:batch" % m, {"ops": opfile["ops"]})
    eq(st, 200, "%s batch" % lab_id)
    for i, r in enumerate(res["results"]):
        check(r["ok"], "%s: record %d failed: %r" % (lab_id, i, r))
    body = {"machine": m, "answers": opfile.get("answers", {})}
    st, g1 = s.req("POST", "/v1/labs/%s/attempts" % lab_id, body)
    eq(st, 200, "%s attempt %r" % (lab_id, g1))
    st, g2 = s.req("POST", "/v1/labs/%s/attempts" % lab_id, body)
    eq(g2, g1, "%s: grading twice gives the same answer" % lab_id)
    for t in g1["tasks"]:
        check(len(t["feedback"].encode()) <= 400, "feedback capped")
    return m, g1


# ---- tests ----------------------------------------------------------------------

def t_list(s):
    files = lab_files()
    check(len(files) >= 8, "at least 8 labs ship")
    st, d = s.req("GET", "/v1/labs")
    eq(st, 200, "GET /v1/labs")
    eq([x["id"] for x in d["items"]], sorted(files), "the listed labs")
    for x in d["items"]:
        check(x["max"] > 0 and x["tasks"] > 0, "summary has max and tasks")
    st, one = s.req("GET", "/v1/labs/fork-cow")
    eq(st, 200, "GET one lab")
    for key in ("solution", "wrong"):
        check(key not in one, "the lab view hides " + key)
    check("concept" in one and one["setup"], "concept and setup shown")
    check(all("check" not in t for t in one["tasks"]), "checks are not shown")
    check(any(t["graded_from"] == "machine" for t in one["tasks"]), "graded_from")


def t_every_lab_full_marks(s):
    for lab_id, lab in lab_files().items():
        _, g = run_opfile(s, lab_id, lab["solution"])
        bad = [t for t in g["tasks"] if not t["ok"]]
        check(g["score"] == g["max"] and not bad,
              "%s: reference solution scores %d/%d: %r" % (lab_id, g["score"], g["max"], bad))


def t_every_wrong_scores_lower(s):
    for lab_id, lab in lab_files().items():
        _, g = run_opfile(s, lab_id, lab["wrong"])
        check(g["score"] < g["max"], "%s: the wrong solution scores %d/%d" % (lab_id, g["score"], g["max"]))
        check(any(not t["ok"] and t["feedback"] for t in g["tasks"]), "%s: failed tasks say why" % lab_id)


def t_machine_state_matters(s):
    """Right answers on an untouched lab machine do not earn the machine
    tasks: every lab grades something from the state."""
    for lab_id, lab in lab_files().items():
        st, start = s.req("POST", "/v1/labs/%s:start" % lab_id, {})
        body = {"machine": start["machine"], "answers": lab["solution"].get("answers", {})}
        st, g = s.req("POST", "/v1/labs/%s/attempts" % lab_id, body)
        eq(st, 200, "attempt")
        check(g["score"] < g["max"], "%s: the untouched machine scores %d/%d" % (lab_id, g["score"], g["max"]))


def t_no_machine(s):
    lab = lab_files()["slab-caches"]
    st, g = s.req("POST", "/v1/labs/slab-caches/attempts", {"answers": lab["solution"]["answers"]})
    eq(st, 200, "answers only")
    by = {t["id"]: t for t in g["tasks"]}
    check(by["kmalloc-class"]["ok"], "a quiz task is graded without a machine")
    check(not by["two-slabs"]["ok"] and "no machine" in by["two-slabs"]["feedback"], "machine task fails")


def t_bad_requests(s):
    eq(s.req("GET", "/v1/labs/nope")[0], 404, "unknown lab")
    eq(s.req("POST", "/v1/labs/nope:start", {})[0], 404, "start unknown lab")
    eq(s.req("POST", "/v1/labs/nope/attempts", {})[0], 404, "attempt unknown lab")
    eq(s.req("POST", "/v1/labs/fork-cow/attempts", {"machine": "m-999999"})[0], 404, "unknown machine")
    st, e = s.req("POST", "/v1/labs/fork-cow/attempts", {"machine": 3})
    eq((st, e["error"]["details"]["field"]), (400, "machine"), "machine not a string")
    st, e = s.req("POST", "/v1/labs/fork-cow/attempts", {"answers": [1]})
    eq((st, e["error"]["details"]["field"]), (400, "answers"), "answers not an object")
    st, e = s.req("POST", "/v1/labs/fork-cow/attempts", {"answers": {"cow": {"x": 1}}})
    eq(st, 400, "an answer that is an object")
    st, e = s.req("POST", "/v1/labs/fork-cow/attempts", {"answers": {"cow": "x" * 201}})
    eq(st, 400, "an answer too long")
    st, e = s.req("POST", "/v1/labs/fork-cow/attempts", {"score": 10})
    eq((st, e["error"]["details"]["field"]), (400, "score"), "unknown field")
    eq(s.req("POST", "/v1/labs/fork-cow/attempts", "{", {"Content-Type": "application/json"})[0], 400, "bad JSON")
    eq(s.req("POST", "/v1/labs/fork-cow:start", {"x": 1})[0], 400, ":start takes no fields")
    st, e = s.req("DELETE", "/v1/labs")
    eq(st, 405, "DELETE /v1/labs")
    eq(s.req("GET", "/healthz")[0], 200, "still healthy")


def t_start_journaled(s):
    st, start = s.req("POST", "/v1/labs/fork-cow:start", {})
    eq(st, 201, "start")
    eq(start["seq"], 3, "three setup records applied")
    st, m = s.req("GET", "/v1/machines/" + start["machine"])
    eq(m["name"], "lab:fork-cow", "machine name")
    eq(m["seq"], 3, "machine seq")
    st, text = s.req("GET", "/v1/machines/%s/journal" % start["machine"])
    eq(len(text.strip().split("\n")), 4, "journal header + 3 records")


def t_static(s):
    st, h, body = s.req("GET", "/", raw=True)
    eq(st, 200, "GET /")
    eq(h["content-type"], "text/html; charset=utf-8", "index type")
    check(b"<html" in body.lower(), "index is HTML")
    etag = h.get("etag")
    check(etag and h.get("cache-control") == "no-cache", "ETag and Cache-Control")
    st, h2, body2 = s.req("GET", "/", headers={"If-None-Match": etag}, raw=True)
    eq((st, body2), (304, b""), "If-None-Match answers 304")
    for path, ctype in (("/ui/app.js", "text/javascript; charset=utf-8"),
                        ("/ui/app.css", "text/css; charset=utf-8"),
                        ("/ui/vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8")):
        st, h, _ = s.req("GET", path, raw=True)
        eq((st, h["content-type"]), (200, ctype), path)
    eq(s.req("HEAD", "/ui/app.js", raw=True)[0], 200, "HEAD")
    eq(s.req("GET", "/ui/nope.js")[0], 404, "missing file")
    eq(s.req("GET", "/ui/")[0], 400, "a directory")
    for bad in ("/ui/../labs/fork-cow.json", "/ui/%2e%2e/%2e%2e/etc/passwd", "/ui/.hidden",
                "/ui/a//b.js", "/ui/x%00.js", "/ui/vendor/../app.js"):
        st, e = s.req("GET", bad)
        check(st in (400, 404), "%s answers %d" % (bad, st))
    st, e = s.req("POST", "/", {})
    eq(st, 405, "POST /")
    eq(s.req("GET", "/v1/labs")[0], 200, "API routes still served")


def t_frames_states_and_rmap(s):
    st, m = s.req("POST", "/v1/machines", {"config": {"memory": "64M"}})
    mid = m["id"]
    ops = [{"op": "spawn"},
           {"op": "mmap", "pid": 1, "length": "16K", "prot": "rw-", "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]},
           {"op": "touch", "pid": 1, "addr": "0x7ffff7ffb000", "length": "8K", "access": "write"},
           {"op": "touch", "pid": 1, "addr": "0x7ffff7ffd000", "length": "8K", "access": "read"}]
    st, r = s.req("POST", "/v1/machines/%s:batch" % mid, {"ops": ops})
    check(all(x["ok"] for x in r["results"]), "ops ran")
    st, f = s.req("GET", "/v1/machines/%s/frames" % mid)
    states = f["states"]
    eq(states.count("a"), 2, "two anonymous pages")
    eq(states.count("z"), 1, "one zero page")
    eq(states.count("c"), 0, "nothing shared yet")
    st, pt = s.req("GET", "/v1/machines/%s/processes/1/pagetable?addr=0x7ffff7ffb000" % mid)
    pfn = pt["pfn"]
    eq(states[pfn], "a", "the page's state")
    s.req("POST", "/v1/machines/%s/processes/1:fork" % mid, {})
    st, f = s.req("GET", "/v1/machines/%s/frames" % mid)
    eq(f["states"].count("c"), 2, "two pages shared copy-on-write after fork")
    st, d = s.req("GET", "/v1/machines/%s/frames/%d" % (mid, pfn))
    eq(d["state"], "c", "frame state")
    eq(sorted((x["pid"], x["addr"], x["writable"]) for x in d["rmap"]),
       [(1, "0x7ffff7ffb000", False), (2, "0x7ffff7ffb000", False)], "reverse mappings")
    st, z = s.req("GET", "/v1/machines/%s/frames/%d" % (mid, f["states"].index("z")))
    eq((z["state"], z["rmap"]), ("z", []), "the zero page")
    for c in "azcwf":
        check(c in f["legend"], "legend has " + c)


def t_frames_file_and_swap_cache(s):
    """A regular file's cached pages show as page cache, and pages swap
    readahead brought into the swap cache, mapped by no PTE, as swap cache."""
    st, m = s.req("POST", "/v1/machines", {"config": {"memory": "64M", "swap": "16M"}})
    mid = m["id"]
    ops = [{"op": "createFile", "name": "f", "size": "8K"},
           {"op": "readFile", "file": "f", "offset": 0, "length": "8K"},
           {"op": "spawn", "name": "p"},
           {"op": "mmap", "pid": 1, "addr": "0x100000000", "length": "32K", "prot": "rw-",
            "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED"]}]
    ops += [{"op": "write", "pid": 1, "addr": hex(0x100000000 + i * 4096), "data": "eA=="} for i in range(8)]
    ops += [{"op": "madvise", "pid": 1, "addr": "0x100000000", "length": "32K", "advice": "MADV_PAGEOUT"},
            {"op": "touch", "pid": 1, "addr": "0x100000000", "length": "4K", "access": "read"}]
    st, r = s.req("POST", "/v1/machines/%s:batch" % mid, {"ops": ops})
    check(all(x["ok"] for x in r["results"]), "ops ran")
    st, f = s.req("GET", "/v1/machines/%s/frames" % mid)
    states = f["states"]
    eq(states.count("f"), 2, "the file's two cached pages")
    st, vm = s.req("GET", "/v1/machines/%s/proc/vmstat" % mid, headers={"Accept": "application/json"})
    check(vm["swap_ra"] >= 1, "swap readahead read neighbours")
    eq(states.count("w"), vm["swap_ra"] - vm["swap_ra_hit"], "read-ahead pages nobody maps yet")
    eq(states.count("a"), 1, "the faulted page is mapped again")


def t_bad_lab_files_stop_the_server(s):
    """A malformed lab file is refused at start, naming the file and why."""
    good = lab_files()["fork-cow"]
    cases = [
        ("broken.json", "{", "broken.json"),
        ("other.json", json.dumps(good), "id must match the file name"),
        ("quiz.json", json.dumps(dict(good, id="quiz", tasks=[
            {"id": "q", "prompt": "p", "explain": "e", "hint": "h",
             "check": {"answer": "a", "equals": 1}}])), "no task is graded from the machine"),
        ("view.json", json.dumps(dict(good, id="view", tasks=[
            {"id": "q", "prompt": "p", "explain": "e", "hint": "h",
             "check": {"get": "secrets", "path": "x", "value": 1}}])), "unknown view"),
        ("regex.json", json.dumps(dict(good, id="regex", tasks=[
            {"id": "q", "prompt": "p", "explain": "e", "hint": "h",
             "check": {"get": "proc/meminfo", "text": True, "regex": "("}}])), "bad regex"),
        ("conf.json", json.dumps(dict(good, id="conf", config={"memory": "1T"})), "config"),
    ]
    for name, text, why in cases:
        d = os.path.join(TMP, "labs-" + name)
        os.makedirs(d)
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        r = subprocess.run([BIN, "--listen", "127.0.0.1:0", "--data", os.path.join(TMP, "d-" + name),
                            "--labs", d, "--log", ""], capture_output=True, timeout=15)
        eq(r.returncode, 1, name + " exit status")
        err = r.stderr.decode()
        check(name in err and why in err, "%s: stderr %r names the file and %r" % (name, err, why))


TESTS = [t_bad_lab_files_stop_the_server, t_list, t_every_lab_full_marks, t_every_wrong_scores_lower, t_machine_state_matters,
         t_no_machine, t_bad_requests, t_start_journaled, t_static, t_frames_states_and_rmap, t_frames_file_and_swap_cache]


def main():
    passed = failed = 0
    s = None
    try:
        s = Server()
        for t in TESTS:
            try:
                t(s)
                passed += 1
                print("ok   %s" % t.__name__)
            except Exception as e:  # noqa: BLE001
                failed += 1
                print("FAIL %s: %s" % (t.__name__, e))
                if not isinstance(e, Fail):
                    traceback.print_exc()
        if s.proc.poll() is not None:
            failed += 1
            print("FAIL the server died")
    except Fail as e:
        failed += 1
        print("FAIL start: %s" % e)
    finally:
        if s:
            s.stop()
        shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
