#!/bin/bash
# cardgate-tunnel client mode: a client tunnel serves its owner only. Real
# `cardgate-tunnel client` processes with alice's badge (SoftHSM), a TLS
# server (Python's ssl) that logs every TCP connection it accepts and every
# handshake, and local clients run as other uids (setpriv): root runs the
# tunnels, as in the review's finding. Inside a private network namespace.
#
#   loopback TCP  the peer's uid from the kernel's socket table, checked
#                 before anything reaches the server; allow_uids
#   UNIX socket   0600 in a 0700 directory, and SO_PEERCRED on its own
#   config        a non-loopback listen address is an error at its line
#   revocation    a server whose certificate a CRL in trust.crls revokes is
#                 refused by the client, before it sends the badge's certificate;
#                 an unknown status follows trust.on_unknown
. "${CARDGATE_SRCDIR:-.}/tests/integration/netns.sh"

. "${CARDGATE_SRCDIR:-.}/tests/integration/tap.sh"

TUNNEL=${CARDGATE_TUNNEL_BIN:-$(dirname "$CARDGATE_BIN")/cardgate-tunnel}
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
    echo "1..0 # SKIP needs root and setpriv (local clients connect as other uids)"
    exit 0
fi
NOBODY=65534
FRIEND=65533
# The local clients run as other uids: a Python they can execute (not a
# shim under root's home).
VIA_PY=
for p in /usr/bin/python3 /usr/local/bin/python3; do
    [ -x "$p" ] && setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$p" -c '' 2>/dev/null && { VIA_PY=$p; break; }
done
if [ -z "$VIA_PY" ]; then
    echo "1..0 # SKIP no python3 that uid $NOBODY can run"
    exit 0
fi

PIDS=()
CLIENTS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
. "$FIX/fixtures.env"

# ------------------------------------------------------------- PKI
# A server certificate revoked by a CRL in trust.crls: issued and revoked by
# a copy of the fixtures' issuing CA (same key, so its CRL verifies).
cp -r "$FIX/ca/issuing" "$TMP/ca-issuing"
CACNF=$FIX/ca/ca.cnf
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/revsrv.key" 2>/dev/null
openssl req -new -key "$TMP/revsrv.key" -subj '/O=Example Corp/CN=localhost' -out "$TMP/revsrv.csr" 2>/dev/null
printf '%s\n' '[c]' 'basicConstraints = critical, CA:FALSE' 'keyUsage = critical, digitalSignature' \
    'extendedKeyUsage = serverAuth' 'subjectAltName = DNS:localhost, IP:127.0.0.1' \
    'subjectKeyIdentifier = hash' 'authorityKeyIdentifier = keyid' >"$TMP/revsrv.ext"
openssl rand -hex 16 | tr a-f A-F >"$TMP/ca-issuing/serial"
CADIR=$TMP/ca-issuing openssl ca -config "$CACNF" -batch -notext -days 30 -in "$TMP/revsrv.csr" \
    -out "$TMP/revsrv.pem" -extfile "$TMP/revsrv.ext" -extensions c >/dev/null 2>&1
CADIR=$TMP/ca-issuing openssl ca -config "$CACNF" -revoke "$TMP/revsrv.pem" >/dev/null 2>&1
CADIR=$TMP/ca-issuing openssl ca -config "$CACNF" -gencrl -crldays 30 -out "$TMP/issuing.crl" >/dev/null 2>&1
[ -s "$TMP/revsrv.pem" ] && [ -s "$TMP/issuing.crl" ] || echo "# could not make the revoked server certificate" >&2
cat "$FIX/pki/root.pem" "$FIX/pki/issuing.pem" >"$TMP/cas.pem"
install -m 0600 "$FIX/pki/server-ec256.key" "$TMP/server.key"

