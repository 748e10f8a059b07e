// Client mode: see client.hpp.
#include "tls/tunnel/client.hpp"

#include <arpa/inet.h>
#include <signal.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <memory>
#include <thread>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "src/revocation.hpp"
#include "src/trust.hpp"
#include "src/x509.hpp"
#include "tls/provider/provider.hpp"
#include "tls/tunnel/audit.hpp"
#include "tls/tunnel/peer_uid.hpp"
#include "tls/tunnel/unix_listener.hpp"
#include "tls/tunnel/guard.hpp"
#include "tools/prompt.hpp"

namespace cardgate::tunnel {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
// The plain side: a loopback TCP or a UNIX stream socket, one type for both.
using Local = asio::generic::stream_protocol;
using LocalAcceptor = asio::basic_socket_acceptor<Local>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, ossl::Deleter<SSL_CTX_free>>;

std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (!e) return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

void note(bool foreground, int prio, const std::string& line) {
    syslog(LOG_DAEMON | prio, "%s", line.c_str());
    if (foreground) std::fprintf(stderr, "cardgate-tunnel: %s\n", line.c_str());
}

// "pkcs11:a=b" + "type=cert" -> "pkcs11:a=b;type=cert" (query part kept).
std::string with_type(const std::string& uri, std::string_view type) {
    const auto q = uri.find('?');
    std::string path = uri.substr(0, q), query = q == std::string::npos ? "" : uri.substr(q);
    if (path.find(";type=") != std::string::npos || path.find(":type=") != std::string::npos) return uri;
    path += path.size() > 7 ? ";type=" : "type=";
    path += type;
    return path + query;
}

bool is_ip(const std::string& s) {
    in6_addr a{};
    return inet_pton(AF_INET, s.c_str(), &a) == 1 || inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// What the check of the server's certificate found, for the connection's
// audit line. Each connection keeps one and hangs it on its SSL (ex_data),
// where verify_server() finds it.
struct ServerVerdict {
    Code code = Code::tls_handshake;
    std::string detail;  // set when the trust core refused
    std::string cert_issuer, cert_serial, cert_sha256;
};

int server_verdict_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// The revocation half of the server check, shared by the tunnel's
// connections; null when the client's check_revocation = false.
struct ServerCheck {
    std::shared_ptr<const RevocationChecker> checker;
};

void describe_server(ServerVerdict& out, X509* cert) {
    if (!cert || !out.cert_sha256.empty()) return;
    auto c = Certificate::from_x509(cert, "TLS server certificate");
    if (!c) return;
    out.cert_issuer = c->issuer();
    out.cert_serial = c->serial_hex();
    out.cert_sha256 = c->sha256();
}

// The server's chain: OpenSSL's verification first (anchors, configured
// intermediates, server_name, serverAuth), then its revocation by the trust
// core (trust.hpp check_revocation: trust.revocation, trust.on_unknown), as
// server mode checks badges. Runs inside the handshake, before the client
// sends its certificate and signs with the badge: a revoked server gets
// neither. Any doubt refuses.
int verify_server(X509_STORE_CTX* store, void* arg) {
    // get0/get: borrowed from the store and the SSL, which outlive this call.
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* out = ssl ? static_cast<ServerVerdict*>(SSL_get_ex_data(ssl, server_verdict_index())) : nullptr;
    if (!out) return 0;
    describe_server(*out, X509_STORE_CTX_get0_cert(store));
    if (X509_verify_cert(store) != 1) return 0;
    const auto* check = static_cast<const ServerCheck*>(arg);
    if (!check->checker) return 1;
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(store);  // get0: the store's, leaf first
    std::vector<X509*> path;
    for (int i = 0; i < sk_X509_num(chain); ++i) path.push_back(sk_X509_value(chain, i));
    Verdict v;
    if (check_revocation(v, *check->checker, path, std::time(nullptr))) return 1;
    out->code = v.code;
    out->detail = v.detail;
    X509_STORE_CTX_set_error(store, v.code == Code::cert_revoked ? X509_V_ERR_CERT_REVOKED : X509_V_ERR_UNABLE_TO_GET_CRL);
    return 0;
}

// The badge's TLS context: its certificate and card key (private library
// context), the organisation's anchors and intermediates to verify the server.
Result<SslCtxPtr> make_context(const tls::LibContext& lib, const Config& config, const TlsClient& c,
                               const ServerCheck& check) {
    const std::string base = config.token.uri.value_or("pkcs11:");
    const std::string cert_uri = c.certificate.value_or(with_type(base, "cert"));
    const std::string key_uri = c.key.value_or(with_type(base, "private"));
    ossl::X509Ptr cert;
    if (cert_uri.rfind("pkcs11:", 0) == 0) {
        cert = CG_TRY(lib.load_certificate(cert_uri));
    } else {
        auto loaded = CG_TRY(Certificate::load(cert_uri));
        X509_up_ref(loaded.x509());
        cert.reset(loaded.x509());  // the new reference taken just above
    }
    ossl::EvpPkeyPtr key = CG_TRY(lib.load_key(key_uri));

    SslCtxPtr ctx(SSL_CTX_new_ex(lib.get(), nullptr, TLS_client_method()));
    if (!ctx) return Error(Code::crypto, "SSL_CTX_new_ex: " + openssl_error());
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1 || SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1)
        return Error(Code::proof_key_mismatch, "tls.client " + c.name + ": the key does not match the certificate: " +
                                                   openssl_error());
    // Anchors are trusted; intermediates only complete a path that must
    // still end in a self-signed anchor (no X509_V_FLAG_PARTIAL_CHAIN).
    for (const auto* list : {&config.trust.anchors, &config.trust.intermediates})
        for (const auto& f : *list)
            if (SSL_CTX_load_verify_file(ctx.get(), f.c_str()) != 1)
                return Error(Code::config_file, f + ": " + openssl_error());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx.get(), verify_server, const_cast<ServerCheck*>(&check));  // outlives ctx
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx.get());  // get0: owned by ctx
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
    if (is_ip(c.server_name)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(param, c.server_name.c_str()) != 1)
            return Error(Code::config_value, "tls.client " + c.name + ": server_name " + c.server_name);
    } else if (X509_VERIFY_PARAM_set1_host(param, c.server_name.c_str(), 0) != 1) {
        return Error(Code::config_value, "tls.client " + c.name + ": server_name " + c.server_name);
    }
    return ctx;
}

