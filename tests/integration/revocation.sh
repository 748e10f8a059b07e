#!/bin/bash
# Revocation end to end, through `cardgate revocation status` and `cardgate
# verify`: real `openssl ocsp` responders, a real HTTP server for CRLs
# (python3 -m http.server) and a hostile one, all inside a private network
# namespace (OpenSSL 3.0's responder listens on every interface).
#
# Ports (the fixture certificates name them): the leaves' AIA OCSP 18888 (the
# issuing CA's responder), the issuing CA's AIA OCSP 18889 (the root's), the
# CRL distribution points http://127.0.0.1:18080/{root,issuing}.crl.
. "${CARDGATE_SRCDIR:-.}/tests/integration/netns.sh"

. "${CARDGATE_SRCDIR:-.}/tests/integration/tap.sh"

CAS=$FIX/ca
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# wait_port PORT: until something accepts on 127.0.0.1:PORT (at most 10 s).
wait_port() {
    local i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "# nothing listens on port $1" >&2
    return 1
}

# ocsp_responder PORT INDEX SIGNER_CERT SIGNER_KEY CA_CERT: a real responder.
ocsp_responder() {
    openssl ocsp -index "$2" -port "$1" -rsigner "$3" -rkey "$4" -CA "$5" -nmin 60 \
        >>"$TMP/ocsp-$1.log" 2>&1 &
    PIDS+=($!)
    eval "PORT_PID_$1=$!"
    # Not wait_port: OpenSSL 3.0's responder serves one connection at a time
    # and hangs on one that closes without a request. It says when it listens.
    local i
    for i in $(seq 100); do
        grep -q "waiting for OCSP client connections" "$TMP/ocsp-$1.log" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "# the OCSP responder on port $1 did not start" >&2
    return 1
}
stop_port_owner() {  # stop_port_owner PORT: stops the server started on PORT
    local v="PORT_PID_$1"
    kill "${!v}" 2>/dev/null
    wait "${!v}" 2>/dev/null
}

# A hostile HTTP server: "file PATH" answers every request with PATH's bytes
# (status 200), "stall" accepts and never answers.
cat >"$TMP/hostile.py" <<'PY'
import socket, sys, threading
port, mode = int(sys.argv[1]), sys.argv[2]
body = open(sys.argv[3], "rb").read() if mode == "file" else b""
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
held = []
def answer(c):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            return
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            need = int(line.split(b":")[1]) - len(rest)
            while need > 0:
                chunk = c.recv(need)
                if not chunk:
                    break
                need -= len(chunk)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    c.close()
while True:
    c, _ = s.accept()
    if mode == "stall":
        held.append(c)
    else:
        threading.Thread(target=answer, args=(c,), daemon=True).start()
PY
hostile() {  # hostile PORT MODE [FILE]
    python3 "$TMP/hostile.py" "$@" >>"$TMP/hostile-$1.log" 2>&1 &
    PIDS+=($!)
    eval "PORT_PID_$1=$!"
    wait_port "$1"
}

WWW=$TMP/www
mkdir -p "$WWW"
crl_server() {
    python3 -m http.server --bind 127.0.0.1 18080 --directory "$WWW" >>"$TMP/http.log" 2>&1 &
    PIDS+=($!)
    PORT_PID_18080=$!
    wait_port 18080
}
der() { openssl crl -in "$1" -outform DER -out "$2"; }

# mkconf NAME: a config like the fixtures' with the [trust] lines from stdin
# (anchors, intermediates and a private cache directory are added); prints its path.
mkconf() {
    local f=$TMP/$1.conf cache=$TMP/cache-$1
    mkdir -p "$cache"
    chmod 0755 "$cache"
    {
        sed -n '1,/^\[trust\]/p' "$CONF"
        echo "anchors = [\"$FIX/pki/root.pem\"]"
        echo "intermediates = [\"$FIX/pki/issuing.pem\"]"
        echo "cache_dir = \"$cache\""
        cat
        echo
        sed -n '/^\[purpose.login\]/,$p' "$CONF"
    } >"$f"
    chmod 600 "$f"
    echo "$f"
}
status() {  # status CONF CERT [--offline]
    run "$CARDGATE_BIN" --config "$1" --json revocation status ${3:-} "$FIX/certs/$2.pem"
}
field() { printf '%s' "$out" | jq -r "$1" 2>/dev/null; }
# says NAME TEXT: the refusal's detail contains TEXT (shown when it does not).
says() {
    local d
    d=$(field '.error.detail')
    if contains "$d" "$2"; then ok "$1"; else not_ok "$1"; printf 'detail: %s\n' "$d" | diag; fi
}

