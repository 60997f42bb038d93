#!/usr/bin/env python3
"""Generates src/Cinnabar/Commands/commands.json from a live redis-server 7.0.

The command table is data, not code (DESIGN.md §1): this asks a running Redis for
COMMAND INFO and COMMAND DOCS over RESP3 and writes each command's replies as a typed JSON
tree, which Cinnabar loads at start-up to drive dispatch, arity checks and COMMAND itself.

Typed tree: bulk string -> JSON string; integer -> JSON number; array -> JSON list;
simple string -> {"s": ...}; map -> {"m": [k, v, ...]}; set -> {"set": [...]};
double -> {"d": ...}; null -> null.

Usage: tools/gen-commands.py [port] [output]   (starts nothing; point it at a redis-server)
       tools/gen-commands.py 26379 src/Cinnabar/Sentinel/sentinel-commands.json   (a redis-sentinel:
       the table of Sentinel mode)
"""
import json
import socket
import sys


def read_line(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise EOFError("connection closed")
    return line[:-2]


def read(f):
    line = read_line(f)
    t, rest = line[:1], line[1:]
    if t == b"+":
        return {"s": rest.decode()}
    if t == b"-":
        raise RuntimeError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode()
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [read(f) for _ in range(n)]
    if t == b"%":
        out = []
        for _ in range(int(rest)):
            out.append(read(f))
            out.append(read(f))
        return {"m": out}
    if t == b"~":
        return {"set": [read(f) for _ in range(int(rest))]}
    if t == b"_":
        return None
    if t == b",":
        return {"d": rest.decode()}
    if t == b"=":
        n = int(rest)
        return {"verbatim": f.read(n + 2)[:-2].decode()[4:]}
    if t == b"#":
        return rest == b"t"
    raise RuntimeError("unexpected reply type %r" % t)


def command(sock, f, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    return read(f)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 6379
    sock = socket.create_connection(("127.0.0.1", port))
    f = sock.makefile("rb")
    command(sock, f, "HELLO", "3")
    version = command(sock, f, "INFO", "server")
    # Sentinel's COMMAND LIST also names the subcommands ("sentinel|masters"): they are in their parent's entry.
    names = sorted(n for n in command(sock, f, "COMMAND", "LIST") if "|" not in n)
    table = {}
    for name in names:
        info = command(sock, f, "COMMAND", "INFO", name)[0]
        docs = command(sock, f, "COMMAND", "DOCS", name)["m"]
        table[name] = {"info": info, "docs": docs[1] if docs else None}
    text = version["verbatim"] if isinstance(version, dict) else version  # Sentinel: a plain bulk
    ver = [l for l in text.split("\r\n") if l.startswith("redis_version:")][0]
    out = {"generatedFrom": ver, "commands": table}
    path = sys.argv[2] if len(sys.argv) > 2 else "src/Cinnabar/Commands/commands.json"
    with open(path, "w") as w:
        json.dump(out, w, separators=(",", ":"), sort_keys=False)
        w.write("\n")
    print("wrote %d commands to %s" % (len(table), path))


if __name__ == "__main__":
    main()
