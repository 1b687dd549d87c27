"""testkit — helpers shared by the Python suites (tests/api, tests/durability):
assertions that raise Fail, a deadline-bounded poll (never a sleep-to-wait)
and a line reader for a child's pipe with a deadline."""

import os
import select
import time

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