# ------------------------------------------------------------------- OCSP
ocsp_responder 18888 "$CAS/issuing/index.txt" "$FIX/pki/ocsp-responder.pem" "$CAS/ocsp-responder.key" "$FIX/pki/issuing.pem"
ocsp_responder 18889 "$CAS/root/index.txt" "$FIX/pki/root.pem" "$CAS/root/ca.key" "$FIX/pki/root.pem"

C=$(mkconf ocsp <<EOF
crls = ["$FIX/pki/root.crl"]
revocation = "ocsp,crl"
EOF
)
status "$C" alice-ec256
expect "OCSP: a good badge is good" 0 ok
check "OCSP: the leaf was answered by its AIA responder (delegated, OCSPSigning)" \
    test "$(field '.chain[0].source')" = "OCSP http://127.0.0.1:18888/" -a "$(field '.chain[0].status')" = good
check "OCSP: the issuing CA was answered by the root's responder (signed by the root itself)" \
    test "$(field '.chain[1].source')" = "OCSP http://127.0.0.1:18889/"
check "OCSP: the root, an anchor, fell to its CRL" contains "$(field '.chain[2].source')" "CRL $FIX/pki/root.crl"
check "OCSP: each answer says how old it is" test "$(field '.chain[0].age_seconds')" -lt 600
check "OCSP: responses are kept in the cache directory, world-readable, root-written" \
    test "$(find "$TMP/cache-ocsp" -name 'ocsp-*.idx' -perm 0644 | wc -l)" -eq 2

status "$C" revoked
expect "OCSP: a revoked badge is revoked" 1 cert_revoked
check "OCSP: the revocation names the responder and the reason" \
    test "$(field '.chain[0].source')" = "OCSP http://127.0.0.1:18888/" -a "$(field '.chain[0].reason')" = keyCompromise

run "$CARDGATE_BIN" --config "$C" --json verify "$FIX/certs/revoked.pem"
expect "OCSP: cardgate verify refuses the revoked badge" 1 cert_revoked

# Kept answers are used while current: with the responders gone, the same status.
stop_port_owner 18888
stop_port_owner 18889
status "$C" alice-ec256
expect "OCSP: a kept response answers while the responder is down" 0 ok
check "OCSP: ... and says it was kept" test "$(field '.chain[0].kept')" = true

# Responder down, nothing kept.
C=$(mkconf down <<EOF
crls = ["$FIX/pki/root.crl"]
revocation = "ocsp,crl"
ocsp_responder = "http://127.0.0.1:18899/"
EOF
)
status "$C" alice-ec256
expect "OCSP: responder down, nothing kept -> unknown -> denied" 1 cert_revocation_unknown
says "OCSP: ... naming the responder and why" "127.0.0.1:18899"
C=$(mkconf down-allow <<EOF
crls = ["$FIX/pki/root.crl"]
revocation = "ocsp,crl"
ocsp_responder = "http://127.0.0.1:18899/"
on_unknown = "allow"
EOF
)
run "$CARDGATE_BIN" --config "$C" --json verify "$FIX/certs/alice-ec256.pem"
expect "OCSP: responder down with on_unknown = allow -> let through" 0 ok
check "OCSP: ... and the verdict says it was let through" \
    contains "$(field '.steps[] | select(.step == "revocation") | .detail')" 'allowed by trust.on_unknown = "allow"'

# A responder that answers "unknown" (alice missing from its index): CRL answers.
grep -v "$(. "$FIX/fixtures.env"; echo "$SERIAL_alice_ec256")" "$CAS/issuing/index.txt" >"$TMP/index-noalice.txt"
cp "$CAS/issuing/index.txt.attr" "$TMP/index-noalice.txt.attr"   # unique_subject = no
ocsp_responder 18890 "$TMP/index-noalice.txt" "$FIX/pki/ocsp-responder.pem" "$CAS/ocsp-responder.key" "$FIX/pki/issuing.pem"
C=$(mkconf unknown <<EOF
crls = ["$FIX/pki/root.crl", "$FIX/pki/issuing.crl"]
revocation = "ocsp,crl"
ocsp_responder = "http://127.0.0.1:18890/"
EOF
)
status "$C" alice-ec256
expect "OCSP unknown: the CRL answers next (ocsp,crl)" 0 ok
check "OCSP unknown: ... the leaf's source is the CRL" test "$(field '.chain[0].source')" = "CRL $FIX/pki/issuing.crl"
C=$(mkconf unknown-only <<EOF
crls = ["$FIX/pki/root.crl"]
revocation = "ocsp,crl"
ocsp_responder = "http://127.0.0.1:18890/"
EOF
)
status "$C" alice-ec256
expect "OCSP unknown and no CRL for the leaf -> unknown -> denied" 1 cert_revocation_unknown
says "OCSP unknown: ... says the responder does not know it" "does not know"

