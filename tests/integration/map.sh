#!/bin/bash
# cardgate map and check-config for mapping: rules, strong bindings,
# ambiguity, the user asked for, policy, accounts from nss_wrapper, and the
# derived index files, through the real CLI.
. "${CARDGATE_SRCDIR:-.}/tests/integration/tap.sh"

NSSW=$(for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
    [ -e "$d/libnss_wrapper.so" ] && echo "$d/libnss_wrapper.so" && break; done)
if [ -z "$NSSW" ]; then echo "1..0 # SKIP nss_wrapper (libnss-wrapper) is not installed"; exit 0; fi
cat >"$TMP/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
svc:x:999:999:service:/nonexistent:/usr/sbin/nologin
alice:x:1001:1001:Alice Example:/home/alice:/bin/sh
carol:x:1003:1003:Carol:/home/carol:/bin/sh
P
cat >"$TMP/group" <<'G'
root:x:0:
alice:x:1001:
carol:x:1003:
engineering:x:2000:alice
door-lab:x:2001:alice,carol
G
export NSS_WRAPPER_PASSWD=$TMP/passwd NSS_WRAPPER_GROUP=$TMP/group
# The sanitizer build's runtime must not insist on coming first.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
CG=(env LD_PRELOAD="$NSSW" "$CARDGATE_BIN")

ALICE=$FIX/certs/alice-rsa2048.pem
BOB=$FIX/certs/bob-ec256.pem
ISSUER='CN=Example Issuing CA,O=Example Corp'
spki() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
ALICE_SPKI=$(spki "$ALICE")
BASE=$(sed '/^\[mapping\]/,$d' "$CONF")

# conf NAME MAPPING-TOML: the fixture config with its [mapping] replaced.
conf() {
    local f="$TMP/$1.conf"
    { printf '%s\n\n[mapping]\n' "$BASE"; printf '%s\n' "$2"; } >"$f"
    chmod 644 "$f"
    echo "$f"
}
bindings() {  # bindings NAME LINES
    local f="$TMP/$1.bindings"
    printf '%s\n' "$2" >"$f"
    chmod 644 "$f"
    echo "$f"
}
map() { run "${CG[@]}" --config "$1" --json map "${@:2}"; }
field() { printf '%s' "$out" | jq -r "$1"; }
RULE="[[mapping.rule]]
issuer = \"$ISSUER\"
user = \"{subject.uid}\""

# --- rules
c=$(conf rule "$RULE")
map "$c" "$ALICE"
expect "rule maps alice's badge to alice" 0 ok
check "rule mapping is weak and names its config line" \
    test "$(field .identity.strength)" = weak -a "$(field .identity.source)" = "rule $c:$(grep -n '^\[\[mapping.rule\]\]' "$c" | cut -d: -f1)"
check "groups come from NSS (getgrouplist)" contains "$(field '.identity.groups | join(",")')" "engineering"
privs=$(field '.identity.privileges | join(" ")')
check "privileges name groups and the subject OU" contains "$privs" "group:door-lab"
check "... and the subject OU" contains "$privs" "ou:Engineering"
map "$c" "$ALICE" --user alice
expect "user given and among the candidates maps" 0 ok
map "$c" "$ALICE" --user carol
expect "user given but the certificate maps to someone else is refused" 1 map_other_user
map "$c" "$BOB"
expect "a mapped account missing from NSS is unknown, not unmapped" 1 map_unknown_account
run "${CG[@]}" --config "$c" --json map --user 'al*ce' "$ALICE"
expect "a hostile --user is a usage error" 2 usage

c=$(conf other-issuer "[[mapping.rule]]
issuer = \"CN=Other Issuing CA,O=Example Corp\"
user = \"{subject.uid}\"")
map "$c" "$ALICE"
expect "a rule scoped to another issuer does not map" 1 map_unmapped
check "the explanation says rules of other issuers were not tested" contains "$out" "1 rule(s) for other issuers not tested"

c=$(conf subject "$RULE
subject = \",OU=Sales,O=Example Corp\$\"")
map "$c" "$ALICE"
expect "a subject regex that does not match leaves it unmapped" 1 map_unmapped

map "$(conf rule "$RULE")" "$FIX/certs/lookalike-issued.pem"
check "a look-alike CA's certificate (same issuer name) is refused by validation before mapping" \
    test "$rc" -eq 1 -a "$(field .validation.verdict)" = invalid
map "$(conf rule "$RULE")" "$FIX/certs/expired.pem"
expect "an expired certificate is refused with the validation reason" 1 cert_expired

