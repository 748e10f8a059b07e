#!/bin/bash
# cardgate-tunnel tells its service manager what it does (sd_notify, for the
# Type=notify cardgate-tunnel.service): READY=1 once it listens, RELOADING=1
# and READY=1 again around a SIGHUP reload, STOPPING=1 on SIGTERM. A small
# datagram listener plays systemd at $NOTIFY_SOCKET; all in a private network
# namespace.
. "${CARDGATE_SRCDIR:-.}/tests/integration/netns.sh"

. "${CARDGATE_SRCDIR:-.}/tests/integration/tap.sh"

TUNNEL=${CARDGATE_TUNNEL_BIN:-$(dirname "$CARDGATE_BIN")/cardgate-tunnel}
[ -x "$TUNNEL" ] || { echo "Bail out! $TUNNEL is not built"; exit 1; }
if ! ldd "$TUNNEL" | grep -q libsystemd; then
    echo "1..0 # SKIP cardgate-tunnel is built without libsystemd (configure --with-libsystemd)"
    exit 0
fi
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

install -m 0600 "$FIX/pki/server-ec256.key" "$TMP/server.key"
conf=$TMP/tunnel.conf
{
    cat "$CONF"
    printf '\n[tls]\ncertificate = "%s"\nkey = "%s"\n' "$FIX/pki/server-ec256.pem" "$TMP/server.key"
    printf '\n[[tls.service]]\nname = "wiki"\nlisten = "127.0.0.1:18443"\nbackend = "127.0.0.1:18081"\n'
    printf 'identity = "header"\nheader = "X-Cardgate-User"\nallow_users = ["alice"]\n'
} >"$conf"
chmod 600 "$conf"

# The service manager's end: every datagram, one line per field, "--" after each.
cat >"$TMP/listen.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as log:
    while True:
        msg = s.recv(4096).decode()
        log.write(msg.rstrip("\n") + "\n--\n")
        log.flush()
PY
python3 "$TMP/listen.py" "$TMP/notify.sock" "$TMP/notify.log" & PIDS+=($!)
for _ in $(seq 50); do [ -S "$TMP/notify.sock" ] && break; sleep 0.1; done
: >>"$TMP/notify.log"

count() { grep -cx "$1" "$TMP/notify.log"; }
wait_for() {  # wait_for LINE N: until LINE has come N times (at most 10 s)
    for _ in $(seq 100); do [ "$(count "$1")" -ge "$2" ] && return 0; sleep 0.1; done
    return 1
}

NOTIFY_SOCKET=$TMP/notify.sock "$TUNNEL" --config "$conf" server 2>"$TMP/tunnel.err" & tunnel=$!
PIDS+=($tunnel)
if wait_for READY=1 1; then
    check "READY=1 comes once the service's port listens" test -n "$(ss -Hltn 'sport = :18443')"
else
    not_ok "READY=1 comes once the service's port listens (nothing notified)"
    diag <"$TMP/tunnel.err"
fi

kill -HUP "$tunnel"
if wait_for READY=1 2 && [ "$(count RELOADING=1)" -eq 1 ]; then
    order=$(grep -x -e READY=1 -e RELOADING=1 "$TMP/notify.log" | tr '\n' ' ')
    check "SIGHUP: RELOADING=1, then READY=1 again (got: $order)" test "$order" = "READY=1 RELOADING=1 READY=1 "
else
    not_ok "SIGHUP: RELOADING=1, then READY=1 again"
    diag <"$TMP/notify.log"
fi

printf '[tls\n' >>"$conf"  # a broken config: the reload keeps the old one, and still says READY=1
kill -HUP "$tunnel"
if wait_for READY=1 3; then
    check "a failed reload keeps serving and says READY=1 again" test -n "$(ss -Hltn 'sport = :18443')"
else
    not_ok "a failed reload keeps serving and says READY=1 again"
    diag <"$TMP/notify.log"
fi

kill -TERM "$tunnel"
wait "$tunnel"
rc=$?
if wait_for STOPPING=1 1 && [ "$rc" -eq 0 ]; then
    ok "SIGTERM: STOPPING=1 and exit status 0"
else
    not_ok "SIGTERM: STOPPING=1 and exit status 0 (exit $rc)"
    diag <"$TMP/notify.log"
fi
done_testing
