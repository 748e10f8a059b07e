#!/bin/sh
# Runs one unit test program with nss_wrapper's fake accounts and groups
# (tests/unit/nss/passwd and group), so that NSS lookups see alice, bob, ...
# and not the build machine's accounts. Used as the LOG_COMPILER of the tests
# that need it (tests/unit/identity.mk); the others run without the preload.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
lib=libnss_wrapper.so
found=
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
    if [ -e "$d/$lib" ]; then found=$d/$lib; break; fi
done
if [ -z "$found" ]; then
    echo "with-nss.sh: $lib not found (install libnss-wrapper, see scripts/packages.txt)" >&2
    exit 99  # hard error: the test cannot say anything without its accounts
fi
NSS_WRAPPER_PASSWD=$here/nss/passwd
NSS_WRAPPER_GROUP=$here/nss/group
LD_PRELOAD="$found${LD_PRELOAD:+ $LD_PRELOAD}"
# With --enable-sanitizers ASan must come first in the library list; the
# preload puts nss_wrapper before it, which is harmless here.
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}:verify_asan_link_order=0"
export NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP LD_PRELOAD ASAN_OPTIONS
exec "$@"