# --- root and system accounts
c=$(conf root "[[mapping.rule]]
issuer = \"$ISSUER\"
user = \"root\"")
map "$c" "$ALICE"
expect "a rule mapping to root is refused" 1 map_system_account
c=$(conf svc "[[mapping.rule]]
issuer = \"$ISSUER\"
user = \"svc\"")
map "$c" "$ALICE"
expect "a system account (uid 999 < 1000) is refused" 1 map_system_account
c=$(conf svc-allowed "allow_root = true
[[mapping.rule]]
issuer = \"$ISSUER\"
user = \"svc\"")
map "$c" "$ALICE"
expect "allow_root = true allows a system account" 0 ok
c=$(conf minuid "min_uid = 1002
$RULE")
map "$c" "$ALICE"
expect "min_uid raised above alice's uid refuses her" 1 map_system_account

# --- strong bindings
b=$(bindings strong "# user kind value
alice spki-sha256 $ALICE_SPKI")
c=$(conf strong "bindings = \"$b\"")
map "$c" "$ALICE"
expect "an spki-sha256 binding maps" 0 ok
check "a binding is strong and names file:line" \
    test "$(field .identity.strength)" = strong -a "$(field .identity.source)" = "binding $b:2 (spki-sha256)"
b=$(bindings certhash "alice cert-sha256 $(openssl x509 -in "$ALICE" -outform DER | sha256sum | cut -d' ' -f1)")
map "$(conf certhash "bindings = \"$b\"")" "$ALICE"
expect "a cert-sha256 binding maps" 0 ok
serial=$(openssl x509 -in "$ALICE" -noout -serial | cut -d= -f2)
b=$(bindings serial "alice issuer-serial 000$serial cn=example  ISSUING ca,o=Example Corp")
map "$(conf serial "bindings = \"$b\"")" "$ALICE"
expect "an issuer-serial binding maps (leading zeros, case and inner spacing of the DN do not matter)" 0 ok
b=$(bindings serial-other "alice issuer-serial $serial CN=Example Root CA,O=Example Corp")
map "$(conf serial-other "bindings = \"$b\"")" "$ALICE"
expect "an issuer-serial binding for another issuer does not map" 1 map_unmapped

b=$(bindings conflict "carol spki-sha256 $ALICE_SPKI")
c=$(conf conflict "bindings = \"$b\"
$RULE")
map "$c" "$ALICE"
expect "a binding and a rule naming different accounts are ambiguous" 1 map_ambiguous
map "$c" "$ALICE" --user alice
expect "with a user given, a strong binding naming another user refuses it" 1 map_other_user
map "$c" "$ALICE" --user carol
expect "with the user the strong binding names, it maps" 0 ok
check "... and the result is strong" test "$(field .identity.strength)" = strong
c=$(conf rules-only "bindings = \"$b\"
sources = [\"rules\"]
$RULE")
map "$c" "$ALICE"
expect "sources = [\"rules\"] ignores the bindings file" 0 ok

b=$(bindings two "alice spki-sha256 $ALICE_SPKI
carol spki-sha256 $ALICE_SPKI")
map "$(conf two "bindings = \"$b\"")" "$ALICE"
expect "one key bound to two users is ambiguous" 1 map_ambiguous
run "${CG[@]}" --config "$(conf two "bindings = \"$b\"")" --json check-config
check "check-config warns about a key bound to two users" contains "$(field '.warnings | join(" ")')" "$b:2"

# --- policy
c=$(conf weak "require_strong = true
$RULE")
map "$c" "$ALICE"
expect "require_strong refuses a weak rule for login" 1 map_weak
map "$c" "$ALICE" --purpose tls
expect "require_strong applies to login only" 0 ok
b=$(bindings strong2 "alice spki-sha256 $ALICE_SPKI")
map "$(conf strong-required "require_strong = true
bindings = \"$b\"")" "$ALICE"
expect "require_strong accepts a strong binding" 0 ok

# --- hostile bindings files
b=$(bindings bad "alice spki-sha256 $ALICE_SPKI
bob   spki-sha256 1234
carol fingerprint $ALICE_SPKI
d\$ve  cert-sha256 $ALICE_SPKI")
c=$(conf bad "bindings = \"$b\"
$RULE")
map "$c" "$ALICE"
expect "a bindings file with a bad line is not used (config error)" 2 config_value
check "the error names the file and line" contains "$(field .error.message)" "$b:2:"
run "${CG[@]}" --config "$c" --json check-config
check "check-config reports every bad line (lines 2, 3, 4)" \
    test "$(field '.binding_errors | length')" = 3
check "check-config exits 2 on bad bindings" test "$rc" -eq 2
b=$(bindings writable "alice spki-sha256 $ALICE_SPKI")
chmod 666 "$b"
map "$(conf writable "bindings = \"$b\"")" "$ALICE"
expect "a world-writable bindings file is refused" 2 config_file
map "$(conf missing "bindings = \"$TMP/nonexistent\"")" "$ALICE"
expect "a missing bindings file is a config error, not 'unmapped'" 2 config_io
printf 'alice spki-sha256 %s\nbob cert-sha256 \0\n' "$ALICE_SPKI" >"$TMP/nul.bindings"; chmod 644 "$TMP/nul.bindings"
map "$(conf nul "bindings = \"$TMP/nul.bindings\"")" "$ALICE"
expect "a NUL byte in the bindings file is refused" 2 config_value

# --- hostile rules
run "${CG[@]}" --config "$(conf badre "[[mapping.rule]]
issuer = \"$ISSUER\"
subject = \"(unclosed\"
user = \"{subject.uid}\"")" --json check-config
expect "check-config refuses a regex that does not compile" 2 config_value
run "${CG[@]}" --config "$(conf badfield "[[mapping.rule]]
issuer = \"$ISSUER\"
user = \"{subject.nosuchattr}\"")" --json check-config
expect "check-config refuses an unknown template field" 2 config_value
run "${CG[@]}" --config "$(conf baddn "[[mapping.rule]]
issuer = \"CN=Example;O=x\"
user = \"{subject.uid}\"")" --json check-config
expect "check-config refuses an issuer that is not a DN" 2 config_value
c=$(conf meta "[[mapping.rule]]
issuer = \"$ISSUER\"
user = \"{subject.cn}\"")
map "$c" "$ALICE"
expect "a template giving a name with a space ('Alice Example') does not match" 1 map_unmapped
check "... and the explanation says why" contains "$out" "contains 0x20"

