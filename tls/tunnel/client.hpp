// Client mode: for each [[tls.client]], accept plain connections on the
// local side and carry each over mutual TLS to `connect`, presenting the
// badge certificate and signing with the badge key through the cardgate
// provider in a private OSSL_LIB_CTX (tls/provider/provider.hpp). The PIN is
// asked once per process (on /dev/tty), unless the key's URI names a
// pin-source.
//
// The badge is lent to its owner only. The local side is a loopback address
// or a 0600 UNIX socket (config.hpp TlsClient, unix_listener.hpp), and each
// connection's uid (peer_uid.hpp: SO_PEERCRED, or the kernel's socket table
// for loopback TCP) must be the uid the tunnel runs as or one of
// `allow_uids`; otherwise, or when the uid cannot be established, the
// connection is closed before anything is sent to the server
// (tls_client_not_owner).
//
// The server must chain to the organisation's anchors (trust.anchors,
// trust.intermediates), carry `server_name` (DNS name or IP address;
// X509_VERIFY_PARAM_set1_host / set1_ip_asc) and, unless check_revocation =
// false, not be revoked (the trust core's check_revocation, trust.hpp:
// trust.revocation, trust.on_unknown). All of it runs inside the handshake,
// before the badge's certificate is sent or the badge signs.
//
// One audit line per local connection (audit.hpp): service = the client's
// name, user = "#UID" of the local peer, cert_* = the server's certificate.
#pragma once

#include <string>
#include <vector>

#include "src/config.hpp"

namespace cardgate::tunnel {

struct ClientOptions {
    std::string config_path;
    bool foreground = false;
    bool check = false;
    std::vector<std::string> names;  // [[tls.client]] names to run; empty = all
};

// Runs until SIGTERM/SIGINT. Returns the process exit code.
int run_client(const ClientOptions& options, Config config);

}  // namespace cardgate::tunnel
