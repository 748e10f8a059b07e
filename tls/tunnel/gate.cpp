// The decision for a connection and the server TLS contexts: see gate.hpp.
#include "tls/tunnel/gate.hpp"

#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "src/files.hpp"
#include "src/ossl.hpp"
#include "src/x509.hpp"
#include "tls/tunnel/authorise.hpp"

namespace cardgate::tunnel {

namespace {

// Sessions kept per service for TLS 1.2 session-ID resumption (tickets need
// no server state).
constexpr long kSessionCacheSize = 1024;

using SslCtxPtr = std::unique_ptr<SSL_CTX, ossl::Deleter<SSL_CTX_free>>;

// The chain is the trust core's to judge (Gate::check), after the handshake.
int accept_chain_for_later(X509_STORE_CTX*, void*) { return 1; }

std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (!e) return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

// The key file: a protected file (files.hpp) that only its owner may read.
Result<ossl::EvpPkeyPtr> load_key(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Error(Code::config_file, "tls.key: " + path + ": cannot be read");
    if ((st.st_mode & 0077) != 0)
        return Error(Code::config_file, "tls.key: " + path + ": readable by group or others (chmod 0600)");
    const std::string pem = CG_TRY(read_protected_file(path, 1u << 20));
    ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    ossl::EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key) return Error(Code::config_file, "tls.key: " + path + ": not a PEM private key: " + openssl_error());
    return key;
}

Status use_certificate_chain(SSL_CTX* ctx, const std::string& path) {
    const std::string pem = CG_TRY(read_protected_file(path, 1u << 20));
    auto certs = parse_certificates(pem, path);
    if (!certs || certs->empty())
        return Error(Code::config_file, "tls.certificate: " + path + ": no PEM certificate in it");
    if (SSL_CTX_use_certificate(ctx, (*certs)[0].x509()) != 1)  // takes its own reference
        return Error(Code::config_file, "tls.certificate: " + path + ": " + openssl_error());
    for (std::size_t i = 1; i < certs->size(); ++i)
        if (SSL_CTX_add1_chain_cert(ctx, (*certs)[i].x509()) != 1)  // add1: takes a reference
            return Error(Code::config_file, "tls.certificate: " + path + ": " + openssl_error());
    return {};
}

}  // namespace

std::string subject_cn(X509* cert) {
    if (!cert) return {};
    const X509_NAME* name = X509_get_subject_name(cert);  // get0: borrowed
    const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0) return {};
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));  // borrowed
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, s);  // allocates: freed below
    if (n < 0) return {};
    std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
    return out;
}

Status Gate::make_contexts(const Gate* previous) {
    const TlsConfig& tls = config_.tls;
    if (tls.services.empty()) return {};
    auto key = CG_TRY(load_key(*tls.key));
    for (const TlsService& svc : tls.services) {
        SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
        if (!ctx) return Error(Code::crypto, "SSL_CTX_new: " + openssl_error());
        SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
        SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        // SSL_MODE_RELEASE_BUFFERS is set per connection, adaptively (session.cpp).
        CG_TRY_VOID(use_certificate_chain(ctx.get(), *tls.certificate));
        if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1)
            return Error(Code::config_file, "tls.key: " + *tls.key + ": does not match tls.certificate: " + openssl_error());
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        SSL_CTX_set_cert_verify_callback(ctx.get(), accept_chain_for_later, nullptr);
        // The CA names sent in the CertificateRequest: lets a client with
        // several certificates pick the organisation's.
        STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();  // owned until set0 below
        for (const auto* list : {&config_.trust.anchors, &config_.trust.intermediates})
            for (const auto& f : *list) (void)SSL_add_file_cert_subjects_to_stack(names, f.c_str());
        SSL_CTX_set_client_CA_list(ctx.get(), names);  // takes ownership of `names`
        ERR_clear_error();

        // Sessions of one service never resume on another.
        unsigned char sid[SHA256_DIGEST_LENGTH];
        const std::string sid_src = "cardgate-tunnel service " + svc.name;
        SHA256(reinterpret_cast<const unsigned char*>(sid_src.data()), sid_src.size(), sid);
        SSL_CTX_set_session_id_context(ctx.get(), sid, sizeof sid);
        const auto lifetime = std::chrono::duration_cast<std::chrono::seconds>(tls.session_lifetime).count();
        if (lifetime == 0) {
            SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
            SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
            SSL_CTX_set_num_tickets(ctx.get(), 0);
        } else {
            SSL_CTX_set_timeout(ctx.get(), static_cast<long>(lifetime));
            // TLS 1.2 clients without tickets leave their sessions (each with
            // the client's certificate) in the server's cache: bounded, so a
            // flood of full handshakes cannot grow it to OpenSSL's 20,480.
            SSL_CTX_sess_set_cache_size(ctx.get(), kSessionCacheSize);
            if (previous) {
                const auto& old = previous->config_.tls.services;
                for (std::size_t i = 0; i < old.size() && i < previous->contexts_.size(); ++i) {
                    if (old[i].name != svc.name) continue;
                    unsigned char keys[80];
                    if (SSL_CTX_get_tlsext_ticket_keys(previous->contexts_[i]->native_handle(), keys, sizeof keys) == 1)
                        (void)SSL_CTX_set_tlsext_ticket_keys(ctx.get(), keys, sizeof keys);
                    OPENSSL_cleanse(keys, sizeof keys);
                }
            }
        }
        // boost::asio::ssl::context(native_handle) takes ownership.
        contexts_.push_back(std::make_unique<boost::asio::ssl::context>(ctx.release()));
    }
    return {};
}

Result<std::shared_ptr<const Gate>> Gate::create(Config config, const Accounts& accounts, const Gate* previous) {
    TrustStore trust = CG_TRY(TrustStore::create(config.trust));
    Mapper mapper = CG_TRY(Mapper::create(config.mapping, config.path, accounts));
    std::shared_ptr<Gate> g(new Gate(std::move(config), std::move(trust), std::make_unique<Mapper>(std::move(mapper))));
    CG_TRY_VOID(g->make_contexts(previous));
    return std::shared_ptr<const Gate>(std::move(g));
}

Decision Gate::check(std::size_t service, X509* peer, const Clock& clock) const {
    Decision d;  // tls_no_client_cert
    if (!peer) {
        d.detail = "the client sent no certificate";
        return d;
    }
    auto cert = Certificate::from_x509(peer, "TLS client certificate");
    if (!cert) {
        d.code = cert.code();
        d.detail = cert.error().detail();
        return d;
    }
    d.cert_issuer = cert->issuer();
    d.cert_serial = cert->serial_hex();
    d.cert_sha256 = cert->sha256();
    d.cert_cn = subject_cn(peer);

    const Verdict v = trust_.validate(*cert, Purpose::tls, config_.purpose(Purpose::tls), clock);
    if (!v.ok()) {
        d.code = v.code;
        d.detail = v.detail;
        return d;
    }
    MapResult m = mapper_->map(*cert, Purpose::tls, std::nullopt);
    if (!m.ok() || !m.identity) {
        d.code = m.ok() ? Code::internal : m.code;
        d.detail = m.detail;
        return d;
    }
    const TlsService& svc = this->service(service);
    const Authorisation a = authorise(svc, *m.identity);
    d.identity = std::move(*m.identity);
    if (!a.allowed) {
        d.code = Code::tls_service_denied;
        d.detail = a.detail;
        return d;
    }
    d.code = Code::ok;
    d.detail = a.detail;
    return d;
}

}  // namespace cardgate::tunnel