# Responders whose signer is not allowed.
ocsp_responder 18891 "$CAS/issuing/index.txt" "$FIX/pki/ocsp-foreign.pem" "$CAS/ocsp-foreign.key" "$FIX/pki/issuing.pem"
ocsp_responder 18892 "$CAS/issuing/index.txt" "$FIX/pki/ocsp-noeku.pem" "$CAS/ocsp-noeku.key" "$FIX/pki/issuing.pem"
for case in "18891 signed by a responder of another CA (wrong key)" "18892 delegated responder without OCSPSigning"; do
    port=${case%% *}
    C=$(mkconf "bad-$port" <<EOF
crls = ["$FIX/pki/root.crl"]
revocation = "ocsp,crl"
ocsp_responder = "http://127.0.0.1:$port/"
EOF
)
    status "$C" revoked
    expect "OCSP ${case#* } -> refused -> unknown, never good" 1 cert_revocation_unknown
    check "OCSP ${case#* }: nothing kept" test -z "$(find "$TMP/cache-bad-$port" -name 'ocsp-*')"
done

# Issue 13, defect 5: a delegated responder whose keyUsage lacks
# digitalSignature, or whose certificate has an unknown critical extension,
# is believed neither for "good" nor for "revoked".
ocsp_responder 18870 "$CAS/issuing/index.txt" "$FIX/pki/ocsp-badku.pem" "$CAS/ocsp-badku.key" "$FIX/pki/issuing.pem"
ocsp_responder 18871 "$CAS/issuing/index.txt" "$FIX/pki/ocsp-critext.pem" "$CAS/ocsp-critext.key" "$FIX/pki/issuing.pem"
for case in "18870 keyUsage does not allow digitalSignature" "18871 unknown critical extension"; do
    port=${case%% *}
    C=$(mkconf "resp-$port" <<EOF
crls = ["$FIX/pki/root.crl"]
revocation = "ocsp"
ocsp_responder = "http://127.0.0.1:$port/"
EOF
)
    for badge in alice-ec256 revoked; do
        run "$CARDGATE_BIN" --config "$C" --json verify "$FIX/certs/$badge.pem"
        expect "OCSP responder with ${case#* }: $badge -> not believed -> unknown" 1 cert_revocation_unknown
        says "OCSP responder with ${case#* }: ... says why" "${case#* }"
    done
done

# A delegated responder without id-pkix-ocsp-nocheck is checked like any
# certificate, by its issuer's CRL; with id-pkix-ocsp-nocheck it is not, and
# the verdict says which.
ocsp_responder 18872 "$CAS/issuing/index.txt" "$FIX/pki/ocsp-checked.pem" "$CAS/ocsp-checked.key" "$FIX/pki/issuing.pem"
ocsp_responder 18873 "$CAS/issuing/index.txt" "$FIX/pki/ocsp-revoked-responder.pem" "$CAS/ocsp-revoked-responder.key" \
    "$FIX/pki/issuing.pem"
C=$(mkconf resp-checked <<EOF
crls = ["$FIX/pki/root.crl", "$FIX/pki/issuing.crl"]
revocation = "ocsp"
ocsp_responder = "http://127.0.0.1:18872/"
EOF
)
status "$C" alice-ec256   # (the issuing CA itself this responder cannot answer for: unknown at depth 1)
check "OCSP responder without nocheck, good by the issuing CA's CRL: its answer is used" \
    test "$(field '.chain[0].status')" = good -a "$(field '.chain[0].source')" = "OCSP http://127.0.0.1:18872/"
check "... and the verdict says the responder was checked" contains "$(field '.chain[0].detail')" \
    "delegated responder CN=ocsp-checked,O=Example Corp: good by CRL $FIX/pki/issuing.crl"