struct Tunnel {
    const TlsClient* client;
    uid_t owner;  // the uid the tunnel runs as
    ServerCheck check;
    std::unique_ptr<asio::ssl::context> tls;
    std::unique_ptr<LocalAcceptor> acceptor;
    std::shared_ptr<Guard> guard;  // the pending-handshake budget, shared by every client tunnel
};

// The tunnel serves its owner and the uids listed in allow_uids, nobody else.
bool serves(const Tunnel& t, uid_t uid) {
    const auto& allowed = t.client->allow_uids;
    return uid == t.owner || std::find(allowed.begin(), allowed.end(), uid) != allowed.end();
}

// One connection's audit line (audit.hpp), service = the [[tls.client]] name,
// user = the local peer's uid ("#1000"), cert_* = the server's certificate.
struct Outcome {
    const char* outcome;
    Code code;
    std::string detail;
};
void audit_client(const Tunnel& t, const LocalPeer& peer, const ServerVerdict* server, Outcome o, bool foreground) {
    AuditRecord r;
    r.outcome = o.outcome;
    r.code = o.code;
    r.user = peer.uid == static_cast<uid_t>(-1) ? std::string() : "#" + std::to_string(peer.uid);
    r.service = t.client->name;
    r.peer = peer.address;
    if (server) {
        r.cert_issuer = server->cert_issuer;
        r.cert_serial = server->cert_serial;
        r.cert_sha256 = server->cert_sha256;
    }
    r.detail = std::move(o.detail);
    audit(r, foreground);
}