# ------------------------------------------------------------- the TLS server
# Logs "accept" for every TCP connection (before any handshake), then
# "handshake ok CN" with the client certificate's CN, or "handshake failed";
# answers "hello CN", echoes lines until "bye".
cat >"$TMP/server.py" <<'PY'
import socket, ssl, sys, threading
port, cert, key, ca, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
lock = threading.Lock()
def record(line):
    with lock, open(log, "a") as f:
        f.write(line + "\n")
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.load_verify_locations(ca)
def serve(c):
    record("accept")
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except Exception as e:
        record("handshake failed " + repr(e))
        c.close()
        return
    cn = dict(x[0] for x in t.getpeercert()["subject"]).get("commonName", "?")
    record("handshake ok " + cn)
    try:
        t.sendall(("hello " + cn + "\n").encode())
        for line in t.makefile("rb"):
            if line.strip() == b"bye":
                break
            t.sendall(b"echo " + line)
    except Exception as e:
        record("error " + repr(e))
    t.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
wait_port() {  # wait_port PORT
    local i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "# nothing listens on port $1" >&2
    return 1
}
server() {  # server PORT CERT KEY: the TLS server, log $TMP/server-PORT.log
    python3 "$TMP/server.py" "$1" "$2" "$3" "$TMP/cas.pem" "$TMP/server-$1.log" >>"$TMP/server-$1.err" 2>&1 &
    PIDS+=($!)
    wait_port "$1"
    sleep 0.2
    : >"$TMP/server-$1.log"  # the probe's "accept" is not a tunnel's
}
server 19600 "$FIX/pki/server-ec256.pem" "$TMP/server.key"
server 19601 "$TMP/revsrv.pem" "$TMP/revsrv.key"
accepted() { grep -c '^accept' "$TMP/server-$1.log"; }     # TCP connections the server saw
handshakes() { grep -c '^handshake ok' "$TMP/server-$1.log"; }

# ------------------------------------------------------------- configs
PINF=$(pin_file "$PIN")
# client_conf NAME LISTEN SERVER_PORT [MORE_TOML]: alice's P-256 badge to the server.
client_conf() {
    local f=$TMP/$1.conf
    mkdir -p "$TMP/cache-$1" "$TMP/index-$1"
    chmod 0755 "$TMP/cache-$1"
    chmod 0700 "$TMP/index-$1"
    cat >"$f" <<CONF
[token]
module = "$SOFTHSM2_MODULE"

[trust]
anchors = ["$FIX/pki/root.pem"]
intermediates = ["$FIX/pki/issuing.pem"]
crls = ["$FIX/pki/root.crl", "$TMP/issuing.crl"]
cache_dir = "$TMP/cache-$1"
revocation = "crl"

[mapping]
index_dir = "$TMP/index-$1"

[tls]
handshake_timeout = "5s"

[[tls.client]]
name = "$1"
listen = "$2"
connect = "127.0.0.1:$3"
server_name = "localhost"
certificate = "pkcs11:token=alice-ec256;id=%01;type=cert"
key = "pkcs11:token=alice-ec256;id=%01;type=private?pin-source=file:$PINF"
${4:-}
CONF
    chmod 600 "$f"
    echo "$f"
}
# start_client CONF LOG: the tunnel in the foreground (audit lines on stderr);
# waits until it says it listens. No test connection: it would be audited.
start_client() {
    : >"$2"
    "$TUNNEL" --config "$1" --foreground client >>"$2" 2>&1 &
    PIDS+=($!)
    CLIENTS+=($!)
    local i
    for i in $(seq 150); do
        grep -q 'listening' "$2" && return 0
        kill -0 "${PIDS[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    echo "# the client tunnel did not start:" >&2
    diag <"$2" >&2
    return 1
}
audits() { grep -c 'cardgate-tunnel: outcome=' "$1"; }
mark() { MARK=$(audits "$1"); }
audit_line() {  # audit_line LOG: the first audit line after the mark (waits up to 5 s)
    local i
    for i in $(seq 50); do
        [ "$(audits "$1")" -gt "$MARK" ] && break
        sleep 0.1
    done
    grep 'cardgate-tunnel: outcome=' "$1" | sed -n "$((MARK + 1))p"
}