C=$(mkconf resp-unchecked <<EOF
crls = ["$FIX/pki/root.crl"]
revocation = "ocsp"
ocsp_responder = "http://127.0.0.1:18872/"
EOF
)
status "$C" alice-ec256
check "OCSP responder without nocheck and no CRL to check it: not used -> unknown" \
    test "$rc" -eq 1 -a "$(field '.chain[0].status')" = unknown
check "... says its own status is unknown" contains "$(field '.chain[0].detail')" \
    "has no id-pkix-ocsp-nocheck and its own status is unknown"
C=$(mkconf resp-revoked <<EOF
crls = ["$FIX/pki/root.crl", "$FIX/pki/issuing-revokes-responder.crl"]
revocation = "ocsp"
ocsp_responder = "http://127.0.0.1:18873/"
EOF
)
status "$C" alice-ec256
check "a revoked OCSP responder's \"good\" is not believed -> unknown" \
    test "$rc" -eq 1 -a "$(field '.chain[0].status')" = unknown
check "... says the responder is revoked" contains "$(field '.chain[0].detail')" \
    "ocsp-revoked-responder,O=Example Corp is revoked (keyCompromise"
status "$C" revoked
check "a revoked OCSP responder's \"revoked\" stands (dropping it could only help the badge)" \
    test "$rc" -eq 1 -a "$(field '.chain[0].status')" = revoked
check "... and says so" contains "$(field '.chain[0].detail')" "a revocation, used whatever the responder's own status"
ocsp_responder 18874 "$CAS/issuing/index.txt" "$FIX/pki/ocsp-responder.pem" "$CAS/ocsp-responder.key" "$FIX/pki/issuing.pem"
C=$(mkconf resp-nocheck <<EOF
crls = ["$FIX/pki/root.crl"]
revocation = "ocsp"
ocsp_responder = "http://127.0.0.1:18874/"
EOF
)
status "$C" alice-ec256
check "OCSP responder with id-pkix-ocsp-nocheck: the verdict says its status was not checked" \
    contains "$(field '.chain[0].detail')" "delegated responder CN=ocsp-responder,O=Example Corp: id-pkix-ocsp-nocheck"

# A slow responder: the fetch timeout holds.
hostile 18893 stall
C=$(mkconf slow <<EOF
crls = ["$FIX/pki/root.crl"]
revocation = "ocsp,crl"
ocsp_responder = "http://127.0.0.1:18893/"
fetch_timeout = "1s"
EOF
)
t0=$(date +%s%N)
status "$C" alice-ec256
t1=$(date +%s%N)
expect "OCSP: a stalling responder -> unknown" 1 cert_revocation_unknown
check "OCSP: ... within the timeout ($(( (t1 - t0) / 1000000 )) ms at 1 s per request)" \
    test $(( (t1 - t0) / 1000000 )) -lt 8000
says "OCSP: ... saying it timed out" "timed out"

# Replies captured from the real responder and replayed by a hostile server.
ocsp_responder 18894 "$CAS/issuing/index.txt" "$FIX/pki/ocsp-responder.pem" "$CAS/ocsp-responder.key" "$FIX/pki/issuing.pem"
openssl ocsp -issuer "$FIX/pki/issuing.pem" -cert "$FIX/certs/alice-ec256.pem" -url http://127.0.0.1:18894/ \
    -respout "$TMP/alice-nonce.der" -noverify >/dev/null 2>&1
openssl ocsp -issuer "$FIX/pki/issuing.pem" -cert "$FIX/certs/alice-ec256.pem" -url http://127.0.0.1:18894/ \
    -no_nonce -respout "$TMP/alice-nononce.der" -noverify >/dev/null 2>&1
openssl ocsp -issuer "$FIX/pki/issuing.pem" -cert "$FIX/certs/bob-ec256.pem" -url http://127.0.0.1:18894/ \
    -no_nonce -respout "$TMP/bob.der" -noverify >/dev/null 2>&1
