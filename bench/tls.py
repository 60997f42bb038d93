#!/usr/bin/env python3
"""Throughput over TLS (issue 16): redis-benchmark --tls GET and SET at -P 1 and -P 16 against
Cinnabar and redis-server, each serving a tls-port with the same certificate, side by side.

A test CA and a server certificate are made with openssl in a temporary directory. Each row is
measured redis/cinnabar alternately for --rounds rounds; the table gives each server's median
requests/s and the ratio Cinnabar/Redis, after one untimed pass per server. Run on a quiet
machine.
Usage: bench/tls.py [--rounds 3] [--requests 100000] [--clients 50] [--size 3] [--out FILE]
"""
import argparse
import csv
import io
import os
import socket
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CINNABAR = os.path.join(ROOT, "src/Cinnabar.Server/bin/Release/net10.0/cinnabar-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(d):
    """A CA and a server certificate it signs (the server's also serves as the client's)."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("genrsa", "-out", "ca.key", "2048")
    run("req", "-x509", "-new", "-nodes", "-sha256", "-key", "ca.key", "-days", "2", "-subj", "/CN=bench-ca", "-out", "ca.crt")
    run("genrsa", "-out", "server.key", "2048")
    run("req", "-new", "-sha256", "-key", "server.key", "-subj", "/CN=localhost", "-out", "server.csr")
    run("x509", "-req", "-sha256", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-out", "server.crt")
    return {k: os.path.join(d, k) for k in ("ca.crt", "server.crt", "server.key")}


def start(kind, port, tls_port, certs, workdir):
    exe = CINNABAR if kind == "cinnabar" else "redis-server"
    args = [exe, "--port", str(port), "--tls-port", str(tls_port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", workdir, "--tls-cert-file", certs["server.crt"],
            "--tls-key-file", certs["server.key"], "--tls-ca-cert-file", certs["ca.crt"]]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        r = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
        if r.stdout.strip() == "PONG":
            return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} did not start")


def bench(tls_port, certs, test, pipeline, requests, clients, size):
    args = ["redis-benchmark", "--tls", "--cacert", certs["ca.crt"], "--cert", certs["server.crt"],
            "--key", certs["server.key"], "-p", str(tls_port), "-t", test, "-P", str(pipeline),
            "-n", str(requests * (4 if pipeline > 1 else 1)), "-c", str(clients), "-d", str(size),
            "-r", "100000", "--csv"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=600).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return float(rows[1][1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--size", type=int, default=3)
    ap.add_argument("--out")
    a = ap.parse_args()
    rows = [(t, p) for p in (1, 16) for t in ("set", "get")]
    results = {(t, p): {"redis": [], "cinnabar": []} for t, p in rows}
    with tempfile.TemporaryDirectory() as d:
        certs = make_certs(d)
        servers = {}
        try:
            for kind in ("redis", "cinnabar"):
                port, tls_port = free_port(), free_port()
                workdir = os.path.join(d, kind)
                os.mkdir(workdir)
                servers[kind] = (start(kind, port, tls_port, certs, workdir), tls_port)
            # One untimed pass per server first: the JIT's first compilations and the TLS session set-up.
            for kind in ("redis", "cinnabar"):
                for t, p in rows:
                    bench(servers[kind][1], certs, t, p, a.requests // 4, a.clients, a.size)
            for _ in range(a.rounds):
                for t, p in rows:
                    for kind in ("redis", "cinnabar"):
                        results[(t, p)][kind].append(bench(servers[kind][1], certs, t, p, a.requests, a.clients, a.size))
        finally:
            for proc, _ in servers.values():
                proc.kill()
                proc.wait()
    lines = [f"redis-benchmark --tls, {a.clients} clients, {a.size}-byte values, {a.rounds} interleaved rounds (median requests/s)", "",
             "| row | redis-server | Cinnabar | ratio |", "| --- | ---: | ---: | ---: |"]
    for t, p in rows:
        r = statistics.median(results[(t, p)]["redis"])
        c = statistics.median(results[(t, p)]["cinnabar"])
        lines.append(f"| {t.upper()} -P {p} | {r:,.0f} | {c:,.0f} | {c / r:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
