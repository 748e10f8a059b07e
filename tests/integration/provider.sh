#!/bin/bash
# The cardgate provider loaded by stock OpenSSL tools: `openssl s_client
# -provider cardgate` with a badge key and certificate named by pkcs11: URIs
# against `openssl s_server` demanding a client certificate; TLS 1.2 and 1.3
# with RSA and EC badges; pkcs11-spy to see the mechanism the card was asked
# for; the provider configured through an openssl.cnf section; and the
# failures a person meets (wrong PIN, missing PIN file, the wrong key, no
# certificate, a bad URI), each with its message asserted.
#
# Servers run in a private network namespace, so ports never collide.
. "${CARDGATE_SRCDIR:-.}/tests/integration/netns.sh"

. "${CARDGATE_SRCDIR:-.}/tests/integration/tap.sh"

# The loadable module as libtool built it (make check runs in the build tree).
MODDIR=${CARDGATE_PROVIDER_DIR:-$PWD/.libs}
[ -f "$MODDIR/cardgate.so" ] || { echo "1..0 # SKIP no $MODDIR/cardgate.so"; exit 0; }
SPY=/usr/lib/x86_64-linux-gnu/pkcs11-spy.so
# The sanitizer build: the module needs the ASan/UBSan runtimes, which must be
# loaded first into the (uninstrumented) openssl binary. Leaks of openssl
# itself are not ours to report.
# (libtool links C++ modules with -nostdlib: the runtimes are not even NEEDED.)
if nm -D --undefined-only "$MODDIR/cardgate.so" 2>/dev/null | grep -q '__asan_\|__ubsan_'; then
    LD_PRELOAD="$(${CXX:-g++} -print-file-name=libasan.so) $(${CXX:-g++} -print-file-name=libubsan.so)"
    export LD_PRELOAD
    export ASAN_OPTIONS="detect_leaks=0:verify_asan_link_order=0:abort_on_error=1"
fi
: "${SOFTHSM2_MODULE:?}"

# Private copy of the tokens: nothing here may change the shared fixtures.
cp -r "$(sed -n 's/^directories.tokendir *= *//p' "$FIX/softhsm2.conf")" "$TMP/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$TMP/tokens" >"$TMP/softhsm2.conf"
export SOFTHSM2_CONF=$TMP/softhsm2.conf

SOFT_CONF=$(config_with soft "$SOFTHSM2_MODULE" 20s)
SPY_CONF=$(config_with spy "$SPY" 20s)
export CARDGATE_CONF=$SOFT_CONF
GOOD_PIN=$(pin_file 123456)
# Named so that the PIN does not appear in its path (the URI is echoed).
WRONG_PIN=$TMP/wrong-pin
printf '999999\n' >"$WRONG_PIN"
chmod 600 "$WRONG_PIN"
cat "$FIX/pki/root.pem" "$FIX/pki/issuing.pem" >"$TMP/ca.pem"
# "default" first: without a property query, OpenSSL 3.0 takes an algorithm
# from the first provider loaded, and cardgate offers RSA/EC only for card keys.
PROVIDER=(-provider-path "$MODDIR" -provider default -provider cardgate)

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

port=14430
# server SERVER_KEY_KIND: one s_server (one connection) demanding a client
# certificate from the organisation's CA; sets $port and $slog.
server() {
    port=$((port + 1))
    slog=$TMP/server-$port.log
    openssl s_server -accept "127.0.0.1:$port" -cert "$FIX/pki/server-$1.pem" -key "$FIX/pki/server-$1.key" \
        -Verify 1 -verify_return_error -CAfile "$TMP/ca.pem" -naccept 1 -rev >"$slog" 2>&1 &
    PIDS+=($!)
    spid=$!
    local i
    for i in $(seq 100); do
        grep -q '^ACCEPT' "$slog" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "# s_server on $port did not start" >&2
    return 1
}
# client ARGS...: s_client to the last server, one line sent; $rc, $out, $err.
client() {
    local o="$TMP/cout" e="$TMP/cerr"
    { echo cardgate-ping; sleep 1; } |
        timeout -k 5 30 openssl s_client -connect "127.0.0.1:$port" -CAfile "$TMP/ca.pem" -verify_return_error \
            "$@" >"$o" 2>"$e"
    rc=$?
    [ "$rc" -ge 128 ] && echo "# s_client died with status $rc ($*)"
    out=$(cat "$o")
    err=$(cat "$e")
    # The server handles one connection; give it a moment, then make sure.
    local i
    for i in $(seq 30); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    slog_text=$(cat "$slog")
}
key() { echo "pkcs11:token=$1;object=alice;type=private?pin-source=file:$2"; }
cert() { echo "pkcs11:token=$1;object=alice;type=cert"; }

