// Everything a server-mode connection is judged by, built from one config:
// the trust store, the mapper, the [[tls.service]] list and one TLS server
// context per service. Immutable once built; SIGHUP builds a new one and
// swaps it in (server.hpp), so a connection in progress keeps the Gate it
// started with and the next check uses the new one.
//
// check() is the decision for one connection, full or resumed handshake
// alike, in this one order (deny by default; the first failing step
// decides): the peer certificate is present (tls_no_client_cert) → the
// trust core validates it for Purpose::tls (chain to the anchors through the
// configured intermediates only, validity, revocation as trust.revocation
// says, key usage, EKU: trust.hpp) → the mapper maps it (mapping.hpp) →
// the service allows the identity (authorise.hpp, tls_service_denied).
//
// The TLS context leaves the certificate chain to check(): its verify
// callback accepts any chain during the handshake (OpenSSL still checks the
// client's CertificateVerify signature), the client must send a certificate
// (SSL_VERIFY_FAIL_IF_NO_PEER_CERT), TLS 1.2 and 1.3 only, no
// renegotiation (a second handshake could bring another certificate after
// the check). Session tickets carry the peer certificate; a resumed session
// is checked again like a full handshake, so a badge revoked since is
// refused. The ticket keys of a service survive a reload, so sessions
// issued before it resume (and are checked) after it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "src/accounts.hpp"
#include "src/clock.hpp"
#include "src/config.hpp"
#include "src/mapping.hpp"
#include "src/result.hpp"
#include "src/trust.hpp"

namespace cardgate::tunnel {

struct Decision {
    Code code = Code::tls_no_client_cert;  // a refusal until every step passed
    std::string detail;
    Identity identity;  // complete when ok()
    std::string cert_issuer, cert_serial, cert_sha256, cert_cn;
    bool ok() const noexcept { return code == Code::ok; }
};

class Gate {
public:
    // Loads the trust store, the mapper and the server key and certificate.
    // `previous` (the Gate being replaced) passes on session ticket keys.
    // Errors: config_file (unusable certificate, key or trust file), crypto.
    static Result<std::shared_ptr<const Gate>> create(Config config, const Accounts& accounts,
                                                      const Gate* previous);

    const Config& config() const noexcept { return config_; }
    const TlsService& service(std::size_t i) const { return config_.tls.services.at(i); }
    boost::asio::ssl::context& tls_context(std::size_t i) const { return *contexts_.at(i); }

    // The decision for a peer certificate (nullptr: none was sent) on service i.
    // Thread-safe; may block on revocation fetches (trust.fetch_timeout).
    Decision check(std::size_t service, X509* peer, const Clock& clock) const;

    Gate(const Gate&) = delete;
    Gate& operator=(const Gate&) = delete;

private:
    Gate(Config c, TrustStore t, std::unique_ptr<Mapper> m)
        : config_(std::move(c)), trust_(std::move(t)), mapper_(std::move(m)) {}
    Status make_contexts(const Gate* previous);

    const Config config_;
    const TrustStore trust_;
    const std::unique_ptr<const Mapper> mapper_;
    std::vector<std::unique_ptr<boost::asio::ssl::context>> contexts_;  // one per service
};

// The subject's commonName, or "" (for PP2_SUBTYPE_SSL_CN).
std::string subject_cn(X509* cert);

}  // namespace cardgate::tunnel