# via UID ADDR [quick]: "ping", "bye" through a tunnel as UID; the answer in
# $out. ADDR: PORT (127.0.0.1), [::1]:PORT or unix:PATH. "quick" sends
# "ping" and closes at once (the peer's socket is gone when the tunnel looks).
cat >"$TMP/via.py" <<'PY'
import socket, sys
a, quick = sys.argv[1], len(sys.argv) > 2
if a.startswith("unix:"):
    s = socket.socket(socket.AF_UNIX)
    s.connect(a[5:])
elif a.startswith("["):
    h, p = a[1:].split("]:")
    s = socket.create_connection((h, int(p)))
else:
    s = socket.create_connection(("127.0.0.1", int(a)))
if quick:
    s.sendall(b"ping\n")
    s.close()
    sys.exit(0)
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
d = b""
while True:
    x = s.recv(4096)
    if not x:
        break
    d += x
sys.stdout.write(d.decode())
PY
chmod 0755 "$TMP/via.py"
chmod 0711 "$TMP"  # other uids run via.py from here (and reach a socket below only where a test opens the way)
chmod 0644 "$TMP/via.py"
via() {
    out=$( (printf 'ping\n'; sleep 1; printf 'bye\n') |
        timeout 15 setpriv --reuid="$1" --regid="$1" --clear-groups "$VIA_PY" "$TMP/via.py" "$2" ${3:-} 2>"$TMP/via.err")
    via_rc=$?
}
HELLO=$'hello Alice Example\necho ping'

# refused_before_server NAME LOG SERVER_PORT UID ADDR [quick]: UID is refused by
# the tunnel, the server saw no TCP connection at all, the audit line names it.
refused_before_server() {
    local name=$1 log=$2 port=$3 uid=$4 addr=$5 before line
    before=$(accepted "$port")
    mark "$log"
    via "$uid" "$addr" ${6:-}
    line=$(audit_line "$log")
    sleep 0.3
    # "quick": the peer may be gone before the tunnel looks; then no uid is
    # named, and it must never read as root's.
    local who="user=\"#$uid\""
    [ -n "${6:-}" ] && ! contains "$line" 'user="#0"' && contains "$line" 'user=""' && who='user=""'
    if [ -z "$out" ] && [ "$(accepted "$port")" -eq "$before" ] && contains "$line" 'outcome=denied' &&
        contains "$line" 'reason=tls_client_not_owner' && contains "$line" "$who"; then
        ok "$name"
    else
        not_ok "$name"
        { echo "out: $out"; echo "audit: $line"; echo "server accepted $before -> $(accepted "$port")"; cat "$TMP/via.err"; } | diag
    fi
}
# served NAME LOG UID ADDR: UID's connection reaches the server with alice's badge.
served() {
    local name=$1 log=$2 uid=$3 addr=$4 line
    mark "$log"
    via "$uid" "$addr"
    line=$(audit_line "$log")
    if [ "$out" = "$HELLO" ] && contains "$line" 'outcome=granted' && contains "$line" "user=\"#$uid\""; then
        ok "$name"
    else
        not_ok "$name"; { echo "out: $out"; echo "audit: $line"; cat "$TMP/via.err"; } | diag
    fi
}

# ------------------------------------------------------------- config errors
for l in 0.0.0.0:19501 '[::]:19501' 192.0.2.1:19501; do
    B=$(client_conf bad 19600 19600)
    sed -i "s|^listen = .*|listen = \"$l\"|" "$B"
    line=$(grep -n '^listen' "$B" | cut -d: -f1)
    run "$TUNNEL" --config "$B" --check client
    if [ "$rc" -eq 2 ] && contains "$err" "$B:$line:" && contains "$err" "not a loopback address"; then
        ok "config: a client tunnel listening on $l is an error naming file:line (exit 2)"
    else
        not_ok "config: listen = $l (exit $rc)"; printf '%s\n' "$err" | diag
    fi