# passed NAME: the server saw alice's badge certificate and data went through.
passed() {
    if contains "$slog_text" "Peer certificate: O = Example Corp, OU = Engineering, CN = Alice Example, UID = alice" &&
        contains "$out" "gnip-etagdrac"; then
        ok "$1"
    else
        not_ok "$1 (client exit $rc)"
        { printf '%s\n' "$err" | head -20; printf '%s\n' "$slog_text" | grep -v '^ ' | head -20; } | diag
    fi
}
# refused NAME MESSAGE: nothing went through and the client said MESSAGE.
refused() {
    if ! contains "$out" "gnip-etagdrac" && contains "$err$out" "$2"; then
        ok "$1"
    else
        not_ok "$1 (client exit $rc; wanted \"$2\")"
        { printf '%s\n' "$err" | head -20; printf '%s\n' "$out" | grep -v '^ ' | tail -5; } | diag
    fi
}

# --- the matrix: TLS 1.2 / 1.3 x RSA / EC badge ----------------------------
for v in tls1_2 tls1_3; do
    for t in alice-rsa2048 alice-ec256; do
        server ec256
        client "-$v" "${PROVIDER[@]}" -key "$(key "$t" "$GOOD_PIN")" -cert "$(cert "$t")"
        passed "$v with the $t badge: mutual TLS through the provider"
    done
done

server rsa2048
client -tls1_3 "${PROVIDER[@]}" -key "$(key alice-rsa2048 "$GOOD_PIN")" -cert "$(cert alice-rsa2048)"
check "TLS 1.3 with an RSA badge signs RSA-PSS (server saw it)" contains "$slog_text" "Signature type: RSA-PSS"

# cardgate loaded first: the property query keeps ordinary work on "default".
server rsa2048
client -tls1_3 -provider-path "$MODDIR" -provider cardgate -provider default -propquery '?provider!=cardgate' \
    -key "$(key alice-ec256 "$GOOD_PIN")" -cert "$(cert alice-ec256)"
passed "cardgate loaded before default, with -propquery ?provider!=cardgate"

# --- the mechanism the card was asked for (pkcs11-spy) ---------------------
if [ -f "$SPY" ]; then
    server ec256
    PKCS11SPY=$SOFTHSM2_MODULE PKCS11SPY_OUTPUT=$TMP/spy.log CARDGATE_CONF=$SPY_CONF \
        client -tls1_3 "${PROVIDER[@]}" -key "$(key alice-rsa2048 "$GOOD_PIN")" -cert "$(cert alice-rsa2048)"
    passed "TLS 1.3 RSA handshake through pkcs11-spy"
    spy=$(cat "$TMP/spy.log" 2>/dev/null)
    # C_SignInit's mechanism, as pkcs11-spy prints it (the mechanism list
    # printed for C_GetMechanismList names CKM_RSA_X_509 too: not a use).
    check "TLS 1.3 RSA: C_SignInit asked for CKM_RSA_PKCS_PSS with SHA-256, MGF1-SHA256, sLen 32" \
        bash -c 'grep -A4 "C_SignInit" "$1" | tr -s " " | grep -q "pMechanism->type = CKM_RSA_PKCS_PSS" &&
                 grep -A8 "C_SignInit" "$1" | grep -q "sLen = 32"' _ "$TMP/spy.log"
    check "TLS 1.3 RSA: C_SignInit never asked for raw RSA (CKM_RSA_X_509)" \
        bash -c '! grep -A2 "C_SignInit" "$1" | grep -q "CKM_RSA_X_509" && grep -q "C_SignInit" "$1"' _ "$TMP/spy.log"
else
    for i in 1 2 3; do ok "# SKIP no pkcs11-spy at $SPY"; done
fi

# --- the PIN through the application's passphrase callback -----------------
server ec256
client -tls1_3 "${PROVIDER[@]}" -pass pass:123456 -key "pkcs11:token=alice-ec256;object=alice;type=private" \
    -cert "$(cert alice-ec256)"
passed "PIN from the application's passphrase callback (s_client -pass)"

