#!/bin/bash
# pam_cardgate.so through the real libpam (pam_wrapper points it at service
# files of our own; nss_wrapper supplies the accounts), driven by
# tests/pam/pamdrive with a scripted person. Each case asserts the PAM code,
# the one audit line's reason, and what the person was told or asked.
#
# The service stack is
#   auth    [success=done ignore=ignore default=die] pam_cardgate.so ...
#   auth    optional pam_echo.so cardgate_abstained
# so every code but PAM_IGNORE comes back unchanged, and PAM_IGNORE shows as
# the message "cardgate_abstained" from the next module.
. "${CARDGATE_SRCDIR:-.}/tests/integration/tap.sh"
: "${FAULTP11_MODULE:?}" "${SOFTHSM2_MODULE:?}"

BUILD=$(dirname "$CARDGATE_BIN")
MODULE=$BUILD/pam_cardgate.so
HELPER=$BUILD/cardgate-pam-helper
DRIVE=${PAMDRIVE:-$BUILD/tests/pam/pamdrive}
PWMODS=$(pkg-config --variable=modules pam_wrapper 2>/dev/null)
for lib in libpam_wrapper.so libnss_wrapper.so; do
    if LD_PRELOAD=$lib /bin/true 2>&1 | grep -q "cannot be preloaded"; then
        echo "1..0 # SKIP $lib is not installed (Debian packages libpam-wrapper, libnss-wrapper)"
        exit 0
    fi
done
if [ ! -f "$PWMODS/pam_set_items.so" ]; then
    echo "1..0 # SKIP pam_wrapper's pam_set_items.so not found (Debian package libpam-wrapper)"
    exit 0
fi
for f in "$MODULE" "$HELPER" "$DRIVE"; do
    [ -f "$f" ] || { echo "Bail out! $f is not built"; exit 1; }
done
. "$FIX/fixtures.env"
started=$(date +%s)

