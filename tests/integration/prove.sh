#!/bin/bash
# cardgate prove: challenge-response against SoftHSM badges, and against the
# fault-injecting module for every way a hostile or broken card behaves.
. "${CARDGATE_SRCDIR:-.}/tests/integration/tap.sh"
: "${FAULTP11_MODULE:?}" "${SOFTHSM2_MODULE:?}"
PINF=$(pin_file "$PIN")
prove() { run "$CARDGATE_BIN" --config "${CFG:-$CONF}" --json prove --pin-source "file:$PINF" "$@"; }

# Happy paths: every key type, and the mechanism the token layer chose.
for t in alice-rsa2048 alice-rsa4096 alice-ec256 alice-ec384 bob; do
    prove "pkcs11:token=$t;id=%01"
    expect "prove on $t" 0 ok
done
prove "pkcs11:token=alice-rsa2048;id=%01"
check "RSA proves with CKM_RSA_PKCS_PSS when the token offers it" \
    test "$(printf '%s' "$out" | jq -r .proof.mechanism)" = CKM_RSA_PKCS_PSS
prove "pkcs11:token=alice-ec384;id=%01"
check "P-384 proves with CKM_ECDSA and SHA-384" \
    test "$(printf '%s' "$out" | jq -r '.proof.mechanism + " " + .proof.hash')" = "CKM_ECDSA SHA-384"
prove "pkcs11:token=two-certs;object=card-auth;type=cert" --purpose door
expect "prove the card-authentication certificate of a two-certificate badge" 0 ok

# Never the challenge, never the PIN in the output.
prove "pkcs11:token=alice-ec256;id=%01"
check "output carries no PIN" bash -c '! grep -q 123456 <<<"$1$2"' _ "$out" "$err"

# Copied certificate: alice's certificate on a card holding another key.
prove "pkcs11:token=copied;id=%01"
expect "copied certificate without its key fails the proof" 1 proof_bad_signature

# PIN problems.
WRONG=$(pin_file 000000)
run "$CARDGATE_BIN" --config "$CONF" --json prove --pin-source "file:$WRONG" "pkcs11:token=alice-ec256;id=%01"
expect "wrong PIN" 3 p11_pin_incorrect
check "wrong PIN error does not echo the PIN" bash -c '! grep -q 000000 <<<"$1$2"' _ "$out" "$err"
run "$CARDGATE_BIN" --config "$CONF" --json prove "pkcs11:token=alice-ec256;id=%01?pin-value=123456"
expect "a PIN on the command line (pin-value) is refused: argv is public" 2 usage
run "$CARDGATE_BIN" --config "$CONF" --json prove "pkcs11:token=alice-ec256;id=%01?pin-source=file:$PINF"
expect "pin-source in the URI is honoured" 0 ok
EMPTY="$TMP/empty.pin"; : >"$EMPTY"; chmod 600 "$EMPTY"
run "$CARDGATE_BIN" --config "$CONF" --json prove --pin-source "file:$EMPTY" "pkcs11:token=alice-ec256;id=%01"
expect "empty PIN is refused before the card is asked" 3 p11_pin_invalid
chmod 644 "$PINF"
prove "pkcs11:token=alice-ec256;id=%01"
expect "a world-readable PIN file is refused" 2 usage
chmod 600 "$PINF"
run "$CARDGATE_BIN" --config "$CONF" --json prove "pkcs11:token=alice-ec256;id=%01" </dev/null
check "no terminal and no PIN source: PIN required, nothing hangs (exit $rc)" test "$rc" -eq 3

# The fault-injecting module in front of SoftHSM.
export FAULTP11_REAL=$SOFTHSM2_MODULE
FCFG=$(config_with fault "$FAULTP11_MODULE" 2s)

FAULTP11_FAULTS=corrupt_sign CFG=$FCFG prove "pkcs11:token=alice-ec256;id=%01"
expect "corrupted signature (EC) is refused" 1 proof_bad_signature
FAULTP11_FAULTS=corrupt_sign CFG=$FCFG prove "pkcs11:token=alice-rsa2048;id=%01"
expect "corrupted signature (RSA) is refused" 1 proof_bad_signature

