# Sourced first by the integration scripts that run servers: re-executes the
# script in a private network namespace with loopback up, so ports never
# collide with other tests and servers that listen on every interface
# (OpenSSL 3.0's `openssl ocsp`) are reachable from nowhere else.
if [ -z "${CARDGATE_IN_NETNS:-}" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        exec unshare --net -- env CARDGATE_IN_NETNS=1 bash "$0" "$@"
    else
        exec unshare --net --map-root-user -- env CARDGATE_IN_NETNS=1 bash "$0" "$@"
    fi
    echo "1..0 # SKIP cannot make a private network namespace (unshare --net)"
    exit 0
fi
ip link set lo up || { echo "Bail out! cannot bring up the loopback interface"; exit 1; }
