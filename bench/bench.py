#!/usr/bin/env python3
"""Runs redis-benchmark against Cinnabar and redis-server side by side (see bench/README.md).

Both servers run on loopback with persistence off. Every row is measured A/B/A/B... for
`--rounds` rounds so machine drift cancels out; the table reports each server's median
requests/s, the ratio Cinnabar/Redis, p50/p99 latency from redis-benchmark's CSV, and the
server's CPU time per request (all its threads, from /proc/PID/task/*/schedstat): unlike
requests/s, CPU per request barely moves when other processes compete for the cores, so it
is the number to trust on a busy machine. An SVG chart of the ratios goes next to the table.
"""
import argparse
import csv
import datetime
import io
import os
import platform
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CINNABAR = os.path.join(ROOT, "src/Cinnabar.Server/bin/Release/net10.0/cinnabar-server")
# The EVALSHA row's script (issue 12's benchmark): one GET and one INCR.
EVALSHA_SCRIPT = "redis.call('get', KEYS[1]) return redis.call('incr', KEYS[2])"
# Rows that are custom command lines rather than redis-benchmark tests (issue 12's EVALSHA,
# issue 13's streams): XADD appends to one stream with generated IDs; XREADGROUP delivers one
# new entry per call to a consumer of a group over a stream filled beforehand (see prepare_custom).
CUSTOM_ROWS = ("EVALSHA", "XADD", "XREADGROUP")

ROWS = ["PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPOP", "SADD", "HSET", "ZADD", "LRANGE_100", "MSET"]
# Requests per run at -P 1, sized so one run takes about a second against redis-server on a
# small machine; pipelined runs send 4x. MSET writes 10 keys per request; LRANGE_100 returns
# 100 values (100 KiB per reply with -d 1024), so pipelining it adds no requests.
REQUESTS = {"LRANGE_100": 20000, "MSET": 20000}
DEFAULT_REQUESTS = 50000
NOT_SCALED_BY_PIPELINE = {"LRANGE_100"}


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server on port %d did not start" % port)


