#!/usr/bin/env python3
"""BGSAVE under load, Cinnabar (forkless snapshot) vs redis-server (fork), one server at a time.

For each server: DEBUG POPULATE N keys of 100 bytes, then
  1. idle save time: BGSAVE on the idle server, polled until rdb_bgsave_in_progress is 0;
  2. baseline: redis-benchmark SET on random keys of the dataset (-r N -d 100) without a save;
  3. the same load with a BGSAVE started as it begins; RSS sampled every 20 ms. For Redis the
     fork child's copy-on-write (INFO current_cow_peak / rdb_last_cow_size) is the memory the
     save costs besides the parent's RSS, so it is added: that is the "memory doubling";
  4. load time: restart on the saved file, time until the server answers PING with the keys.
Prints a markdown table; with --out, writes it there too. Run on a quiet machine.
Usage: bench/bgsave.py [--keys 1000000] [--requests 300000] [--clients 50] [--pipeline 1] [--out FILE]
"""
import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CINNABAR = os.path.join(ROOT, "src/Cinnabar.Server/bin/Release/net10.0/cinnabar-server")


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=600).stdout.strip()


def info(port, field):
    for line in cli(port, "INFO", "persistence").splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


def gc(port, kind):
    """Cinnabar's INFO gc: (gen2 collections, total pause ms, bytes allocated); zeros for Redis."""
    if kind != "cinnabar":
        return (0, 0, 0)
    f = {}
    for line in cli(port, "INFO", "gc").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            f[k] = v.strip()
    return (int(f["gc_gen2_collections"]), int(f["gc_pause_total_ms"]), int(f["gc_total_allocated_bytes"]) / 1048576.0)


def gc_delta(a, b):
    return tuple(y - x for x, y in zip(a, b))


def wait_ready(port, timeout=300):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError("server on port %d did not start" % port)


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def start(kind, port, d):
    args = ["--port", str(port), "--dir", d, "--save", "", "--appendonly", "no", "--bind", "127.0.0.1",
            "--protected-mode", "no", "--enable-debug-command", "yes", "--logfile", os.path.join(d, "log")]
    exe = "redis-server" if kind == "redis" else CINNABAR
    p = subprocess.Popen([exe] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port)
    return p


def stop(p, port):
    cli(port, "SHUTDOWN", "NOSAVE")
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def wait_bgsave(port):
    t0 = time.time()
    while info(port, "rdb_bgsave_in_progress") == "1":
        time.sleep(0.01)
    return time.time() - t0


def benchmark(port, a):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(a.requests), "-r", str(a.keys),
                          "-d", "100", "-c", str(a.clients), "-P", str(a.pipeline), "--csv"],
                         capture_output=True, text=True, timeout=1200).stdout
    rows = [l for l in out.splitlines() if l.startswith('"SET"')]
    f = [x.strip('"') for x in rows[-1].split(",")]
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    return float(f[1]), float(f[4]), float(f[6]), float(f[7])


