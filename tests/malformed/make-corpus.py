#!/usr/bin/env python3
"""make-corpus.py — writes the malformed-input corpus, tests/malformed/corpus/
CATEGORY.jsonl (checked in; rerun this after changing it, then review the
diff).  One request per line:

  {"name": …, "method": "POST", "path": "/v1/machines/{m}/…",
   "headers": [["Content-Type", "application/json"], …],
   "body": "…",                       # bytes as latin-1 code points
   "fill": ["[", 10485760],           # or: body = prefix + chunk * count
   "prefix": "…", "suffix": "…",      #       + suffix
   "big_header": ["X-Big", "b", 102400], # a header of chunk * count
   "chunked": true,                   # send the body chunked
   "expect": "error" | "batch-refused"}

{m} is the machine the requests address, {pid} a live process of it.
Every request is malformed: the server must refuse it (tests/malformed/run.py).
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
J = [["Content-Type", "application/json"]]
M = "/v1/machines/{m}"
P = M + "/processes/{pid}"
AP = M + "/kernel:allocPages"
corpus = {}


def add(cat, name, method, path, body=None, headers=None, **kw):
    e = {"name": name, "method": method, "path": path,
         "headers": J if headers is None else headers}
    if body is not None:
        e["body"] = body if isinstance(body, str) else json.dumps(body)
    e.update(kw)
    corpus.setdefault(cat, []).append(e)


# ---- JSON syntax -------------------------------------------------------------
for name, body in [
        ("truncated object", '{"order": 0, "gfp": ["GFP_KER'),
        ("truncated after colon", '{"order":'),
        ("truncated number", '{"order": 1'),
        ("open brace", '{'),
        ("close brace", '}'),
        ("trailing garbage", '{"order": 0, "gfp": []} x'),
        ("two objects", '{} {}'),
        ("top-level array", '[]'),
        ("top-level number", '42'),
        ("top-level string", '"allocPages"'),
        ("top-level null", 'null'),
        ("top-level true", 'true'),
        ("bare word", 'hello'),
        ("single quotes", "{'order': 0}"),
        ("unquoted key", '{order: 0}'),
        ("trailing comma", '{"order": 0, "gfp": [],}'),
        ("comment", '{"order": 0, /* c */ "gfp": []}'),
        ("NaN", '{"order": NaN, "gfp": []}'),
        ("Infinity", '{"order": Infinity, "gfp": []}'),
        ("hex number", '{"order": 0x1, "gfp": []}'),
        ("leading zero", '{"order": 01, "gfp": []}'),
        ("plus sign", '{"order": +1, "gfp": []}'),
        ("huge integer", '{"order": 123456789012345678901234567890, "gfp": []}'),
        ("huge real", '{"order": 1e999, "gfp": []}'),
        ("negative zero real", '{"order": -0.0, "gfp": []}'),
        ("real order", '{"order": 1.5, "gfp": []}'),
        ("invalid UTF-8 in string", '{"order": 0, "gfp": ["\xff\xfe"]}'),
        ("overlong UTF-8", '{"order": 0, "gfp": ["\xc0\xaf"]}'),
        ("UTF-8 surrogate bytes", '{"order": 0, "gfp": ["\xed\xa0\x80"]}'),
        ("lone surrogate escape", '{"order": 0, "gfp": ["\\ud800"]}'),
        ("NUL escape in value", '{"order": 0, "gfp": ["GFP_KERNEL\\u0000"]}'),
        ("NUL escape in key", '{"ord\\u0000er": 0, "gfp": []}'),
        ("raw NUL byte", '{"order": 0,\x00 "gfp": []}'),
        ("raw control char in string", '{"order": 0, "gfp": ["a\x01b"]}'),
        ("bad escape", '{"order": 0, "gfp": ["\\q"]}'),
        ("short unicode escape", '{"order": 0, "gfp": ["\\u12"]}'),
        ("duplicate keys", '{"order": 0, "order": 1, "gfp": []}'),
        ("UTF-16 BOM", '\xff\xfe{\x00}\x00'),
        ("UTF-8 BOM", '\xef\xbb\xbf{"order": 0, "gfp": []}'),
        ("65 levels", '{"x":' + "[" * 64 + "]" * 64 + "}"),
        ("1000 levels", "[" * 1000),
        ("unbalanced close", '{"order": 0]]]]'),
]:
    add("json-syntax", name, "POST", AP, body)
add("json-syntax", "truncated machine config", "POST", "/v1/machines",
    '{"name": "x", "config": {"memory": ')
add("json-syntax", "100000 levels", "POST", AP, fill=["[", 100000])
add("json-syntax", "deep objects", "POST", AP, prefix='{"a":', fill=['{"a":', 5000],
    suffix="1" + "}" * 5001)
add("json-syntax", "array body to batch", "POST", M + ":batch", "[[[")

# ---- wrong types and missing fields, per operation ---------------------------
OPS = [  # route (after /v1/machines/{m}), {arg: type}, required
    ("/kernel:allocPages", {"order": "int", "gfp": "gfp", "cpu": "int", "node": "int"}, ["order", "gfp"]),
    ("/kernel:freePages", {"pfn": "int", "order": "int", "cpu": "int"}, ["pfn", "order"]),
    ("/kernel:kmalloc", {"size": "size", "gfp": "gfp", "cpu": "int"}, ["size", "gfp"]),
    ("/kernel:kfree", {"addr": "addr", "cpu": "int"}, ["addr"]),
    ("/kernel:vmalloc", {"size": "size", "cpu": "int"}, ["size"]),
    ("/kernel:vfree", {"addr": "addr", "cpu": "int"}, ["addr"]),
    ("/kernel:kmap", {"pfn": "int"}, ["pfn"]),
    ("/kernel:kunmap", {"addr": "addr"}, ["addr"]),
    ("/kmemCaches", {"name": "string", "size": "size", "align": "int", "flags": "slab"}, ["name", "size"]),
    ("/kmemCaches/kmalloc-64:alloc", {"gfp": "gfp", "cpu": "int"}, ["gfp"]),
    ("/kmemCaches/kmalloc-64:free", {"addr": "addr", "cpu": "int"}, ["addr"]),
    ("/processes", {"name": "string", "rss_limit_pages": "int", "oom_score_adj": "int", "cpu": "int"}, []),
    ("/processes/{pid}:exit", {"status": "int"}, []),
    ("/processes/{pid}:exec", {"elf": "base64"}, ["elf"]),
    ("/processes/{pid}:mmap", {"addr": "addr", "length": "size", "prot": "prot", "flags": "mapflags",
                               "file": "string", "offset": "size"}, ["length", "prot", "flags"]),
    ("/processes/{pid}:munmap", {"addr": "addr", "length": "size"}, ["addr", "length"]),
    ("/processes/{pid}:mprotect", {"addr": "addr", "length": "size", "prot": "prot"}, ["addr", "length", "prot"]),
    ("/processes/{pid}:madvise", {"addr": "addr", "length": "size", "advice": "enum"}, ["addr", "length", "advice"]),
    ("/processes/{pid}:touch", {"addr": "addr", "length": "size", "access": "enum"}, ["addr", "length", "access"]),
    ("/processes/{pid}:mlock", {"addr": "addr", "length": "size"}, ["addr", "length"]),
    ("/processes/{pid}:munlock", {"addr": "addr", "length": "size"}, ["addr", "length"]),
    ("/processes/{pid}:brk", {"addr": "addr"}, ["addr"]),
    ("/processes/{pid}:setOomScoreAdj", {"value": "int"}, ["value"]),
]
WRONG = {"int": ["7", [], 1.5], "size": [[], -1, "12Q"], "addr": [{}, "0xg", -4096],
         "gfp": ["GFP_KERNEL", [1]], "string": [5, None], "slab": ["SLAB_PANIC", [True]],
         "base64": ["!!!!", 12], "prot": [7, "rwxx"], "mapflags": ["MAP_PRIVATE", [2]],
         "enum": ["NOPE", 0]}
for route, args, required in OPS:
    path = M + route
    if required:
        add("wrong-types", "%s: missing everything" % route, "POST", path, {})
    add("wrong-types", "%s: unknown field" % route, "POST", path, {"bogus": 1})
    add("wrong-types", "%s: wrong op name" % route, "POST", path, {"op": "kfree"})
    for a, t in args.items():
        for k, v in enumerate(WRONG[t]):
            add("wrong-types", "%s: %s wrong (%d)" % (route, a, k), "POST", path, {a: v})

# ---- huge numbers, negative sizes ----------------------------------------------
for name, path, body in [
        ("order -1", AP, {"order": -1, "gfp": ["GFP_KERNEL"]}),
        ("order 11", AP, {"order": 11, "gfp": ["GFP_KERNEL"]}),
        ("order 2^63", AP, {"order": 2**63 - 1, "gfp": ["GFP_KERNEL"]}),
        ("cpu 64", AP, {"order": 0, "gfp": ["GFP_KERNEL"], "cpu": 64}),
        ("cpu beyond the machine", AP, {"order": 0, "gfp": ["GFP_KERNEL"], "cpu": 63}),
        ("node 8", AP, {"order": 0, "gfp": ["GFP_KERNEL"], "node": 8}),
        ("node -2", AP, {"order": 0, "gfp": ["GFP_KERNEL"], "node": -2}),
        ("pfn beyond the machine", M + "/kernel:freePages", {"pfn": 4000000000, "order": 0}),
        ("pfn -1", M + "/kernel:kmap", {"pfn": -1}),
        ("size -1 string", M + "/kernel:kmalloc", {"size": "-1", "gfp": ["GFP_KERNEL"]}),
        ("size -64K", M + "/kernel:kmalloc", {"size": "-64K", "gfp": ["GFP_KERNEL"]}),
        ("size overflows 64 bits", M + "/kernel:kmalloc", {"size": "99999999999999999999", "gfp": ["GFP_KERNEL"]}),
        ("size with unit overflows", M + "/kernel:vmalloc", {"size": "17179869184G"}),
        ("size beyond INT64_MAX", M + "/kernel:vmalloc", {"size": "9223372036854775808"}),
        ("size unknown unit", M + "/kernel:vmalloc", {"size": "16E"}),
        ("size with space", M + "/kernel:vmalloc", {"size": "16 K"}),
        ("size real", M + "/kernel:vmalloc", {"size": 4096.5}),
        ("cache size beyond 32 bits", M + "/kmemCaches", {"name": "big", "size": "8G"}),
        ("align beyond 32 bits", M + "/kmemCaches", {"name": "big", "size": 64, "align": 2**40}),
        ("oom_score_adj 1001", P + ":setOomScoreAdj", {"value": 1001}),
        ("oom_score_adj -1001", P + ":setOomScoreAdj", {"value": -1001}),
        ("exit status 256", P + ":exit", {"status": 256}),
        ("exit status -1", P + ":exit", {"status": -1}),
        ("mmap length -4096", P + ":mmap", {"length": -4096, "prot": "rw-", "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"]}),
        ("mmap offset -1", P + ":mmap", {"length": 4096, "prot": "rw-", "flags": ["MAP_PRIVATE", "MAP_ANONYMOUS"], "offset": "-1"}),
        ("rss_limit_pages -2", M + "/processes", {"rss_limit_pages": -2}),
        ("spawn cpu 64", M + "/processes", {"cpu": 64}),
        ("spawn name too long", M + "/processes", {"name": "x" * 16}),
        ("spawn name empty", M + "/processes", {"name": ""}),
        ("spawn name control char", M + "/processes", {"name": "a\u0001"}),
        ("spawn name non-ASCII", M + "/processes", {"name": "\u00e9t\u00e9"}),
        ("cache name with slash", M + "/kmemCaches", {"name": "a/b", "size": 64}),
        ("cache name with colon", M + "/kmemCaches", {"name": "a:b", "size": 64}),
        ("cache name 300 bytes", M + "/kmemCaches", {"name": "c" * 300, "size": 64}),
]:
    add("numbers", name, "POST", path, body)

# ---- bad base64, hex addresses, prot/flags ----------------------------------------
for name, elf in [("not base64", "!!!!"), ("one char too many", "AAAAA"),
                  ("padding only", "===="), ("spaces", "f0VM RgIB"),
                  ("line break", "f0VMRgIB\nAQAA"), ("url-safe alphabet", "f0VM-_IB"),
                  ("three pads", "AA==="), ("pad in the middle", "AA==AAAA"),
                  ("non-ASCII", "f0VM\u00e9gIB"), ("NUL escape", "f0VM\u0000RgIB")]:
    add("base64", "exec elf: " + name, "POST", P + ":exec", {"elf": elf})
for name, addr in [("0x alone", "0x"), ("bad hex digit", "0xg000"), ("negative hex", "-0x1000"),
                   ("hex minus", "0x-1000"), ("underscore", "0x1_000"), ("leading space", " 0x1000"),
                   ("trailing space", "0x1000 "), ("17 hex digits", "0x1ffffffffffffffff"),
                   ("exponent", "1e3"), ("real", 4096.0), ("true", True), ("octal", "0o777"),
                   ("empty", ""), ("plus", "+4096"), ("decimal overflow", "18446744073709551616")]:
    add("addresses", "kfree addr " + name, "POST", M + "/kernel:kfree", {"addr": addr})
for name, path, body in [
        ("prot rwxx", P + ":mprotect", {"addr": 0, "length": 4096, "prot": "rwxx"}),
        ("prot RW-", P + ":mprotect", {"addr": 0, "length": 4096, "prot": "RW-"}),
        ("prot number", P + ":mprotect", {"addr": 0, "length": 4096, "prot": 3}),
        ("prot empty", P + ":mprotect", {"addr": 0, "length": 4096, "prot": ""}),
        ("prot array", P + ":mprotect", {"addr": 0, "length": 4096, "prot": ["PROT_READ"]}),
        ("prot order wx-", P + ":mprotect", {"addr": 0, "length": 4096, "prot": "wr-"}),
        ("flags string", P + ":mmap", {"length": 4096, "prot": "rw-", "flags": "MAP_PRIVATE"}),
        ("flags number", P + ":mmap", {"length": 4096, "prot": "rw-", "flags": 34}),
        ("flags misspelt", P + ":mmap", {"length": 4096, "prot": "rw-", "flags": ["MAP_PRIVTE"]}),
        ("flags null element", P + ":mmap", {"length": 4096, "prot": "rw-", "flags": [None]}),
        ("flags lowercase", P + ":mmap", {"length": 4096, "prot": "rw-", "flags": ["map_private"]}),
        ("gfp misspelt", AP, {"order": 0, "gfp": ["GFP_KERNAL"]}),
        ("gfp nested", AP, {"order": 0, "gfp": [["GFP_KERNEL"]]}),
        ("advice unknown", P + ":madvise", {"addr": 0, "length": 4096, "advice": "MADV_FOO"}),
        ("advice number", P + ":madvise", {"addr": 0, "length": 4096, "advice": 4}),
        ("access unknown", P + ":touch", {"addr": 0, "length": 4096, "access": "execute"}),
        ("slab flag unknown", M + "/kmemCaches", {"name": "s", "size": 64, "flags": ["SLAB_NOPE"]}),
]:
    add("prot-flags", name, "POST", path, body)

# ---- content types ---------------------------------------------------------------------
for ct in ["text/plain", "application/xml", "multipart/form-data; boundary=x",
           "application/jsonx", "application/json-seq", "json", "*/*", "application/",
           "text/json", "application/x-www-form-urlencoded", "\xff\xfe", "application/json\x01"]:
    add("content-types", "Content-Type %r" % ct, "POST", AP, {"order": 0, "gfp": ["GFP_KERNEL"]}
        if ct != "application/x-www-form-urlencoded" else "order=0&gfp=GFP_KERNEL",
        headers=[["Content-Type", ct]])

# ---- paths, methods, ids, query strings -------------------------------------------------
for name, method, path in [
        ("traversal", "GET", "/v1/machines/../../etc/passwd"),
        ("traversal encoded", "GET", "/v1/machines/%2e%2e/%2e%2e/etc/passwd"),
        ("proc traversal", "GET", M + "/proc/../../../etc/passwd"),
        ("proc traversal encoded", "GET", M + "/proc/..%2f..%2fetc%2fpasswd"),
        ("proc unknown", "GET", M + "/proc/self"),
        ("double slash", "GET", "//v1/machines"),
        ("trailing slash", "GET", "/v1/machines/"),
        ("machine id traversal", "GET", "/v1/machines/m-1%2f.."),
        ("NUL in path", "GET", "/v1/machines/m-1%00"),
        ("invalid UTF-8 in path", "GET", "/v1/machines/%ff%fe"),
        ("raw invalid UTF-8 in path", "GET", "/v1/machines/\xff\xfe"),
        ("overlong machine id", "GET", "/v1/machines/m-" + "9" * 200),
        ("machine id 10000 chars", "GET", "/v1/machines/" + "m" * 10000),
        ("unknown machine", "GET", "/v1/machines/m-999999"),
        ("machine id with colon", "GET", "/v1/machines/m-1:x:y"),
        ("unknown verb", "POST", M + ":frobnicate"),
        ("unknown kernel op", "POST", M + "/kernel:nope"),
        ("pid -1", "GET", M + "/processes/-1"),
        ("pid 0", "GET", M + "/processes/0"),
        ("pid hex", "GET", M + "/processes/0x1"),
        ("pid overflow", "GET", M + "/processes/99999999999999999999"),
        ("pid beyond int32", "GET", M + "/processes/2147483648"),
        ("pid not live", "GET", M + "/processes/4000"),
        ("pid words", "POST", M + "/processes/one:fork"),
        ("pid overflow fork", "POST", M + "/processes/99999999999999999999:fork"),
        ("pid not live fork", "POST", M + "/processes/4000:fork"),
        ("frame -1", "GET", M + "/frames/-1"),
        ("frame huge", "GET", M + "/frames/0xffffffffffffffffff"),
        ("frame beyond", "GET", M + "/frames/100000000"),
        ("cache 300 chars", "GET", M + "/kmemCaches/" + "k" * 300),
        ("cache unknown", "POST", M + "/kmemCaches/nope:alloc"),
        ("cache unknown destroy", "DELETE", M + "/kmemCaches/nope"),
        ("unknown query parameter", "GET", "/v1/machines?bogus=1"),
        ("40 query parameters", "GET", "/v1/machines?" + "&".join("p%d=1" % i for i in range(40))),
        ("page_size 0", "GET", "/v1/machines?page_size=0"),
        ("page_size -1", "GET", "/v1/machines?page_size=-1"),
        ("page_size 1e9", "GET", "/v1/machines?page_size=1000000000"),
        ("page_size words", "GET", "/v1/machines?page_size=ten"),
        ("page_token garbage", "GET", "/v1/machines?page_token=%ff%00"),
        ("page_token m-", "GET", "/v1/machines?page_token=m-"),
        ("process page_token", "GET", M + "/processes?page_token=-5"),
        ("translate without addr", "GET", M + "/kernel/translate"),
        ("translate bad addr", "GET", M + "/kernel/translate?addr=zz"),
        ("ksize not allocated", "GET", M + "/kernel/ksize?addr=0x1234"),
        ("frames count 65537", "GET", M + "/frames?count=65537"),
        ("frames start -1", "GET", M + "/frames?start=-1"),
        ("frames start beyond", "GET", M + "/frames?start=99999999"),
        ("pagetable without addr", "GET", P + "/pagetable"),
        ("pagetable addr NUL", "GET", P + "/pagetable?addr=%00"),
        ("maps of pid 0", "GET", M + "/processes/0/maps"),
        ("PUT machines", "PUT", "/v1/machines"),
        ("PATCH machine", "PATCH", M),
        ("GET batch", "GET", M + ":batch"),
        ("DELETE allocPages", "DELETE", AP),
        ("POST digest", "POST", M + "/digest"),
        ("GET fork", "GET", P + ":fork"),
        ("lowercase get", "get", "/v1/machines"),
        ("unknown method", "FROB", "/v1/machines"),
        ("TRACE", "TRACE", "/healthz"),
        ("unknown top level", "GET", "/v2/machines"),
        ("root-post", "POST", "/"),
]:
    add("paths", name, method, path, headers=[])

# ---- batch -------------------------------------------------------------------------------
B = M + ":batch"
for name, body, expect in [
        ("ops missing", {}, "error"),
        ("ops not an array", {"ops": {"op": "spawn"}}, "error"),
        ("ops null", {"ops": None}, "error"),
        ("stop_on_error string", {"ops": [], "stop_on_error": "yes"}, "error"),
        ("extra key", {"ops": [], "atomic": True}, "error"),
        ("unknown op", {"ops": [{"op": "frobnicate"}]}, "batch-refused"),
        ("op missing", {"ops": [{"order": 0}]}, "batch-refused"),
        ("op number", {"ops": [{"op": 7}]}, "batch-refused"),
        ("record number", {"ops": [1]}, "batch-refused"),
        ("record string", {"ops": ["spawn"]}, "batch-refused"),
        ("record null", {"ops": [None]}, "batch-refused"),
        ("record array", {"ops": [[{"op": "spawn"}]]}, "batch-refused"),
        ("unknown ops, no stop", {"ops": [{"op": "x%d" % i} for i in range(50)], "stop_on_error": False},
         "batch-refused"),
        ("bad args", {"ops": [{"op": "allocPages", "order": "zero", "gfp": []}]}, "batch-refused"),
        ("pid not live", {"ops": [{"op": "fork", "pid": 4000}]}, "batch-refused"),
        ("pid negative", {"ops": [{"op": "fork", "pid": -1}]}, "batch-refused"),
        ("cache unknown", {"ops": [{"op": "kmemCacheAlloc", "cache": "nope", "gfp": ["GFP_KERNEL"]}]},
         "batch-refused"),
        ("journal keys", {"ops": [{"op": "spawn", "seq": 1, "result": {}}]}, "batch-refused"),
        ("record with op and bogus", {"ops": [{"op": "spawn", "bogus": 1}]}, "batch-refused"),
]:
    add("batch", name, "POST", B, body, expect=expect)

# ---- machine creation --------------------------------------------------------------------
for name, body in [
        ("memory -1", {"config": {"memory": -1}}), ("memory 1", {"config": {"memory": 1}}),
        ("memory 64X", {"config": {"memory": "64X"}}), ("memory 1e9 real", {"config": {"memory": 1e9}}),
        ("memory 1P", {"config": {"memory": "1024T"}}), ("memory not MiB", {"config": {"memory": 4194305}}),
        ("arch arm", {"config": {"arch": "arm64"}}), ("arch number", {"config": {"arch": 64}}),
        ("nodes 0", {"config": {"nodes": 0}}), ("nodes 9", {"config": {"nodes": 9}}),
        ("i386 two nodes", {"config": {"arch": "i386", "nodes": 2}}),
        ("cpus 0", {"config": {"cpus": 0}}), ("cpus 1000", {"config": {"cpus": 1000}}),
        ("pid_max 1", {"config": {"pid_max": 1}}), ("unknown key", {"config": {"colour": "red"}}),
        ("config array", {"config": []}), ("config string", {"config": "big"}),
        ("name too long", {"name": "n" * 64}), ("name control char", {"name": "a\nb"}),
        ("name number", {"name": 123}), ("name empty", {"name": ""}),
        ("name NUL", {"name": "a\u0000b"}), ("unknown top key", {"nam": "x"}),
        ("swap negative", {"config": {"swap": "-1M"}}), ("overcommit bad", {"config": {"overcommit": "sometimes"}}),
]:
    add("machines", name, "POST", "/v1/machines", body)

# ---- headers, bodies over the limit ---------------------------------------------------------
add("batch", "10001 records", "POST", B, prefix='{"ops":[', fill=['{"op":"nope"},', 10000],
    suffix='{"op":"nope"}]}')
add("bodies", "10 MiB of [ to batch", "POST", B, fill=["[", 10 << 20])
add("bodies", "10 MiB JSON string to machines", "POST", "/v1/machines", fill=["a", 10 << 20])
add("bodies", "10 MiB chunked to allocPages", "POST", AP, fill=["{", 10 << 20], chunked=True)
add("bodies", "9 MiB of spaces", "POST", AP, fill=[" ", 9 << 20])
add("headers", "Content-Length not a number", "POST", AP, '{"order":0}',
    headers=J + [["Content-Length", "abc"]])
add("headers", "Content-Length negative", "POST", AP, '{"order":0}',
    headers=J + [["Content-Length", "-1"]])
add("headers", "Content-Length 2^64", "POST", AP, '{"order":0}',
    headers=J + [["Content-Length", "18446744073709551616"]])
add("headers", "X-Request-Id 1000 chars with a bad body", "POST", AP, "{",
    headers=J + [["X-Request-Id", "r" * 1000]])
add("headers", "X-Request-Id with control chars and a bad body", "POST", AP, "{",
    headers=J + [["X-Request-Id", "a\x01b"]])
add("headers", "100 KiB header", "GET", "/v1/machines/m-nope", headers=[],
    big_header=["X-Big", "b", 100 << 10])
add("headers", "header without colon", "GET", "/v1/machines/m-nope",
    headers=[["NoColonHere", None]])
add("headers", "Accept JSON on a missing proc file", "GET", M + "/proc/nope",
    headers=[["Accept", "application/json"]])
add("headers", "Transfer-Encoding unknown", "POST", AP, '{"order":0}',
    headers=J + [["Transfer-Encoding", "gzip"]])

os.makedirs(os.path.join(HERE, "corpus"), exist_ok=True)
total = 0
for cat, items in sorted(corpus.items()):
    with open(os.path.join(HERE, "corpus", cat + ".jsonl"), "w") as f:
        for e in items:
            f.write(json.dumps(e, ensure_ascii=True) + "\n")
    total += len(items)
print("%d requests in %d files" % (total, len(corpus)))