hostile 18895 file "$TMP/alice-nonce.der"
hostile 18896 file "$TMP/alice-nononce.der"
hostile 18897 file "$TMP/bob.der"
replay() {  # replay NAME PORT NONCE MAX_AGE
    mkconf "$1" <<EOF
crls = ["$FIX/pki/root.crl"]
revocation = "ocsp,crl"
ocsp_responder = "http://127.0.0.1:$2/"
ocsp_nonce = $3
ocsp_max_age = "$4"
EOF
}
status "$(replay nonce 18895 true 1h)" alice-ec256
expect "OCSP: a response with another request's nonce -> refused" 1 cert_revocation_unknown
says "OCSP: ... says the nonce does not match" "nonce"
status "$(replay nononce 18896 true 1h)" alice-ec256
expect "OCSP: a response without our nonce (replayable) -> refused" 1 cert_revocation_unknown
status "$(replay nononce-off 18896 false 1h)" alice-ec256
expect "OCSP: ... accepted with ocsp_nonce = false (a responder that cannot echo nonces)" 0 ok
status "$(replay other 18897 false 1h)" alice-ec256
expect "OCSP: a response about another certificate -> refused" 1 cert_revocation_unknown
sleep 2
status "$(replay old 18896 false 1s)" alice-ec256
expect "OCSP: a replayed response older than ocsp_max_age -> refused" 1 cert_revocation_unknown
says "OCSP: ... says it is too old" "too old"

# Grace: a kept response past its expiry, the responder gone.
C=$(mkconf grace <<EOF
crls = ["$FIX/pki/root.crl"]
revocation = "ocsp,crl"
ocsp_responder = "http://127.0.0.1:18894/"
ocsp_max_age = "2s"
EOF
)
status "$C" alice-ec256
expect "OCSP grace: a first answer is kept" 0 ok
stop_port_owner 18894
sleep 3
status "$C" alice-ec256
expect "OCSP grace: expired kept answer, responder down, no max_staleness -> denied" 1 cert_revocation_unknown
sed -i 's/^ocsp_max_age = "2s"/ocsp_max_age = "2s"\nmax_staleness = "1h"/' "$C"
status "$C" alice-ec256
expect "OCSP grace: ... with max_staleness = 1h -> used" 0 ok
check "OCSP grace: ... and marked stale" test "$(field '.chain[0].stale')" = true

# -------------------------------------------------------------- downloaded CRLs
der "$FIX/pki/issuing.crl" "$WWW/issuing.crl"
der "$FIX/pki/root.crl" "$WWW/root.crl"
crl_server
C=$(mkconf fetch <<EOF
revocation = "crl"
fetch_crls = true
EOF
)
status "$C" alice-ec256
expect "CRL DP: downloaded CRLs say a good badge is good" 0 ok
check "CRL DP: the leaf's source is its distribution point" \
    test "$(field '.chain[0].source')" = "CRL http://127.0.0.1:18080/issuing.crl"
check "CRL DP: the issuing CA's source is the root's CRL" \
    test "$(field '.chain[1].source')" = "CRL http://127.0.0.1:18080/root.crl"
check "CRL DP: indexes kept, 0644" test "$(find "$TMP/cache-fetch" -name 'crlfetch-*.idx' -perm 0644 | wc -l)" -eq 2
status "$C" revoked
expect "CRL DP: a revoked badge is revoked" 1 cert_revoked
stop_port_owner 18080
status "$C" alice-ec256
expect "CRL DP: with the server down the kept CRLs answer" 0 ok
check "CRL DP: ... marked kept" test "$(field '.chain[0].kept')" = true
status "$C" alice-ec256 --offline
expect "revocation status --offline uses only what is kept" 0 ok

crl_case() {  # crl_case NAME WANT_RC WANT_CODE DESCRIPTION: a fresh cache, the www content as it is now
    local c
    c=$(mkconf "$1" <<EOF
revocation = "crl"
fetch_crls = true
crl_max_size = ${CRL_MAX:-134217728}
EOF
)
    status "$c" alice-ec256
    expect "$4" "$2" "$3"
}
crl_server
der "$FIX/pki/root-revoked-issuing.crl" "$WWW/root.crl"
crl_case revint 1 cert_revoked "CRL DP: the root's CRL revokes the issuing CA -> the leaf fails"
says "CRL DP: ... at depth 1" "depth 1"
der "$FIX/pki/root.crl" "$WWW/root.crl"

# A CRL with the issuing CA's name signed by the look-alike CA's key.
CADIR=$CAS/lookalike openssl ca -config "$CAS/ca.cnf" -gencrl -crldays 30 -out "$TMP/forged.crl" >/dev/null 2>&1
der "$TMP/forged.crl" "$WWW/issuing.crl"
crl_case forged 1 cert_revocation_unknown "CRL DP: a CRL whose signature is not the issuer's -> refused"
says "CRL DP: ... says the signature does not verify" "signature"

