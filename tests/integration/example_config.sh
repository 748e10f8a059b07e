#!/bin/bash
# etc/cardgate.conf.example (installed as /etc/cardgate/cardgate.conf.example)
# is a valid config: with its CA, CRL and module paths pointed at the
# fixtures' files, `cardgate check-config` accepts it; an unknown key added to
# it is refused, naming the file and line.
. "${CARDGATE_SRCDIR:-.}/tests/integration/tap.sh"
: "${SOFTHSM2_MODULE:?}"
EXAMPLE=${CARDGATE_EXAMPLE_CONF:-${CARDGATE_SRCDIR:-.}/etc/cardgate.conf.example}
[ -f "$EXAMPLE" ] || { echo "Bail out! $EXAMPLE is missing"; exit 1; }

conf=$TMP/example.conf
sed -e "s|/etc/cardgate/ca/root.pem|$FIX/pki/root.pem|" \
    -e "s|/etc/cardgate/ca/issuing.pem|$FIX/pki/issuing.pem|" \
    -e "s|/etc/cardgate/crl/root.crl|$FIX/pki/root.crl|" \
    -e "s|/etc/cardgate/crl/issuing.crl|$FIX/pki/issuing.crl|" \
    -e "s|^module = .*|module = \"$SOFTHSM2_MODULE\"|" "$EXAMPLE" >"$conf"
chmod 600 "$conf"
check "every /etc/cardgate path of the example was replaced" sh -c "! grep -q '\"/etc/cardgate/' '$conf' || grep -q '^# *bindings' '$conf'"
run "$CARDGATE_BIN" --json check-config --config "$conf"
expect "the example config is valid" 0 -

bad=$TMP/example-unknown.conf
sed 's/^allow_root = false$/allow_root = false\nallow_everyone = true/' "$conf" >"$bad"
chmod 600 "$bad"
run "$CARDGATE_BIN" --json check-config --config "$bad"
if [ "$rc" -eq 2 ] && contains "$out$err" "allow_everyone"; then
    ok "an unknown key added to the example is refused (exit 2, names the key)"
else
    not_ok "an unknown key added to the example is refused (exit $rc)"
    printf '%s\n%s\n' "$out" "$err" | head -10 | diag
fi
done_testing
