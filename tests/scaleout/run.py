#!/usr/bin/env python3
"""tests/scaleout/run.py — the docker/ deployment without Docker (SPEC §7,
docs/deployment.md): three mmsimd shards started through docker/entrypoint
behind a real haproxy running docker/haproxy.cfg, all on loopback.

Checks the static parts (haproxy -c, shellcheck, docker-compose config, the
Dockerfile's structure and runtime libraries), docker/entrypoint and
docker/healthcheck, routing by tenant id (every tenant on exactly one shard,
always the same one, also after :rotateKey), a killed shard (only its
tenants see 503) and its restart (recovered from sqlite, digests intact),
and the rebalance after adding a fourth shard (docker/list-tenants,
docker/move-tenant).  The tests run in order and share the topology.

    python3 tests/scaleout/run.py [BINARY] [substring ...]

Ends with exactly one line "N passed, N failed"; exit status 1 on failure.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))
sys.path.insert(0, os.path.dirname(HERE))
import run as api  # noqa: E402  (tests/api/run.py: request, expect_error, …)
import testkit  # noqa: E402
from testkit import Fail, check, eq, read_line, wait_until  # noqa: E402

ROOT = api.ROOT
DOCKER = os.path.join(ROOT, "docker")
BIN = api.BIN
TMP = api.TMP
TIMEOUT = api.TIMEOUT
ONLY = sys.argv[2:]
ADMIN = "adm-" + os.urandom(16).hex()
ADMIN_FILE = os.path.join(TMP, "admin.key")
SECRET_FILE = os.path.join(TMP, "server.secret")
with open(ADMIN_FILE, "w") as f:
    f.write(ADMIN + "\n")
with open(SECRET_FILE, "wb") as f:
    f.write(os.urandom(32))
# fixed names: haproxy's hash is deterministic, so is the spread over shards
TENANTS = ["course-%02d" % i for i in range(24)]
KEY_RE = re.compile(r"mmk_([a-z0-9-]{1,63})_([0-9a-f]{64})")

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def clean_env(extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMSIM")}
    env.update(extra)
    return env


class Shard:
    """mmsimd started by docker/entrypoint, as in the image."""

    def __init__(self, name, data, listen="127.0.0.1:0"):
        self.name, self.data = name, data
        self.errpath = os.path.join(TMP, "%s.stderr" % name)
        env = clean_env({"MMSIMD": BIN, "MMSIM_ADMIN_KEY_FILE": ADMIN_FILE,
                         "MMSIM_SERVER_SECRET_FILE": SECRET_FILE, "MMSIM_DATA": data,
                         "MMSIM_LISTEN": listen, "MMSIM_BEHIND_PROXY": "1",
                         "MMSIM_LOG": os.path.join(TMP, "%s.log" % name)})
        with open(self.errpath, "ab") as err:
            self.proc = subprocess.Popen([os.path.join(DOCKER, "entrypoint")],
                                         stdout=subprocess.PIPE, stderr=err, env=env)
        line = read_line(self.proc.stdout, TIMEOUT)
        m = re.fullmatch(r"listening on http://([0-9.]+):([0-9]+)", line or "")
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise Fail("%s: no 'listening on' line: %r %r"
                       % (name, line, open(self.errpath, "rb").read()[-500:]))
        self.host, self.port = m.group(1), int(m.group(2))
        self.addr = "%s:%d" % (self.host, self.port)
        self.url = "http://" + self.addr

    def conn(self):
        return api.http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Fail("%s did not stop" % self.name)

    def restart(self):
        """Same data directory, same port (the router's config names it)."""
        return Shard(self.name, self.data, self.addr)


class Router:
    """haproxy -f docker/haproxy.cfg, addresses from the environment."""

    def __init__(self, shards, cfg=None):
        self.host, self.port = "127.0.0.1", free_port()
        env = clean_env({"MMSIM_BIND": "127.0.0.1:%d" % self.port})
        for i, s in enumerate(shards, 1):
            env["SHARD%d" % i] = s.addr
        self.errpath = os.path.join(TMP, "haproxy-%d.stderr" % self.port)
        with open(self.errpath, "wb") as err:
            self.proc = subprocess.Popen(
                ["haproxy", "-db", "-f", cfg or os.path.join(DOCKER, "haproxy.cfg")],
                stdout=err, stderr=err, env=env)

        def up():
            try:
                return api.request("GET", "/healthz", server=self).status == 200
            except OSError:
                check(self.proc.poll() is None, "haproxy exited: %r"
                      % open(self.errpath, "rb").read()[-500:])
                return False
        wait_until(up, what="haproxy to answer")

    def conn(self):
        return api.http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(TIMEOUT)


def req(srv, method, path, key=None, body=None):
    h = {"Authorization": "Bearer " + key} if key else {}
    return api.request(method, path, body, headers=h, server=srv)


def run(argv, env=None, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=env, timeout=120, **kw)


# ---- shared topology -------------------------------------------------------------

T = {}  # shards, router, keys, where (tenant → shard name), machines, digests


def shard(name):
    return next(s for s in T["shards"] if s.name == name)


def owner(tid):
    """The one shard that knows tenant tid (asked directly, admin key)."""
    found = [s.name for s in T["shards"]
             if req(s, "GET", "/v1/tenants/" + tid, ADMIN).status == 200]
    eq(len(found), 1, "shards holding %s: %r" % (tid, found))
    return found[0]


def check_tenant(tid, srv=None):
    """Through the router: the tenant's machines answer with their digests,
    from the shard that holds it."""
    srv = srv or T["router"]
    key = T["keys"][tid]
    for m, d in T["machines"][tid].items():
        r = req(srv, "GET", "/v1/machines/%s/digest" % m, key)
        eq(r.status, 200, "%s %s digest via router: %r" % (tid, m, r.body[:200]))
        eq(r.json, d, "%s %s digest" % (tid, m))
        eq(r.headers.get("x-mmsim-shard"), T["where"][tid], "%s answered by" % tid)


# ---- static checks ------------------------------------------------------------------

@test
def haproxy_config_valid():
    env = clean_env({"MMSIM_BIND": "127.0.0.1:1", "SHARD1": "127.0.0.1:2",
                     "SHARD2": "127.0.0.1:3", "SHARD3": "127.0.0.1:4"})
    r = run(["haproxy", "-c", "-f", os.path.join(DOCKER, "haproxy.cfg")], env=env)
    eq(r.returncode, 0, "haproxy -c: %s" % r.stdout.decode()[-800:])
    # and a broken one is refused (the check can fail)
    bad = os.path.join(TMP, "bad.cfg")
    with open(bad, "w") as f:
        f.write(open(os.path.join(DOCKER, "haproxy.cfg")).read() + "\nbackend x\n\tbalance nosuch\n")
    check(run(["haproxy", "-c", "-f", bad], env=env).returncode != 0, "haproxy -c accepted a bad file")


@test
def shellcheck_scripts():
    scripts = [os.path.join(DOCKER, n) for n in sorted(os.listdir(DOCKER))
               if open(os.path.join(DOCKER, n), "rb").read(2) == b"#!"
               and b"python" not in open(os.path.join(DOCKER, n), "rb").readline()]
    check(len(scripts) >= 2, "shell scripts found: %r" % scripts)
    r = run(["shellcheck"] + scripts)
    eq(r.returncode, 0, "shellcheck: %s" % r.stdout.decode()[-1500:])


@test
def compose_valid():
    compose = os.path.join(DOCKER, "compose.yaml")
    r = run(["docker-compose", "-f", compose, "config"], cwd=TMP)
    eq(r.returncode, 0, "docker-compose config: %s" % r.stdout.decode()[-800:])
    out = r.stdout.decode()
    for svc in ("shard1", "shard2", "shard3", "router"):
        check(re.search(r"^  %s:$" % svc, out, re.M), "service %s" % svc)
    for vol in ("shard1-data", "shard2-data", "shard3-data"):
        check(re.search(r"- %s:/data\b" % vol, out), "volume %s on /data" % vol)
    eq(out.count("source: mmsim_admin_key"), 3, "the admin key secret on every shard")
    eq(len(re.findall(r"^ +healthcheck:$", out, re.M)), 4, "a health check on every service")
    check("haproxy.cfg" in out, "the router mounts docker/haproxy.cfg")
    bad = os.path.join(TMP, "bad-compose.yaml")
    with open(bad, "w") as f:
        f.write(open(compose).read().replace("services:", "servicez:"))
    check(run(["docker-compose", "-f", bad, "config", "-q"], cwd=TMP).returncode != 0,
          "docker-compose accepted a broken file")


def dockerfile():
    """The Dockerfile as (instruction, argument) pairs, continuations joined."""
    text = re.sub(r"\\\n", " ", open(os.path.join(DOCKER, "Dockerfile")).read())
    out = []
    for ln in text.splitlines():
        ln = ln.strip()
        if ln and not ln.startswith("#"):
            word, _, rest = ln.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def apt_packages(arg):
    m = re.search(r"apt-get install (.*?)(&&|$)", arg)
    check(m, "apt-get install in %r" % arg)
    return [w for w in m.group(1).split() if not w.startswith("-")]


@test
def dockerfile_structure():
    ins = dockerfile()
    froms = [a for i, a in ins if i == "FROM"]
    eq(len(froms), 2, "two stages")
    check(all(a.startswith("debian:bookworm") for a in froms), "bookworm stages: %r" % froms)
    split = [i for i, _ in ins].index("FROM", 1)
    build, runtime = ins[:split], ins[split:]
    # build stage: the -dev packages of the libraries mmsimd links (the
    # Makefile's SRV_PKGS), and the project's own build
    srv_pkgs = re.search(r"SRV_PKGS\s*:= (.*)\n", open(os.path.join(ROOT, "Makefile")).read()
                         ).group(1).split()
    bpk = apt_packages(next(a for i, a in build if i == "RUN" and "apt-get" in a))
    for lib in srv_pkgs:
        name = {"sqlite3": "libsqlite3", "jansson": "libjansson", "libuv": "libuv1"}.get(lib, lib)
        check(name + "-dev" in bpk, "build stage lacks %s-dev" % name)
    check(any(i == "RUN" and "make" in a and "build/mmsimd" in a for i, a in build), "make in build stage")
    # runtime: only runtime libraries, and every library mmsimd links
    rpk = apt_packages(next(a for i, a in runtime if i == "RUN" and "apt-get" in a))
    check(not [p for p in rpk if p.endswith("-dev") or p in ("gcc", "make")], "runtime has build tools: %r" % rpk)
    # mmsimd's own NEEDED libraries (apt brings their dependencies)
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", run(["readelf", "-d", BIN]).stdout.decode())
    paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", run(["ldd", BIN]).stdout.decode(), re.M))
    check(len(needed) >= 5 and all(n in paths for n in needed), "NEEDED %r in %r" % (needed, paths))
    for lib in (paths[n] for n in needed):
        # dpkg names a file by the path its package ships (/lib or /usr/lib)
        real = os.path.realpath(lib)
        names = [lib, real, real.replace("/usr/lib/", "/lib/", 1)]
        pkg = next((r.stdout.decode().split(":")[0] for r in (run(["dpkg", "-S", n]) for n in names)
                    if r.returncode == 0), "no package")
        check(pkg in rpk or pkg in ("libc6", "libgcc-s1"), "%s (%s) is not installed in the runtime stage" % (lib, pkg))
    for p in rpk:
        r = run(["apt-cache", "show", "--no-all-versions", p])
        eq(r.returncode, 0, "apt-cache knows %s" % p)
    d = dict(runtime)
    check(d.get("USER") and d["USER"] not in ("root", "0"), "non-root USER")
    check('"/data"' in d.get("VOLUME", ""), "VOLUME /data")
    check(re.match(r'.*CMD \["/usr/local/bin/healthcheck"\]', d.get("HEALTHCHECK", "")), "HEALTHCHECK exec form")
    eq(d.get("ENTRYPOINT"), '["/usr/local/bin/entrypoint"]', "ENTRYPOINT exec form (mmsimd gets SIGTERM)")
    check("MMSIM_LISTEN=0.0.0.0:8080" in d.get("ENV", ""), "listens on 0.0.0.0")
    check("/run/secrets/" in d.get("ENV", ""), "admin key from a secret file")
    for a in (a for i, a in ins if i == "COPY" and "--from" not in a):
        for src in a.split()[:-1]:
            check(os.path.exists(os.path.join(ROOT, src)), "COPY source %s" % src)
    check(os.path.exists(os.path.join(ROOT, ".dockerignore")), ".dockerignore")


# ---- entrypoint and healthcheck outside Docker ------------------------------------

def entrypoint(env):
    base = {"MMSIMD": BIN, "MMSIM_DATA": os.path.join(TMP, "ep-data"),
            "MMSIM_LISTEN": "127.0.0.1:0", "MMSIM_SERVER_SECRET_FILE": os.path.join(TMP, "none")}
    base.update(env)
    return run([os.path.join(DOCKER, "entrypoint")], env=clean_env(base))


@test
def entrypoint_refuses():
    r = entrypoint({"MMSIM_ADMIN_KEY_FILE": os.path.join(TMP, "missing")})
    eq(r.returncode, 2, "missing admin key")
    check(b"no admin key" in r.stdout, r.stdout)
    tk = os.path.join(TMP, "tenantlike.key")
    with open(tk, "w") as f:
        f.write("mmk_x_" + "0" * 64 + "\n")
    r = entrypoint({"MMSIM_ADMIN_KEY_FILE": tk})
    eq(r.returncode, 2, "admin key shaped like a tenant key: %r" % r.stdout)
    short = os.path.join(TMP, "short.secret")
    with open(short, "wb") as f:
        f.write(b"x" * 31)
    r = entrypoint({"MMSIM_ADMIN_KEY_FILE": ADMIN_FILE, "MMSIM_SERVER_SECRET_FILE": short})
    eq(r.returncode, 2, "31-byte server secret: %r" % r.stdout)
    # a data dir whose server.secret differs from the shared one
    d = os.path.join(TMP, "other-secret")
    os.makedirs(d)
    with open(os.path.join(d, "server.secret"), "wb") as f:
        f.write(os.urandom(32))
    r = entrypoint({"MMSIM_ADMIN_KEY_FILE": ADMIN_FILE, "MMSIM_SERVER_SECRET_FILE": SECRET_FILE,
                    "MMSIM_DATA": d})
    eq(r.returncode, 2, "mismatched server secret: %r" % r.stdout)
    check(b"differs" in r.stdout, r.stdout)
    # mmsimd's own checks still apply (flags pass through): exit 2 on a bad flag
    r = run([os.path.join(DOCKER, "entrypoint"), "--nosuch"], env=clean_env(
        {"MMSIMD": BIN, "MMSIM_ADMIN_KEY_FILE": ADMIN_FILE,
         "MMSIM_DATA": os.path.join(TMP, "ep2"), "MMSIM_LISTEN": "127.0.0.1:0"}))
    eq(r.returncode, 2, "bad flag through the entrypoint: %r" % r.stdout)


@test
def entrypoint_serves_and_drains():
    s = Shard("ep", os.path.join(TMP, "ep-serve"))
    try:
        eq(open(os.path.join(s.data, "server.secret"), "rb").read(),
           open(SECRET_FILE, "rb").read(), "shared server secret installed")
        eq(os.stat(os.path.join(s.data, "server.secret")).st_mode & 0o777, 0o600, "secret mode")
        r = req(s, "PUT", "/v1/tenants/ep", ADMIN, {})
        eq(r.status, 201, "multi-tenant with the secret file's admin key")
        api.expect_error(req(s, "GET", "/v1/machines"), 401, "UNAUTHENTICATED")
    finally:
        rc = s.stop(signal.SIGTERM)
    eq(rc, 0, "SIGTERM to the entrypoint's process (exec'd mmsimd) exits 0")
    s = Shard("ep", os.path.join(TMP, "ep-serve"))  # again: same secret accepted
    eq(req(s, "GET", "/v1/tenants/ep", ADMIN).status, 200, "tenant kept")
    eq(s.stop(), 0, "second stop")


def healthcheck(addr):
    return run([os.path.join(DOCKER, "healthcheck")],
               env=clean_env({"MMSIM_HEALTH_ADDR": addr, "MMSIM_HEALTH_TIMEOUT": "5"}))


@test
def healthcheck_script():
    s = Shard("hc", os.path.join(TMP, "hc"))
    try:
        r = healthcheck(s.addr)
        eq(r.returncode, 0, "healthy shard: %r" % r.stdout)
        # MMSIM_LISTEN's port is the default target
        r = run([os.path.join(DOCKER, "healthcheck")],
                env=clean_env({"MMSIM_LISTEN": "0.0.0.0:%d" % s.port}))
        eq(r.returncode, 0, "port from MMSIM_LISTEN: %r" % r.stdout)
    finally:
        s.stop()
    eq(healthcheck(s.addr).returncode, 1, "stopped shard")
    # something answering, but not 200 {"status":"ok"}
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)

    def serve(answers):
        for a in answers:
            c, _ = ls.accept()
            got = b""
            while b"\r\n\r\n" not in got:
                got += c.recv(4096) or b"\r\n\r\n"
            c.sendall(a)
            c.close()
    answers = [b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
               b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"]
    t = threading.Thread(target=serve, args=(answers,), daemon=True)
    t.start()
    addr = "127.0.0.1:%d" % ls.getsockname()[1]
    r = healthcheck(addr)
    eq(r.returncode, 1, "503")
    check(b"503" in r.stdout, "503 named: %r" % r.stdout)
    eq(healthcheck(addr).returncode, 1, "200 without status ok")
    t.join(TIMEOUT)
    ls.close()


# ---- the topology --------------------------------------------------------------------

@test
def shards_behind_router():
    T["shards"] = [Shard("shard%d" % i, os.path.join(TMP, "shard%d" % i)) for i in (1, 2, 3)]
    T["router"] = Router(T["shards"])
    T["keys"], T["machines"], T["where"] = {}, {}, {}
    R = T["router"]
    for tid in TENANTS:
        r = req(R, "PUT", "/v1/tenants/" + tid, ADMIN, {})
        eq(r.status, 201, "create %s through the router: %r" % (tid, r.body[:200]))
        m = KEY_RE.fullmatch(r.json["api_key"])
        check(m and m.group(1) == tid, "key format")
        T["keys"][tid] = r.json["api_key"]
        T["where"][tid] = owner(tid)
        eq(r.headers.get("x-mmsim-shard"), T["where"][tid], "created where the router said")
    spread = {n: sum(1 for w in T["where"].values() if w == n) for n in ("shard1", "shard2", "shard3")}
    check(all(spread.values()), "every shard holds tenants: %r" % spread)
    # requests naming no tenant go to any shard; the per-shard lists are refused
    eq(req(R, "GET", "/healthz").status, 200, "healthz through the router")
    api.expect_error(req(R, "GET", "/v1/tenants", ADMIN), 400, "INVALID_ARGUMENT")
    api.expect_error(req(R, "GET", "/metrics", ADMIN), 400, "INVALID_ARGUMENT")
    api.expect_error(req(R, "GET", "/v1/machines"), 401, "UNAUTHENTICATED")


@test
def tenant_machines_on_one_shard():
    R = T["router"]
    for i, tid in enumerate(TENANTS):
        key, ms = T["keys"][tid], {}
        for j in range(2):
            r = req(R, "POST", "/v1/machines", key, {"config": {"memory": "16M"}})
            eq(r.status, 201, "machine for %s: %r" % (tid, r.body[:200]))
            m = r.json["id"]
            r = req(R, "POST", "/v1/machines/%s/kernel:allocPages" % m, key,
                    {"order": (i + j) % 4, "gfp": ["GFP_KERNEL"]})
            eq(r.status, 200, "alloc: %r" % r.body[:200])
            # on exactly one shard, asked directly with the tenant's key
            seen = [s.name for s in T["shards"]
                    if req(s, "GET", "/v1/machines/" + m, key).status == 200]
            eq(seen, [T["where"][tid]], "shards showing %s's machine %s" % (tid, m))
            ms[m] = req(R, "GET", "/v1/machines/%s/digest" % m, key).json
        T["machines"][tid] = ms
        r = req(R, "GET", "/v1/machines", key)
        eq(sorted(x["id"] for x in r.json["items"]), sorted(ms), "%s lists its machines" % tid)
    # repeated requests land on the same shard
    for _ in range(5):
        for tid in TENANTS:
            check_tenant(tid)
    # the admin's tenant routes too
    for tid in TENANTS:
        r = req(R, "GET", "/v1/tenants/" + tid, ADMIN)
        eq(r.status, 200, "admin get %s" % tid)
        eq(r.json["usage"]["machines"], 2, "usage of %s" % tid)
        eq(r.headers.get("x-mmsim-shard"), T["where"][tid], "admin route of %s" % tid)


@test
def rotate_key_keeps_shard():
    R = T["router"]
    for tid in TENANTS[:6]:
        old = T["keys"][tid]
        r = req(R, "POST", "/v1/tenants/%s:rotateKey" % tid, ADMIN)
        eq(r.status, 200, "rotate %s: %r" % (tid, r.body[:200]))
        eq(r.headers.get("x-mmsim-shard"), T["where"][tid], "rotated on its shard")
        T["keys"][tid] = r.json["api_key"]
        check(T["keys"][tid] != old, "a new key")
        api.expect_error(req(R, "GET", "/v1/machines", old), 401, "UNAUTHENTICATED")
        check_tenant(tid)


def list_tenants(*extra):
    shards = ["%s=%s" % (s.name, s.url) for s in T["shards"]]
    return run([os.path.join(DOCKER, "list-tenants")] + list(extra) + shards,
               env=clean_env({"MMSIM_ADMIN_KEY_FILE": ADMIN_FILE}))


@test
def list_tenants_across_shards():
    r = list_tenants("--router", "http://%s:%d" % (T["router"].host, T["router"].port))
    eq(r.returncode, 0, "list-tenants: %s" % r.stdout.decode()[-500:])
    rows = [ln.split("\t") for ln in r.stdout.decode().splitlines()]
    eq(rows, [[tid, T["where"][tid], "2", T["where"][tid]] for tid in sorted(TENANTS)], "rows")


@test
def killed_shard_only_its_tenants_fail():
    R = T["router"]
    victim = T["where"][TENANTS[0]]
    s = shard(victim)
    s.stop(signal.SIGKILL)
    for tid in TENANTS:
        key = T["keys"][tid]
        m = next(iter(T["machines"][tid]))
        r = req(R, "POST", "/v1/machines/%s/kernel:allocPages" % m, key,
                {"order": 0, "gfp": ["GFP_KERNEL"]})
        if T["where"][tid] == victim:
            api.expect_error(r, 503, "UNAVAILABLE")
        else:
            eq(r.status, 200, "%s keeps working: %r" % (tid, r.body[:200]))
            T["machines"][tid][m] = req(R, "GET", "/v1/machines/%s/digest" % m, key).json
            check_tenant(tid)
    eq(list_tenants().returncode, 1, "list-tenants reports the dead shard")
    T["shards"][T["shards"].index(s)] = s.restart()
    # its tenants recover from sqlite: same machines, same digests, new ops work
    for tid in TENANTS:
        wait_until(lambda: req(R, "GET", "/readyz").status == 200, what="readyz")
        check_tenant(tid)
        if T["where"][tid] == victim:
            m = next(iter(T["machines"][tid]))
            r = req(R, "POST", "/v1/machines/%s/kernel:allocPages" % m, T["keys"][tid],
                    {"order": 1, "gfp": ["GFP_KERNEL"]})
            eq(r.status, 200, "after restart: %r" % r.body[:200])
            T["machines"][tid][m] = req(R, "GET", "/v1/machines/%s/digest" % m, T["keys"][tid]).json


@test
def add_shard_and_rebalance():
    """docs/deployment.md, "Adding a shard", step by step."""
    cfg = open(os.path.join(DOCKER, "haproxy.cfg")).read()
    line = '\tserver shard3 "${SHARD3}" id 3\n'
    eq(cfg.count(line), 2, "the server lines the procedure extends")
    cfg4 = os.path.join(TMP, "haproxy4.cfg")
    with open(cfg4, "w") as f:
        f.write(cfg.replace(line, line + '\tserver shard4 "${SHARD4}" id 4\n'))
    T["shards"].append(Shard("shard4", os.path.join(TMP, "shard4")))
    old = T["router"]
    T["router"] = R = Router(T["shards"], cfg4)
    old.stop()
    r = list_tenants("--router", "http://%s:%d" % (R.host, R.port))
    eq(r.returncode, 1, "moves pending")
    moves = [ln.split("\t") for ln in r.stdout.decode().splitlines() if ln.endswith("\tMOVE")]
    check(moves, "the new shard takes some tenants")
    check(all(mv[3] == "shard4" for mv in moves), "consistent hashing moves tenants only to the new shard: %r" % moves)
    check(len(moves) < len(TENANTS) // 2, "only a share of tenants moves: %d" % len(moves))
    # the tool refuses while the shards run
    r = run([os.path.join(DOCKER, "move-tenant"), shard(moves[0][1]).data, shard("shard4").data,
             moves[0][0]])
    eq(r.returncode, 1, "move-tenant refuses an open database: %r" % r.stdout)
    check(b"stop the shard" in r.stdout, r.stdout)
    # stop the shards involved, move, start them again
    involved = {mv[1] for mv in moves} | {"shard4"}
    for name in involved:
        eq(shard(name).stop(), 0, "SIGTERM %s" % name)
    for tid, src, _, dst, _ in moves:
        r = run([os.path.join(DOCKER, "move-tenant"), shard(src).data, shard(dst).data, tid])
        eq(r.returncode, 0, "move %s: %s" % (tid, r.stdout.decode()))
        T["where"][tid] = dst
    # run again: nothing left to do
    tid, src, _, dst, _ = moves[0]
    r = run([os.path.join(DOCKER, "move-tenant"), shard(src).data, shard(dst).data, tid])
    eq(r.returncode, 0, "idempotent: %r" % r.stdout)
    check(b"already" in r.stdout, r.stdout)
    for name in involved:
        s = shard(name)
        T["shards"][T["shards"].index(s)] = s.restart()
    r = list_tenants("--router", "http://%s:%d" % (R.host, R.port))
    eq(r.returncode, 0, "balanced: %s" % r.stdout.decode())
    # every tenant, moved or not, with its same key, machines and digests
    for tid in TENANTS:
        check_tenant(tid)
        owner(tid)


def main():
    passed = failed = 0
    t0 = time.monotonic()
    try:
        passed, failed = testkit.run_tests(TESTS, ONLY, width=36)
    finally:
        for p in T.get("shards", []) + [T.get("router")]:
            if p and p.proc.poll() is None:
                p.proc.kill()
                p.proc.wait()
    return testkit.finish("scale-out", t0, TMP, passed, failed)


if __name__ == "__main__":
    sys.exit(main())
