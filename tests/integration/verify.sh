#!/bin/bash
# cardgate verify: every fixture case gives the right verdict and reason code,
# from files and from pkcs11: URIs on SoftHSM badges, for every purpose.
. "${CARDGATE_SRCDIR:-.}/tests/integration/tap.sh"

verify() {  # verify PURPOSE ARG
    run "$CARDGATE_BIN" --config "$CONF" --json verify --purpose "$1" "$2"
}

# case            login-code           tls-code      door-code
while read -r case login tls door; do
    for p in login tls door; do
        want=${!p}
        [ "$want" = ok ] && rc_want=0 || rc_want=1
        verify "$p" "$FIX/certs/$case.pem"
        expect "verify $case for $p -> $want" "$rc_want" "$want"
    done
done <<'CASES'
alice-rsa2048     ok                  ok            cert_eku
alice-rsa4096     ok                  ok            cert_eku
alice-ec256       ok                  ok            cert_eku
alice-ec384       ok                  ok            cert_eku
bob-ec256         ok                  ok            cert_eku
alice2-login      ok                  ok            cert_eku
cardauth          cert_eku            cert_eku      ok
expired           cert_expired        cert_expired  cert_expired
notyet            cert_not_yet_valid  cert_not_yet_valid cert_not_yet_valid
revoked           cert_revoked        cert_revoked  cert_revoked
wrong-eku         cert_eku            cert_eku      cert_eku
no-digsig         cert_key_usage      cert_key_usage cert_key_usage
nonca-issued      cert_untrusted      cert_untrusted cert_untrusted
CASES

# The look-alike CA has the issuing CA's name but another key: the signature
# on the leaf cannot verify against the real issuing CA.
verify login "$FIX/certs/lookalike-issued.pem"
code=$(printf '%s' "$out" | jq -r '.error.code')
check "look-alike CA issued certificate is refused (exit 1, $code)" \
    test "$rc" -eq 1 -a \( "$code" = cert_bad_signature -o "$code" = cert_untrusted \)

# Even when the administrator lists the non-CA "intermediate", it cannot issue.
sed "s|^intermediates = \[|intermediates = [\"$FIX/pki/nonca-intermediate.pem\", |" "$CONF" >"$TMP/nonca.conf"; chmod 600 "$TMP/nonca.conf"
run "$CARDGATE_BIN" --config "$TMP/nonca.conf" --json verify "$FIX/certs/nonca-issued.pem"
expect "a certificate issued by a non-CA certificate is refused even when that one is configured" 1 cert_not_ca

# DER input is accepted like PEM.
verify login "$FIX/certs/alice-ec256.der"
expect "DER certificate file verifies" 0 ok

# The CA certificates themselves are not badges.
verify login "$FIX/pki/issuing.pem"
check "the issuing CA certificate is refused for login (exit $rc)" test "$rc" -eq 1
verify login "$FIX/pki/root.pem"
check "the root certificate is refused for login (exit $rc)" test "$rc" -eq 1

# Garbage and missing input.
printf 'not a certificate' >"$TMP/garbage.pem"
verify login "$TMP/garbage.pem"
expect "garbage certificate file is cert_parse" 1 cert_parse
verify login "$TMP/missing.pem"
expect "missing certificate file is a usage error" 2 usage
run "$CARDGATE_BIN" --config "$CONF" --json verify --purpose sudo "$FIX/certs/alice-ec256.pem"
expect "unknown purpose is a usage error" 2 usage

# Human output names the step and the reason.
run "$CARDGATE_BIN" --config "$CONF" verify "$FIX/certs/revoked.pem"
check "human output of a revoked certificate says INVALID and revoked" contains "$out" "INVALID (cert_revoked)"

