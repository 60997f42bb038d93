#!/usr/bin/env python3
"""Memory footprint of Cinnabar vs redis-server 7.0 for bulk datasets (see bench/memory.md).

Both servers run on loopback with persistence off. Each dataset is generated once as RESP and
loaded with `redis-cli --pipe` into one server at a time, into freshly started processes (the
empty server is sampled first, after FLUSHALL, as the baseline). After loading we read INFO used_memory and /proc/<pid>/status VmRSS, then ask for
MEMORY PURGE (Redis: jemalloc purge; Cinnabar: a blocking compacting full GC) and read them
again once the numbers settle. Cinnabar's managed heap (INFO allocator_allocated, which is
GC.GetTotalMemory) is reported next to its used_memory estimate to show how honest it is.

Usage: bench/memory.py [--keys N] [--datasets strings,hashes,lists,zsets] [--env VAR=VALUE ...]
                       [--label TEXT] [--out FILE] [--reuse] [--no-redis]
--env sets environment variables for Cinnabar only (e.g. DOTNET_GCConserveMemory=9), to
compare GC settings; --label names that variant in the report.
"""
import argparse
import datetime
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import wait_port  # noqa: E402  (shared with the throughput benchmark)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CINNABAR = os.path.join(ROOT, "src/Cinnabar.Server/bin/Release/net10.0/cinnabar-server")
REDIS_PORT, CINNABAR_PORT = 7500, 7501
MB = 1024 * 1024


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# Each generator writes n commands building one dataset; values are deterministic and none
# looks like an integer, so both servers keep them as strings.
def gen_strings(f, n):
    for i in range(n):
        key = b"key:%09d" % i
        val = (b"v%09d-" % i) + b"x" * 89  # 100 bytes: raw encoding (> 44) on both servers
        f.write(resp(b"SET", key, val))


def gen_hashes(f, n):
    for i in range(n):
        args = [b"HSET", b"hash:%09d" % i]
        for j in range(1, 6):
            args += [b"field%d" % j, b"val%d-%d" % (j, i % 1000)]
        f.write(resp(*args))


def gen_lists(f, n):
    for i in range(n):
        f.write(resp(b"RPUSH", b"list:%09d" % i, *[b"item-%d" % j for j in range(10)]))


def gen_zsets(f, n):
    for i in range(n):
        f.write(resp(b"ZADD", b"zset:%09d" % i, b"1", b"a", b"2", b"b", b"3", b"c", b"4", b"d", b"5", b"e"))


def gen_stream(f, n):
    for i in range(n):
        f.write(resp(b"XADD", b"stream", b"%d-0" % (1700000000000 + i), b"sensor", b"%d" % (i % 100),
                     b"temp", b"t%d" % (i % 1000), b"status", b"ok"))


def gen_streams(f, n):
    # n/10 streams of 10 entries each: one listpack node per stream.
    for i in range(n):
        f.write(resp(b"XADD", b"stream:%08d" % (i // 10), b"%d-0" % (1700000000000 + i % 10), b"sensor", b"%d" % (i % 100),
                     b"temp", b"t%d" % (i % 1000), b"status", b"ok"))


DATASETS = {
    "strings": ("1M × SET of a 100-byte value", gen_strings),
    "hashes": ("1M × HSET of 5 fields (field1..5, 8-byte values)", gen_hashes),
    "lists": ("1M × RPUSH of 10 elements (6 bytes each)", gen_lists),
    "zsets": ("1M × ZADD of 5 members (1 a .. 5 e)", gen_zsets),
    "stream": ("1M entries of 3 fields in one stream (per-key figures are per entry)", gen_stream),
    "streams": ("100k streams of 10 entries of 3 fields (per-key figures are per entry)", gen_streams),
}

# How many keys a dataset of n commands leaves (DBSIZE check); most make one key per command.
EXPECTED_KEYS = {"stream": lambda n: 1, "streams": lambda n: (n + 9) // 10}



def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True, text=True,
                          timeout=600).stdout


def info_memory(port):
    fields = {}
    for line in cli(port, "INFO", "memory").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            fields[k] = v.strip()
    return fields


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def sample(port, pid):
    m = info_memory(port)
    return {"used": int(m["used_memory"]), "rss": rss(pid), "heap": int(m.get("allocator_allocated", 0))}


def settle(port, pid):
    """MEMORY PURGE, then wait until RSS stops moving (at most ~10 s)."""
    cli(port, "MEMORY", "PURGE")
    last = rss(pid)
    for _ in range(20):
        time.sleep(0.5)
        now = rss(pid)
        if abs(now - last) < MB:
            break
        last = now
    return sample(port, pid)


def load(port, path):
    with open(path, "rb") as f:
        r = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f, capture_output=True, text=True,
                           timeout=1800)
    if "errors: 0" not in r.stdout:
        raise RuntimeError("load into %d failed: %s %s" % (port, r.stdout, r.stderr))