der "$FIX/pki/issuing-stale.crl" "$WWW/issuing.crl"
crl_case stale 1 cert_revocation_unknown "CRL DP: a stale CRL -> unknown"

head -c 100 "$FIX/pki/issuing.crl.der" >"$WWW/issuing.crl"
crl_case truncated 1 cert_revocation_unknown "CRL DP: a truncated download -> refused"
printf 'garbage, not a CRL\n' >"$WWW/issuing.crl"
crl_case garbage 1 cert_revocation_unknown "CRL DP: a garbage download -> refused"
# Issue 13: a download that cannot be used, newer than the trust.crls file
# that would answer "good": unknown, naming both.
for c in delta critical; do
    der "$FIX/pki/issuing-$c-revokes-alice.crl" "$WWW/issuing.crl"
    C=$(mkconf "dl-$c" <<EOF
crls = ["$FIX/pki/root.crl", "$FIX/pki/issuing.crl"]
revocation = "crl"
fetch_crls = true
EOF
)
    run "$CARDGATE_BIN" --config "$C" --json verify "$FIX/certs/alice-ec256.pem"
    expect "CRL DP: a newer $c CRL downloaded beside an older file -> unknown, not good" 1 cert_revocation_unknown
    says "CRL DP: ... naming the download" "CRL http://127.0.0.1:18080/issuing.crl"
    says "CRL DP: ... and the older file" "CRL $FIX/pki/issuing.crl (number"
done
# Junk at the distribution point is an outage, not a CRL: the current file answers.
printf '<html>maintenance</html>\n' >"$WWW/issuing.crl"
C=$(mkconf dl-junk <<EOF
crls = ["$FIX/pki/root.crl", "$FIX/pki/issuing.crl"]
revocation = "crl"
fetch_crls = true
EOF
)
run "$CARDGATE_BIN" --config "$C" --json verify "$FIX/certs/alice-ec256.pem"
expect "CRL DP: junk downloaded beside a current file -> the file answers" 0 ok
rm -f "$WWW/issuing.crl"
crl_case missing 1 cert_revocation_unknown "CRL DP: 404 -> unknown"
says "CRL DP: ... naming the status" "404"

# A genuine CRL of the issuing CA, larger than the limit (forty more entries).
cp -r "$CAS/issuing" "$TMP/ca-big"
for i in $(seq 40); do
    printf 'R\t301231235959Z\t251127000000Z,keyCompromise\t%032X\tunknown\t/CN=x%d\n' "$i" "$i"
done >>"$TMP/ca-big/index.txt"
CADIR=$TMP/ca-big openssl ca -config "$CAS/ca.cnf" -gencrl -crldays 30 -out "$TMP/big.crl" >/dev/null 2>&1
der "$TMP/big.crl" "$WWW/issuing.crl"
check "a CRL of more than 1024 bytes was made" test "$(stat -c %s "$WWW/issuing.crl")" -gt 1024
CRL_MAX=1024 crl_case toolarge 1 cert_revocation_unknown "CRL DP: a CRL larger than crl_max_size -> refused"
says "CRL DP: ... says it is too large" "larger than"

# CRL number never goes backwards; stale grace for CRLs.
now_plus() { date -u -d "@$(( $(date +%s) + $1 ))" +%Y%m%d%H%M%SZ; }
cp -r "$CAS/issuing" "$TMP/ca-issuing"
CADIR=$TMP/ca-issuing openssl ca -config "$CAS/ca.cnf" -gencrl -crl_lastupdate "$(now_plus -60)" \
    -crl_nextupdate "$(now_plus 3)" -out "$TMP/short.crl" >/dev/null 2>&1
