#!/usr/bin/env python3
"""tests/grading/run.py — clients/mmsim-grade (docs/grading.md): operation
files graded offline with `mmsim run`, curl scripts against a real mmsimd,
the time and output caps, student errors vs infrastructure errors, and the
Gradescope results shape.

    python3 tests/grading/run.py [MMSIMD] [substring ...]

Ends with exactly one line "N passed, N failed"; exit status 1 on failure.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))
sys.path.insert(0, os.path.dirname(HERE))
import run as api  # noqa: E402  (tests/api/run.py: Server, request)
import testkit  # noqa: E402
from testkit import check, eq  # noqa: E402

ROOT = api.ROOT
GRADE = os.path.join(ROOT, "clients", "mmsim-grade")
MMSIM = os.path.join(os.path.dirname(api.BIN), "mmsim")
TMP = api.TMP
ONLY = sys.argv[2:]
ALLOC = '{"op":"allocPages","order":%d,"gfp":["GFP_KERNEL"]%s}'
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def grade(spec, submission, *extra):
    r = subprocess.run([GRADE, write("spec.json", json.dumps(spec)), submission,
                        "--mmsim", MMSIM] + list(extra),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    res = json.loads(r.stdout)
    check(isinstance(res["score"], (int, float)) and isinstance(res["tests"], list)
          and isinstance(res["output"], str), "results shape: %r" % res)
    for t in res["tests"]:
        check(set(t) == {"name", "score", "max_score", "status", "output"}, "test shape %r" % t)
        eq(t["status"], "passed" if t["score"] == t["max_score"] else "failed", "status")
    return r.returncode, res


def reference():
    """Results and digest of the reference run (mmsim run, no grader)."""
    sub = write("ref.jsonl", "\n".join([ALLOC % (2, ""), ALLOC % (0, "")]) + "\n")
    cfg = write("cfg.json", '{"memory":"16M"}')
    out = subprocess.run([MMSIM, "run", sub, "--config", cfg], stdout=subprocess.PIPE,
                         check=True).stdout.decode().splitlines()
    return [json.loads(ln) for ln in out]


def spec(tests, **kw):
    s = {"config": {"memory": "16M"}, "timeout": 20, "max_output": 1 << 16, "tests": tests}
    s.update(kw)
    return s


@test
def operation_file_predictions():
    ref = reference()
    r1, r2, dig = ref[0]["result"], ref[1]["result"], ref[2]["digest"]
    tests = [{"name": "predictions", "max_score": 4, "check": True},
             {"name": "first", "max_score": 2, "seq": 1, "op": "allocPages",
              "result": {"order": 2, "pfn": r1["pfn"]}},
             {"name": "state", "max_score": 1, "digest": dig}]
    good = write("good.jsonl", "%s\n%s\n" % (ALLOC % (2, ',"result":' + json.dumps(r1)),
                                             ALLOC % (0, ',"result":' + json.dumps(r2))))
    rc, res = grade(spec(tests), good)
    eq(rc, 0, "exit")
    eq(res["score"], 7, "full marks: %r" % res)
    wrong = dict(r2, pfn=r2["pfn"] + 1)
    bad = write("bad.jsonl", "%s\n%s\n" % (ALLOC % (2, ""), ALLOC % (0, ',"result":' + json.dumps(wrong))))
    rc, res = grade(spec(tests), bad)
    eq(rc, 0, "a wrong answer is the student's")
    eq([t["score"] for t in res["tests"]], [0, 2, 1], "only the prediction fails: %r" % res)
    check("seq 2" in res["tests"][0]["output"], res["tests"][0]["output"])
    # a different op at seq 1 fails the test naming the op
    other = write("other.jsonl", '{"op":"kmalloc","size":64,"gfp":["GFP_KERNEL"]}\n')
    rc, res = grade(spec(tests[1:2]), other)
    eq(res["score"], 0, "op named by the test")


@test
def student_errors():
    t = [{"name": "state", "max_score": 1, "digest": "0" * 32}]
    rc, res = grade(spec(t), write("junk.jsonl", ALLOC % (1, "") + "\nnot json\n"))
    eq(rc, 0, "malformed record")
    check("junk.jsonl:2" in res["tests"][0]["output"], res)
    rc, res = grade(spec(t), os.path.join(TMP, "absent.jsonl"))
    eq((rc, res["score"]), (0, 0), "no submission")
    check("no submission" in res["tests"][0]["output"], res)
    many = write("many.jsonl", "".join('{"op":"kmalloc","size":64,"gfp":["GFP_KERNEL"]}\n'
                                       for _ in range(2000)))
    rc, res = grade(spec(t, max_output=1000), many)
    eq(rc, 0, "output limit")
    check("output limit (1000 bytes)" in res["tests"][0]["output"], res)


@test
def infrastructure_errors():
    t = [{"name": "state", "max_score": 1, "digest": "0" * 32}]
    sub = write("one.jsonl", ALLOC % (0, "") + "\n")
    rc, res = grade(spec(t), sub, "--mmsim", os.path.join(TMP, "nope"))
    eq(rc, 2, "no mmsim binary")
    check("infrastructure_error" in res["extra_data"], res)
    rc, res = grade(spec([{"name": "x", "max_score": 1}]), sub)
    eq(rc, 2, "a test that checks nothing")
    rc, res = grade(spec(t, config={"memory": "3M"}), sub)
    eq(rc, 2, "a config no machine starts with")
    rc, res = grade(spec(t), write("s.sh", "true\n"), "--server", "http://127.0.0.1:1")
    eq(rc, 2, "server unreachable")


@test
def curl_script_against_server():
    ref = reference()
    srv = api.Server()
    try:
        script = write("student.sh", "".join(
            "curl -sS -X POST \"$MMSIM/v1/machines/$M/kernel:allocPages\" "
            "-d '{\"order\":%d,\"gfp\":[\"GFP_KERNEL\"]}'\necho\n" % o for o in (2, 0)))
        tests = [{"name": "first", "max_score": 1, "seq": 1, "result": {"pfn": ref[0]["result"]["pfn"]}},
                 {"name": "state", "max_score": 3, "digest": ref[2]["digest"]},
                 {"name": "predictions", "max_score": 1, "check": True}]
        rc, res = grade(spec(tests), script, "--server", srv.url)
        eq(rc, 0, "exit")
        eq([t["score"] for t in res["tests"]], [1, 3, 0], "same results as offline: %r" % res)
        check('"pfn":%d' % ref[0]["result"]["pfn"] in res["output"], "script output shown")
        # time limit: the script and its children are killed; the machine is gone
        slow = write("slow.sh", "sleep 60 &\nwait\n")
        rc, res = grade(spec(tests[1:2], timeout=1), slow, "--server", srv.url)
        eq(rc, 0, "time limit is the student's")
        check("time limit (1s)" in res["tests"][0]["output"], res)
        loud = write("loud.sh", "yes mmsim\n")
        rc, res = grade(spec(tests[1:2], max_output=5000), loud, "--server", srv.url)
        eq(rc, 0, "output limit")
        check(len(res["output"]) < 5100, "output capped: %d" % len(res["output"]))
        eq(api.request("GET", "/v1/machines", server=srv).json["items"], [], "machines deleted")
    finally:
        eq(srv.stop(), 0, "server stop")


def main():
    t0 = time.monotonic()
    passed, failed = testkit.run_tests(TESTS, ONLY)
    return testkit.finish("grading", t0, TMP, passed, failed)


if __name__ == "__main__":
    sys.exit(main())