// Pending (holding a place in the guard's budget) until its TLS connection is up.
class Connection : public std::enable_shared_from_this<Connection>, public Evictable {
public:
    Connection(Tunnel& t, Local::socket local, LocalPeer peer, std::chrono::milliseconds timeout, bool foreground,
               std::unique_ptr<Admission::Ticket> ticket)
        : t_(t), local_(std::move(local)), peer_(std::move(peer)), tls_(tcp::socket(local_.get_executor()), *t.tls),
          timer_(local_.get_executor()), timeout_(timeout), foreground_(foreground), ticket_(std::move(ticket)) {}

    void evict() override {
        asio::post(local_.get_executor(), [self = shared_from_this()]() {
            if (self->closed_ || self->established_) return;
            self->t_.guard->count(self->t_.client->name, self->ticket_->source(), Refusal::evicted);
            self->close();
        });
    }

    void start() {
        ticket_->bind(std::weak_ptr<Evictable>(shared_from_this()));
        // verify_server() reports into server_; the SSL lives no longer than this object.
        SSL_set_ex_data(tls_.native_handle(), server_verdict_index(), &server_);
        timer_.expires_after(timeout_);
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec && !self->established_)
                self->refuse("denied", Code::tls_limit, "TLS connection not established within tls.handshake_timeout");
        });
        boost::system::error_code ec;
        const auto addr = asio::ip::make_address(t_.client->connect.host, ec);
        if (ec) return refuse("failed", Code::internal, "connect: " + ec.message());
        if (!is_ip(t_.client->server_name))
            SSL_set_tlsext_host_name(tls_.native_handle(), t_.client->server_name.c_str());
        tls_.next_layer().async_connect(tcp::endpoint(addr, t_.client->connect.port),
                                        [self = shared_from_this()](const boost::system::error_code& e) {
                                            if (e)
                                                return self->refuse("failed", Code::tls_backend,
                                                                    "connect " + self->t_.client->connect.text + ": " + e.message());
                                            self->tls_.async_handshake(asio::ssl::stream_base::client,
                                                                       [self](const boost::system::error_code& h) {
                                                                           self->on_handshake(h);
                                                                       });
                                        });
    }

private:
    void refuse(const char* outcome, Code code, const std::string& why) {
        if (closed_) return;
        audit_client(t_, peer_, &server_, {outcome, code, why}, foreground_);
        close();
    }
    void close() {
        closed_ = true;
        ticket_->release();
        boost::system::error_code ignored;
        timer_.cancel();
        local_.close(ignored);
        tls_.next_layer().close(ignored);
    }
    void on_handshake(const boost::system::error_code& ec) {
        if (closed_) return;
        if (ec) {
            const long v = SSL_get_verify_result(tls_.native_handle());
            std::string why = "TLS handshake with " + t_.client->connect.text + ": " + ec.message() +
                              (v != X509_V_OK ? std::string(" (server certificate: ") + X509_verify_cert_error_string(v) + ")" : "");
            if (!server_.detail.empty()) why += ": " + server_.detail;
            return refuse("denied", server_.code, why);
        }
        established_ = true;
        ticket_->release();
        timer_.cancel();
        describe_server(server_, SSL_get0_peer_certificate(tls_.native_handle()));  // get0: borrowed
        audit_client(t_, peer_, &server_, {"granted", Code::ok, "TLS with " + t_.client->connect.text + " established"},
                     foreground_);
        up();
        down();
    }
    // local → server
    void up() {
        local_.async_read_some(asio::buffer(a_), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
            if (self->closed_) return;
            if (ec) {
                // The local side is done: close_notify to the server, then
                // keep reading its answer until it closes.
                self->tls_.async_shutdown([self](const boost::system::error_code&) { self->close(); });
                return;
            }
            asio::async_write(self->tls_, asio::buffer(self->a_.data(), n), [self](const boost::system::error_code& e, std::size_t) {
                if (e) return self->close();
                self->up();
            });
        });
    }
    // server → local
    void down() {
        tls_.async_read_some(asio::buffer(b_), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
            if (self->closed_) return;
            if (ec) {
                boost::system::error_code ignored;
                self->local_.shutdown(asio::socket_base::shutdown_send, ignored);
                self->close();
                return;
            }
            asio::async_write(self->local_, asio::buffer(self->b_.data(), n), [self](const boost::system::error_code& e, std::size_t) {
                if (e) return self->close();
                self->down();
            });
        });
    }

    Tunnel& t_;
    Local::socket local_;
    const LocalPeer peer_;
    ServerVerdict server_;  // before tls_: outlives the SSL that points to it
    asio::ssl::stream<tcp::socket> tls_;
    asio::steady_timer timer_;
    std::chrono::milliseconds timeout_;
    bool foreground_;
    bool established_ = false, closed_ = false;
    std::unique_ptr<Admission::Ticket> ticket_;
    std::array<char, 16384> a_{}, b_{};
};