# From the card, by URI.
run "$CARDGATE_BIN" --config "$CONF" --json verify "pkcs11:token=alice-ec384;id=%01;type=cert"
expect "verify by pkcs11: URI (alice-ec384)" 0 ok
run "$CARDGATE_BIN" --config "$CONF" --json verify "pkcs11:token=hostile;object=expired;type=cert"
expect "verify by pkcs11: URI (expired on the hostile badge)" 1 cert_expired
run "$CARDGATE_BIN" --config "$CONF" --json verify "pkcs11:token=two-certs;type=cert"
expect "a URI matching two certificates is ambiguous" 3 p11_ambiguous
run "$CARDGATE_BIN" --config "$CONF" --json verify "pkcs11:token=no-such-badge;type=cert"
expect "a URI matching no token" 3 p11_no_token
run "$CARDGATE_BIN" --config "$CONF" --json verify "pkcs11:token=alice-ec256;id=%7f;type=cert"
expect "a URI matching no object" 3 p11_no_object
run "$CARDGATE_BIN" --config "$CONF" --json verify "pkcs11:token=alice%zz"
expect "a malformed URI is refused" 2 uri_syntax

# Stale CRL: unknown status denies; on_unknown = "allow" lets it through.
sed "s|$FIX/pki/issuing.crl\"|$FIX/pki/issuing-stale.crl\"|" "$CONF" >"$TMP/stale.conf"; chmod 600 "$TMP/stale.conf"
run "$CARDGATE_BIN" --config "$TMP/stale.conf" --json verify "$FIX/certs/alice-ec256.pem"
expect "stale CRL -> revocation unknown -> denied" 1 cert_revocation_unknown
sed 's|^on_unknown = .*|on_unknown = "allow"|' "$TMP/stale.conf" >"$TMP/stale-allow.conf"; chmod 600 "$TMP/stale-allow.conf"
run "$CARDGATE_BIN" --config "$TMP/stale-allow.conf" --json verify "$FIX/certs/alice-ec256.pem"
expect "stale CRL with on_unknown = allow -> valid" 0 ok

# A newer CRL of the issuing CA that cardgate cannot use (a delta CRL; a CRL
# with an unknown critical extension), each revoking alice-ec256, beside the
# older issuing.crl: the status is unknown, never "good by the older CRL".
with_crls() {  # with_crls NAME FILE...: the fixtures' config with those CRLs added to trust.crls
    local extra="" f
    for f in "${@:2}"; do extra+=", \"$FIX/pki/$f\""; done
    sed "s|$FIX/pki/issuing.crl\"|$FIX/pki/issuing.crl\"$extra|" "$CONF" >"$TMP/$1.conf"; chmod 600 "$TMP/$1.conf"
    echo "$TMP/$1.conf"
}
for c in delta critical; do
    C=$(with_crls "newer-$c" "issuing-$c-revokes-alice.crl")
    for badge in alice-ec256 bob-ec256; do
        run "$CARDGATE_BIN" --config "$C" --json verify "$FIX/certs/$badge.pem"
        expect "a newer $c CRL that cannot be used beside the older one: $badge -> unknown -> denied" 1 \
            cert_revocation_unknown
    done
    check "... naming both CRLs" contains "$(printf '%s' "$out" | jq -r '.error.detail')" "issuing-$c-revokes-alice.crl"
    check "... naming both CRLs (the older)" contains "$(printf '%s' "$out" | jq -r '.error.detail')" "issuing.crl (number"
done
C=$(with_crls newest-usable issuing-delta-revokes-alice.crl issuing-critical-revokes-alice.crl issuing-next-revokes-alice.crl)
run "$CARDGATE_BIN" --config "$C" --json verify "$FIX/certs/alice-ec256.pem"
expect "a usable CRL newer than the refused ones answers: alice revoked" 1 cert_revoked
run "$CARDGATE_BIN" --config "$C" --json verify "$FIX/certs/bob-ec256.pem"
expect "... and bob good" 0 ok
C=$(with_crls lookalike-delta lookalike-delta.crl)
run "$CARDGATE_BIN" --config "$C" --json verify "$FIX/certs/alice-ec256.pem"
expect "a delta under the issuer's name signed by the look-alike CA silences nothing" 0 ok

# Revoked intermediate: the leaf fails.
sed "s|$FIX/pki/root.crl\"|$FIX/pki/root-revoked-issuing.crl\"|" "$CONF" >"$TMP/revint.conf"; chmod 600 "$TMP/revint.conf"
run "$CARDGATE_BIN" --config "$TMP/revint.conf" --json verify "$FIX/certs/alice-ec256.pem"
expect "revoked intermediate -> leaf refused" 1 cert_revoked

done_testing