der "$TMP/short.crl" "$WWW/issuing.crl"
C=$(mkconf numbers <<EOF
revocation = "crl"
fetch_crls = true
EOF
)
status "$C" alice-ec256
expect "CRL number: a short-lived newer CRL (number $(openssl crl -in "$TMP/short.crl" -noout -crlnumber | cut -d= -f2)) is kept" 0 ok
sleep 4
der "$FIX/pki/issuing.crl" "$WWW/issuing.crl"   # current, but an older number
status "$C" alice-ec256
expect "CRL number: an older CRL offered after it -> refused, nothing current" 1 cert_revocation_unknown
says "CRL number: ... says a CRL never goes backwards" "never goes backwards"
sed -i 's/^fetch_crls = true/fetch_crls = true\nmax_staleness = "1h"/' "$C"
status "$C" alice-ec256
expect "CRL grace: the kept CRL past its nextUpdate is used within max_staleness" 0 ok
check "CRL grace: ... marked stale" test "$(field '.chain[0].stale')" = true
# A newer CRL that cannot be used, downloaded from the kept CRL's own place:
# an outage for that place, so the kept CRL answers STALE within the grace.
der "$FIX/pki/issuing-critical-revokes-alice.crl" "$WWW/issuing.crl"
status "$C" alice-ec256
expect "CRL grace: a refused newer download from the same place -> the kept CRL answers within max_staleness" 0 ok
check "CRL grace: ... marked stale" test "$(field '.chain[0].stale')" = true
check "CRL grace: ... saying why" contains "$(field '.chain[0].source')" "unknown critical CRL extension"
sed -i '/^max_staleness = "1h"/d' "$C"
status "$C" alice-ec256
expect "CRL grace: ... and without max_staleness -> unknown" 1 cert_revocation_unknown

# refresh: downloads what is due, and fails visibly when it cannot.
der "$FIX/pki/issuing.crl" "$WWW/issuing.crl"
C=$(mkconf refresh <<EOF
revocation = "crl"
fetch_crls = true
EOF
)
run "$CARDGATE_BIN" --config "$C" revocation refresh
check "refresh: downloads the configured CA's distribution point (the root's CRL), exit 0" \
    test "$rc" -eq 0 -a "$(find "$TMP/cache-refresh" -name 'crlfetch-*.idx' | wc -l)" -eq 1
run "$CARDGATE_BIN" --config "$C" --json revocation refresh
check "refresh: a current kept CRL is not due: exit 0" test "$rc" -eq 0 -a "$(field '.problems')" -eq 0
check "refresh: ... and says so" contains "$out" "not due"
stop_port_owner 18080
rm -f "$TMP/cache-refresh"/crlfetch-*
run "$CARDGATE_BIN" --config "$C" --json revocation refresh
check "refresh: with the server down a due CRL is a problem: exit 1" \
    test "$rc" -eq 1 -a "$(field '.problems')" -ge 1

# ------------------------------------------------------------ CRL file indexes
mkdir -p "$TMP/crls"
cp "$FIX/pki/root.crl" "$FIX/pki/issuing.crl" "$TMP/crls/"
sleep 2   # not "racily recent" (index_file.hpp): the index may be stored
C=$(mkconf files <<EOF
crls = ["$TMP/crls/root.crl", "$TMP/crls/issuing.crl"]
revocation = "crl"
EOF
)
status "$C" alice-ec256
expect "CRL files: good" 0 ok
idx=$(find "$TMP/cache-files" -name 'crlfile-*.idx' | wc -l)
check "CRL files: one index per file stored in the cache directory" test "$idx" -eq 2
status "$C" revoked
expect "CRL files: revoked through the stored index" 1 cert_revoked
# Tamper with every stored index: flip bytes near the end (the serial slots).
for f in "$TMP/cache-files"/crlfile-*.idx; do
    size=$(stat -c %s "$f")
    printf '\xff\xff\xff\xff' | dd of="$f" bs=1 seek=$((size - 48)) conv=notrunc status=none
done
status "$C" revoked
expect "CRL index tampered: detected, the revoked badge is still revoked" 1 cert_revoked
status "$C" alice-ec256
expect "CRL index tampered: rebuilt from the CRL, the good badge is good" 0 ok

# A badge on a token, named by its URI.
run "$CARDGATE_BIN" --config "$CONF" --json revocation status "pkcs11:token=alice-ec256;object=alice;type=cert"
expect "revocation status of a badge named by a pkcs11: URI" 0 ok
check "... answered by the CRL files, the whole chain" test "$(field '.chain | length')" -eq 3
run "$CARDGATE_BIN" --config "$CONF" --json revocation status "pkcs11:token=hostile;object=revoked;type=cert"
expect "revocation status of a revoked badge on a token" 1 cert_revoked
run "$CARDGATE_BIN" --config "$CONF" revocation frobnicate
check "an unknown revocation subcommand is a usage error (exit $rc)" test "$rc" -eq 2

done_testing