def start_servers(redis_port, cin_port):
    for port in (redis_port, cin_port):
        if not port_free(port):
            sys.exit("port %d is in use: is another bench/run.sh running?" % port)
    common = ["--save", "", "--appendonly", "no", "--protected-mode", "no", "--bind", "127.0.0.1"]
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port)] + common,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cin = subprocess.Popen([CINNABAR, "--port", str(cin_port)] + common,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(redis_port)
    wait_port(cin_port)
    return redis, cin


def stop_servers(servers):
    for _, proc in servers.values():
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_ns(pid, thread=None):
    """CPU time (ns) used so far by a process's threads (schedstat: run time in ns); with
    thread, only the threads whose name contains it (e.g. .NET's "Tiered" compilation thread)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            if thread is not None:
                with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                    if thread not in f.read():
                        continue
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # the thread exited between listing and reading
    return total


def gc_stats(port):
    """Cinnabar's collections (all generations) and total GC pause ms from INFO gc; (0, 0) for Redis."""
    fields = {}
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "gc"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            fields[k] = v.strip()
    gcs = sum(int(fields.get("gc_gen%d_collections" % g, 0)) for g in range(3))
    return gcs, int(fields.get("gc_pause_total_ms", 0))


def bench(port, pid, test, clients, pipeline, size, n):
    gc_before = gc_stats(port)
    cpu_before = cpu_ns(pid)
    cmd = ["redis-benchmark", "-p", str(port), "-c", str(clients), "-P", str(pipeline), "-d", str(size),
           "-n", str(n), "-t", test.lower(), "--csv"]
    if test in CUSTOM_ROWS:
        cmd = ["redis-benchmark", "-p", str(port), "-c", str(clients), "-P", str(pipeline), "-r", "100000",
               "-n", str(n), "--csv"] + prepare_custom(port, test, n)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    cpu_us_per_request = (cpu_ns(pid) - cpu_before) / 1000.0 / n
    gc_after = gc_stats(port)
    gcs, gc_pause_ms = gc_after[0] - gc_before[0], gc_after[1] - gc_before[1]
    # redis-benchmark names some rows with a suffix ("LRANGE_100 (first 100 elements)",
    # "MSET (10 keys)") and prints helper rows ("LPUSH (needed to benchmark LRANGE)").
    for row in csv.reader(io.StringIO(out)):
        if row and test in CUSTOM_ROWS and row[0].upper().startswith(test):
            return float(row[1]), float(row[4]), float(row[6]), cpu_us_per_request, gcs, gc_pause_ms
        if row and row[0].split(" (")[0] == test and "needed to" not in row[0]:
            return float(row[1]), float(row[4]), float(row[6]), cpu_us_per_request, gcs, gc_pause_ms
    raise RuntimeError("no result for %s (command failing or unsupported?)" % test)


def prepare_custom(port, test, n):
    """The command line of a custom row, after any state it needs is in place."""
    if test == "EVALSHA":
        # A cached script doing one GET and one INCR.
        sha = subprocess.run(["redis-cli", "-p", str(port), "SCRIPT", "LOAD", EVALSHA_SCRIPT],
                             capture_output=True, text=True).stdout.strip()
        return ["EVALSHA", sha, "2", "key:__rand_int__", "counter:__rand_int__"]
    if test == "XADD":
        return ["XADD", "bench:stream", "*", "field", "__rand_int__", "other", "value"]
    # XREADGROUP: a fresh stream of n entries (3 fields) and a group at its start, so every call delivers one entry.
    subprocess.run(["redis-cli", "-p", str(port), "DEL", "bench:xrg"], capture_output=True)
    buf = io.BytesIO()
    for i in range(n + 1000):
        parts = [b"XADD", b"bench:xrg", b"%d-1" % (i + 1), b"f1", b"v%d" % i, b"f2", b"x" * 10, b"f3", b"42"]
        buf.write(b"*%d\r\n" % len(parts))
        for p in parts:
            buf.write(b"$%d\r\n%s\r\n" % (len(p), p))
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=buf.getvalue(), capture_output=True)
    subprocess.run(["redis-cli", "-p", str(port), "XGROUP", "CREATE", "bench:xrg", "g", "0"], capture_output=True)
    return ["XREADGROUP", "GROUP", "g", "consumer", "COUNT", "1", "STREAMS", "bench:xrg", ">"]


def warm_up(servers, args):
    """Unmeasured passes over the rows until Cinnabar's JIT has settled.

    .NET compiles the hot path in stages (quick code, instrumented code, optimised code with
    profile data); until the last stage is in, a command costs up to 3x the CPU. Measured here:
    the tiered-compilation thread kept working through 3-4 passes of 20,000 requests per row.
    A pass is repeated until that thread used under 20 ms in it (at most 10 passes); Redis
    gets the same passes.
    """
    for attempt in range(10):
        before = cpu_ns(servers["cinnabar"][1].pid, thread="Tiered")
        for name in ("redis", "cinnabar"):
            port = servers[name][0]
            for pipeline in ("16", "1"):
                subprocess.run(["redis-benchmark", "-p", str(port), "-c", str(args.clients), "-P", pipeline,
                                "-n", "20000" if pipeline == "16" else "5000", "-d", "1024" if attempt % 2 else "3",
                                "-t", args.rows.lower(), "-q"], capture_output=True, timeout=300)
                for custom in CUSTOM_ROWS:
                    if custom in args.rows.split(","):
                        bench(port, servers[name][1].pid, custom, args.clients, int(pipeline), 3, 20000)
        jit_ms = (cpu_ns(servers["cinnabar"][1].pid, thread="Tiered") - before) / 1e6
        print("warm-up pass %d: JIT thread %.0f ms" % (attempt + 1, jit_ms), flush=True)
        if attempt >= 1 and jit_ms < 20:
            return