// The owner check, before anything is sent to the server: the peer's uid
// from the kernel (peer_uid.hpp) must be one the tunnel serves. A uid that
// cannot be established refuses like a wrong one.
void admit(Tunnel& t, Local::socket s, std::chrono::milliseconds timeout, bool foreground) {
    auto peer = local_peer(s.native_handle());
    if (!peer || !serves(t, peer->uid)) {
        const LocalPeer who = peer ? *peer : LocalPeer{};
        const std::string why = !peer ? "the local peer's uid cannot be established: " + peer.error().detail()
                                      : "uid " + std::to_string(peer->uid) + " is neither the tunnel's owner (uid " +
                                            std::to_string(t.owner) + ") nor in allow_uids";
        audit_client(t, who, nullptr, {"denied", Code::tls_client_not_owner, why}, foreground);
        boost::system::error_code ignored;
        s.close(ignored);
        return;
    }
    // Then the budget, per local uid: the owner's share is not the others'
    // (they were refused above), and one of its programs cannot take the
    // places of all the others.
    auto ticket = t.guard->admit(t.client->name, "uid " + std::to_string(peer->uid));
    if (!ticket) return;  // refused: counted, closed with `s`
    std::make_shared<Connection>(t, std::move(s), std::move(*peer), timeout, foreground, std::move(ticket))->start();
}

void accept(Tunnel& t, asio::io_context& io, std::chrono::milliseconds timeout, bool foreground) {
    t.acceptor->async_accept(asio::make_strand(io), [&t, &io, timeout, foreground](const boost::system::error_code& ec,
                                                                                    Local::socket s) {
        if (ec == asio::error::operation_aborted || !t.acceptor->is_open()) return;
        if (!ec) admit(t, std::move(s), timeout, foreground);
        accept(t, io, timeout, foreground);
    });
}

// The plain side: the UNIX socket (unix_listener.hpp) or the loopback address
// the config allows (config.hpp TlsClient).
Status listen(Tunnel& t, asio::io_context& io) {
    const TlsClient& c = *t.client;
    t.acceptor = std::make_unique<LocalAcceptor>(io);
    boost::system::error_code ec;
    if (c.listen_unix) {
        const int fd = CG_TRY(listen_unix(*c.listen_unix, t.owner));
        t.acceptor->assign(Local(AF_UNIX, 0), fd, ec);  // the acceptor owns the descriptor from here
        if (ec) ::close(fd);
    } else {
        const tcp::endpoint ep(asio::ip::make_address(c.listen.host, ec), c.listen.port);
        const Local::endpoint local(ep);
        if (!ec) t.acceptor->open(local.protocol(), ec);
        if (!ec) t.acceptor->set_option(LocalAcceptor::reuse_address(true), ec);
        if (!ec) t.acceptor->bind(local, ec);
        if (!ec) t.acceptor->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) return Error(Code::io, ec.message());
    return {};
}