done

# ------------------------------------------------------------- loopback TCP
C1=$(client_conf own 127.0.0.1:19501 19600)
start_client "$C1" "$TMP/own.log"
served "tcp: the owner (root, the tunnel's uid) is carried to the server with the badge" "$TMP/own.log" 0 19501
check "tcp: the server saw alice's badge certificate in that handshake" grep -q '^handshake ok Alice Example' "$TMP/server-19600.log"
refused_before_server "tcp: uid $NOBODY is refused before any connection to the server (audit tls_client_not_owner)" \
    "$TMP/own.log" 19600 $NOBODY 19501
refused_before_server "tcp: uid $FRIEND (not in allow_uids) is refused too" "$TMP/own.log" 19600 $FRIEND 19501
refused_before_server "tcp: uid $NOBODY sending and closing at once is refused (its socket is gone: never read as uid 0)" \
    "$TMP/own.log" 19600 $NOBODY 19501 quick

C6=$(client_conf own6 '[::1]:19502' 19600)
start_client "$C6" "$TMP/own6.log"
refused_before_server "tcp [::1]: uid $NOBODY is refused before any connection to the server" "$TMP/own6.log" 19600 $NOBODY '[::1]:19502'

C2=$(client_conf friend 127.0.0.1:19503 19600 "allow_uids = [$FRIEND]")
start_client "$C2" "$TMP/friend.log"
served "tcp: allow_uids = [$FRIEND]: uid $FRIEND is carried to the server" "$TMP/friend.log" $FRIEND 19503
refused_before_server "tcp: allow_uids = [$FRIEND]: uid $NOBODY is still refused" "$TMP/friend.log" 19600 $NOBODY 19503

# ------------------------------------------------------------- UNIX socket
mkdir -m 0700 "$TMP/run"
SOCK=$TMP/run/cardgate/badge.sock
C3=$(client_conf sock "unix:$SOCK" 19600)
start_client "$C3" "$TMP/sock.log"
check "unix: the socket is 0600, its new directory 0700, both root's" \
    test "$(stat -c '%a %u' "$SOCK" 2>&1) $(stat -c '%a %u' "$TMP/run/cardgate" 2>&1)" = "600 0 700 0"
served "unix: the owner is carried to the server" "$TMP/sock.log" 0 "unix:$SOCK"
# Open the directories: only the socket's own 0600 mode stands in the way.
chmod 0711 "$TMP/run" "$TMP/run/cardgate"
before=$(accepted 19600)
mark "$TMP/sock.log"
via $NOBODY "unix:$SOCK"
sleep 0.5
if [ -z "$out" ] && contains "$(cat "$TMP/via.err")" "PermissionError: [Errno 13]" && [ "$(accepted 19600)" -eq "$before" ] &&
    [ "$(audits "$TMP/sock.log")" -eq "$MARK" ]; then
    ok "unix: uid $NOBODY cannot connect to the 0600 socket (file mode); the server saw nothing"
else
    not_ok "unix: file mode keeps uid $NOBODY out"; { echo "out: $out"; cat "$TMP/via.err"; } | diag
fi
chmod 0666 "$SOCK"
refused_before_server "unix: with the socket made 0666, SO_PEERCRED alone refuses uid $NOBODY before the server" \
    "$TMP/sock.log" 19600 $NOBODY "unix:$SOCK"