def port_free(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def info_field(port, section, field):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", section], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def load_strings(port, count, size):
    value = b"x" * size
    buf = io.BytesIO()
    for i in range(count):
        key = b"key:%d" % i
        buf.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
    r = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=buf.getvalue(), capture_output=True)
    return r.returncode == 0 and b"errors: 0" in r.stdout


def load_hashes(port, count):
    buf = io.BytesIO()
    for i in range(count):
        key = b"hash:%d" % i
        parts = [b"HSET", key]
        for f in range(5):
            parts += [b"field%d" % f, b"value%d" % f]
        buf.write(b"*%d\r\n" % len(parts))
        for p in parts:
            buf.write(b"$%d\r\n%s\r\n" % (len(p), p))
    r = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=buf.getvalue(), capture_output=True)
    return r.returncode == 0 and b"errors: 0" in r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="fewer requests per run (smoke test)")
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--label", help="suffix for the result files (--quick runs default to 'quick')")
    ap.add_argument("--plot", metavar="CSV", help="only redraw the SVG chart of an earlier result CSV")
    ap.add_argument("--summary", metavar="CSV", help="only print the ratio, p99 and CPU tables of an earlier result CSV")
    args = ap.parse_args()
    if args.summary:
        print_summary(args.summary)
        return
    if args.plot:
        with open(args.plot) as f:
            rows = [{"test": r["test"], "size": int(r["size"]), "pipeline": int(r["pipeline"]), "ratio": float(r["ratio"])}
                    for r in csv.DictReader(f)]
        write_svg(rows, args.plot[:-4] + ".svg", "Cinnabar / redis-server requests per second, " + os.path.basename(args.plot)[:-4])
        return
    if args.quick and not args.label:
        args.label = "quick"
    redis_port, cin_port = 7901, 7902
    started = time.time()
    load_before = load_average()
    redis, cin = start_servers(redis_port, cin_port)
    servers = {"redis": (redis_port, redis), "cinnabar": (cin_port, cin)}
    results = []
    try:
        warm_up(servers, args)
        for size in (3, 1024):
            for pipeline in (1, 16):
                for test in args.rows.split(","):
                    n = REQUESTS.get(test, DEFAULT_REQUESTS) // (5 if args.quick else 1)
                    if pipeline > 1 and test not in NOT_SCALED_BY_PIPELINE:
                        n *= 4
                    samples = {"redis": [], "cinnabar": []}
                    for _ in range(args.rounds):
                        for name in ("redis", "cinnabar"):
                            port, proc = servers[name]
                            try:
                                samples[name].append(bench(port, proc.pid, test, args.clients, pipeline, size, n))
                            except Exception as e:  # an unsupported command shows as a gap
                                print("  %s %s failed: %s" % (name, test, e), file=sys.stderr)
                    row = {"test": test, "size": size, "pipeline": pipeline, "rounds": len(samples["cinnabar"])}
                    for name in ("redis", "cinnabar"):
                        s = samples[name]
                        row[name + "_rps"] = statistics.median([x[0] for x in s]) if s else 0
                        row[name + "_p50"] = statistics.median([x[1] for x in s]) if s else 0
                        row[name + "_p99"] = statistics.median([x[2] for x in s]) if s else 0
                        row[name + "_cpu"] = statistics.median([x[3] for x in s]) if s else 0
                        row[name + "_gcs"] = sum(x[4] for x in s)
                        row[name + "_gc_ms"] = sum(x[5] for x in s)
                    row["ratio"] = row["cinnabar_rps"] / row["redis_rps"] if row["redis_rps"] else 0
                    results.append(row)
                    print("%-11s d=%-4d P=%-2d redis %10.0f  cinnabar %10.0f  ratio %.2f  cpu us/req %.2f vs %.2f" % (
                        test, size, pipeline, row["redis_rps"], row["cinnabar_rps"], row["ratio"],
                        row["redis_cpu"], row["cinnabar_cpu"]), flush=True)
        memory = []
        if not args.no_memory:
            # Fresh processes per memory row: after the throughput rows (lists of 1 KiB values,
            # then FLUSHALL) a process's RSS reflects its allocator's history, not the data set.
            for what, load in (("1M strings (100 B)", lambda port: load_strings(port, 1000000, 100)),
                               ("1M hashes (5 fields)", lambda port: load_hashes(port, 1000000))):
                stop_servers(servers)
                redis, cin = start_servers(redis_port, cin_port)
                servers = {"redis": (redis_port, redis), "cinnabar": (cin_port, cin)}
                for name in ("redis", "cinnabar"):
                    port, proc = servers[name]
                    empty = rss_kb(proc.pid)
                    if not load(port):
                        print("  %s: loading %s failed" % (name, what), file=sys.stderr)
                        continue
                    time.sleep(1)
                    memory.append((what, name, int(info_field(port, "memory", "used_memory") or 0), rss_kb(proc.pid), empty))
    finally:
        stop_servers(servers)
    args.load = "%s before, %s after" % (load_before, load_average())
    args.elapsed = time.time() - started
    write_results(results, memory, args)


