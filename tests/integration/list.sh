#!/bin/bash
# cardgate list and check-config.
. "${CARDGATE_SRCDIR:-.}/tests/integration/tap.sh"

run "$CARDGATE_BIN" --config "$CONF" --json list
expect "list succeeds" 0 ok
labels=$(printf '%s' "$out" | jq -r '[.slots[].token | select(.initialized != false) | .label] | sort | join(",")')
check "list shows every fixture badge ($labels)" \
    test "$labels" = "alice-ec256,alice-ec384,alice-rsa2048,alice-rsa4096,bob,copied,hostile,two-certs"
n=$(printf '%s' "$out" | jq '[.slots[].token | select(.label == "two-certs") | .certificates[]] | length')
check "the two-certs badge shows two certificates ($n)" test "$n" = 2
subj=$(printf '%s' "$out" | jq -r '.slots[].token | select(.label == "alice-ec256") | .certificates[0].subject')
check "certificate subject is shown in RFC 4514 order ($subj)" test "$subj" = "UID=alice,CN=Alice Example,OU=Engineering,O=Example Corp"
mechs=$(printf '%s' "$out" | jq -r '.slots[].token | select(.label == "alice-rsa2048") | [.sign_mechanisms[].name] | join(" ")')
check "sign mechanisms are listed" contains "$mechs" "CKM_RSA_PKCS_PSS"
run "$CARDGATE_BIN" --config "$CONF" list
check "human list shows the PIN state" contains "$out" "PIN       ok"

run "$CARDGATE_BIN" --config "$CONF" --json list 'pkcs11:token=bob'
n=$(printf '%s' "$out" | jq '[.slots[] | select(.token)] | length')
check "list with a URI shows only the matching badge ($n)" test "$n" = 1
run "$CARDGATE_BIN" --config "$CONF" --json list 'pkcs11:token=nobody'
expect "list with a URI matching nothing" 3 p11_no_token
run "$CARDGATE_BIN" --config "$CONF" --json list 'pkcs11:token=%'
expect "list with a malformed URI" 2 uri_syntax

run "$CARDGATE_BIN" --config "$CONF" --json list --module /nonexistent/module.so
expect "a missing module is refused" 2 config_file
cp "$SOFTHSM2_MODULE" "$TMP/module.so"; chmod 666 "$TMP/module.so"
run "$CARDGATE_BIN" --config "$CONF" --json list --module "$TMP/module.so"
expect "a world-writable module is never loaded" 2 config_file
chmod 644 "$TMP/module.so"; printf 'not ELF' >"$TMP/fake.so"
run "$CARDGATE_BIN" --config "$CONF" --json list --module "$TMP/fake.so"
expect "a file that is not a PKCS#11 module" 3 p11_load
run "$CARDGATE_BIN" --config "$CONF" --json list "pkcs11:token=bob?module-path=$TMP/module.so"
expect "module-path in a URI is not honoured" 2 usage

# A hostile module: terminal escapes and invalid UTF-8 in a label, absurd
# attribute sizes, a million slots. Never a crash, never raw escapes.
export FAULTP11_REAL=$SOFTHSM2_MODULE
FCFG=$(config_with fault "$FAULTP11_MODULE" 5s)
FAULTP11_FAULTS=hostile_label run "$CARDGATE_BIN" --config "$FCFG" list 'pkcs11:token=alice-ec256'
check "a hostile label in an unmatched listing yields no token (exit $rc)" test "$rc" -eq 3
FAULTP11_FAULTS=hostile_label run "$CARDGATE_BIN" --config "$FCFG" list
check "a hostile label is listed without crashing (exit $rc)" test "$rc" -eq 0
check "no raw escape character reaches the terminal" bash -c '! printf "%s" "$1" | grep -q $'"'"'\x1b'"'"'' _ "$out"
check "the escape is shown escaped" contains "$out" 'evil\x1b[2J\x0a\xff'
FAULTP11_FAULTS=hostile_label run "$CARDGATE_BIN" --config "$FCFG" --json list
check "a hostile label gives valid JSON (exit $rc)" bash -c 'printf "%s" "$1" | jq -e .slots >/dev/null' _ "$out"
FAULTP11_FAULTS=huge_attr run "$CARDGATE_BIN" --config "$FCFG" --json list 'pkcs11:token=alice-ec256'
check "absurd attribute sizes are refused, not allocated (exit $rc)" test "$rc" -eq 0 -o "$rc" -eq 3
check "absurd attribute sizes are reported" contains "$out" "error"
FAULTP11_FAULTS=many_slots run "$CARDGATE_BIN" --config "$FCFG" --json list
expect "a module claiming a million slots is refused" 3 p11_device_error
unset FAULTP11_REAL

