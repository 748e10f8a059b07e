#!/usr/bin/env python3
"""Hostile load for tests/integration/tunnel.sh, bounded in count and time.

Every mode binds its client side to a loopback SOURCE address (127.0.0.0/8
is all loopback on Linux), so one "attacker" and one "legitimate" source can
share the namespace. Each prints one line of key=value results.

  idle PORT SOURCE COUNT SECONDS READY_FILE [--reopen]
      COUNT TCP connections that never send a byte, held SECONDS; with
      --reopen, one the server closes is opened again after 100 ms (at most
      10 * COUNT connections in all). READY_FILE is created once all are open.
  legit PORT SOURCE COUNT CERT KEY CA [--interval S] [--deadline S]
      COUNT sequential mTLS requests ("ping", "bye" to the PROXY v2 backend,
      which answers "hello USER"): ok, failed, p50/p99/max latency in ms.
  flood PORT SOURCE SECONDS MAX THREADS CERT KEY CA
      THREADS loops of full handshakes (no resumption), MAX in all or until
      SECONDS: attempts, handshakes completed, refused.
  dribble PORT SOURCE INTERVAL CA
      A real ClientHello, one byte every INTERVAL seconds (0: all at once,
      then nothing): how long until the server closed the connection, and how
      much of the hello it had.
"""
import os
import selectors
import socket
import ssl
import sys
import threading
import time


def connect(port, source, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def context(cert, key, ca):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(ca)
    if cert:
        c.load_cert_chain(cert, key)
    return c


def idle(port, source, count, seconds, ready, reopen):
    sel = selectors.DefaultSelector()
    opened = failed = closed_by_server = 0
    budget = 10 * count
    to_open = []  # (when, None)

    def open_one():
        nonlocal opened, failed
        try:
            s = connect(port, source)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            opened += 1
        except OSError:
            failed += 1

    for _ in range(count):
        open_one()
    open(ready, "w").close()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(1)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                closed_by_server += 1
                if reopen and opened + failed < budget:
                    to_open.append(time.monotonic() + 0.1)
        now = time.monotonic()
        due = [t for t in to_open if t <= now]
        to_open = [t for t in to_open if t > now]
        for _ in due:
            open_one()
    held = len(sel.get_map())
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    print(f"opened={opened} failed={failed} closed_by_server={closed_by_server} held_at_end={held}")


def request(port, source, ctx, deadline):
    t0 = time.monotonic()
    try:
        with connect(port, source, deadline) as raw:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"ping\nbye\n")
                data = b""
                while b"echo ping\n" not in data:
                    x = s.recv(4096)
                    if not x:
                        break
                    data += x
        ok = data.startswith(b"hello ")
    except (OSError, ssl.SSLError):
        ok = False
    return ok, (time.monotonic() - t0) * 1000.0


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def legit(port, source, count, cert, key, ca, interval, deadline):
    ctx = context(cert, key, ca)
    ok, lat = 0, []
    for i in range(count):
        good, ms = request(port, source, ctx, deadline)
        ok += good
        lat.append(ms if good else deadline * 1000.0)
        if interval:
            time.sleep(interval)
    print(f"ok={ok} failed={count - ok} p50_ms={percentile(lat, 50):.1f} p99_ms={percentile(lat, 99):.1f} "
          f"max_ms={max(lat):.1f}")


def flood(port, source, seconds, limit, threads, cert, key, ca):
    ctx = context(cert, key, ca)
    lock = threading.Lock()
    counts = {"attempts": 0, "completed": 0, "refused": 0}
    end = time.monotonic() + seconds

    def loop():
        while time.monotonic() < end:
            with lock:
                if counts["attempts"] >= limit:
                    return
                counts["attempts"] += 1
            try:
                with connect(port, source, 5.0) as raw:
                    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                        s.recv(1)  # TLS 1.3: the server's verdict (or its tickets) arrive after the handshake
                done = "completed"
            except (OSError, ssl.SSLError):
                done = "refused"
            with lock:
                counts[done] += 1

    ts = [threading.Thread(target=loop) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(" ".join(f"{k}={v}" for k, v in counts.items()))


def client_hello(ca):
    ctx = context(None, None, ca)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def dribble(port, source, interval, ca):
    hello = client_hello(ca)
    s = connect(port, source)
    t0 = time.monotonic()
    sent = 0
    cut = None
    if interval == 0:  # the whole hello at once, then silence
        s.sendall(hello)
        sent = len(hello)
        interval = 0.1
    s.settimeout(interval)
    while time.monotonic() - t0 < 30:
        try:
            if sent < len(hello):
                s.send(hello[sent:sent + 1])
                sent += 1
            if s.recv(1) == b"":
                cut = time.monotonic() - t0
                break
        except socket.timeout:
            continue
        except OSError:
            cut = time.monotonic() - t0
            break
    s.close()
    print(f"cut_after_s={cut if cut is None else round(cut, 2)} sent={sent} hello_bytes={len(hello)}")


def main(a):
    mode = a[0]
    if mode == "idle":
        idle(int(a[1]), a[2], int(a[3]), float(a[4]), a[5], "--reopen" in a)
    elif mode == "legit":
        opts = {a[i]: float(a[i + 1]) for i in range(7, len(a) - 1, 2)}
        legit(int(a[1]), a[2], int(a[3]), a[4], a[5], a[6], opts.get("--interval", 0.0), opts.get("--deadline", 5.0))
    elif mode == "flood":
        flood(int(a[1]), a[2], float(a[3]), int(a[4]), int(a[5]), a[6], a[7], a[8])
    elif mode == "dribble":
        dribble(int(a[1]), a[2], float(a[3]), a[4])
    else:
        sys.exit("usage: see the docstring")


if __name__ == "__main__":
    main(sys.argv[1:])