# --- derived index files
IDX=$TMP/idx; mkdir -m 700 "$IDX"
python3 - "$TMP/big.bindings" "$ALICE_SPKI" <<'PY'
import sys, hashlib
with open(sys.argv[1], "w") as f:
    for i in range(1500):
        f.write(f"user{i:05d} spki-sha256 {hashlib.sha256(str(i).encode()).hexdigest()}\n")
    f.write(f"alice spki-sha256 {sys.argv[2]}\n")
PY
chmod 644 "$TMP/big.bindings"
{ printf '%s\n\n[mapping]\nbindings = "%s"\n' "$BASE" "$TMP/big.bindings"
  for i in $(seq 1 99); do printf '[[mapping.rule]]\nissuer = "%s"\nsubject = ",OU=Team%03d,"\nuser = "{subject.uid}"\n\n' "$ISSUER" "$i"; done
  printf '%s\n' "$RULE"; } >"$TMP/big.conf"
chmod 644 "$TMP/big.conf"
sleep 2.1  # files changed in the last 2 s are not indexed (racily clean)
run "${CG[@]}" --index-dir "$IDX" --config "$TMP/big.conf" --json map "$ALICE"
expect "1,501 bindings and 100 rules map (index built)" 0 ok
check "an index file was written for the bindings and for the config" \
    test "$(ls "$IDX" | grep -c '^bindings-.*\.idx$')" = 1 -a "$(ls "$IDX" | grep -c '^config-.*\.idx$')" = 1
first=$out
run "${CG[@]}" --index-dir "$IDX" --config "$TMP/big.conf" --json map "$ALICE"
expect "the same lookup through the index files" 0 ok
check "... gives the same answer" test "$(field .identity.source)" = "$(printf '%s' "$first" | jq -r .identity.source)"
sed -i 's/^alice spki-sha256/carol spki-sha256/' "$TMP/big.bindings"
run "${CG[@]}" --index-dir "$IDX" --config "$TMP/big.conf" --json map "$ALICE"
expect "after the bindings file changes, the stale index is not used (now ambiguous)" 1 map_ambiguous
sed -i 's/^carol spki-sha256/alice spki-sha256/' "$TMP/big.bindings"
sed -i 's/user = "{subject.uid}"/user = "carol"/' "$TMP/big.conf"
run "${CG[@]}" --index-dir "$IDX" --config "$TMP/big.conf" --json map "$ALICE"
expect "after the config changes, the stale config index is not used" 1 map_ambiguous
sed -i 's/user = "carol"/user = "{subject.uid}"/' "$TMP/big.conf"
sleep 2.1
run "${CG[@]}" --index-dir "$IDX" --config "$TMP/big.conf" --json map "$ALICE"
run "${CG[@]}" --index-dir "$IDX" --config "$TMP/big.conf" --json map "$ALICE"
expect "rebuilt index files are used again" 0 ok
for f in "$IDX"/*.idx; do printf 'garbage' | dd of="$f" bs=1 seek=200 conv=notrunc 2>/dev/null; done
run "${CG[@]}" --index-dir "$IDX" --config "$TMP/big.conf" --json map "$ALICE"
expect "corrupted index files give the right answer (bindings: alice's line re-read)" 0 ok
for f in "$IDX"/*.idx; do truncate -s 50 "$f"; done
run "${CG[@]}" --index-dir "$IDX" --config "$TMP/big.conf" --json map "$ALICE"
expect "truncated index files are ignored" 0 ok
chmod 777 "$IDX"
rm -f "$IDX"/*.idx
run "${CG[@]}" --index-dir "$IDX" --config "$TMP/big.conf" --json map "$ALICE"
expect "a world-writable index directory is not used, and mapping still works" 0 ok
check "... and nothing is written into it" test -z "$(ls "$IDX")"

# --- from the card
run "${CG[@]}" --config "$(conf rule "$RULE")" --json map "pkcs11:token=alice-ec256;id=%01"
expect "map reads the certificate from a SoftHSM badge" 0 ok
check "... and names alice" test "$(field .identity.account)" = alice

done_testing