def write_results(results, memory, args):
    date = datetime.date.today().isoformat()
    host = platform.node() or "host"
    cores = os.cpu_count()
    with open("/proc/meminfo") as f:
        mem_gb = int(f.readline().split()[1]) / 1024 / 1024
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    name = "%s-%s" % (date, host) + ("-" + args.label if args.label else "")
    base = os.path.join(HERE, "results", name)
    with open(base + ".csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["test", "size", "pipeline", "redis_rps", "cinnabar_rps", "ratio", "redis_p50_ms", "cinnabar_p50_ms",
                    "redis_p99_ms", "cinnabar_p99_ms", "redis_cpu_us_per_req", "cinnabar_cpu_us_per_req",
                    "cinnabar_gcs_all_rounds", "cinnabar_gc_pause_ms_all_rounds"])
        for r in results:
            w.writerow([r["test"], r["size"], r["pipeline"], "%.0f" % r["redis_rps"], "%.0f" % r["cinnabar_rps"], "%.3f" % r["ratio"],
                        r["redis_p50"], r["cinnabar_p50"], r["redis_p99"], r["cinnabar_p99"],
                        "%.3f" % r["redis_cpu"], "%.3f" % r["cinnabar_cpu"], r["cinnabar_gcs"], r["cinnabar_gc_ms"]])
    lines = ["# Cinnabar vs redis-server %s" % date, "",
             "Machine: %s, %d cores, %.0f GiB, load average %s; redis-benchmark, %d clients, %d rounds interleaved A/B, "
             "median of rounds; %.0f s in all." % (host, cores, mem_gb, args.load, args.clients, args.rounds, args.elapsed),
             "Ratio is Cinnabar/Redis requests per second (above 1: Cinnabar faster); 0 means the command failed on a server.",
             "CPU is the server process's CPU time per request in microseconds (all threads); "
             "CPU ratio is Redis/Cinnabar (above 1: Cinnabar cheaper). GCs: Cinnabar's garbage collections "
             "during the row's runs (all rounds) and their total pause (INFO gc).", "",
             "![ratios](%s.svg)" % name, "",
             "| test | value | pipeline | redis rps | cinnabar rps | ratio | redis p50/p99 ms | cinnabar p50/p99 ms | CPU µs/req redis / cinnabar | CPU ratio | GCs (pause ms) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        lines.append("| %s | %d | %d | %.0f | %.0f | %.2f | %.3f / %.3f | %.3f / %.3f | %.2f / %.2f | %.2f | %d (%d) |" % (
            r["test"], r["size"], r["pipeline"], r["redis_rps"], r["cinnabar_rps"], r["ratio"],
            r["redis_p50"], r["redis_p99"], r["cinnabar_p50"], r["cinnabar_p99"],
            r["redis_cpu"], r["cinnabar_cpu"], r["redis_cpu"] / r["cinnabar_cpu"] if r["cinnabar_cpu"] else 0,
            r["cinnabar_gcs"], r["cinnabar_gc_ms"]))
    write_svg(results, base + ".svg", "Cinnabar / redis-server requests per second, %s (%s)" % (date, host))
    if memory:
        lines += ["", "Memory rows: a fresh process per row, loaded with redis-cli --pipe; RSS of the empty process for reference.", "",
                  "| memory row | server | used_memory | RSS | RSS empty |", "| --- | --- | ---: | ---: | ---: |"]
        for (what, name, used, rss, empty) in memory:
            lines.append("| %s | %s | %.1f MiB | %.1f MiB | %.1f MiB |" % (what, name, used / 1048576, rss / 1024, empty / 1024))
    with open(base + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("wrote %s.md and %s.csv" % (base, base))


def print_summary(path):
    """Markdown tables (one column per value size and pipeline depth) for bench/README.md."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    tests = list(dict.fromkeys(r["test"] for r in rows))
    cols = [("3", "1"), ("3", "16"), ("1024", "1"), ("1024", "16")]
    by = {(r["test"], r["size"], r["pipeline"]): r for r in rows}
    header = "| row | 3 B, -P 1 | 3 B, -P 16 | 1 KiB, -P 1 | 1 KiB, -P 16 |\n| --- | ---: | ---: | ---: | ---: |"
    tables = [
        ("Requests/s ratio Cinnabar/Redis", lambda r: "%.2f" % float(r["ratio"])),
        ("p99 latency ms, Cinnabar / Redis", lambda r: "%s / %s" % (r["cinnabar_p99_ms"], r["redis_p99_ms"])),
        ("Server CPU per request, Redis/Cinnabar (above 1: Cinnabar cheaper)",
         lambda r: "%.2f" % (float(r["redis_cpu_us_per_req"]) / float(r["cinnabar_cpu_us_per_req"]))
         if "cinnabar_cpu_us_per_req" in r and float(r["cinnabar_cpu_us_per_req"]) else "-"),
    ]
    for title, cell in tables:
        print(title + ":\n\n" + header)
        for t in tests:
            print("| %s | %s |" % (t, " | ".join(cell(by[(t, s, p)]) if (t, s, p) in by else "-" for s, p in cols)))
        print()


def write_svg(results, path, title):
    """A horizontal bar chart of the ratios, one group per row, one bar per value size and pipeline."""
    series = [(3, 1, "#9ecae1"), (3, 16, "#3182bd"), (1024, 1, "#fdae6b"), (1024, 16, "#e6550d")]
    tests = list(dict.fromkeys(r["test"] for r in results))
    ratio = {(r["test"], r["size"], r["pipeline"]): r["ratio"] for r in results}
    bar, gap, left, width = 9, 10, 110, 520
    top = 50
    scale = width / 2.0  # the axis runs from 0 to 2.0
    height = top + len(tests) * (len(series) * bar + gap) + 30
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">'
           % (left + width + 60, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="18" font-size="13">%s</text>' % title]
    for i, (size, pipeline, color) in enumerate(series):
        out.append('<rect x="%d" y="28" width="10" height="10" fill="%s"/><text x="%d" y="37">%s, -P %d</text>'
                   % (left + i * 130, color, left + i * 130 + 14, "3 B" if size == 3 else "1 KiB", pipeline))
    y = top
    for test in tests:
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (left - 6, y + 2 * bar + 4, test))
        for size, pipeline, color in series:
            v = ratio.get((test, size, pipeline))
            if v is not None:
                out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' % (left, y, min(v, 2.0) * scale, bar - 1, color))
                out.append('<text x="%.1f" y="%d" font-size="8">%.2f</text>' % (left + min(v, 2.0) * scale + 3, y + bar - 2, v))
            y += bar
        y += gap
    for tick in (0.5, 1.0, 1.5, 2.0):
        x = left + tick * scale
        style = 'stroke="black" stroke-width="1.5"' if tick == 1.0 else 'stroke="#bbb" stroke-dasharray="3,3"'
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" %s/>' % (x, top - 4, x, y, style))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%.1f</text>' % (x, y + 14, tick))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