start=$(date +%s)
FAULTP11_FAULTS=hang_sign CFG=$FCFG prove "pkcs11:token=alice-ec256;id=%01"
elapsed=$(( $(date +%s) - start ))
expect "hung C_Sign is cut off at token.timeout" 3 p11_timeout
check "the hung card did not hold the command ($elapsed s for a 2 s timeout)" test "$elapsed" -lt 15
check "the timeout error names C_Sign" contains "$out" "C_Sign"

FAULTP11_FAULTS=removed_sign CFG=$FCFG prove "pkcs11:token=alice-rsa2048;id=%01"
expect "card removed during C_Sign" 3 p11_device_removed
FAULTP11_FAULTS=removed_after_login CFG=$FCFG prove "pkcs11:token=alice-ec256;id=%01"
expect "card removed after login" 3 p11_device_removed
FAULTP11_FAULTS=hide_keys CFG=$FCFG prove "pkcs11:token=alice-ec256;id=%01"
expect "certificate without a private key on the card" 3 p11_no_object
FAULTP11_FAULTS=hide_certs CFG=$FCFG prove "pkcs11:token=alice-ec256;id=%01"
expect "card hiding its certificates" 3 p11_no_object
FAULTP11_FAULTS=no_pss CFG=$FCFG prove "pkcs11:token=alice-rsa2048;id=%01"
check "without PSS, RSA falls back to CKM_RSA_PKCS (exit $rc)" \
    test "$rc" -eq 0 -a "$(printf '%s' "$out" | jq -r .proof.mechanism)" = CKM_RSA_PKCS
FAULTP11_FAULTS=only_x509 CFG=$FCFG prove "pkcs11:token=alice-rsa2048;id=%01"
check "with only raw RSA, the proof still verifies via CKM_RSA_X_509 (exit $rc)" \
    test "$rc" -eq 0 -a "$(printf '%s' "$out" | jq -r .proof.mechanism)" = CKM_RSA_X_509

# A retry counter like a real card's (SoftHSM has none).
export FAULTP11_STATE="$TMP/faultp11.state"
BAD=$(pin_file 999999)
FAULTP11_FAULTS=pin_counter run "$CARDGATE_BIN" --config "$FCFG" --json prove --pin-source "file:$BAD" "pkcs11:token=alice-ec256;id=%01"
expect "pin counter: first wrong PIN" 3 p11_pin_incorrect
check "first wrong PIN reports the count is low" contains "$out" "count low"
FAULTP11_FAULTS=pin_counter run "$CARDGATE_BIN" --config "$FCFG" --json prove --pin-source "file:$BAD" "pkcs11:token=alice-ec256;id=%01"
check "second wrong PIN reports the last try" contains "$out" "last try"
FAULTP11_FAULTS=pin_counter run "$CARDGATE_BIN" --config "$FCFG" --json prove --pin-source "file:$BAD" "pkcs11:token=alice-ec256;id=%01"
expect "third wrong PIN locks the badge" 3 p11_pin_locked
FAULTP11_FAULTS=pin_counter CFG=$FCFG prove "pkcs11:token=alice-ec256;id=%01"
expect "a locked badge refuses even the right PIN, without asking the card" 3 p11_pin_locked
unset FAULTP11_STATE

FAULTP11_FAULTS=pin_pad FAULTP11_PAD_PIN=$PIN run "$CARDGATE_BIN" --config "$FCFG" --json prove "pkcs11:token=alice-ec256;id=%01" </dev/null
expect "PIN pad token logs in without a PIN from the host" 0 ok

FAULTP11_FAULTS=no_such_fault CFG=$FCFG prove "pkcs11:token=alice-ec256;id=%01"
check "an unknown fault name makes the module fail loudly (exit $rc)" test "$rc" -eq 3

# Usage errors.
run "$CARDGATE_BIN" --config "$CONF" --json prove "$FIX/certs/alice-ec256.pem"
expect "prove needs a pkcs11: URI" 2 usage
run "$CARDGATE_BIN" --config "$CONF" --json prove "pkcs11:token=alice-ec256;type=public"
expect "prove refuses a URI of another object type" 2 usage

done_testing
