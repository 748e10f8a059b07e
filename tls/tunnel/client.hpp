// Client mode: for each [[tls.client]], listen on a local address (127.0.0.1
// by default) and carry each plain TCP connection over mutual TLS to
// `connect`, presenting the badge certificate and signing with the badge key
// through the cardgate provider in a private OSSL_LIB_CTX
// (tls/provider/provider.hpp). The server is verified against the
// organisation's anchors (trust.anchors, trust.intermediates) and must carry
// `server_name` (DNS name or IP address; X509_VERIFY_PARAM_set1_host /
// set1_ip_asc). The PIN is asked once per process (on /dev/tty), unless the
// key's URI names a pin-source.
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