mkdir -m 0777 "$TMP/world"
C4=$(client_conf world "unix:$TMP/world/badge.sock" 19600)
"$TUNNEL" --config "$C4" --foreground client >"$TMP/world.log" 2>&1 &
WPID=$!
PIDS+=($WPID)
for i in $(seq 100); do kill -0 $WPID 2>/dev/null || break; sleep 0.1; done
wait $WPID
rc=$?
if [ "$rc" -eq 2 ] && grep -q 'writable by group or others' "$TMP/world.log" && [ ! -e "$TMP/world/badge.sock" ]; then
    ok "unix: a socket directory writable by others is refused (exit 2), no socket made"
else
    not_ok "unix: world-writable directory (exit $rc)"; diag <"$TMP/world.log"
fi

# ------------------------------------------------------------- server revocation
C5=$(client_conf revsrv 127.0.0.1:19504 19601)
start_client "$C5" "$TMP/revsrv.log"
mark "$TMP/revsrv.log"
via 0 19504
line=$(audit_line "$TMP/revsrv.log")
sleep 0.3
if [ -z "$out" ] && contains "$line" 'outcome=denied' && contains "$line" 'reason=cert_revoked' &&
    contains "$line" "cert_sha256=$(openssl x509 -in "$TMP/revsrv.pem" -outform DER | sha256sum | cut -d' ' -f1)" &&
    [ "$(handshakes 19601)" -eq 0 ]; then
    ok "revocation: a server certificate revoked by a CRL in trust.crls is refused by the client (audit cert_revoked); the server never got the badge's certificate"
else
    not_ok "revocation: revoked server certificate"; { echo "out: $out"; echo "audit: $line"; cat "$TMP/server-19601.log"; } | diag
fi
C7=$(client_conf norev 127.0.0.1:19505 19601 'check_revocation = false')
start_client "$C7" "$TMP/norev.log"
served "revocation: check_revocation = false for this client skips it (the same server is used)" "$TMP/norev.log" 0 19505

# No CRL of the issuing CA: the server certificate's status is unknown, and
# trust.on_unknown decides.
C8=$(client_conf unknown 127.0.0.1:19506 19600)
sed -i "s|^crls = .*|crls = [\"$FIX/pki/root.crl\"]|" "$C8"
start_client "$C8" "$TMP/unknown.log"
mark "$TMP/unknown.log"
before=$(handshakes 19600)
via 0 19506
line=$(audit_line "$TMP/unknown.log")
sleep 0.3
if [ -z "$out" ] && contains "$line" 'outcome=denied' && contains "$line" 'reason=cert_revocation_unknown' &&
    [ "$(handshakes 19600)" -eq "$before" ]; then
    ok "revocation: the server certificate's status unknown (no CRL of its issuer), on_unknown = deny: refused (audit cert_revocation_unknown)"
else
    not_ok "revocation: unknown status, on_unknown = deny"; { echo "out: $out"; echo "audit: $line"; } | diag
fi
C9=$(client_conf unknownok 127.0.0.1:19507 19600)
sed -i -e "s|^crls = .*|crls = [\"$FIX/pki/root.crl\"]|" -e 's|^revocation = "crl"|revocation = "crl"\non_unknown = "allow"|' "$C9"
start_client "$C9" "$TMP/unknownok.log"
served "revocation: the same unknown status with on_unknown = allow is carried" "$TMP/unknownok.log" 0 19507

# ------------------------------------------------------------- stop
stopped=0
for p in "${CLIENTS[@]}"; do
    kill -TERM "$p" 2>/dev/null || continue
    wait "$p" && stopped=$((stopped + 1))
done
check "SIGTERM stops every client tunnel with exit 0 ($stopped of ${#CLIENTS[@]})" test "$stopped" -eq "${#CLIENTS[@]}"
check "stopping removes the UNIX socket" test ! -e "$SOCK"
check "no sanitizer report in the client tunnels' logs" test -z "$(grep -lE 'Sanitizer|runtime error' "$TMP"/*.log)"
check "no audit line carries a PIN or key" test -z "$(grep -ihE 'PRIVATE KEY|pin=|123456' "$TMP"/*.log)"

done_testing