# ------------------------------------------------------------ environment
# A private copy of the badges: no case here can lock or change the shared ones.
softhsm_with() {  # softhsm_with NAME LABEL...: a SoftHSM config holding copies of those tokens
    local name=$1 l t
    shift
    mkdir -p "$TMP/hsm-$name/tokens"
    for t in "$FIX"/tokens/*; do
        for l in "$@"; do
            if [ "$l" = all ] || grep -aqF "$l" "$t/token.object"; then cp -r "$t" "$TMP/hsm-$name/tokens/"; fi
        done
    done
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$TMP/hsm-$name/tokens" >"$TMP/hsm-$name/softhsm2.conf"
    echo "$TMP/hsm-$name/softhsm2.conf"
}
export SOFTHSM2_CONF
SOFTHSM2_CONF=$(softhsm_with all all)
TWO_TOKENS=$(softhsm_with two alice-ec256 alice-rsa2048)

printf '%s\n' 'alice:x:1000:1000:Alice:/home/alice:/bin/sh' 'bob:x:1001:1001:Bob:/home/bob:/bin/sh' \
    'root:x:0:0:root:/root:/bin/sh' >"$TMP/passwd"
printf '%s\n' 'bob:x:1001:1001:Bob:/home/bob:/bin/sh' 'root:x:0:0:root:/root:/bin/sh' >"$TMP/passwd-no-alice"
printf '%s\n' 'alice:x:1000:' 'bob:x:1001:' 'root:x:0:' >"$TMP/group"
export NSS_WRAPPER_PASSWD=$TMP/passwd NSS_WRAPPER_GROUP=$TMP/group
export FAULTP11_REAL=$SOFTHSM2_MODULE
export FAULTP11_STATE=$TMP/faultp11.state
mkdir "$TMP/svc"
printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$TMP/svc/other"
# Debug level 2 prints pam_syslog lines (the audit line) on stderr. libpam and
# libc are loaded without RTLD_DEEPBIND, which the sanitizers cannot run with
# (pam_wrapper 1.1.4 reads the variable under uid_wrapper's name).
export PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$TMP/svc PAM_WRAPPER_DEBUGLEVEL=2 \
    PAM_WRAPPER_DISABLE_DEEPBIND=1 UID_WRAPPER_DISABLE_DEEPBIND=1 NSS_WRAPPER_DISABLE_DEEPBIND=1
PASS_ENV=SOFTHSM2_CONF,LD_PRELOAD,NSS_WRAPPER_PASSWD,NSS_WRAPPER_GROUP,FAULTP11_REAL,FAULTP11_FAULTS,FAULTP11_CONTROL,FAULTP11_PAD_PIN,FAULTP11_STATE
PRELOAD="libpam_wrapper.so libnss_wrapper.so"
if ldd "$DRIVE" 2>/dev/null | grep -q libasan; then
    # The sanitizer build: the ASan runtime cannot come first when pam_wrapper is preloaded.
    PASS_ENV=$PASS_ENV,ASAN_OPTIONS,UBSAN_OPTIONS,NSS_WRAPPER_DISABLE_DEEPBIND
    SANITIZED=1
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fi

# cfg NAME URI [TOML]: the fixtures' config with token.uri = URI ("" = none),
# token.module = $MOD (SoftHSM), token.timeout = $TIMEOUT (10s) and TOML
# appended; with NORULES=1 the fixtures' mapping rule is left out.
cfg() {
    local f=$TMP/$1.conf sed_args=(-e "s|^module = .*|module = \"${MOD:-$SOFTHSM2_MODULE}\"|"
                                   -e "s|^timeout = .*|timeout = \"${TIMEOUT:-10s}\"|")
    [ -z "$2" ] || sed_args+=(-e "/^\[token\]/a uri = \"$2\"")
    [ -z "${NORULES:-}" ] || sed_args+=(-e '/^\[\[mapping.rule\]\]/,$d')
    { sed "${sed_args[@]}" "$CONF"; printf '%s\n' "${3:-}"; } >"$f"
    chmod 600 "$f"
    echo "$f"
}
rule() { printf '\n[[mapping.rule]]\nissuer = "%s"\nuser = "%s"\n' "$1" "$2"; }

# svc NAME MODULE_ARGS...: the service NAME running pam_cardgate.so with those
# arguments; with FIRST_PASS=1, pam_set_items.so first sets PAM_AUTHTOK from
# the environment variable PAM_AUTHTOK.
svc() {
    local name=$1 args
    shift
    args="helper=$HELPER pass_env=$PASS_ENV $*"
    {
        [ -z "${FIRST_PASS:-}" ] || echo "auth optional $PWMODS/pam_set_items.so"
        echo "auth [success=done ignore=ignore default=die] $MODULE $args"
        echo "auth optional pam_echo.so cardgate_abstained"
        echo "account [success=done ignore=ignore default=die] $MODULE $args"
        echo "account optional pam_echo.so cardgate_abstained"
    } >"$TMP/svc/$name"
}

# login NAME [-a ANSWER]... USER OPS...: runs pamdrive on service NAME.
ALL_OUTPUT=$TMP/all-output
login() {
    local name=$1 opts=() t0
    shift
    while [ "${1:-}" = -a ]; do opts+=(-a "$2"); shift 2; done
    t0=$(date +%s%N)
    run env LD_PRELOAD="$PRELOAD" "$DRIVE" "${opts[@]}" "$name" "$@"
    elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    audit=$(printf '%s\n' "$err" | grep -o 'cardgate: outcome=.*' || true)
    printf '%s\n%s\n' "$out" "$err" >>"$ALL_OUTPUT"
}

# expect NAME CODE REASON [LINE | ^PREFIX | !PREFIX]...: authenticate gave
# CODE, the one audit line says REASON (outcome granted for PAM_SUCCESS,
# unavailable for PAM_AUTHINFO_UNAVAIL, else denied), every LINE is in the
# driver's output, some line starts with each ^PREFIX and none with a !PREFIX.
# Error cases are remembered for the final sweep.
ERROR_CASES=()
starts() { awk -v p="$1" 'index($0, p) == 1 { found = 1 } END { exit !found }' <<<"$out"; }
expect() {
    local name=$1 code=$2 reason=$3 want why=() n outcome=denied
    shift 3
    case $code in PAM_SUCCESS) outcome=granted ;; PAM_AUTHINFO_UNAVAIL) outcome=unavailable ;; esac
    grep -aqx "authenticate: $code" <<<"$out" || why+=("authenticate: wanted $code")
    n=$(printf '%s' "$audit" | grep -c . || true)
    [ "$n" -eq 1 ] || why+=("$n audit lines, wanted 1")
    contains "$audit" "outcome=$outcome purpose=login reason=$reason " || why+=("audit: wanted outcome=$outcome reason=$reason")
    for want in "$@"; do
        case $want in
            !*) ! starts "${want#!}" || why+=("unwanted: a line starting ${want#!}") ;;
            ^*) starts "${want#^}" || why+=("missing: a line starting ${want#^}") ;;
            *) grep -aqxF -- "$want" <<<"$out" || why+=("missing: $want") ;;
        esac
    done
    if [ "$code" != PAM_SUCCESS ]; then
        ERROR_CASES+=("$name|$(grep -a '^authenticate: ' <<<"$out")|$(grep -ac '^info: cardgate_abstained$' <<<"$out")")
    fi
    if [ ${#why[@]} -eq 0 ]; then
        ok "$name"
    else
        not_ok "$name"
        { printf 'why: %s\n' "${why[@]}"; printf '%s\n' "$out"; printf 'audit: %s\n' "$audit"; \
          printf '%s\n' "$err" | grep -v PWRAP_DEBUG | head -20; } | diag
    fi
}

NO_PROMPT='!prompt'
PIN_PROMPT() { echo "prompt_echo_off: PIN for $1: "; }

# One config and service per badge, user given.
badge() {  # badge NAME URI [TOML]: config + service NAME for one badge
    svc "$1" "config=$(cfg "$1" "$2" "${3:-}")" ${ARGS:-}
}

# ------------------------------------------------------------ happy paths
for t in alice-rsa2048 alice-rsa4096 alice-ec256 alice-ec384; do
    badge "$t" "pkcs11:token=$t"
    login "$t" -a "$PIN" alice authenticate
    expect "badge login with $t: PIN asked once, user alice logged in" PAM_SUCCESS ok \
        "$(PIN_PROMPT "$t")" "PAM_USER: alice" '!error'
done

login alice-ec256 -a "$PIN" "" authenticate
expect "no user given: the user comes from the badge and is set as PAM_USER" PAM_SUCCESS ok "PAM_USER: alice"
check "the audit line of a granted login names each certificate's revocation source and age" \
    contains "$audit" "revocation: 0 good CRL $FIX/pki/issuing.crl "

SHA=$(openssl x509 -in "$FIX/certs/alice-ec256.pem" -outform DER | sha256sum | cut -d' ' -f1)
login alice-ec256 -a "$PIN" alice authenticate
serial_ec256=$(sed -n 's/^env: CARDGATE_TOKEN_SERIAL=//p' <<<"$out")
expect "a badge login exports CARDGATE_CERT_SHA256/ISSUER/SERIAL of the certificate used" PAM_SUCCESS ok \
    "env: CARDGATE_CERT_SHA256=$SHA" "env: CARDGATE_CERT_ISSUER=$ISSUING_DN" "env: CARDGATE_CERT_SERIAL=$SERIAL_alice_ec256"
want_serial=$("$CARDGATE_BIN" --config "$CONF" --json list | jq -r '.slots[].token | select(.label == "alice-ec256") | .serial')
check "a badge login exports CARDGATE_TOKEN_SERIAL, the badge's serial ($serial_ec256)" \
    test -n "$want_serial" -a "$serial_ec256" = "$want_serial"
missing=
for field in 'user="alice"' 'service="alice-ec256"' 'token="alice-ec256"' "token_serial=\"$serial_ec256\"" \
    "cert_issuer=\"$ISSUING_DN\"" "cert_serial=$SERIAL_alice_ec256 " "cert_sha256=$SHA "; do
    contains "$audit" "$field" || missing+=" $field"
done
check "the audit line names the user, service, badge and certificate of the login" test -z "$missing"
[ -z "$missing" ] || printf 'missing:%s\naudit: %s\n' "$missing" "$audit" | diag

login alice-ec256 -a "$PIN" alice authenticate acct_mgmt
check "acct_mgmt after a badge login: the certificate is still valid (PAM_SUCCESS)" \
    bash -c 'grep -qx "acct_mgmt: PAM_SUCCESS" <<<"$1" && ! grep -q -e cardgate_abstained -e "^info: Your badge" <<<"$1"' _ "$out"

login alice-ec256 alice acct_mgmt
check "acct_mgmt for a login the module did not authenticate: PAM_IGNORE (the next module decides)" \
    bash -c 'grep -qx "info: cardgate_abstained" <<<"$1" && ! grep -q "^prompt" <<<"$1"' _ "$out"

badge two-certs "pkcs11:token=two-certs"
login two-certs -a "$PIN" alice authenticate
expect "two certificates on one badge, only alice-login valid for login: no choice asked" PAM_SUCCESS ok \
    "$(PIN_PROMPT two-certs)" "env: CARDGATE_CERT_SERIAL=$SERIAL_alice2_login" '!prompt_echo_on'

SOFTHSM2_CONF=$TWO_TOKENS
badge two-badges ""
login two-badges -a 2 -a "$PIN" alice authenticate
second=$(sed -n 's/^info:   2) \([^:]*\): .*/\1/p' <<<"$out")
var=SERIAL_${second//-/_}
expect "two badges mapping to alice: numbered choice, the second is used" PAM_SUCCESS ok \
    "info: More than one badge certificate can log you in:" "prompt_echo_on: Choose 1-2: " \
    "$(PIN_PROMPT "$second")" "env: CARDGATE_CERT_SERIAL=${!var:-none}"
login two-badges -a 3 -a "$PIN" alice authenticate
expect "two badges: a choice out of range cancels, no PIN asked" PAM_AUTH_ERR login_cancelled \
    "prompt_echo_on: Choose 1-2: " '!prompt_echo_off'
login two-badges -a @cancel alice authenticate
expect "two badges: a cancelled choice refuses, no PIN asked" PAM_AUTH_ERR login_cancelled '!prompt_echo_off'
SOFTHSM2_CONF=$TMP/hsm-all/softhsm2.conf

MOD=$FAULTP11_MODULE badge pinpad "pkcs11:token=alice-ec256"
FAULTP11_FAULTS=pin_pad FAULTP11_PAD_PIN=$PIN login pinpad alice authenticate
expect "PIN pad badge: no PIN prompt, the person is told to use the pad" PAM_SUCCESS ok \
    "info: Enter your PIN on the reader's PIN pad for alice-ec256." "$NO_PROMPT"

MOD=$FAULTP11_MODULE badge pinchange "pkcs11:token=alice-ec256"
FAULTP11_FAULTS=pin_to_be_changed login pinchange -a "$PIN" alice authenticate acct_mgmt
expect "a badge whose PIN must be changed (CKF_USER_PIN_TO_BE_CHANGED) still logs in" PAM_SUCCESS ok \
    "info: Your badge PIN must be changed now."
check "a badge whose PIN must be changed: the account check asks for a new PIN (PAM_NEW_AUTHTOK_REQD)" \
    grep -aqx "acct_mgmt: PAM_NEW_AUTHTOK_REQD" <<<"$out"
login pinchange -a "$PIN" alice authenticate acct_mgmt
check "the same badge without the flag: the account check passes (PAM_SUCCESS)" \
    grep -aqx "acct_mgmt: PAM_SUCCESS" <<<"$out"

SVC_RULES=$(rule "$ISSUING_DN" "{subject.uid}"; rule "$ISSUING_DN" bob)
NORULES=1 badge ambiguous "pkcs11:token=alice-ec256" "$SVC_RULES"
login ambiguous -a "$PIN" alice authenticate
expect "a badge mapping to two accounts logs in the one the user named" PAM_SUCCESS ok "PAM_USER: alice"

badge services-ok "pkcs11:token=alice-ec256" $'[login]\nservices = ["sshd", "services-ok"]'
login services-ok -a "$PIN" alice authenticate
expect "login.services listing the service allows the badge login" PAM_SUCCESS ok

FIRST_PASS=1 ARGS=use_first_pass badge first-pass "pkcs11:token=alice-ec256"
PAM_AUTHTOK=$PIN login first-pass alice authenticate
expect "use_first_pass: the earlier module's AUTHTOK is the PIN, nothing asked" PAM_SUCCESS ok "$NO_PROMPT"
FIRST_PASS=1 ARGS=try_first_pass badge try-pass "pkcs11:token=alice-ec256"
PAM_AUTHTOK=$PIN login try-pass alice authenticate
expect "try_first_pass: a working AUTHTOK is used, nothing asked" PAM_SUCCESS ok "$NO_PROMPT"
PAM_AUTHTOK=ab login try-pass -a "$PIN" alice authenticate
expect "try_first_pass: an AUTHTOK too short for a PIN costs no try, the PIN is asked" PAM_SUCCESS ok \
    "$(PIN_PROMPT alice-ec256)" '!error'
PAM_AUTHTOK=000000 login try-pass -a "$PIN" alice authenticate
expect "try_first_pass: a wrong AUTHTOK is said, then the PIN is asked" PAM_SUCCESS ok \
    "^error: Wrong PIN." "$(PIN_PROMPT alice-ec256)"

# ------------------------------------------------------------ PIN
login alice-ec256 -a 000000 -a "$PIN" alice authenticate
expect "wrong PIN: refused, said, and never retried with another answer" PAM_AUTH_ERR p11_pin_incorrect \
    "^error: Wrong PIN." "answer: given"
check "wrong PIN: exactly one PIN prompt" test "$(grep -c '^prompt' <<<"$out")" -eq 1

login alice-ec256 -a @cancel alice authenticate
expect "cancelled PIN prompt refuses" PAM_AUTH_ERR login_cancelled "answer: cancelled"

# A retry counter like a real card's, on a private copy of the badge.
SOFTHSM2_CONF=$(softhsm_with lock alice-ec256)
MOD=$FAULTP11_MODULE badge counter "pkcs11:token=alice-ec256"
export FAULTP11_FAULTS=pin_counter
FAULTP11_STATE=$TMP/empty-pin.state login counter -a "" alice authenticate
expect "empty PIN: refused without asking the card" PAM_AUTH_ERR p11_pin_invalid \
    "error: The PIN is empty or not valid for this badge."
check "empty PIN: the PIN counter did not move (C_Login was not called)" \
    bash -c '! grep -q "[1-9]$" "$1" 2>/dev/null' _ "$TMP/empty-pin.state"
login counter -a 000000 alice authenticate
expect "first wrong PIN after the empty one: no warning before it (the counter was clean), few tries left after" \
    PAM_AUTH_ERR p11_pin_incorrect '!info: Careful' "error: Wrong PIN. Few tries are left before the PIN locks."
login counter -a 000000 alice authenticate
expect "second wrong PIN: warned before the prompt, told it was the last try" PAM_AUTH_ERR p11_pin_incorrect \
    "info: Careful: few tries are left before the badge PIN locks." "error: Wrong PIN. Last try before the PIN locks."
login counter -a 000000 alice authenticate
expect "third wrong PIN: warned it is the last try, then told the PIN is locked (PAM_MAXTRIES)" PAM_MAXTRIES \
    p11_pin_locked "info: Careful: this is the last try before the badge PIN locks." \
    "error: Your badge PIN is locked. Ask the service desk to unblock it."
login counter -a "$PIN" alice authenticate
expect "locked PIN: the right PIN is refused without a prompt (PAM_MAXTRIES)" PAM_MAXTRIES p11_pin_locked \
    "error: Your badge PIN is locked. Ask the service desk to unblock it." "$NO_PROMPT"
unset FAULTP11_FAULTS
SOFTHSM2_CONF=$TMP/hsm-all/softhsm2.conf

FIRST_PASS=1 ARGS=use_first_pass badge first-pass "pkcs11:token=alice-ec256"
login first-pass alice authenticate
expect "use_first_pass without an AUTHTOK (a stack error): PAM_AUTHINFO_UNAVAIL, nothing asked" \
    PAM_AUTHINFO_UNAVAIL config_missing "$NO_PROMPT"
PAM_AUTHTOK=000000 login first-pass alice authenticate
expect "use_first_pass with a wrong AUTHTOK: refused, nothing asked" PAM_AUTH_ERR p11_pin_incorrect \
    "^error: Wrong PIN." "$NO_PROMPT"

# ------------------------------------------------------------ certificates: refused before any PIN
for c in expired:cert_expired notyet:cert_not_yet_valid revoked:cert_revoked wrong-eku:cert_eku \
    no-digsig:cert_key_usage lookalike-issued:cert_untrusted nonca-issued:cert_untrusted; do
    object=${c%%:*} code=${c#*:}
    badge "hostile-$object" "pkcs11:token=hostile;object=$object"
    login "hostile-$object" -a "$PIN" alice authenticate
    expect "certificate $object: refused ($code) before any PIN is asked" PAM_AUTH_ERR "$code" "$NO_PROMPT"
done

NONCA=$(cfg hostile-nonca-listed "pkcs11:token=hostile;object=nonca-issued")
sed -i "s|^intermediates = \[|intermediates = [\"$FIX/pki/nonca-intermediate.pem\", |" "$NONCA"
svc hostile-nonca-listed "config=$NONCA"
login hostile-nonca-listed -a "$PIN" alice authenticate
expect "certificate issued by a non-CA listed as an intermediate: refused (cert_not_ca) before any PIN" \
    PAM_AUTH_ERR cert_not_ca "$NO_PROMPT"

# A newer CRL that cardgate cannot use (delta; unknown critical extension),
# revoking alice, beside the older one: unknown, refused before any PIN.
for c in delta critical; do
    NEWER=$(cfg "newer-crl-$c" "pkcs11:token=alice-ec256")
    sed -i "s|$FIX/pki/issuing.crl\"|$FIX/pki/issuing.crl\", \"$FIX/pki/issuing-$c-revokes-alice.crl\"|" "$NEWER"
    svc "newer-crl-$c" "config=$NEWER"
    login "newer-crl-$c" -a "$PIN" alice authenticate
    expect "a newer $c CRL that cannot be used beside the older one: refused (unknown) before any PIN" \
        PAM_AUTH_ERR cert_revocation_unknown "$NO_PROMPT"
done

# ------------------------------------------------------------ proof of possession
badge copied "pkcs11:token=copied"
login copied -a "$PIN" alice authenticate
expect "alice's certificate copied onto a card without its key: refused after the PIN" PAM_AUTH_ERR proof_bad_signature \
    "$(PIN_PROMPT copied)"

TIMEOUT=2s MOD=$FAULTP11_MODULE badge fault "pkcs11:token=alice-ec256"
FAULTP11_FAULTS=corrupt_sign login fault -a "$PIN" alice authenticate
expect "corrupted signature from the card is refused" PAM_AUTH_ERR proof_bad_signature
FAULTP11_FAULTS=hang_sign login fault -a "$PIN" alice authenticate
expect "hung C_Sign: the login gives up (PAM_AUTHINFO_UNAVAIL)" PAM_AUTHINFO_UNAVAIL p11_timeout
check "hung C_Sign: cut off at token.timeout 2s ($elapsed_ms ms)" test "$elapsed_ms" -lt 15000
FAULTP11_FAULTS=removed_after_login login fault -a "$PIN" alice authenticate
expect "card removed after C_Login: the login fails as a card error" PAM_AUTHINFO_UNAVAIL p11_device_removed
FAULTP11_FAULTS=removed_sign login fault -a "$PIN" alice authenticate
expect "card removed during C_Sign: the login fails as a card error" PAM_AUTHINFO_UNAVAIL p11_device_removed
# faultp11 labels the badge "evil" ESC "[2J" (clear screen) LF 0xFF: what a card
# says must not drive the login terminal (pamdrive shows control bytes as \xHH).
MOD=$FAULTP11_MODULE badge hostile-label "pkcs11:serial=$serial_ec256"
FAULTP11_FAULTS=hostile_label login hostile-label -a "$PIN" alice authenticate
prompt=$(grep -a '^prompt' <<<"$out" || true)
check "a badge label with a terminal escape and a newline reaches the PIN prompt without control bytes" \
    bash -c '[[ $1 == "prompt_echo_off: PIN for evil"* && $1 != *"\\x"* ]]' _ "$prompt"
[[ $prompt != *'\x'* ]] || printf 'the prompt was: %s\n' "$prompt" | diag
check "the same label reaches the audit line without control bytes" \
    bash -c '[[ $1 == *"token=\"evil"* ]] && ! LC_ALL=C grep -aq "[[:cntrl:]]" <<<"$1"' _ "$audit"

# ------------------------------------------------------------ mapping: refused before any PIN
NORULES=1 badge unmapped "pkcs11:token=alice-ec256" "$(rule 'CN=Other Issuing CA,O=Other Corp' '{subject.uid}')"
login unmapped -a "$PIN" "" authenticate
expect "a badge no rule maps (rule for another issuer) is refused" PAM_AUTH_ERR map_unmapped "$NO_PROMPT"
HINT="prompt_echo_on: This badge can log in to more than one account. User name: "
login ambiguous -a "" "" authenticate
expect "a badge mapping to two accounts, no user named: the user name is asked; none given refuses as ambiguous, no PIN asked" \
    PAM_AUTH_ERR map_ambiguous "$HINT" '!prompt_echo_off'
login ambiguous -a @cancel "" authenticate
expect "ambiguous badge: a cancelled user-name question refuses as ambiguous, no PIN asked" PAM_AUTH_ERR map_ambiguous \
    "$HINT" '!prompt_echo_off'
login ambiguous -a bob -a "$PIN" "" authenticate
expect "ambiguous badge: the user name given (bob, a candidate) selects the account, then the PIN" PAM_SUCCESS ok \
    "$HINT" "prompt_echo_off: PIN for alice-ec256: " "PAM_USER: bob"
login ambiguous -a root -a "$PIN" "" authenticate
expect "ambiguous badge: a user name that is not a candidate (root) is refused before any PIN" PAM_AUTH_ERR \
    map_other_user "$HINT" '!prompt_echo_off' "PAM_USER: (unset)"
login ambiguous -a 'alice)(uid=*' -a "$PIN" "" authenticate
expect "ambiguous badge: a user name with filter characters is refused before any PIN" PAM_AUTH_ERR map_other_user \
    "$HINT" '!prompt_echo_off'
login alice-ec256 -a "$PIN" "" authenticate
expect "a badge mapping to one account, no user named: no user-name question" PAM_SUCCESS ok '!prompt_echo_on'
login alice-ec256 -a "$PIN" bob authenticate
expect "alice's badge for user bob is refused" PAM_AUTH_ERR map_other_user "$NO_PROMPT"
NORULES=1 badge root "pkcs11:token=alice-ec256" "$(rule "$ISSUING_DN" root)"
login root -a "$PIN" "" authenticate
expect "a badge mapped to root is refused (mapping.allow_root = false)" PAM_AUTH_ERR map_system_account \
    "$NO_PROMPT" "PAM_USER: (unset)"
login root -a "$PIN" root authenticate
expect "a badge for user root is refused" PAM_AUTH_ERR map_system_account "$NO_PROMPT"
NSS_WRAPPER_PASSWD=$TMP/passwd-no-alice login alice-ec256 -a "$PIN" "" authenticate
expect "a badge mapped to an account that does not exist: PAM_USER_UNKNOWN" PAM_USER_UNKNOWN map_unknown_account \
    "$NO_PROMPT"

# ------------------------------------------------------------ no badge, config, arguments, helper
badge nobadge "pkcs11:token=no-such-badge"
login nobadge -a "$PIN" alice authenticate
expect "no badge: PAM_AUTHINFO_UNAVAIL so a password module may follow" PAM_AUTHINFO_UNAVAIL p11_no_token "$NO_PROMPT"
ARGS=wait_for_card=1s badge waitcard "pkcs11:token=no-such-badge"
login waitcard -a "$PIN" alice authenticate
expect "wait_for_card=1s and no badge: asked to insert it, then PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL p11_no_token \
    "info: Insert your badge." "$NO_PROMPT"
check "wait_for_card=1s waited about 1 s ($elapsed_ms ms)" test "$elapsed_ms" -ge 900 -a "$elapsed_ms" -lt 15000

badge notservice "pkcs11:token=alice-ec256" $'[login]\nservices = ["sshd"]'
login notservice -a "$PIN" alice authenticate
expect "login.services not listing the service: PAM_AUTHINFO_UNAVAIL, nothing asked" PAM_AUTHINFO_UNAVAIL \
    login_service "$NO_PROMPT"

BAD=$(cfg badconf "pkcs11:token=alice-ec256" $'[token2]\nfoo = 1')
svc badconf "config=$BAD"
login badconf -a "$PIN" alice authenticate
expect "config with an unknown key: PAM_AUTHINFO_UNAVAIL, nothing asked" PAM_AUTHINFO_UNAVAIL config_unknown_key "$NO_PROMPT"
printf '[token\nmodule = 1\n' >"$TMP/syntax.conf"
svc syntax "config=$TMP/syntax.conf"
login syntax -a "$PIN" alice authenticate
expect "config that is not TOML: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL config_syntax "$NO_PROMPT"
svc noconf "config=$TMP/no-such.conf"
login noconf -a "$PIN" alice authenticate
expect "missing config: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL config_io "$NO_PROMPT"
WW=$(cfg worldwritable "pkcs11:token=alice-ec256")
chmod 666 "$WW"
svc worldwritable "config=$WW"
login worldwritable -a "$PIN" alice authenticate
expect "world-writable config: refused (PAM_AUTHINFO_UNAVAIL)" PAM_AUTHINFO_UNAVAIL config_file "$NO_PROMPT"

GOOD=$TMP/alice-ec256.conf
svc badarg "config=$GOOD" frobnicate
login badarg -a "$PIN" alice authenticate
expect "unknown module argument: PAM_AUTHINFO_UNAVAIL, nothing asked" PAM_AUTHINFO_UNAVAIL usage "$NO_PROMPT"
svc badwait "config=$GOOD" wait_for_card=soon
login badwait -a "$PIN" alice authenticate
expect "bad wait_for_card= duration: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL usage "$NO_PROMPT"
svc relconf "config=alice-ec256.conf"
login relconf -a "$PIN" alice authenticate
expect "relative config= path: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL usage "$NO_PROMPT"

cp "$HELPER" "$TMP/untrusted-helper"
if [ "$(id -u)" -eq 0 ]; then chgrp 65534 "$TMP/untrusted-helper"; else chgrp "$(id -g)" "$TMP/untrusted-helper"; fi
chmod 775 "$TMP/untrusted-helper"
svc untrusted "config=$GOOD" "helper=$TMP/untrusted-helper"
login untrusted -a "$PIN" alice authenticate
expect "a group-writable helper is not started" PAM_AUTHINFO_UNAVAIL config_file "$NO_PROMPT"
svc nohelper "config=$GOOD" "helper=$TMP/no-such-helper"
login nohelper -a "$PIN" alice authenticate
expect "a missing helper: PAM_AUTHINFO_UNAVAIL" PAM_AUTHINFO_UNAVAIL config_file "$NO_PROMPT"

# ------------------------------------------------------------ account check (done by the helper)
# acct_svc NAME ACCOUNT_ARGS...: a badge login with alice-ec256's config; the
# account line runs with other arguments: what changed between the login and
# the account check (a new CRL, a broken config, a missing helper).
acct_svc() {
    local name=$1
    shift
    {
        echo "auth [success=done ignore=ignore default=die] $MODULE helper=$HELPER pass_env=$PASS_ENV config=$GOOD"
        echo "account [success=done ignore=ignore default=die] $MODULE helper=$HELPER pass_env=$PASS_ENV $*"
        echo "account optional pam_echo.so cardgate_abstained"
    } >"$TMP/svc/$name"
}
# acct_expect NAME CODE REASON [LINE]...: the badge login succeeded, acct_mgmt
# gave CODE, the account check's log line names REASON ("" = no log line),
# and each LINE is in the output.
acct_expect() {
    local name=$1 code=$2 reason=$3 want why=()
    shift 3
    grep -aqx "authenticate: PAM_SUCCESS" <<<"$out" || why+=("authenticate: wanted PAM_SUCCESS")
    grep -aqx "acct_mgmt: $code" <<<"$out" || why+=("acct_mgmt: wanted $code")
    ! grep -aqx "info: cardgate_abstained" <<<"$out" || why+=("the module abstained (PAM_IGNORE)")
    if [ -n "$reason" ]; then
        grep -aq "cardgate: account check: $reason: " <<<"$err" || why+=("log: wanted account check: $reason")
    fi
    for want in "$@"; do grep -aqxF -- "$want" <<<"$out" || why+=("missing: $want"); done
    if [ ${#why[@]} -eq 0 ]; then
        ok "$name"
    else
        not_ok "$name"
        { printf 'why: %s\n' "${why[@]}"; printf '%s\n' "$out"; printf '%s\n' "$err" | grep -v PWRAP_DEBUG | head -20; } | diag
    fi
}

REVOKED=$(cfg acct-revoked "pkcs11:token=alice-ec256")
sed -i "s|$FIX/pki/root.crl\"|$FIX/pki/root-revoked-issuing.crl\"|" "$REVOKED"
acct_svc acct-revoked "config=$REVOKED"
login acct-revoked -a "$PIN" alice authenticate acct_mgmt
acct_expect "account check after a CRL revoking the badge's issuing CA is published: PAM_PERM_DENIED, the person told" \
    PAM_PERM_DENIED cert_revoked "error: Your badge certificate is no longer valid (certificate has been revoked)."
STALE=$(cfg acct-stale "pkcs11:token=alice-ec256")
sed -i "s|$FIX/pki/issuing.crl\"|$FIX/pki/issuing-stale.crl\"|" "$STALE"
acct_svc acct-stale "config=$STALE"
login acct-stale -a "$PIN" alice authenticate acct_mgmt
acct_expect "account check with only a stale CRL for the badge (revocation unknown): PAM_PERM_DENIED" \
    PAM_PERM_DENIED cert_revocation_unknown
acct_svc acct-nohelper "config=$GOOD" "helper=$TMP/no-such-helper"
login acct-nohelper -a "$PIN" alice authenticate acct_mgmt
acct_expect "account check with the helper missing: PAM_SERVICE_ERR, never PAM_SUCCESS" PAM_SERVICE_ERR config_file
acct_svc acct-untrusted "config=$GOOD" "helper=$TMP/untrusted-helper"
login acct-untrusted -a "$PIN" alice authenticate acct_mgmt
acct_expect "account check with a group-writable helper: not started, PAM_SERVICE_ERR" PAM_SERVICE_ERR config_file
acct_svc acct-badconf "config=$BAD"
login acct-badconf -a "$PIN" alice authenticate acct_mgmt
acct_expect "account check with a config the helper refuses: PAM_SERVICE_ERR (an error, not a verdict)" \
    PAM_SERVICE_ERR config_unknown_key
acct_svc acct-badarg "config=$GOOD" frobnicate
login acct-badarg -a "$PIN" alice authenticate acct_mgmt
acct_expect "account check with an unknown module argument: PAM_SERVICE_ERR" PAM_SERVICE_ERR ""

# The helper's account mode spoken to directly (the frame protocol of
# pam/protocol.hpp): no fixture badge can log in with a certificate that has
# since expired, so this is where cert_expired (PAM_ACCT_EXPIRED in the module)
# and the expiry fields are checked.
helper_account() {  # CERT.pem [USER] -> the result frame's JSON on stdout (USER: PAM_USER, default alice)
    openssl x509 -in "$1" -outform DER | python3 -c '
import json, os, socket, struct, subprocess, sys
der = sys.stdin.buffer.read()
a, b = socket.socketpair()
# The account check maps the certificate again: the accounts come from nss_wrapper.
env = dict(os.environ, LD_PRELOAD="libnss_wrapper.so")
p = subprocess.Popen([sys.argv[1]], stdin=b, stdout=b, stderr=subprocess.DEVNULL, env=env)
b.close()
req = json.dumps({"config": sys.argv[2], "mode": "account", "cert_der": der.hex(), "user": sys.argv[3]}).encode()
a.sendall(struct.pack("<BI", 1, len(req)) + req)
f = a.makefile("rb")
while True:
    h = f.read(5)
    if len(h) < 5: sys.exit("no result")
    t, n = struct.unpack("<BI", h)
    body = f.read(n)
    if t == 15: print(body.decode()); break
p.wait(10)' "$HELPER" "$GOOD" "${2:-alice}"
}
res=$(helper_account "$FIX/certs/expired.pem" 2>&1 || true)
check "account mode: an expired login certificate is cert_expired, as a verdict (PAM_ACCT_EXPIRED)" \
    bash -c 'python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(not (j[\"code\"]==\"cert_expired\" and j[\"verdict\"] is True))" "$1"' _ "$res"
res=$(helper_account "$FIX/certs/alice-ec256.pem" 2>&1 || true)
check "account mode: a valid certificate is ok, with its notAfter and login.warn_expiry for the warning" \
    bash -c 'python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(not (j[\"code\"]==\"ok\" and j[\"not_after\"]>0 and j[\"warn_expiry_s\"]>0))" "$1"' _ "$res"
res=$(helper_account "$FIX/certs/alice-ec256.pem" bob 2>&1 || true)
check "account mode: a valid certificate that no longer maps to PAM_USER is map_other_user, as a verdict" \
    bash -c 'python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(not (j[\"code\"]==\"map_other_user\" and j[\"verdict\"] is True))" "$1"' _ "$res"
res=$(helper_account "$FIX/certs/revoked.pem" 2>&1 || true)
check "account mode: a revoked certificate is cert_revoked, as a verdict" \
    bash -c 'python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(not (j[\"code\"]==\"cert_revoked\" and j[\"verdict\"] is True))" "$1"' _ "$res"

# ------------------------------------------------------------ validation cache
# mapping.index_dir holds the path checks of earlier logins (validation_cache.hpp):
# a second login reuses them, and a CRL replaced in between is seen at once.
VC=$TMP/vcache
mkdir -p "$VC/trust" "$VC/index"
chmod 700 "$VC/index"
cp "$FIX/pki/root.pem" "$FIX/pki/issuing.pem" "$FIX/pki/root.crl" "$FIX/pki/issuing.crl" "$VC/trust/"
VCONF=$(cfg vcache "pkcs11:token=alice-ec256")
sed -i -e "s|$FIX/pki/|$VC/trust/|g" -e "/^\[mapping\]\$/a index_dir = \"$VC/index\"" "$VCONF"
svc vcache "config=$VCONF"
sleep 2  # trust files changed within the last 2 s are never remembered ("racily clean")
login vcache -a "$PIN" alice authenticate
expect "validation cache: the first login with an index directory succeeds" PAM_SUCCESS ok
entry=$(find "$VC/index" -name 'pathcheck-*.idx' -type f)
check "validation cache: the first login stored its path checks (one entry, mode 0600)" \
    test "$(printf '%s' "$entry" | grep -c .)" -eq 1 -a "$(stat -c %a "$entry" 2>/dev/null)" = 600
before=$(stat -c %i:%Y "$entry" 2>/dev/null)
login vcache -a "$PIN" alice authenticate
expect "validation cache: the second login succeeds" PAM_SUCCESS ok
check "validation cache: the second login reused the entry (not rewritten)" \
    test "$(stat -c %i:%Y "$entry" 2>/dev/null)" = "$before"
login vcache -a "$PIN" alice authenticate acct_mgmt
check "validation cache: the account check after it passes too" grep -aqx "acct_mgmt: PAM_SUCCESS" <<<"$out"
cp "$FIX/pki/root-revoked-issuing.crl" "$VC/trust/root.crl.new"
mv "$VC/trust/root.crl.new" "$VC/trust/root.crl"
login vcache -a "$PIN" alice authenticate
expect "validation cache: a CRL revoking the issuing CA, published after the entry, refuses the next login" \
    PAM_AUTH_ERR cert_revoked "$NO_PROMPT"
chmod 777 "$VC/index"
rm -f "$VC"/index/pathcheck-*.idx
cp "$FIX/pki/root.crl" "$VC/trust/root.crl"
sleep 2
login vcache -a "$PIN" alice authenticate
expect "validation cache: an index directory writable by others is not used, the login still checks" PAM_SUCCESS ok
check "validation cache: nothing was stored in a directory writable by others" \
    test "$(find "$VC/index" -name 'pathcheck-*.idx' | wc -l)" -eq 0

# ------------------------------------------------------------ revocation over the network
# An OCSP responder that accepts and never answers (on 127.0.0.1 only), with
# token.timeout = 1s and trust.fetch_timeout = 2s: the module's watchdog
# allows for the revocation checks' network time (the helper's limits say how
# much), so the login is decided by revocation (here the CRLs, next in
# "ocsp,crl"), not cut off as a hung card.
STALL_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$STALL_PORT" &
STALL_PID=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$STALL_PORT") 2>/dev/null && break; sleep 0.1; done
NCONF=$(TIMEOUT=1s cfg netslow "pkcs11:token=alice-ec256")
sed -i -e 's|^revocation = .*|revocation = "ocsp,crl"|' \
    -e "/^revocation = /a ocsp_responder = \"http://127.0.0.1:$STALL_PORT/\"\nfetch_timeout = \"2s\"" "$NCONF"
svc netslow "config=$NCONF"
login netslow -a "$PIN" alice authenticate
expect "a stalling OCSP responder (2 s per certificate, token.timeout 1 s): the CRLs decide, the helper is not killed" \
    PAM_SUCCESS ok
check "... and the login waited for the responder (${elapsed_ms} ms)" test "$elapsed_ms" -ge 3500
kill "$STALL_PID" 2>/dev/null
wait "$STALL_PID" 2>/dev/null

# What sshd or sudo loads with the module: no OpenSSL, no toml++, and (but
# in the sanitizer build) no shared libstdc++; the card and trust work is
# the helper's.
needed=$(readelf -d "$MODULE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
allowed='^(libpam\.so\.0|libc\.so\.6|ld-linux-x86-64\.so\.2)$'
[ -z "${SANITIZED:-}" ] || allowed='^(libpam\.so\.0|libc\.so\.6|ld-linux-x86-64\.so\.2|libasan\.so\.[0-9]+|libubsan\.so\.[0-9]+|libstdc\+\+\.so\.6|libm\.so\.6|libgcc_s\.so\.1)$'
check "pam_cardgate.so needs only libc and libpam ($needed)" \
    bash -c 'for l in $1; do [[ $l =~ $2 ]] || exit 1; done' _ "$needed" "$allowed"

# ------------------------------------------------------------ answers and names never logged
# The user-name question comes where people expect to type their PIN: what is
# typed there (or at the login prompt, as PAM_USER) must reach no log line and
# no message.
SECRET=987654-secret  # not the PIN: the final sweep looks for that
login ambiguous -a "$SECRET" -a "$PIN" "" authenticate
expect "ambiguous badge: a PIN-like answer to the user-name question is refused before any PIN" PAM_AUTH_ERR \
    map_other_user "$HINT" '!prompt_echo_off'
check "... and the answer appears in no log line and no message" \
    bash -c '! grep -aqF -- "$1" <<<"$2"' _ "$SECRET" "$out$err"
check "... and the audit line says why without it" contains "$audit" 'detail="user-name answer not among the candidates"'
login alice-ec256 -a "$PIN" "$SECRET" authenticate
expect "a PIN-like user name (PAM_USER) for alice's badge is refused before any PIN" PAM_AUTH_ERR map_other_user "$NO_PROMPT"
check "... and that name appears in no log line nor message (user=\"(unknown)\")" \
    bash -c '! grep -aF -- "$1" <<<"$2" | grep -vq "^PAM_USER: " && [[ $3 == *"user=\"(unknown)\""* ]]' _ "$SECRET" "$out
$err" "$audit"

# ------------------------------------------------------------ account check: the user of the login
login alice-ec256 -a "$PIN" alice authenticate set_user=bob acct_mgmt
acct_expect "acct_mgmt after the application set PAM_USER to bob (alice's badge login): PAM_PERM_DENIED" \
    PAM_PERM_DENIED map_other_user
login ambiguous -a "$PIN" alice authenticate set_user=bob acct_mgmt
acct_expect "acct_mgmt after PAM_USER changed to bob, whom the badge also maps to: PAM_PERM_DENIED (it logged in alice)" \
    PAM_PERM_DENIED map_other_user
login alice-ec256 -a "$PIN" alice authenticate set_user=alice acct_mgmt
acct_expect "acct_mgmt after PAM_USER set again to the same account: PAM_SUCCESS" PAM_SUCCESS ""

# ------------------------------------------------------------ try_first_pass: only a plausible PIN is tried
SOFTHSM2_CONF=$(softhsm_with tfp alice-ec256)
FIRST_PASS=1 ARGS=try_first_pass MOD=$FAULTP11_MODULE badge tfp-counter "pkcs11:token=alice-ec256"
export FAULTP11_FAULTS=pin_counter FAULTP11_STATE=$TMP/tfp.state
PAM_AUTHTOK="correct horse battery" login tfp-counter -a @cancel alice authenticate
expect "try_first_pass: a stacked pass phrase is not tried as the PIN, the PIN is asked" PAM_AUTH_ERR login_cancelled \
    "$(PIN_PROMPT alice-ec256)" '!error'
check "... and the badge's PIN retry counter did not move" bash -c '! grep -q "[1-9]$" "$1" 2>/dev/null' _ "$TMP/tfp.state"
PAM_AUTHTOK=000000 login tfp-counter -a @cancel alice authenticate
expect "try_first_pass: a stacked digits-only password is tried as the PIN" PAM_AUTH_ERR login_cancelled \
    "^error: Wrong PIN." "$(PIN_PROMPT alice-ec256)"
check "... and it cost one try" grep -q "1$" "$TMP/tfp.state"
FIRST_PASS=1 ARGS=try_first_pass MOD=$FAULTP11_MODULE badge tfp-pattern "pkcs11:token=alice-ec256" \
    $'[login]\npin_pattern = "[0-9]{8}"'
PAM_AUTHTOK=$PIN login tfp-pattern -a @cancel alice authenticate
expect "try_first_pass with login.pin_pattern = \"[0-9]{8}\": six digits are not tried, the PIN is asked" \
    PAM_AUTH_ERR login_cancelled "$(PIN_PROMPT alice-ec256)" '!error'
check "... and the counter still says one try" grep -q "1$" "$TMP/tfp.state"
PAM_AUTHTOK=$PIN login tfp-counter alice authenticate
expect "try_first_pass: the right digits-only PIN logs in, nothing asked (and resets the counter)" PAM_SUCCESS ok "$NO_PROMPT"
unset FAULTP11_FAULTS
FAULTP11_STATE=$TMP/faultp11.state
SOFTHSM2_CONF=$TMP/hsm-all/softhsm2.conf

# ------------------------------------------------------------ PIN change (password stack): only your own badge
# Private copies of alice's, bob's and the hostile badges: PINs change here.
SOFTHSM2_CONF=$(softhsm_with chpin alice-ec256 bob hostile)
pw_svc() {  # pw_svc NAME URI: auth, account and password stacks for the badges URI selects
    local conf
    conf=$(cfg "$1" "$2")
    {
        echo "auth [success=done ignore=ignore default=die] $MODULE helper=$HELPER pass_env=$PASS_ENV config=$conf"
        echo "account [success=done ignore=ignore default=die] $MODULE helper=$HELPER pass_env=$PASS_ENV config=$conf"
        echo "password required $MODULE helper=$HELPER pass_env=$PASS_ENV config=$conf"
    } >"$TMP/svc/$1"
}
# pw_expect NAME CODE REASON [LINE | ^PREFIX | !PREFIX]...: chauthtok gave
# CODE and the one pin-change audit line says REASON.
pw_expect() {
    local name=$1 code=$2 reason=$3 want why=() outcome=refused
    shift 3
    [ "$code" != PAM_SUCCESS ] || outcome=changed
    grep -aqx "chauthtok: $code" <<<"$out" || why+=("chauthtok: wanted $code")
    [ "$(printf '%s' "$audit" | grep -c .)" -eq 1 ] || why+=("wanted one audit line")
    contains "$audit" "outcome=$outcome purpose=pin-change reason=$reason " || why+=("audit: wanted $outcome $reason")
    for want in "$@"; do
        case $want in
            !*) ! starts "${want#!}" || why+=("unwanted: a line starting ${want#!}") ;;
            ^*) starts "${want#^}" || why+=("missing: a line starting ${want#^}") ;;
            *) grep -aqxF -- "$want" <<<"$out" || why+=("missing: $want") ;;
        esac
    done
    if [ ${#why[@]} -eq 0 ]; then
        ok "$name"
    else
        not_ok "$name"
        { printf 'why: %s\n' "${why[@]}"; printf '%s\n' "$out"; printf 'audit: %s\n' "$audit"; \
          printf '%s\n' "$err" | grep -v PWRAP_DEBUG | head -20; } | diag
    fi
}
NEW_PIN=654321
pw_svc chpin-bob "pkcs11:token=bob"
login chpin-bob -a "$PIN" -a "$NEW_PIN" -a "$NEW_PIN" alice chauthtok
pw_expect "passwd as alice with only bob's badge: refused (PAM_PERM_DENIED) before any PIN is asked" \
    PAM_PERM_DENIED map_other_user '!prompt' "error: This badge cannot change your PIN: the certificate does not map to the requested user."
login chpin-bob -a "$PIN" bob authenticate
expect "... and bob's badge still takes bob's old PIN" PAM_SUCCESS ok
pw_svc chpin-revoked "pkcs11:token=hostile;object=revoked"
login chpin-revoked -a "$PIN" -a "$NEW_PIN" -a "$NEW_PIN" alice chauthtok
pw_expect "passwd as alice with a revoked badge: refused (cert_revoked) before any PIN is asked" \
    PAM_PERM_DENIED cert_revoked '!prompt'
login chpin-revoked -a "$PIN" -a "$NEW_PIN" -a "$NEW_PIN" "" chauthtok
pw_expect "passwd without a user: refused before any PIN is asked" PAM_USER_UNKNOWN map_unknown_account '!prompt'
pw_svc chpin-any ""
login chpin-any -a "$PIN" -a "$NEW_PIN" -a "$NEW_PIN" alice chauthtok
pw_expect "passwd as alice with her badge, bob's and a hostile one present: only hers is eligible, PIN changed" \
    PAM_SUCCESS ok "prompt_echo_off: Current PIN for alice-ec256: " '!prompt_echo_on' "info: The badge PIN is changed."
check "... and the audit line names alice's certificate" contains "$audit" "cert_sha256=$SHA "
pw_svc chpin-alice "pkcs11:token=alice-ec256"
login chpin-alice -a "$NEW_PIN" alice authenticate
expect "... and alice's badge now takes her new PIN" PAM_SUCCESS ok
login chpin-alice -a "$NEW_PIN" -a "$PIN" -a "$PIN" alice chauthtok
pw_expect "passwd as alice with her badge: the PIN changed back" PAM_SUCCESS ok "info: The badge PIN is changed."
# A locked PIN (faultp11's counter at 3): the badge is still checked first,
# then the PUK unblocks it (C_Login as SO, which no read-only session of the
# examination may block).
MOD=$FAULTP11_MODULE pw_svc chpin-locked "pkcs11:token=alice-ec256"
printf '%s 3\n' "$serial_ec256" >"$TMP/locked.state"
FAULTP11_FAULTS=pin_counter FAULTP11_STATE=$TMP/locked.state \
    login chpin-locked -a "$SO_PIN" -a "$PIN" -a "$PIN" alice chauthtok
pw_expect "passwd as alice with her badge's PIN locked: the PUK unblocks it and sets the new PIN" PAM_SUCCESS ok \
    "info: The PIN of alice-ec256 is locked: unblock it with its PUK." "prompt_echo_off: PUK for alice-ec256: " \
    "info: The badge PIN is unblocked and set."
FAULTP11_FAULTS=pin_counter FAULTP11_STATE=$TMP/locked.state \
    login chpin-bob -a "$SO_PIN" -a "$PIN" -a "$PIN" alice chauthtok
pw_expect "passwd as alice with bob's badge: no PUK asked either" PAM_PERM_DENIED map_other_user '!prompt'
SOFTHSM2_CONF=$TMP/hsm-all/softhsm2.conf

# ------------------------------------------------------------ sweeps
bad=
for c in "${ERROR_CASES[@]}"; do
    IFS='|' read -r name result abstained <<<"$c"
    case $result in "authenticate: PAM_SUCCESS" | "authenticate: PAM_IGNORE" | "") bad+="$name ($result); " ;; esac
    [ "$abstained" = 0 ] || bad+="$name (module returned PAM_IGNORE); "
done
if [ -z "$bad" ] && [ "${#ERROR_CASES[@]}" -ge 40 ]; then
    ok "none of the ${#ERROR_CASES[@]} refusals returned PAM_SUCCESS or PAM_IGNORE"
else
    not_ok "every refusal is a refusal (${#ERROR_CASES[@]} cases): $bad"
fi

# Hex runs (hashes, serials) and process ids could hold the digits by chance.
leaks=$(sed -E -e 's/[0-9A-Fa-f]{16,}//g' -e 's/\([0-9]+\)//g' "$ALL_OUTPUT" | grep -n "$PIN" | head -5 || true)
check "the PIN appears in no conversation message and no log line" test -z "$leaks"
[ -z "$leaks" ] || printf '%s\n' "$leaks" | diag
echo "# $tap_n checks in $(( $(date +%s) - started )) s"

done_testing