# check-config: valid, and each kind of malformed file named with file:line.
run "$CARDGATE_BIN" --config "$CONF" --json check-config
expect "fixture config is valid" 0 ok

bad() {  # bad NAME WANT_CODE WANT_TEXT <<< toml
    local f="$TMP/$1.conf"
    cat >"$f"; chmod 600 "$f"
    run "$CARDGATE_BIN" --config "$f" --json check-config
    expect "check-config: $1" 2 "$2"
    check "check-config: $1 names $3" contains "$out" "$3"
}
anchor=$FIX/pki/root.pem
bad unknown-key config_unknown_key "$TMP/unknown-key.conf:3:" <<EOF2
[trust]
anchors = ["$anchor"]
anchor = ["$anchor"]
EOF2
bad wrong-type config_type "$TMP/wrong-type.conf:2:" <<EOF2
[token]
timeout = 10
[trust]
anchors = ["$anchor"]
EOF2
bad bad-duration config_value "$TMP/bad-duration.conf:2:" <<EOF2
[token]
timeout = "10 parsecs"
[trust]
anchors = ["$anchor"]
EOF2
bad missing-anchor config_file "/nonexistent/root.pem" <<EOF2
[trust]
anchors = ["/nonexistent/root.pem"]
revocation = "none"
EOF2
printf -- '-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n' >"$TMP/broken.crl"
bad crl-that-does-not-verify config_file "$TMP/broken.crl" <<EOF2
[trust]
anchors = ["$anchor"]
intermediates = ["$FIX/pki/issuing.pem"]
crls = ["$FIX/pki/root.crl", "$TMP/broken.crl"]
revocation = "crl"
EOF2
cat "$FIX/pki/root.crl" "$FIX/pki/issuing.crl" >"$TMP/both.crl"
printf '[trust]\nanchors = ["%s"]\nintermediates = ["%s"]\ncrls = ["%s"]\nrevocation = "crl"\n' \
    "$anchor" "$FIX/pki/issuing.pem" "$TMP/both.crl" >"$TMP/both.conf"
chmod 600 "$TMP/both.conf"
run "$CARDGATE_BIN" --config "$TMP/both.conf" check-config
check "check-config verifies every CRL of a file and lists each (exit $rc)" \
    test "$rc" -eq 0 -a "$(grep -c '^  crl ' <<<"$out")" -eq 2
bad ocsp-responder-scheme config_value "trust.ocsp_responder" <<EOF2
[trust]
anchors = ["$anchor"]
revocation = "ocsp"
ocsp_responder = "file:///etc/passwd"
EOF2
bad syntax config_syntax "$TMP/syntax.conf:2" <<EOF2
[trust]
anchors = [
EOF2
bad unknown-purpose config_unknown_key "purpose" <<EOF2
[trust]
anchors = ["$anchor"]
revocation = "none"
[purpose.sudo]
eku = []
EOF2

bad no-revocation config_missing "trust.revocation" <<EOF2
[trust]
anchors = ["$anchor"]
EOF2
bad uri-with-pin config_value "token.uri" <<EOF2
[token]
uri = "pkcs11:token=alice?pin-value=123456"
[trust]
anchors = ["$anchor"]
revocation = "none"
EOF2
bad uri-malformed config_value "$TMP/uri-malformed.conf:2:" <<EOF2
[token]
uri = "pkcs11:bogus=1"
[trust]
anchors = ["$anchor"]
revocation = "none"
EOF2
sed 's|^module = .*|module = "/nonexistent/pkcs11.so"|' "$CONF" >"$TMP/nomod.conf"; chmod 600 "$TMP/nomod.conf"
run "$CARDGATE_BIN" --config "$TMP/nomod.conf" --json check-config
expect "check-config: a missing module" 2 config_file

printf '[trust]\nanchors = ["%s"]\nrevocation = "none"\n' "$anchor" >"$TMP/ww.conf"; chmod 666 "$TMP/ww.conf"
run "$CARDGATE_BIN" --config "$TMP/ww.conf" --json check-config
expect "a world-writable config is refused" 2 config_file
run "$CARDGATE_BIN" --config "$TMP/none.conf" --json check-config
expect "a missing config is refused" 2 config_io
run "$CARDGATE_BIN" --json frobnicate
check "unknown command is a usage error (exit $rc)" test "$rc" -eq 2

done_testing