def start(cmd, port, env=None):
    p = subprocess.Popen(cmd + ["--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_port(port)
    return p


def stop(p, port):
    cli(port, "SHUTDOWN", "NOSAVE")
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def measure(name, port, pid, path, n):
    """Returns the empty baseline, the sample right after loading and the settled sample."""
    cli(port, "FLUSHALL")
    base = settle(port, pid)
    t0 = time.time()
    load(port, path)
    secs = time.time() - t0
    after = sample(port, pid)
    settled = settle(port, pid)
    keys = int(cli(port, "DBSIZE").strip() or 0)
    expected = EXPECTED_KEYS.get(name, lambda n: n)(n)
    if keys != expected:
        raise RuntimeError("%s on %d: DBSIZE %d, expected %d" % (name, port, keys, expected))
    return base, after, settled, secs


def mb(x):
    return "%.1f" % (x / MB)


def ratio(a, b):
    return "%.2f" % (a / b) if b else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--datasets", default="strings,hashes,lists")
    ap.add_argument("--env", action="append", default=[], help="VAR=VALUE for Cinnabar's environment")
    ap.add_argument("--label", default="")
    ap.add_argument("--out", default="")
    ap.add_argument("--reuse", action="store_true", help="one process pair for all datasets (FLUSHALL only)")
    ap.add_argument("--no-redis", action="store_true", help="measure Cinnabar only (GC setting sweeps)")
    ap.add_argument("--ports", default="", help="REDIS,CINNABAR ports (default 7500,7501)")
    args = ap.parse_args()
    global REDIS_PORT, CINNABAR_PORT
    if args.ports:
        REDIS_PORT, CINNABAR_PORT = (int(p) for p in args.ports.split(","))
    if not os.path.exists(CINNABAR):
        sys.exit("build first: dotnet build -c Release src/Cinnabar.Server")
    env = dict(os.environ)
    for kv in args.env:
        k, v = kv.split("=", 1)
        env[k] = v
    names = args.datasets.split(",")
    tmp = tempfile.mkdtemp(prefix="cinnabar-memory-")
    load_before = loadavg()
    rows = []
    redis = cin = None
    try:
        for name in names:
            path = os.path.join(tmp, name + ".resp")
            with open(path, "wb") as f:
                DATASETS[name][1](f, args.keys)
            # Neither allocator hands every page back after FLUSHALL (jemalloc keeps dirty pages,
            # the GC keeps its committed segments), so by default each dataset gets fresh
            # processes and RSS measures that dataset alone; --reuse keeps one process pair.
            if redis is None and not args.no_redis:
                redis = start(["redis-server"], REDIS_PORT)
            if cin is None:
                cin = start([CINNABAR], CINNABAR_PORT, env)
            r = measure(name, REDIS_PORT, redis.pid, path, args.keys) if redis else None
            c = measure(name, CINNABAR_PORT, cin.pid, path, args.keys)
            rows.append((name, r, c))
            os.remove(path)
            print(name, "redis", r and r[1:3], "cinnabar", c[1:3], file=sys.stderr)
            if not args.reuse:
                if redis:
                    stop(redis, REDIS_PORT)
                stop(cin, CINNABAR_PORT)
                redis = cin = None
    finally:
        if redis:
            stop(redis, REDIS_PORT)
        if cin:
            stop(cin, CINNABAR_PORT)
        for leftover in os.listdir(tmp):
            os.remove(os.path.join(tmp, leftover))
        os.rmdir(tmp)
    load_after = loadavg()

    host = platform.node()
    date = datetime.date.today().isoformat()
    out = args.out or os.path.join(HERE, "results", "%s-%s-memory%s.md" % (
        date, host, "-" + args.label if args.label else ""))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    L = []
    L.append("# Memory: Cinnabar vs redis-server 7.0.15")
    L.append("")
    L.append("- date: %s, host: %s, %d CPUs, load average before/after: %s / %s (shared machine)" % (
        date, host, os.cpu_count(), load_before, load_after))
    L.append("- keys per dataset: %d; loaded with `redis-cli --pipe`; FLUSHALL before each dataset, %s" % (
        args.keys, "one process pair for all datasets" if args.reuse else "fresh processes per dataset"))
    L.append("- Cinnabar: `%s` %s" % (os.path.relpath(CINNABAR, ROOT),
                                      ("env " + " ".join(args.env)) if args.env else "(default GC settings)"))
    L.append("- \"loaded\" is right after the pipe finishes; \"settled\" is after MEMORY PURGE "
             "(Cinnabar: blocking compacting full GC; Redis: jemalloc purge)")
    L.append("- MB = MiB; per-key bytes subtract the empty server's numbers measured before each dataset")
    L.append("")
    L.append("| dataset | state | redis used_memory | redis RSS | cinnabar used_memory | cinnabar RSS | "
             "cinnabar managed heap | used ratio | RSS ratio |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r, c in rows:
        for state, i in (("loaded", 1), ("settled", 2)):
            rs = r[i] if r else {"used": 0, "rss": 0}
            cs = c[i]
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                name, state, mb(rs["used"]), mb(rs["rss"]), mb(cs["used"]), mb(cs["rss"]), mb(cs["heap"]),
                ratio(cs["used"], rs["used"]), ratio(cs["rss"], rs["rss"])))
    L.append("")
    L.append("Per key, settled, minus the empty server (bytes):")
    L.append("")
    L.append("| dataset | redis used | redis RSS | cinnabar used | cinnabar RSS | cinnabar managed heap | "
             "load s (redis / cinnabar) |")
    L.append("|---|---:|---:|---:|---:|---:|---:|")
    for name, r, c in rows:
        def per(s, k):
            return "%.0f" % ((s[2][k] - s[0][k]) / args.keys) if s else "-"
        L.append("| %s | %s | %s | %s | %s | %s | %s / %.1f |" % (
            name, per(r, "used"), per(r, "rss"), per(c, "used"), per(c, "rss"), per(c, "heap"),
            "%.1f" % r[3] if r else "-", c[3]))
    L.append("")
    L.append("Datasets: " + "; ".join("%s = %s" % (n, DATASETS[n][0]) for n in names) + ".")
    with open(out, "w") as f:
        f.write("\n".join(L) + "\n")
    print(out)


if __name__ == "__main__":
    main()
