#!/bin/bash
# cardgate-tunnel server mode end to end: a real cardgate-tunnel, real TLS
# clients (openssl s_client, curl) and a backend that parses what the tunnel
# sends it (PROXY v2 with cardgate's TLVs, or HTTP with the identity header),
# all inside a private network namespace (free ports, and `openssl ocsp`
# listens on every interface).
#
# Client certificates here have file keys (issued by a copy of the fixtures'
# issuing CA, so that revoking one does not touch the fixtures); badge keys
# through the provider are the provider's tests. Accounts come from
# nss_wrapper.
. "${CARDGATE_SRCDIR:-.}/tests/integration/netns.sh"

. "${CARDGATE_SRCDIR:-.}/tests/integration/tap.sh"
shopt -s lastpipe  # `printf ... | s_client_to ...` sets $out in this shell

TUNNEL=${CARDGATE_TUNNEL_BIN:-$(dirname "$CARDGATE_BIN")/cardgate-tunnel}
LOADPY=${CARDGATE_SRCDIR:-.}/tests/integration/tunnel_load.py
NSSW=
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
    [ -e "$d/libnss_wrapper.so" ] && { NSSW=$d/libnss_wrapper.so; break; }
done
if [ -z "$NSSW" ]; then
    echo "1..0 # SKIP libnss_wrapper.so is not installed (Debian package libnss-wrapper)"
    exit 0
fi

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
. "$FIX/fixtures.env"

wait_port() {  # wait_port PORT: until something accepts on 127.0.0.1:PORT (at most 10 s)
    local i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "# nothing listens on port $1" >&2
    return 1
}

# ------------------------------------------------------------- accounts, PKI
printf '%s\n' 'alice:x:1001:1001:Alice:/home/alice:/bin/sh' 'bob:x:1002:1002:Bob:/home/bob:/bin/sh' \
    'dave:x:1004:1004:Dave:/home/dave:/bin/sh' 'root:x:0:0:root:/root:/bin/sh' >"$TMP/passwd"
printf '%s\n' 'alice:x:1001:' 'bob:x:1002:' 'dave:x:1004:' 'eng:x:2000:alice,bob' 'root:x:0:' >"$TMP/group"

cp -r "$FIX/ca/issuing" "$TMP/ca-issuing"
cp -r "$FIX/ca/lookalike" "$TMP/ca-lookalike"
CACNF=$FIX/ca/ca.cnf
issue() {  # issue NAME CA SUBJECT EKU: a client certificate with a file key
    local name=$1 ca=$2 subj=$3 eku=$4
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/$name.key" 2>/dev/null
    openssl req -new -key "$TMP/$name.key" -subj "$subj" -out "$TMP/$name.csr" 2>/dev/null
    printf '%s\n' '[c]' 'basicConstraints = critical, CA:FALSE' 'keyUsage = critical, digitalSignature' \
        "extendedKeyUsage = $eku" 'subjectKeyIdentifier = hash' 'authorityKeyIdentifier = keyid' >"$TMP/$name.ext"
    openssl rand -hex 16 | tr a-f A-F >"$TMP/ca-$ca/serial"
    CADIR=$TMP/ca-$ca openssl ca -config "$CACNF" -batch -notext -days 30 -in "$TMP/$name.csr" \
        -out "$TMP/$name.pem" -extfile "$TMP/$name.ext" -extensions c >/dev/null 2>&1
    [ -s "$TMP/$name.pem" ] || echo "# could not issue $name" >&2
}
issue alice issuing '/O=Example Corp/OU=Engineering/CN=Alice Example/UID=alice' clientAuth
issue late issuing '/O=Example Corp/OU=Engineering/CN=Alice Late/UID=alice' clientAuth
issue late12 issuing '/O=Example Corp/OU=Engineering/CN=Alice Late12/UID=alice' clientAuth
issue bob issuing '/O=Example Corp/OU=Engineering/CN=Bob Example/UID=bob' clientAuth
issue dave issuing '/O=Example Corp/OU=Sales/CN=Dave Example/UID=dave' clientAuth
issue eve issuing '/O=Example Corp/OU=Sales/CN=Eve Example/UID=eve' clientAuth
issue nouid issuing '/O=Example Corp/OU=Engineering/CN=Carol Example' clientAuth
issue srvonly issuing '/O=Example Corp/OU=Engineering/CN=Alice Server/UID=alice' serverAuth
issue revoked issuing '/O=Example Corp/OU=Engineering/CN=Alice Revoked/UID=alice' clientAuth
issue ocsprev issuing '/O=Example Corp/OU=Engineering/CN=Alice OCSP/UID=alice' clientAuth
issue foreign lookalike '/O=Example Corp/OU=Engineering/CN=Alice Foreign/UID=alice' clientAuth
CADIR=$TMP/ca-issuing openssl ca -config "$CACNF" -revoke "$TMP/revoked.pem" >/dev/null 2>&1
CADIR=$TMP/ca-issuing openssl ca -config "$CACNF" -revoke "$TMP/ocsprev.pem" >/dev/null 2>&1
gencrl() { CADIR=$TMP/ca-issuing openssl ca -config "$CACNF" -gencrl -crldays 30 -out "$TMP/issuing.crl.new" >/dev/null 2>&1 &&
    mv "$TMP/issuing.crl.new" "$TMP/issuing.crl"; }
gencrl
cat "$FIX/pki/root.pem" "$FIX/pki/issuing.pem" >"$TMP/cas.pem"
install -m 0600 "$FIX/pki/server-ec256.key" "$TMP/server.key"

# ------------------------------------------------------------- the backend
# proxy: parses the PROXY v2 header, logs its TLVs (one JSON line per
# connection), answers "hello USER", then echoes lines until "bye".
# http: reads one request head and body, logs the header lines, answers 200
# with the values of X-Cardgate-User it saw; a second request on the same
# connection is logged too (it must never come).
cat >"$TMP/backend.py" <<'PY'
import json, socket, struct, sys, threading
port, mode, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()
def record(d):
    with lock, open(log, "a") as f:
        f.write(json.dumps(d) + "\n")