// One checker for every tunnel that checks the server's revocation; the CRL
// files are checked now (TrustStore::create), so a bad one stops the start.
Result<std::shared_ptr<const RevocationChecker>> make_checker(const Config& config,
                                                              const std::vector<const TlsClient*>& chosen) {
    if (std::none_of(chosen.begin(), chosen.end(), [](const TlsClient* c) { return c->check_revocation; }))
        return std::shared_ptr<const RevocationChecker>();
    auto checker = std::make_shared<const RevocationChecker>(config.trust);
    (void)CG_TRY(TrustStore::create(config.trust, checker));
    return checker;
}

}  // namespace

int run_client(const ClientOptions& options, Config config) {
    std::vector<const TlsClient*> chosen;
    for (const auto& c : config.tls.clients)
        if (options.names.empty() || std::find(options.names.begin(), options.names.end(), c.name) != options.names.end())
            chosen.push_back(&c);
    if (chosen.empty() || (!options.names.empty() && chosen.size() != options.names.size())) {
        std::fprintf(stderr, "cardgate-tunnel: %s: no matching [[tls.client]]\n", config.path.c_str());
        return 2;
    }
    auto checker = make_checker(config, chosen);
    if (!checker) {
        std::fprintf(stderr, "cardgate-tunnel: %s\n", checker.error().message().c_str());
        return exit_code(checker.code());
    }
    tls::ProviderOptions po;
    po.config_path = options.config_path;
    po.ask_pin = [](const std::string& prompt) -> Result<std::optional<SecretBuffer>> {
        auto pin = cli::prompt_pin(prompt + ": ");
        if (!pin) return pin.error();
        return std::optional<SecretBuffer>(std::move(*pin));
    };
    auto lib = tls::LibContext::create(std::move(po));
    if (!lib) {
        std::fprintf(stderr, "cardgate-tunnel: %s\n", lib.error().message().c_str());
        return exit_code(lib.code());
    }
    // Every key is loaded (and the PIN asked, once) before serving anything.
    asio::io_context io;
    std::vector<std::unique_ptr<Tunnel>> tunnels;
    const auto guard = Guard::create(admission_limits(config.tls), [fg = options.foreground](const Burst& b) {
        note(fg, LOG_WARNING, "client " + b.where + ": " + summary(b));
    });
    for (const TlsClient* c : chosen) {
        auto t = std::make_unique<Tunnel>();
        t->client = c;
        t->guard = guard;
        t->owner = ::geteuid();
        if (c->check_revocation) t->check.checker = *checker;
        auto ctx = make_context(*lib, config, *c, t->check);
        if (!ctx) {
            std::fprintf(stderr, "cardgate-tunnel: tls.client %s: %s\n", c->name.c_str(), ctx.error().message().c_str());
            return exit_code(ctx.code());
        }
        t->tls = std::make_unique<asio::ssl::context>(ctx->release());  // takes ownership
        tunnels.push_back(std::move(t));
    }
    if (options.check) {
        std::printf("%s: valid; %zu client tunnel(s), keys and certificates loaded\n", config.path.c_str(), tunnels.size());
        return 0;
    }
    for (auto& t : tunnels) {
        if (auto s = listen(*t, io); !s) {
            std::fprintf(stderr, "cardgate-tunnel: %s:%d: tls.client %s: cannot listen on %s: %s\n", config.path.c_str(),
                         t->client->line, t->client->name.c_str(), t->client->listen.text.c_str(),
                         s.error().detail().c_str());
            return 2;
        }
        accept(*t, io, config.tls.handshake_timeout, options.foreground);
    }
    note(options.foreground, LOG_INFO, "client: " + std::to_string(tunnels.size()) + " tunnel(s) listening");
    asio::steady_timer report_timer(io);
    report_periodically(report_timer, guard);
    asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        report_timer.cancel();
        for (auto& t : tunnels) {
            boost::system::error_code ignored;
            t->acceptor->close(ignored);
        }
        io.stop();
    });
    std::thread second([&io] { io.run(); });
    io.run();
    second.join();
    guard->report_due(true);
    for (auto& t : tunnels)
        if (t->client->listen_unix) remove_unix_socket(*t->client->listen_unix, t->owner);
    return 0;
}

}  // namespace cardgate::tunnel
