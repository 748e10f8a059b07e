#!/bin/bash
# cardgate pin change|unblock: the administrator's PIN change and PUK unblock.
# Root only (refused before the config or a card is touched); the PINs come
# from the terminal, so the root cases run the command on a pseudo-terminal
# that answers each prompt when it appears.
. "${CARDGATE_SRCDIR:-.}/tests/integration/tap.sh"
: "${SOFTHSM2_MODULE:?}"

# A private copy of the badges: PINs change here.
cp -r "$(sed -n 's/^directories.tokendir *= *//p' "$FIX/softhsm2.conf")" "$TMP/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$TMP/tokens" >"$TMP/softhsm2.conf"
export SOFTHSM2_CONF=$TMP/softhsm2.conf

# ------------------------------------------------------------ not root
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
    AS_NOBODY=()  # already not root
fi
if [ "$(id -u)" -ne 0 ] || [ ${#AS_NOBODY[@]} -gt 0 ]; then
    for action in change unblock; do
        run "${AS_NOBODY[@]}" "$CARDGATE_BIN" --config "$CONF" --json pin "$action" 'pkcs11:token=bob'
        expect "cardgate pin $action as a user other than root: refused (exit 1, admin_only)" 1 admin_only
        run "${AS_NOBODY[@]}" "$CARDGATE_BIN" --config "$CONF" pin "$action" 'pkcs11:token=bob'
        check "... with a message that says it is for root" contains "$err" "only root may do this"
    done
    run "${AS_NOBODY[@]}" "$CARDGATE_BIN" --config "$TMP/no-such.conf" --json pin change 'pkcs11:token=bob'
    expect "cardgate pin as a user other than root: refused before the config is read" 1 admin_only
fi

run "$CARDGATE_BIN" --config "$CONF" --json pin frob 'pkcs11:token=bob'
expect "cardgate pin with an unknown action: usage (exit 2)" 2 usage

if [ "$(id -u)" -ne 0 ]; then
    echo "# not root: the root cases are skipped"
    done_testing
    exit
fi

# ------------------------------------------------------------ root, on a terminal
# on_tty ANSWER... -- CMD...: runs CMD on a pseudo-terminal (its /dev/tty),
# typing each ANSWER once a prompt ending in ": " has appeared; $rc, $out.
on_tty() {
    local answers=()
    while [ "$1" != -- ]; do answers+=("$1"); shift; done
    shift
    out=$(timeout -k 5 60 python3 - "${#answers[@]}" "${answers[@]}" "$@" <<'PY'
import os, pty, sys, time
n = int(sys.argv[1]); answers = sys.argv[2:2 + n]; cmd = sys.argv[2 + n:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
seen, given = b"", 0
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    # A prompt is waiting when the output so far ends in ": " (prompt_pin
    # turns the echo off before it prints the prompt).
    if given < len(answers) and seen.endswith(b": "):
        os.write(fd, answers[given].encode() + b"\n")
        given += 1
        seen += b"\n"
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
PY
)
    rc=$?
}
BOB='pkcs11:token=bob'
on_tty 999999 654321 654321 -- "$CARDGATE_BIN" --config "$CONF" pin change "$BOB"
check "root: a wrong current PIN is refused (exit 3) and not retried" \
    bash -c '[ "$1" -eq 3 ] && [ "$(grep -c "Current PIN for bob: " <<<"$2")" -eq 1 ]' _ "$rc" "$out"
on_tty 123456 654321 654322 -- "$CARDGATE_BIN" --config "$CONF" pin change "$BOB"
check "root: new PINs that differ change nothing (exit 3)" bash -c '[ "$1" -eq 3 ]' _ "$rc"
on_tty 123456 654321 654321 -- "$CARDGATE_BIN" --config "$CONF" pin change "$BOB"
check "root: cardgate pin change changes bob's PIN (exit 0)" bash -c '[ "$1" -eq 0 ]' _ "$rc"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | diag
check "... and no PIN was echoed to the terminal" bash -c '! grep -q -e 654321 -e 123456 <<<"$1"' _ "$out"
run "$CARDGATE_BIN" --config "$CONF" --json prove --pin-source "file:$(pin_file 654321)" "$BOB;object=bob"
expect "... and bob's badge now takes the new PIN" 0 ok

# SoftHSM keeps no PIN retry counter, so the PIN cannot be locked here; an
# unblock works on an unlocked PIN too (C_Login as SO, C_InitPIN).
on_tty 12345678 111111 111111 -- "$CARDGATE_BIN" --config "$CONF" pin unblock "$BOB"
check "root: cardgate pin unblock with the PUK sets a new PIN (exit 0)" bash -c '[ "$1" -eq 0 ]' _ "$rc"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | diag
run "$CARDGATE_BIN" --config "$CONF" --json prove --pin-source "file:$(pin_file 111111)" "$BOB;object=bob"
expect "... and bob's badge takes the PIN set by the unblock" 0 ok
on_tty 00000000 222222 222222 -- "$CARDGATE_BIN" --config "$CONF" pin unblock "$BOB"
check "root: a wrong PUK is refused (exit 3)" bash -c '[ "$1" -eq 3 ]' _ "$rc"

done_testing