def recv_exact(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise EOFError
        b += x
    return b
def proxy(c):
    head = recv_exact(c, 16)
    if head[:12] != b"\r\n\r\n\x00\r\nQUIT\n":
        record({"error": "no PROXY v2 signature"}); return
    n = struct.unpack("!H", head[14:16])[0]
    body = recv_exact(c, n)
    fam = head[13]
    alen = 12 if fam == 0x11 else 36
    d = {"ver_cmd": head[12], "fam": fam}
    tlvs, i = body[alen:], 0
    while i < len(tlvs):
        t, l = tlvs[i], struct.unpack("!H", tlvs[i+1:i+3])[0]
        v = tlvs[i+3:i+3+l]
        i += 3 + l
        if t == 0xE0: d["user"] = v.decode()
        elif t == 0xE1: d["groups"] = v.decode().split("\n") if v else []
        elif t == 0xE2: d["sha256"] = v.decode()
        elif t == 0xE3: d["privileges"] = v.decode().split("\n") if v else []
        elif t == 0xE4: d["session"] = v.decode()
        elif t == 0x02: d["authority"] = v.decode()
        elif t == 0x20:
            d["ssl_client"] = v[0]
            j, sub = 5, v[5:]
            k = 0
            while k < len(sub):
                st, sl = sub[k], struct.unpack("!H", sub[k+1:k+3])[0]
                sv = sub[k+3:k+3+sl]
                k += 3 + sl
                if st == 0x21: d["ssl_version"] = sv.decode()
                if st == 0x22: d["ssl_cn"] = sv.decode()
    record(d)
    c.sendall(b"hello " + d.get("user", "?").encode() + b"\n")
    f = c.makefile("rb")
    for line in f:
        if line.strip() == b"bye":
            break
        c.sendall(b"echo " + line)
def http(c):
    data = b""
    while True:
        while b"\r\n\r\n" not in data:
            x = c.recv(4096)
            if not x:
                return
            data += x
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for l in lines[1:]:
            if l.lower().startswith("content-length:"):
                length = int(l.split(":", 1)[1])
        while len(data) < length:
            x = c.recv(4096)
            if not x:
                break
            data += x
        body, data = data[:length], data[length:]
        users = [l.split(":", 1)[1].strip() for l in lines[1:] if l.split(":", 1)[0].strip().lower().replace("_", "-") == "x-cardgate-user"]
        record({"request": lines[0], "headers": lines[1:], "users": users, "body": body.decode("latin-1")})
        out = ("users=" + ",".join(users)).encode()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
def serve(c):
    try:
        proxy(c) if mode == "proxy" else http(c)
    except Exception as e:
        record({"error": repr(e)})
    finally:
        c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
backend() {  # backend PORT MODE
    : >"$TMP/backend-$1.log"
    python3 "$TMP/backend.py" "$1" "$2" "$TMP/backend-$1.log" >>"$TMP/backend-$1.err" 2>&1 &
    PIDS+=($!)
    wait_port "$1"
}
backend 18081 proxy
backend 18082 http
seen() { wc -l <"$TMP/backend-$1.log"; }   # seen PORT: connections the backend logged
last_seen() { tail -n 1 "$TMP/backend-$1.log"; }

# ------------------------------------------------------------- configs
# mkconf NAME [REVOCATION_TOML]: the tunnel config; [tls] lines from stdin.
mkconf() {
    local f=$TMP/$1.conf
    mkdir -p "$TMP/cache-$1" "$TMP/index-$1"
    chmod 0755 "$TMP/cache-$1"
    chmod 0700 "$TMP/index-$1"
    {
        cat <<EOF
[token]
module = "$SOFTHSM2_MODULE"

[trust]
anchors = ["$FIX/pki/root.pem"]
intermediates = ["$FIX/pki/issuing.pem"]
crls = ["$FIX/pki/root.crl", "$TMP/issuing.crl"]
cache_dir = "$TMP/cache-$1"
${2:-revocation = \"crl\"}

[purpose.tls]
eku = ["clientAuth"]

[mapping]
index_dir = "$TMP/index-$1"

[[mapping.rule]]
issuer = "$ISSUING_DN"
user = "{subject.uid}"

[tls]
certificate = "$FIX/pki/server-ec256.pem"
key = "$TMP/server.key"
EOF
        cat
    } >"$f"
    chmod 600 "$f"
    echo "$f"
}
SERVICES='
[[tls.service]]
name = "wiki"
listen = "127.0.0.1:18443"
backend = "127.0.0.1:18081"
identity = "proxy-v2"
allow_users = ["alice"]
allow_groups = ["eng"]

[[tls.service]]
name = "web"
listen = "127.0.0.1:18444"
backend = "127.0.0.1:18082"
identity = "header"
header = "X-Cardgate-User"
allow_users = ["alice"]

[[tls.service]]
name = "gone"
listen = "127.0.0.1:18445"
backend = "127.0.0.1:18089"
identity = "none"
allow_privileges = ["ou:Engineering"]
'
C=$(mkconf main <<EOF
handshake_timeout = "2s"
max_handshakes = 4
idle_timeout = "30s"
session_lifetime = "5m"
$SERVICES
EOF
)

# $TMP/tunnel ARGS...: cardgate-tunnel with the fake accounts (exec: its PID is the tunnel's).
cat >"$TMP/tunnel" <<EOF
#!/bin/sh
LD_PRELOAD="$NSSW${LD_PRELOAD:+ $LD_PRELOAD}" NSS_WRAPPER_PASSWD="$TMP/passwd" NSS_WRAPPER_GROUP="$TMP/group" \\
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:verify_asan_link_order=0" exec "$TUNNEL" "\$@"
EOF
chmod 755 "$TMP/tunnel"

# ------------------------------------------------------------- config errors
run "$TUNNEL" --version
check "--version exits 0 and names the program" test "$rc" -eq 0 -a -n "$(printf '%s' "$out" | grep cardgate-tunnel)"

run "$TUNNEL" --config "$C" --check bogus
check "an unknown mode is a usage error (exit 2)" test "$rc" -eq 2

B=$(mkconf bad1 <<EOF
$SERVICES
colour = "blue"
EOF
)
run "$TMP/tunnel" --config "$B" --check server
line=$(grep -n '^colour' "$B" | cut -d: -f1)
if [ "$rc" -eq 2 ] && contains "$err" "$B:$line:" && contains "$err" "tls.service[2].colour"; then
    ok "bad config: an unknown key in [[tls.service]] -> exit 2 naming file:line and the key"
else
    not_ok "bad config: unknown key (exit $rc)"; printf '%s\n' "$err" | diag
fi

B=$(mkconf bad2 <<'EOF'
[[tls.service]]
name = "x"
listen = "localhost:443"
backend = "127.0.0.1:1"
EOF
)
run "$TMP/tunnel" --config "$B" --check server
line=$(grep -n '^listen' "$B" | cut -d: -f1)
if [ "$rc" -eq 2 ] && contains "$err" "$B:$line:" && contains "$err" "no host names"; then
    ok "bad config: a host name as listen address -> exit 2 at its line"
else
    not_ok "bad config: host name listen (exit $rc)"; printf '%s\n' "$err" | diag
fi

B=$(mkconf bad3 <<'EOF'
[[tls.service]]
name = "x"
listen = "127.0.0.1:1"
backend = "127.0.0.1:2"
identity = "proxy-v3"
EOF
)
run "$TMP/tunnel" --config "$B" --check server
check "bad config: identity = \"proxy-v3\" -> exit 2" test "$rc" -eq 2 -a -n "$(printf '%s' "$err" | grep 'proxy-v3')"

chmod 0644 "$TMP/server.key"
run "$TMP/tunnel" --config "$C" --check server
check "a server key readable by others is refused (exit 2)" test "$rc" -eq 2 -a -n "$(printf '%s' "$err" | grep 'readable by group or others')"
chmod 0600 "$TMP/server.key"

run "$TMP/tunnel" --config "$C" --check server
check "--check on the good config exits 0" test "$rc" -eq 0

# ------------------------------------------------------------- the server
LOG=$TMP/tunnel.log
start_tunnel() {  # start_tunnel CONF LOG
    "$TMP/tunnel" --config "$1" --foreground server >>"$2" 2>&1 &
    TUNNEL_PID=$!
    PIDS+=($TUNNEL_PID)
}
start_tunnel "$C" "$LOG"
MAIN_PID=$TUNNEL_PID
wait_port 18443 && wait_port 18444 && wait_port 18445
audits() { grep -c 'cardgate-tunnel: outcome=' "$1"; }
# The readiness probes above were connections too, closed before a
# ClientHello: one summary line per service once their bursts are over (1 s).
# From here, each step waits for its own audit line.
for i in $(seq 50); do [ "$(grep -c 'the peer closed before a complete ClientHello' "$LOG")" -ge 3 ] && break; sleep 0.1; done
mark() { MARK=$(audits "${1:-$LOG}"); }
# audit_line [LOG]: the first audit line after the mark (waits up to 5 s).
audit_line() {
    local f=${1:-$LOG} i
    for i in $(seq 50); do
        [ "$(audits "$f")" -gt "$MARK" ] && break
        sleep 0.1
    done
    grep 'cardgate-tunnel: outcome=' "$f" | sed -n "$((MARK + 1))p"
}

# s_client_to PORT NAME [ARGS...]: stdin to the tunnel as NAME (cert+key), stdout in $out.
s_client_to() {
    local port=$1 name=$2
    shift 2
    local id=()
    [ "$name" != - ] && id=(-cert "$TMP/$name.pem" -key "$TMP/$name.key")
    out=$(timeout -k 2 15 openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile "$TMP/cas.pem" \
        -verify_return_error -quiet "${id[@]}" "$@" 2>"$TMP/s_client.err")
    rc=$?
}

# granted NAME TEXT USER [ARGS]: wiki (PROXY v2) lets NAME in as USER.
mark
before=$(seen 18081)
printf 'ping\nbye\n' | s_client_to 18443 alice
line=$(audit_line)
b=$(last_seen 18081)
if [ "$out" = $'hello alice\necho ping' ] && contains "$line" 'outcome=granted' && contains "$line" 'user="alice"' &&
    contains "$line" 'resumed=no' && contains "$line" 'service="wiki"'; then
    ok "alice (clientAuth, mapped, allowed) is forwarded to the backend; audit granted"
else
    not_ok "alice is forwarded"; { echo "out: $out"; echo "audit: $line"; cat "$TMP/s_client.err"; } | diag
fi
SHA=$(openssl x509 -in "$TMP/alice.pem" -outform DER | sha256sum | cut -d' ' -f1)
check "PROXY v2: the backend sees user alice (TLV 0xE0)" test "$(printf '%s' "$b" | jq -r .user)" = alice
check "PROXY v2: groups include eng (TLV 0xE1)" test -n "$(printf '%s' "$b" | jq -r '.groups[]' | grep -x eng)"
check "PROXY v2: the certificate SHA-256 (TLV 0xE2)" test "$(printf '%s' "$b" | jq -r .sha256)" = "$SHA"
check "PROXY v2: privileges carry ou:Engineering (TLV 0xE3), session full (0xE4)" \
    test "$(printf '%s' "$b" | jq -r '(.privileges|index("ou:Engineering")!=null) and .session=="full"')" = true
check "PROXY v2: SSL TLV (client cert on this connection), SNI as authority" \
    test "$(printf '%s' "$b" | jq -r '(.ssl_client==7) and .authority=="localhost" and .ssl_cn=="Alice Example"')" = true
if contains "$line" "cert_sha256=$SHA" && contains "$line" "cert_issuer=\"$ISSUING_DN\""; then
    ok "audit line names the certificate's issuer and SHA-256"
else
    not_ok "audit line names the certificate"; echo "$line" | diag
fi

mark
printf 'ping\nbye\n' | s_client_to 18443 bob -tls1_2
line=$(audit_line)
check "bob over TLS 1.2 is allowed by allow_groups (eng)" test "$out" = $'hello bob\necho ping' -a -n "$(contains "$line" 'allow_groups: eng' && echo y)"

# refused NAME CODE DESCRIPTION [ARGS]: the wiki service refuses NAME with CODE,
# and the backend never sees the connection.
refused() {
    local name=$1 code=$2 what=$3
    shift 3
    mark
    local before
    before=$(seen 18081)
    printf 'ping\nbye\n' | s_client_to 18443 "$name" "$@"
    local line
    line=$(audit_line)
    if contains "$line" "outcome=denied" && contains "$line" "reason=$code " && [ "$(seen 18081)" -eq "$before" ] &&
        ! contains "$out" hello; then
        ok "$what -> refused ($code), nothing reaches the backend"
    else
        not_ok "$what -> $code"; { echo "out: $out"; echo "audit: $line"; } | diag
    fi
}
refused - tls_no_client_cert "no client certificate"
refused foreign cert_untrusted "a certificate from a look-alike CA (same issuer DN, other key)"
refused srvonly cert_eku "a serverAuth-only certificate"
refused revoked cert_revoked "a certificate revoked in the CRL"
refused nouid map_unmapped "a certificate no rule maps (no UID)"
refused eve map_unknown_account "a certificate mapping to an account that does not exist"
refused dave tls_service_denied "dave: mapped, but not allowed for the service"
refused revoked cert_revoked "a revoked certificate over TLS 1.2" -tls1_2

# ------------------------------------------------------------- header identity
mark
before=$(seen 18082)
out=$(timeout 15 curl -s --cacert "$TMP/cas.pem" --cert "$TMP/alice.pem" --key "$TMP/alice.key" \
    -H 'X-Cardgate-User: root' -H 'x_cardgate_user: root' -H 'X-CARDGATE-USER:   root  ' \
    https://localhost:18444/page 2>&1)
b=$(last_seen 18082)
if [ "$out" = "users=alice" ] && [ "$(printf '%s' "$b" | jq -r '.users|length')" = 1 ]; then
    ok "header: the client's forged X-Cardgate-User (3 spellings) are stripped; the backend sees only alice"
else
    not_ok "header: forged identity stripped"; { echo "out: $out"; echo "backend: $b"; } | diag
fi
check "header: a Connection: close is forced" test -n "$(printf '%s' "$b" | jq -r '.headers[]' | grep -x 'Connection: close')"

raw_web() {  # raw_web NAME PRINTF_FORMAT: a raw request to the web service
    mark
    before=$(seen 18082)
    out=$(printf "$2" | timeout -k 2 15 openssl s_client -connect 127.0.0.1:18444 -servername localhost \
        -CAfile "$TMP/cas.pem" -quiet -cert "$TMP/$1.pem" -key "$TMP/$1.key" 2>/dev/null)
    line=$(audit_line)
}
raw_web alice 'GET / HTTP/1.1\r\nHost: x\r\nX-Other: a\r\n X-Cardgate-User: root\r\n\r\n'
check "header: obs-fold (a folded forged header) -> 400, backend sees nothing" \
    test -n "$(contains "$out" '400 Bad Request' && [ "$(seen 18082)" -eq "$before" ] && echo y)"
raw_web alice 'GET / HTTP/1.1\r\nHost: x\r\nX-Cardgate-User : root\r\n\r\n'
check "header: a space before the colon -> 400" test -n "$(contains "$out" '400 Bad Request' && [ "$(seen 18082)" -eq "$before" ] && echo y)"
raw_web alice 'GET / HTTP/1.1\r\nHost: x\nX-Cardgate-User: root\r\n\r\n'
check "header: a bare LF line end -> 400" test -n "$(contains "$out" '400 Bad Request' && [ "$(seen 18082)" -eq "$before" ] && echo y)"
raw_web alice 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
check "header: Transfer-Encoding -> 501, backend sees nothing" test -n "$(contains "$out" '501' && [ "$(seen 18082)" -eq "$before" ] && echo y)"
check "header: the refusal is audited (tls_service_denied)" contains "$line" "reason=tls_service_denied"
raw_web alice 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'
check "header: conflicting Content-Length -> 400" test -n "$(contains "$out" '400 Bad Request' && [ "$(seen 18082)" -eq "$before" ] && echo y)"
big=$(head -c 20000 /dev/zero | tr '\0' a)
raw_web alice "GET / HTTP/1.1\r\nX-Big: $big\r\n\r\n"
check "header: a request head over 16 KiB -> 431" contains "$out" '431'
raw_web alice 'POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /two HTTP/1.1\r\nX-Cardgate-User: root\r\n\r\n'
sleep 0.3
b=$(last_seen 18082)
if [ "$(seen 18082)" -eq $((before + 1)) ] && [ "$(printf '%s' "$b" | jq -r .body)" = abc ] && contains "$out" 'users=alice'; then
    ok "header: a request smuggled after the body is never forwarded (one request per connection)"
else
    not_ok "header: smuggled second request"; { echo "out: $out"; cat "$TMP/backend-18082.log"; } | diag
fi
raw_web bob 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
check "header: bob is not allowed on web (allow_users alice) -> refused before any request is read" \
    test -n "$(contains "$line" 'reason=tls_service_denied' && contains "$line" 'user="bob"' && [ "$(seen 18082)" -eq "$before" ] && echo y)"

# ------------------------------------------------------------- backend down
mark
printf 'x\n' | s_client_to 18445 alice
line=$(audit_line)
check "backend unreachable -> audit outcome=failed reason=tls_backend" \
    test -n "$(contains "$line" 'outcome=failed' && contains "$line" 'reason=tls_backend' && echo y)"

# ------------------------------------------------------------- resumption
# resumed NAME PROTO: a first connection saves the session; a second resumes it.
for proto in tls1_3 tls1_2; do
    name=late; [ $proto = tls1_2 ] && name=late12
    mark
    (printf 'ping\n'; sleep 1; printf 'bye\n') | s_client_to 18443 $name -$proto -sess_out "$TMP/$name.sess"
    line=$(audit_line)
    check "$proto: first handshake of $name granted, session saved" test -s "$TMP/$name.sess" -a -n "$(contains "$line" outcome=granted && echo y)"
    mark
    (printf 'ping\n'; sleep 0.5; printf 'bye\n') | s_client_to 18443 - -$proto -sess_in "$TMP/$name.sess" -cert "$TMP/$name.pem" -key "$TMP/$name.key"
    line=$(audit_line)
    b=$(last_seen 18081)
    if contains "$line" 'outcome=granted' && contains "$line" 'resumed=yes' &&
        [ "$(printf '%s' "$b" | jq -r '.session + " " + (.ssl_client|tostring)')" = "resumed 5" ]; then
        ok "$proto: a resumed session is checked and granted (audit resumed=yes, PROXY v2 session resumed)"
    else
        not_ok "$proto: resumption granted"; { echo "audit: $line"; echo "backend: $b"; cat "$TMP/s_client.err"; } | diag
    fi
done
# Revoke both, publish the CRL, reload.
CADIR=$TMP/ca-issuing openssl ca -config "$CACNF" -revoke "$TMP/late.pem" >/dev/null 2>&1
CADIR=$TMP/ca-issuing openssl ca -config "$CACNF" -revoke "$TMP/late12.pem" >/dev/null 2>&1
# An established connection must survive the reload: open one first.
coproc KEEP { exec timeout -k 2 30 openssl s_client -connect 127.0.0.1:18443 -servername localhost -CAfile "$TMP/cas.pem" \
    -quiet -cert "$TMP/alice.pem" -key "$TMP/alice.key" 2>/dev/null; }
KEEP_IN=${KEEP[1]} KEEP_OUT=${KEEP[0]}
printf 'one\n' >&"$KEEP_IN"
read -r -t 10 l1 <&"$KEEP_OUT"; read -r -t 10 l2 <&"$KEEP_OUT"
sleep 0.3
gencrl
mark
kill -HUP "$MAIN_PID"
for i in $(seq 50); do grep -q 'reloaded' "$LOG" && break; sleep 0.1; done
check "SIGHUP: the tunnel reloads" grep -q "reloaded $C" "$LOG"
printf 'two\n' >&"$KEEP_IN"
read -r -t 10 l3 <&"$KEEP_OUT"
check "SIGHUP: a connection established before the reload still works" test "$l1 $l2 $l3" = "hello alice echo one echo two"
printf 'bye\n' >&"$KEEP_IN"
for proto in tls1_3 tls1_2; do
    name=late; [ $proto = tls1_2 ] && name=late12
    mark
    before=$(seen 18081)
    printf 'ping\nbye\n' | s_client_to 18443 - -$proto -sess_in "$TMP/$name.sess" -cert "$TMP/$name.pem" -key "$TMP/$name.key"
    line=$(audit_line)
    if contains "$line" 'outcome=denied' && contains "$line" 'reason=cert_revoked' && contains "$line" 'resumed=yes' &&
        [ "$(seen 18081)" -eq "$before" ]; then
        ok "$proto: revoked after the first handshake (new CRL, SIGHUP), the resumed session is refused (audit resumed=yes)"
    else
        not_ok "$proto: resumed session of a revoked badge"; { echo "audit: $line"; echo "out: $out"; } | diag
    fi
done

# A bad config on reload: reported, the old one kept.
cp "$C" "$TMP/good.conf"
echo 'bogus = 1' >>"$C"
kill -HUP "$MAIN_PID"
for i in $(seq 50); do grep -q 'reload failed' "$LOG" && break; sleep 0.1; done
check "SIGHUP with a bad config: reported with file:line" grep -q "reload failed.*$C:[0-9]*:[0-9]*: .*bogus: unknown key" "$LOG"
mark
printf 'ping\nbye\n' | s_client_to 18443 alice
check "SIGHUP with a bad config: the previous config still serves" test "$out" = $'hello alice\necho ping'
cp "$TMP/good.conf" "$C"

# ------------------------------------------------------------- limits
# Four clients that connect and never send a ClientHello fill max_handshakes
# (4): a newcomer closes the oldest of them (admission.hpp) and is served; the
# other three are cut at min(client_hello_timeout, handshake_timeout) = 2 s.
# Neither is worth an audit line per connection: one summary line each.
mark
python3 - "$TMP/stall.done" <<'PY' &
import socket, sys, time
held = [socket.create_connection(("127.0.0.1", 18443)) for _ in range(4)]
open(sys.argv[1], "w").close()
time.sleep(8)
PY
STALL=$!
PIDS+=($STALL)
for i in $(seq 50); do [ -e "$TMP/stall.done" ] && break; sleep 0.1; done
sleep 0.2
t0=$(date +%s.%N)
printf 'ping\nbye\n' | s_client_to 18443 alice
check "max_handshakes (4) full of stalled handshakes: a newcomer is served, the oldest stalled one is closed for it" \
    test "$out" = $'hello alice\necho ping'
for i in $(seq 80); do grep -q 'closed 3 connections from 127.0.0.1 in .*no complete ClientHello' "$LOG" && break; sleep 0.1; done
t1=$(date +%s.%N)
check "the eviction is audited once, summarised (tls_limit, peer = the source)" \
    grep -q 'reason=tls_limit .*peer="127.0.0.1" .*closed 1 connection from 127.0.0.1 in .*oldest unfinished handshakes closed' "$LOG"
check "the three other stalled clients are cut (no ClientHello in 2 s): one summary line for the three" \
    test "$(grep -c 'closed 3 connections from 127.0.0.1 in .*no complete ClientHello within tls.client_hello_timeout' "$LOG")" -eq 1
check "they were cut within ~2 s (+1 s for the burst to end), not later" awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 6) }'
check "no audit line per stalled connection" test -z "$(grep 'cardgate-tunnel: outcome=' "$LOG" | sed -n "$((MARK + 1)),\$p" | grep 'not finished within')"
kill "$STALL" 2>/dev/null
# A ClientHello, then silence: the handshake is past its hello, so the whole
# handshake_timeout (2 s) applies and the cut is audited on its own line.
mark
run python3 "$LOADPY" dribble 18443 127.0.0.1 0 "$TMP/cas.pem"
line=$(audit_line)
check "a client that stalls after its ClientHello is cut at handshake_timeout, audited (tls_limit)" \
    test -n "$(contains "$line" 'TLS handshake not finished within tls.handshake_timeout' && contains "$out" 'cut_after_s=' && echo y)"

# ------------------------------------------------------------- hostile load
# Issue 21: one source's idle sockets, a dribbled ClientHello, a flood of full
# handshakes. A tunnel with the default limits (and no key the base release
# lacks, so that the same checks fail there). Attackers bind to 127.0.0.2 or
# 127.0.0.3, legitimate clients to 127.0.0.1. Bounded: 400 sockets, at most
# 4,000 connections in all, a flood of at most 4,000 connections (1,000
# under the sanitizers) in at most 6 s.
SCALE=1 SLACK_KIB=16384
# ASan keeps up to 256 MiB of freed memory in quarantine: "back near the
# baseline" then means within that.
nm -D --undefined-only "$TUNNEL" 2>/dev/null | grep -q '__asan_' && SCALE=4 SLACK_KIB=$((320 * 1024))
H=$(mkconf hostile <<'EOF'
[[tls.service]]
name = "load"
listen = "127.0.0.1:18643"
backend = "127.0.0.1:18081"
allow_users = ["alice"]
EOF
)
LOGH=$TMP/tunnel-hostile.log
: >"$LOGH"
start_tunnel "$H" "$LOGH"
H_PID=$TUNNEL_PID
for i in $(seq 100); do grep -q serving "$LOGH" && break; sleep 0.1; done
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$H_PID/status"; }
legit() {  # legit COUNT [OPTIONS]: sequential requests as alice from 127.0.0.1
    local n=$1
    shift
    python3 "$LOADPY" legit 18643 127.0.0.1 "$n" "$TMP/alice.pem" "$TMP/alice.key" "$TMP/cas.pem" "$@"
}
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# settled: until the tunnel's log has been quiet for 1.5 s (bursts reported), at most 10 s.
settled() {
    local i n m quiet=0
    n=$(wc -l <"$LOGH")
    for i in $(seq 20); do
        sleep 0.5
        m=$(wc -l <"$LOGH")
        if [ "$m" -eq "$n" ]; then quiet=$((quiet + 1)); else quiet=0; fi
        [ "$quiet" -ge 3 ] && return 0
        n=$m
    done
}
warm=$(legit 20)
base_rss=$(rss)
echo "# hostile: warm-up $warm; VmRSS ${base_rss} kB"

# 400 idle sockets from one source, reopened as the tunnel closes them.
rm -f "$TMP/idle.ready"
python3 "$LOADPY" idle 18643 127.0.0.2 400 6 "$TMP/idle.ready" --reopen >"$TMP/idle.out" 2>&1 &
IDLE=$!
PIDS+=($IDLE)
for i in $(seq 100); do [ -e "$TMP/idle.ready" ] && break; sleep 0.1; done
sleep 0.3
peak_rss=$(rss)
lg=$(legit 5 --interval 0.2 --deadline 1)
echo "# hostile: 400 idle sockets from 127.0.0.2; 127.0.0.1: $lg; VmRSS ${peak_rss} kB"
if [ "$(field "$lg" ok)" = 5 ] && awk -v m="$(field "$lg" max_ms)" 'BEGIN { exit !(m < 1000) }'; then
    ok "400 idle sockets from 127.0.0.2: a client from 127.0.0.1 still completes its mTLS request within 1 s"
else
    not_ok "400 idle sockets: legitimate client served within 1 s"; { echo "legit: $lg"; tail -5 "$LOGH"; } | diag
fi
wait "$IDLE"
echo "# hostile: idle attacker: $(cat "$TMP/idle.out")"
settled
n=$(grep -c 'peer="127.0.0.2"' "$LOGH")
refused=$(grep -o 'refused [0-9]* connections from 127.0.0.2 in [0-9.]* s: per-source handshake limit' "$LOGH" | head -1)
echo "# hostile: $n audit lines for 127.0.0.2, e.g. \"$refused\""
check "400 idle sockets: refusals audited once per source and burst (at most 8 lines in all, not hundreds)" \
    test -n "$refused" -a "$n" -le 8 -a "$(grep -c 'refused .* from 127.0.0.2 .*per-source' "$LOGH")" -le 3
check "400 idle sockets: the summary counts the refused connections (at least 300)" \
    test "$(printf '%s' "$refused" | awk '{ print $2 }')" -ge 300
after_rss=$(rss)
echo "# hostile: VmRSS before ${base_rss} kB, during ${peak_rss} kB, after ${after_rss} kB"
check "400 idle sockets: the tunnel's memory returns near its baseline (at most +$((SLACK_KIB / 1024)) MiB)" test "$after_rss" -le $((base_rss + SLACK_KIB))

# A ClientHello dribbled byte by byte: cut at client_hello_timeout (3 s default).
out=$(python3 "$LOADPY" dribble 18643 127.0.0.3 0.05 "$TMP/cas.pem")
echo "# hostile: dribble: $out"
check "a ClientHello dribbled a byte every 50 ms is cut at client_hello_timeout (3 s)" \
    awk -v c="$(field "$out" cut_after_s)" 'BEGIN { exit !(c >= 2.8 && c < 5) }'
settled
check "the dribbler's cut is summarised for its source" grep -q 'closed 1 connection from 127.0.0.3 in .*no complete ClientHello' "$LOGH"

# A flood of full handshakes from 127.0.0.2 (bob: a valid badge the service
# refuses, so every handshake that gets in costs a full check) while alice
# keeps coming from 127.0.0.1. A Python client on a shared CI machine cannot
# outrun the default bucket (100 a second), so it is made smaller here, by a
# reload (which must apply new limits to a running tunnel).
printf '%s\n' 'handshake_rate_per_source = 20' 'handshake_burst_per_source = 40' >"$TMP/rate.toml"
sed -i '/^key = /r '"$TMP/rate.toml" "$H"
kill -HUP "$H_PID"
for i in $(seq 50); do grep -q 'reloaded' "$LOGH" && break; sleep 0.1; done
check "SIGHUP: the hostile-load tunnel reloads with a smaller per-source bucket" grep -q "reloaded $H" "$LOGH"
mark "$LOGH"
base_rss=$(rss)
python3 "$LOADPY" flood 18643 127.0.0.2 6 $((4000 / SCALE)) 4 "$TMP/bob.pem" "$TMP/bob.key" "$TMP/cas.pem" >"$TMP/flood.out" 2>&1 &
FLOOD=$!
PIDS+=($FLOOD)
sleep 0.2
lg=$(legit $((40 / SCALE)) --interval 0.05 --deadline 5)
wait "$FLOOD"
echo "# hostile: flood from 127.0.0.2: $(cat "$TMP/flood.out"); alice from 127.0.0.1 meanwhile: $lg"
if [ "$(field "$lg" failed)" = 0 ] && awk -v m="$(field "$lg" p99_ms)" -v s=$SCALE 'BEGIN { exit !(m < 1000 * s) }'; then
    ok "a flood of full handshakes from 127.0.0.2: 127.0.0.1's clients keep completing (p99 $(field "$lg" p99_ms) ms)"
else
    not_ok "flood: legitimate clients keep completing"; echo "legit: $lg" | diag
fi
settled
n=$(grep 'cardgate-tunnel: outcome=' "$LOGH" | sed -n "$((MARK + 1)),\$p" | grep -c 'peer="127.0.0.2"')
check "flood: refusals at the door summarised (at most 4 lines for 127.0.0.2)" \
    test "$n" -le 4 -a -n "$(grep 'refused [0-9]* connections from 127.0.0.2 in .*handshake rate' "$LOGH")"
after_rss=$(rss)
echo "# hostile: flood: VmRSS before ${base_rss} kB, after ${after_rss} kB"
check "flood: the tunnel's memory returns near its baseline (at most +$((SLACK_KIB / 1024)) MiB)" test "$after_rss" -le $((base_rss + SLACK_KIB))
kill "$H_PID"

# ------------------------------------------------------------- OCSP
# The leaves by OCSP (the issuing CA's responder); the issuing CA itself has
# no answer there and falls back to the root's CRL.
O=$(mkconf ocsp 'revocation = "ocsp,crl"
ocsp_responder = "http://127.0.0.1:18888/"' <<'EOF'
idle_timeout = "2s"
max_connections = 3
[[tls.service]]
name = "wiki-ocsp"
listen = "127.0.0.1:18543"
backend = "127.0.0.1:18081"
allow_users = ["alice"]
EOF
)
openssl ocsp -index "$TMP/ca-issuing/index.txt" -port 18888 -rsigner "$FIX/pki/ocsp-responder.pem" \
    -rkey "$FIX/ca/ocsp-responder.key" -CA "$FIX/pki/issuing.pem" -nmin 60 >>"$TMP/ocsp.log" 2>&1 &
PIDS+=($!)
for i in $(seq 100); do grep -q "waiting for OCSP client connections" "$TMP/ocsp.log" && break; sleep 0.1; done
LOG2=$TMP/tunnel-ocsp.log
: >"$LOG2"
start_tunnel "$O" "$LOG2"
for i in $(seq 100); do grep -q serving "$LOG2" && break; sleep 0.1; done
mark "$LOG2"
printf 'ping\nbye\n' | s_client_to 18543 alice
line=$(audit_line "$LOG2")
check "OCSP: alice is granted with a good OCSP answer" test "$out" = $'hello alice\necho ping' -a -n "$(contains "$line" "outcome=granted" && echo y)"
mark "$LOG2"
printf 'ping\nbye\n' | s_client_to 18543 ocsprev
line=$(audit_line "$LOG2")
check "OCSP: a badge the responder says is revoked is refused (cert_revoked by OCSP)" \
    test -n "$(contains "$line" 'reason=cert_revoked' && contains "$line" 'by OCSP' && ! contains "$out" hello && echo y)"

# max_connections (3 on this instance): three open connections, a fourth is refused.
mark "$LOG2"
rm -f "$TMP/hold.done"
python3 - "$TMP/hold.done" <<'PY' &
import socket, sys, time
held = [socket.create_connection(("127.0.0.1", 18543)) for _ in range(3)]
open(sys.argv[1], "w").close()
time.sleep(3)
PY
HOLD=$!
for i in $(seq 50); do [ -e "$TMP/hold.done" ] && break; sleep 0.1; done
sleep 0.2
printf 'ping\nbye\n' | s_client_to 18543 alice
line=$(grep 'cardgate-tunnel: outcome=' "$LOG2" | sed -n "$((MARK + 1)),\$p" | grep -m1 'max_connections')
check "max_connections (3) holds: a fourth connection is refused (tls_limit)" \
    test -n "$(contains "$line" 'reason=tls_limit' && ! contains "$out" hello && echo y)"
wait "$HOLD"
sleep 0.3
printf 'ping\nbye\n' | s_client_to 18543 alice
check "max_connections: once they close, a client is served again" test "$out" = $'hello alice\necho ping'

# idle_timeout (2 s on this instance): a silent established connection is closed.
coproc IDLE { exec timeout -k 2 20 openssl s_client -connect 127.0.0.1:18543 -servername localhost -CAfile "$TMP/cas.pem" \
    -quiet -cert "$TMP/alice.pem" -key "$TMP/alice.key" 2>/dev/null; }
IDLE_OUT=${IDLE[0]} IDLE_IN=${IDLE[1]}
printf 'one\n' >&"$IDLE_IN"
read -r -t 10 i1 <&"$IDLE_OUT"; read -r -t 10 i2 <&"$IDLE_OUT"
t0=$(date +%s)
read -r -t 10 i3 <&"$IDLE_OUT"; r3=$?
t1=$(date +%s)
check "idle_timeout (2s): an established but silent connection is closed by the tunnel" \
    test "$i1 $i2" = "hello alice echo one" -a "$r3" -eq 1 -a $((t1 - t0)) -le 5

# ------------------------------------------- badge keys through the provider
# `openssl s_client -provider cardgate` with alice's badges (keys on SoftHSM,
# signing on the token) against the tunnel's wiki service: TLS 1.2 and 1.3 x
# RSA-2048 and P-256, each granted as alice with the badge's certificate.
MODDIR=${CARDGATE_PROVIDER_DIR:-$(dirname "$CARDGATE_BIN")/.libs}
PROV_PRELOAD=
# Sanitizer builds: the module needs the runtimes the openssl binary lacks.
if nm -D --undefined-only "$MODDIR/cardgate.so" 2>/dev/null | grep -q '__asan_\|__ubsan_'; then
    PROV_PRELOAD="$(${CXX:-g++} -print-file-name=libasan.so) $(${CXX:-g++} -print-file-name=libubsan.so)"
fi
BADGE_PIN=$(pin_file "$PIN")
for tok in alice-rsa2048 alice-ec256; do
    for v in 1_2 1_3; do
        mark
        uri="pkcs11:token=$tok;id=%01"
        out=$(printf 'ping\nbye\n' | env ${PROV_PRELOAD:+LD_PRELOAD="$PROV_PRELOAD"} \
            ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 CARDGATE_CONF="$CONF" \
            timeout -k 2 30 openssl s_client -provider-path "$MODDIR" -provider default -provider cardgate \
            -connect 127.0.0.1:18443 -servername localhost -CAfile "$TMP/cas.pem" -verify_return_error -quiet \
            -tls$v -cert "$uri;type=cert" -key "$uri;type=private?pin-source=file:$BADGE_PIN" 2>"$TMP/s_client.err")
        line=$(audit_line)
        sha=$(openssl x509 -in "$FIX/certs/$tok.pem" -outform DER | sha256sum | cut -d' ' -f1)
        if [ "$out" = $'hello alice\necho ping' ] && contains "$line" 'outcome=granted' &&
            contains "$line" "cert_sha256=$sha"; then
            ok "s_client -provider cardgate, TLS ${v/_/.}, $tok on the token: granted as alice with the badge's certificate"
        else
            not_ok "s_client -provider cardgate, TLS ${v/_/.}, $tok"
            { echo "out: $out"; echo "audit: $line"; cat "$TMP/s_client.err"; } | diag
        fi
    done
done

# ------------------------------------------------------------- client mode
# alice's badge (SoftHSM, key on the token, PIN from a pin-source) through
# cardgate-tunnel client -> cardgate-tunnel server (wiki) -> the backend.
PINF=$(pin_file "$PIN")
client_conf() {  # client_conf NAME PORT SERVER_NAME TOKEN ID
    mkconf "$1" <<EOF
[[tls.client]]
name = "$1"
listen = "127.0.0.1:$2"
connect = "127.0.0.1:18443"
server_name = "$3"
certificate = "pkcs11:token=$4;id=%$5;type=cert"
key = "pkcs11:token=$4;id=%$5;type=private?pin-source=file:$PINF"
EOF
}
start_client() {  # start_client CONF LOG PORT
    "$TMP/tunnel" --config "$1" --foreground client >>"$2" 2>&1 &
    PIDS+=($!)
    for i in $(seq 100); do grep -q 'listening' "$2" && break; sleep 0.1; done
    # Not wait_port: a test connection to a client tunnel is a TLS connection
    # to the server, and an audit line that a later check would read.
    for i in $(seq 100); do [ -n "$(ss -Hltn "sport = :$3")" ] && return 0; sleep 0.1; done
    echo "# nothing listens on port $3" >&2
    return 1
}
via_client() {  # via_client PORT: "ping", "bye" through the local end; $out
    out=$( (printf 'ping\n'; sleep 1; printf 'bye\n') | timeout 15 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
d = b""
while True:
    x = s.recv(4096)
    if not x: break
    d += x
sys.stdout.write(d.decode())
' "$1" 2>/dev/null)
}
CL=$(client_conf badge 19443 localhost alice-ec256 01)
run "$TMP/tunnel" --config "$CL" --check client
if [ "$rc" -eq 0 ]; then
    ok "client --check: the badge certificate and card key load through the provider"
else
    not_ok "client --check (exit $rc)"; printf '%s\n' "$err" | diag
fi
start_client "$CL" "$TMP/client.log" 19443
mark
via_client 19443
line=$(audit_line)
if [ "$out" = $'hello alice\necho ping' ] && contains "$line" 'outcome=granted' &&
    contains "$line" "cert_sha256=$(openssl x509 -in "$FIX/certs/alice-ec256.pem" -outform DER | sha256sum | cut -d' ' -f1)"; then
    ok "client mode: alice's badge (P-256 on SoftHSM) through both tunnels reaches the backend as alice"
else
    not_ok "client mode: badge end to end"; { echo "out: $out"; echo "audit: $line"; cat "$TMP/client.log"; } | diag
fi
CLR=$(client_conf rsabadge 19446 127.0.0.1 alice-rsa2048 01)
start_client "$CLR" "$TMP/client-rsa.log" 19446
mark
via_client 19446
line=$(audit_line)
check "client mode: alice's RSA-2048 badge (TLS 1.3, RSA-PSS on the card), server_name an IP address" \
    test "$out" = $'hello alice\necho ping' -a -n "$(contains "$line" 'outcome=granted' && echo y)"
CL2=$(client_conf wrongname 19444 wrong.example alice-ec256 01)
start_client "$CL2" "$TMP/client2.log" 19444
mark
via_client 19444
sleep 0.3
if [ -z "$out" ] && grep -q 'TLS handshake with 127.0.0.1:18443: .*(server certificate: hostname mismatch)' "$TMP/client2.log" &&
    ! grep 'outcome=' "$LOG" | sed -n "$((MARK + 1)),\$p" | grep -q granted; then
    ok "client mode: a server certificate without server_name is refused by the client"
else
    not_ok "client mode: server name mismatch"; { echo "out: $out"; cat "$TMP/client2.log"; } | diag
fi
CL3=$(client_conf revokedbadge 19445 127.0.0.1 hostile 13)
start_client "$CL3" "$TMP/client3.log" 19445
mark
via_client 19445
line=$(audit_line)
check "client mode: the hostile token's revoked badge is refused by the server (cert_revoked)" \
    test -n "$(contains "$line" 'reason=cert_revoked' && ! contains "$out" hello && echo y)"

# The same guard on client mode's local side, where a source is a local uid
# (any local user can bind 127.0.0.2): a flood of connections (each would make
# the badge sign) from uid 65534, which allow_uids admits, is refused at accept
# past its share (2 pending, a bucket of 4), summarised in the client's log;
# the owner is still carried through.
CLG=$(mkconf guarded <<EOF
max_handshakes_per_source = 2
handshake_rate_per_source = 1
handshake_burst_per_source = 4
[[tls.client]]
name = "guarded"
listen = "127.0.0.1:19448"
connect = "127.0.0.1:18443"
server_name = "localhost"
certificate = "pkcs11:token=alice-ec256;id=%01;type=cert"
key = "pkcs11:token=alice-ec256;id=%01;type=private?pin-source=file:$PINF"
allow_uids = [65534]
EOF
)
start_client "$CLG" "$TMP/client-guard.log" 19448
CIDLE=$(mktemp -d); chmod 0777 "$CIDLE"
setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$LOADPY" idle 19448 127.0.0.2 40 2 "$CIDLE/ready" \
    >"$TMP/cidle.out" 2>&1
for i in $(seq 30); do grep -q 'client guarded: refused' "$TMP/client-guard.log" && break; sleep 0.1; done
sleep 1.5
rm -rf "$CIDLE"
refused=$(grep -o 'client guarded: refused [0-9]* connections from uid 65534' "$TMP/client-guard.log" | awk '{ n += $4; l++ } END { print n + 0, l + 0 }')
echo "# client mode: 40 local connections from uid 65534: $(cat "$TMP/cidle.out"); refused (count, lines): $refused"
check "client mode: a local flood from one source is refused past its share, in at most 2 summary lines" \
    test "${refused% *}" -ge 30 -a "${refused#* }" -le 2
via_client 19448
check "client mode: meanwhile the owner is carried through" test "$out" = $'hello alice\necho ping'

# curl (Debian's curl cannot use a provider key itself) through alice's client
# tunnel to the header service: the badge signs on the token, the backend sees
# the tunnel's X-Cardgate-User only, whatever curl sent.
CLH=$(mkconf webclient <<EOF
[[tls.client]]
name = "webclient"
listen = "127.0.0.1:19447"
connect = "127.0.0.1:18444"
server_name = "localhost"
certificate = "pkcs11:token=alice-ec256;id=%01;type=cert"
key = "pkcs11:token=alice-ec256;id=%01;type=private?pin-source=file:$PINF"
EOF
)
start_client "$CLH" "$TMP/client-web.log" 19447
mark
before=$(seen 18082)
out=$(timeout 20 curl -s -H 'X-Cardgate-User: root' http://127.0.0.1:19447/page 2>&1)
line=$(audit_line)
b=$(last_seen 18082)
if [ "$out" = "users=alice" ] && [ "$(seen 18082)" -eq $((before + 1)) ] &&
    [ "$(printf '%s' "$b" | jq -r '.users|length')" = 1 ] && contains "$line" 'outcome=granted'; then
    ok "curl through the badge's client tunnel to a header service: granted as alice, curl's forged header stripped"
else
    not_ok "curl through the client tunnel"; { echo "out: $out"; echo "backend: $b"; echo "audit: $line"; cat "$TMP/client-web.log"; } | diag
fi

kill -TERM "$MAIN_PID"
wait "$MAIN_PID"
rc=$?
check "SIGTERM stops the server, exit 0" test "$rc" -eq 0
check "no sanitizer report in the tunnels' logs" test -z "$(grep -lE 'Sanitizer|runtime error' "$LOG" "$LOG2" "$TMP"/client*.log)"

check "no audit line carries a private key or PIN" test -z "$(grep -iE 'PRIVATE KEY|pin=|123456' "$LOG" "$LOG2")"

done_testing
