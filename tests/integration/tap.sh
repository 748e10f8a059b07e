# Tiny TAP helpers for the integration scripts (sourced).
# Each check prints "ok N - name" or "not ok N - name" with diagnostics.
set -u
tap_n=0
tap_failed=0
: "${CARDGATE_BIN:?}" "${CARDGATE_FIXTURES:?}"
FIX=$CARDGATE_FIXTURES
CONF=$FIX/cardgate.conf
PIN=123456
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cardgate-it.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
diag() { sed 's/^/# /'; }
done_testing() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }

# run NAME CMD...: runs a command (bounded at 60 s so no test can hang),
# leaving its exit code in $rc, stdout in $out, stderr in $err.
run() {
    local o="$TMP/out" e="$TMP/err"
    timeout -k 5 60 "$@" >"$o" 2>"$e"
    rc=$?
    out=$(cat "$o")
    err=$(cat "$e")
}

# expect NAME RC CODE: checks $rc and, when CODE is not "-", the JSON error code in $out.
expect() {
    local name=$1 want_rc=$2 want_code=$3 got_code
    got_code=$(printf '%s' "$out" | jq -r '.error.code // "ok"' 2>/dev/null || echo "unparsable")
    if [ "$rc" -eq "$want_rc" ] && { [ "$want_code" = "-" ] || [ "$got_code" = "$want_code" ]; }; then
        ok "$name"
    else
        not_ok "$name (exit $rc, code $got_code; wanted exit $want_rc, code $want_code)"
        { printf '%s\n' "$out" | head -40; printf '%s\n' "$err" | head -20; } | diag
    fi
}

# check NAME CONDITION...: a plain assertion.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}

contains() { case "$1" in *"$2"*) return 0 ;; *) return 1 ;; esac; }

pin_file() {
    local f="$TMP/pin.$1"
    printf '%s\n' "$1" >"$f"
    chmod 600 "$f"
    echo "$f"
}

# A config like the fixtures' but with the module and timeout replaced.
config_with() {  # config_with NAME MODULE TIMEOUT
    local f="$TMP/$1.conf"
    sed -e "s|^module = .*|module = \"$2\"|" -e "s|^timeout = .*|timeout = \"$3\"|" "$CONF" >"$f"
    chmod 600 "$f"
    echo "$f"
}