# --- loaded through an openssl.cnf section ---------------------------------
cat >"$TMP/openssl.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
cardgate = cardgate_sect
[default_sect]
activate = 1
[cardgate_sect]
module = $MODDIR/cardgate.so
config = $SPY_CONF
activate = 1
CNF
server ec256
rm -f "$TMP/spy2.log"
# CARDGATE_CONF names a file that does not exist: the section's config wins.
OPENSSL_CONF=$TMP/openssl.cnf CARDGATE_CONF=$TMP/absent.conf PKCS11SPY=$SOFTHSM2_MODULE PKCS11SPY_OUTPUT=$TMP/spy2.log \
    client -tls1_2 -key "$(key alice-ec256 "$GOOD_PIN")" -cert "$(cert alice-ec256)"
passed "provider loaded from an openssl.cnf section (OPENSSL_CONF)"
check "the section's config = wins over CARDGATE_CONF" test -s "$TMP/spy2.log"

# --- CARDGATE_CONF in a set-uid program (AT_SECURE) -------------------------
# The provider reads CARDGATE_CONF with secure_getenv: a set-uid openssl run by
# another user ignores it (its caller chose the environment), while the same
# openssl without the set-uid bit reads it. Skipped where that cannot be set up
# (not really root, a nosuid TMPDIR, the sanitizer build's LD_PRELOAD).
store_as_nobody() {
    CARDGATE_CONF=$TMP/absent.conf timeout -k 5 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$1" storeutl -provider-path "$MODDIR" -provider default -provider cardgate -certs "$(cert alice-ec256)" 2>&1
}
if [ -z "${LD_PRELOAD:-}" ] && ! findmnt -no OPTIONS -T "$TMP" | grep -qw nosuid &&
    setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
    mkdir -p "$TMP/suid"
    chmod 711 "$TMP" "$TMP/suid"
    cp "$(command -v openssl)" "$TMP/suid/openssl"
    chmod 4755 "$TMP/suid/openssl"
    suid_out=$(store_as_nobody "$TMP/suid/openssl")
    plain_out=$(store_as_nobody "$(command -v openssl)")
    check "a set-uid openssl run by another user ignores CARDGATE_CONF (secure_getenv)" \
        bash -c '[[ $1 == *cardgate:* && $1 != *absent.conf* ]]' _ "$suid_out"
    [[ $suid_out != *absent.conf* ]] || printf '%s\n' "$suid_out" | head -5 | diag
    check "... while the same openssl without the set-uid bit reads it" contains "$plain_out" "$TMP/absent.conf"
fi

# --- hostile ---------------------------------------------------------------
server ec256
client -tls1_3 "${PROVIDER[@]}" -key "$(key alice-ec256 "$WRONG_PIN")" -cert "$(cert alice-ec256)"
refused "wrong PIN in the pin-source: refused with p11_pin_incorrect" "p11_pin_incorrect"
check "wrong PIN: the message says the PIN was incorrect, not what it was" \
    bash -c 'grep -q "incorrect PIN" <<<"$1" && ! grep -q 999999 <<<"$1"' _ "$err"

server ec256
client -tls1_3 "${PROVIDER[@]}" -key "$(key alice-ec256 "$TMP/no-such-pin")" -cert "$(cert alice-ec256)"
refused "missing pin-source file: refused naming the file" "$TMP/no-such-pin"

server ec256
client -tls1_3 "${PROVIDER[@]}" -key "$(key copied "$GOOD_PIN")" -cert "$(cert copied)"
refused "key of 'copied' with alice's certificate: refused before any handshake" "key values mismatch"
check "key of 'copied': the server accepted no connection" bash -c '! grep -q "Peer certificate" <<<"$1"' _ "$slog_text"

server ec256
client -tls1_3 "${PROVIDER[@]}"
refused "no client certificate: the server refuses the handshake" "alert"
check "no client certificate: the server says why" contains "$slog_text" "peer did not return a certificate"

server ec256
client -tls1_3 "${PROVIDER[@]}" -key "pkcs11:token=alice%zz;type=private" -cert "$(cert alice-ec256)"
refused "malformed pkcs11: URI: refused with uri_syntax" "uri_syntax"

server ec256
client -tls1_3 "${PROVIDER[@]}" -key "pkcs11:token=alice-ec256;object=nobody;type=private?pin-source=file:$GOOD_PIN" \
    -cert "$(cert alice-ec256)"
refused "URI naming no key: refused with p11_no_object" "p11_no_object"

server ec256
client -tls1_3 "${PROVIDER[@]}" -key "pkcs11:token=alice-ec256;object=alice;type=private" -cert "$(cert alice-ec256)" </dev/null
refused "no PIN source and no terminal: refused, no PIN guessed" "p11_"

done_testing