def measure(kind, port, a):
    d = tempfile.mkdtemp(prefix="bgsave-bench-")
    try:
        p = start(kind, port, d)
        cli(port, "DEBUG", "POPULATE", a.keys, "key", 100)
        time.sleep(2)
        r = {"kind": kind}
        r["rss_settled_mb"] = rss_kb(p.pid) / 1024
        cli(port, "BGSAVE")
        time.sleep(0.005)
        r["save_idle_s"] = wait_bgsave(port) + 0.005
        for _ in range(a.warmup):  # loads not reported: they move where the load's own collections fall
            benchmark(port, a)
        g0 = gc(port, kind)
        r["base_rps"], r["base_p50"], r["base_p99"], r["base_max"] = benchmark(port, a)
        r["base_gc2"], r["base_gcms"], r["base_alloc"] = gc_delta(g0, gc(port, kind))
        rss_before = rss_kb(p.pid)
        peak = [rss_before, 0]
        stop_sampling = threading.Event()

        def sample():
            while not stop_sampling.is_set():
                peak[0] = max(peak[0], rss_kb(p.pid))
                cow = info(port, "current_cow_peak") if kind == "redis" else None
                if cow:
                    peak[1] = max(peak[1], int(cow))
                time.sleep(0.02)
        t = threading.Thread(target=sample)
        t.start()
        result = {}

        def load():
            result["v"] = benchmark(port, a)
        g0 = gc(port, kind)
        lt = threading.Thread(target=load)
        lt.start()
        time.sleep(0.3)  # the load is running
        t_save = time.time()
        cli(port, "BGSAVE")
        time.sleep(0.005)
        r["save_loaded_s"] = wait_bgsave(port) + 0.005
        r["save_started_after_s"] = t_save
        lt.join()
        r["save_gc2"], r["save_gcms"], r["save_alloc"] = gc_delta(g0, gc(port, kind))
        stop_sampling.set()
        t.join()
        r["save_rps"], r["save_p50"], r["save_p99"], r["save_max"] = result["v"]
        # The same load again without a save: a collection the load itself was due for shows here too.
        g0 = gc(port, kind)
        r["after_rps"], r["after_p50"], r["after_p99"], r["after_max"] = benchmark(port, a)
        r["after_gc2"], r["after_gcms"], r["after_alloc"] = gc_delta(g0, gc(port, kind))
        cow_bytes = max(peak[1], int(info(port, "rdb_last_cow_size") or 0)) if kind == "redis" else 0
        r["rss_before_mb"] = rss_before / 1024
        r["rss_peak_mb"] = (peak[0] * 1024 + cow_bytes) / (1024 * 1024)
        r["rss_growth_pct"] = 100.0 * (r["rss_peak_mb"] - r["rss_before_mb"]) / r["rss_before_mb"]
        r["cow_mb"] = cow_bytes / (1024 * 1024)
        stop(p, port)
        t0 = time.time()
        p = start(kind, port, d)
        r["load_s"] = time.time() - t0
        r["loaded_keys"] = cli(port, "DBSIZE")
        stop(p, port)
        return r
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--requests", type=int, default=300000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=0, help="unreported load runs before the measured ones")
    ap.add_argument("--out")
    a = ap.parse_args()
    results = [measure("redis", 7411, a), measure("cinnabar", 7412, a)]
    lines = ["| | redis-server | Cinnabar |", "| --- | --- | --- |"]

    def row(name, key, fmt):
        lines.append("| %s | %s | %s |" % (name, fmt % results[0][key], fmt % results[1][key]))
    row("keys (DEBUG POPULATE, 100 B values)", "loaded_keys", "%s")
    row("RSS settled, MB", "rss_settled_mb", "%.0f")
    row("BGSAVE, idle, s", "save_idle_s", "%.2f")
    row("SET load without save: requests/s", "base_rps", "%.0f")
    row("SET load without save: p50 / p99 ms", "base_p50", "%.3f")
    row("  p99 ms", "base_p99", "%.3f")
    row("  max ms", "base_max", "%.3f")
    row("SET load with BGSAVE: requests/s", "save_rps", "%.0f")
    row("  p50 ms", "save_p50", "%.3f")
    row("  p99 ms", "save_p99", "%.3f")
    row("  max ms", "save_max", "%.3f")
    row("SET load again without save: requests/s", "after_rps", "%.0f")
    row("  p99 ms", "after_p99", "%.3f")
    row("  max ms", "after_max", "%.3f")
    row("BGSAVE under load, s", "save_loaded_s", "%.2f")
    row("RSS before the save, MB", "rss_before_mb", "%.0f")
    row("RSS peak during the save (Redis: + child's copy-on-write), MB", "rss_peak_mb", "%.0f")
    row("RSS growth, %", "rss_growth_pct", "%.1f")
    row("start-up load of the file, s", "load_s", "%.2f")
    row("Cinnabar GC during the load without save: gen2 collections", "base_gc2", "%d")
    row("  GC pause, ms", "base_gcms", "%d")
    row("Cinnabar GC during the load with BGSAVE: gen2 collections", "save_gc2", "%d")
    row("  GC pause, ms", "save_gcms", "%d")
    row("Cinnabar GC during the load again without save: GC pause, ms", "after_gcms", "%d")
    row("Cinnabar bytes allocated during the load without save, MB", "base_alloc", "%.1f")
    row("  with BGSAVE, MB", "save_alloc", "%.1f")
    for r in results:
        lines.append("")
        lines.append("%s: p99 with save / without = %.2fx" % (r["kind"], r["save_p99"] / r["base_p99"]))
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
