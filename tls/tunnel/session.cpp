// One server-mode connection: see session.hpp.
#include "tls/tunnel/session.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "src/duration.hpp"
#include "tls/tunnel/http_identity.hpp"
#include "tls/tunnel/server.hpp"

namespace cardgate::tunnel {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

IpPort to_ipport(const tcp::endpoint& e) {
    IpPort p;
    p.port = e.port();
    if (e.address().is_v4()) {
        const auto b = e.address().to_v4().to_bytes();
        std::copy(b.begin(), b.end(), p.addr.begin());
    } else {
        p.v6 = true;
        const auto b = e.address().to_v6().to_bytes();
        std::copy(b.begin(), b.end(), p.addr.begin());
    }
    return p;
}

std::string describe_ms(std::chrono::milliseconds d) { return format_duration(d); }

// A server's state machine leaves TLS_ST_BEFORE when a ClientHello's header
// has been read and TLS_ST_SR_CLNT_HELLO once the whole message has been
// processed (OpenSSL statem_srvr.c): before that, the peer has sent nothing
// that a TLS client would have sent at once.
bool client_hello_complete(const SSL* ssl) {
    const OSSL_HANDSHAKE_STATE st = SSL_get_state(ssl);
    return st != TLS_ST_BEFORE && st != TLS_ST_SR_CLNT_HELLO;
}

constexpr std::size_t kRelayBuffer = 16384;

}  // namespace

Session::Session(Server& server, std::shared_ptr<const Gate> gate, std::size_t service, tcp::socket socket,
                 std::unique_ptr<Admission::Ticket> ticket)
    : server_(server), counters_(server.counters), guard_(server.guard()), ticket_(std::move(ticket)),
      gate_(std::move(gate)), service_(service), strand_(socket.get_executor()), accepted_(std::move(socket)),
      backend_(strand_), timer_(strand_) {
    ++counters_->connections;
    audit_.service = gate_->service(service_).name;
    boost::system::error_code ec;
    const auto remote = accepted_.remote_endpoint(ec);
    if (!ec) {
        peer_ = to_ipport(remote);
        audit_.peer = remote.address().to_string() + ":" + std::to_string(remote.port());
    }
    const auto local = accepted_.local_endpoint(ec);
    if (!ec) local_ = to_ipport(local);
}

Session::~Session() {
    release_handshake();
    --counters_->connections;
}

void Session::release_handshake() {
    if (ticket_) ticket_->release();
    ticket_.reset();
}

// Counted in the source's burst (refusal_log.hpp) instead of an audit line.
void Session::drop_before_hello(Refusal why) {
    audited_ = true;
    guard_->count(audit_.service, ticket_ ? ticket_->source() : source_of(socket()), why);
    close_all();
}

void Session::evict() {
    asio::post(strand_, [self = shared_from_this()]() {
        // Finished meanwhile: it keeps its connection (the budget runs one over briefly).
        if (self->phase_ != Phase::handshake) return;
        self->drop_before_hello(Refusal::evicted);
    });
}

// OpenSSL's record buffers (~34 KiB) given back between records
// (SSL_MODE_RELEASE_BUFFERS) keep a handshake in progress or a quiet relay
// small, but cost an allocation and a free per record under bulk load
// (bench/README.md: 0.86x stunnel's throughput when it was set for every
// connection). So: released while the last read either way was short (a
// handshake, an interactive protocol, an idle connection), kept while one
// direction moves full records.
void Session::adapt_buffers(bool& direction_bulk, std::size_t n) {
    direction_bulk = n >= kRelayBuffer / 2;
    SSL* ssl = tls_->native_handle();
    if (bulk_up_ || bulk_down_)
        SSL_clear_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    else
        SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
}

void Session::ensure_buffers() {
    if (from_client_.empty()) from_client_.resize(kRelayBuffer);
    if (from_backend_.empty()) from_backend_.resize(kRelayBuffer);
}

void Session::record(std::string outcome, Code code, std::string detail) {
    if (audited_) return;
    audited_ = true;
    audit_.outcome = std::move(outcome);
    audit_.code = code;
    audit_.detail = std::move(detail);
    audit(audit_, server_.foreground());
}

// Every wait on the timer carries the generation it was armed in, so a wait
// that completed just before it was re-armed is not taken for the new one.
void Session::arm(Clock::duration d) {
    const unsigned gen = ++timer_generation_;
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this(), gen](const boost::system::error_code& ec) {
        if (ec || gen != self->timer_generation_) return;
        self->on_timer();
    });
}

void Session::on_timer() {
    const auto& tls = gate_->config().tls;
    switch (phase_) {
    case Phase::handshake:
        if (!tls_ || !client_hello_complete(tls_->native_handle())) return drop_before_hello(Refusal::client_hello_timeout);
        if (Clock::now() < handshake_deadline_) return arm(handshake_deadline_ - Clock::now());
        [[fallthrough]];
    case Phase::check:
    case Phase::head:
    case Phase::connect:
        record("denied", Code::tls_limit,
               std::string(phase_ == Phase::handshake ? "TLS handshake" : phase_ == Phase::check ? "certificate check"
                           : phase_ == Phase::head ? "HTTP request head" : "backend connection") +
                   " not finished within tls.handshake_timeout (" + describe_ms(tls.handshake_timeout) + ")");
        close_all();
        return;
    case Phase::relay: {
        const auto idle_until = last_activity_ + tls.idle_timeout;
        if (Clock::now() >= idle_until) {
            close_all();
            return;
        }
        arm(idle_until - Clock::now());
        return;
    }
    case Phase::closing:
    case Phase::closed:
        close_all();
        return;
    }
}

void Session::start() {
    // Small records each way (handshake flights, TLS 1.3 session tickets, an
    // interactive protocol's lines): without it, Nagle's algorithm and the
    // peer's delayed ACK cost 40 ms a handshake (bench/tls: 30 -> 100+ full
    // TLS 1.3 handshakes/s with one client).
    boost::system::error_code nd;
    accepted_.set_option(asio::ip::tcp::no_delay(true), nd);
    const auto& limits = gate_->config().tls;
    if (ticket_) ticket_->bind(std::weak_ptr<Evictable>(shared_from_this()));
    // Two deadlines: a short one for the ClientHello (an idle or dribbling
    // peer is cut early, on_timer), then the rest of handshake_timeout.
    handshake_deadline_ = Clock::now() + limits.handshake_timeout;
    arm(std::min(limits.client_hello_timeout, limits.handshake_timeout));
    accepted_.async_wait(tcp::socket::wait_read,
                         [self = shared_from_this()](const boost::system::error_code& ec) { self->on_first_bytes(ec); });
}

// Readable: the first bytes of a ClientHello, or the peer's close (which the
// handshake then reports).
void Session::on_first_bytes(const boost::system::error_code& ec) {
    if (phase_ != Phase::handshake) return;  // cut by the timer or evicted meanwhile
    if (ec) return drop_before_hello(Refusal::closed_before_hello);
    tls_.emplace(std::move(accepted_), gate_->tls_context(service_));
    SSL_set_mode(tls_->native_handle(), SSL_MODE_RELEASE_BUFFERS);  // until bulk data flows (adapt_buffers)
    tls_->async_handshake(asio::ssl::stream_base::server,
                          [self = shared_from_this()](const boost::system::error_code& e) { self->on_handshake(e); });
}

void Session::on_handshake(const boost::system::error_code& ec) {
    if (phase_ != Phase::handshake) return;  // cut by the timer: already recorded
    if (ec && !client_hello_complete(tls_->native_handle())) return drop_before_hello(Refusal::closed_before_hello);
    if (ec) {
        const bool no_cert = ec.category() == asio::error::get_ssl_category() &&
                             ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE;
        record("denied", no_cert ? Code::tls_no_client_cert : Code::tls_handshake, ec.message());
        close_all();
        return;
    }
    if (ticket_) ticket_->handshake_done();
    SSL* ssl = tls_->native_handle();
    audit_.resumed = SSL_session_reused(ssl) == 1;
    // get1: a new reference, owned by the shared_ptr; a resumed session
    // still has the certificate its first handshake presented.
    std::shared_ptr<X509> peer(SSL_get1_peer_certificate(ssl), X509_free);
    phase_ = Phase::check;
    const std::string name = gate_->service(service_).name;
    asio::post(server_.checks(), [self = shared_from_this(), peer, name]() {
        // The current Gate decides: a reload since the handshake applies.
        std::shared_ptr<const Gate> gate = self->server_.gate();
        std::size_t idx = 0;
        const auto& services = gate->config().tls.services;
        while (idx < services.size() && services[idx].name != name) ++idx;
        Decision d;
        if (idx == services.size()) {
            d.code = Code::tls_service_denied;
            d.detail = "service " + name + " is no longer configured";
            idx = 0;
        } else {
            d = gate->check(idx, peer.get(), self->server_.clock());
        }
        asio::post(self->strand_, [self, d = std::move(d), gate, idx]() mutable {
            self->on_decision(std::move(d), std::move(gate), idx);
        });
    });
}

void Session::on_decision(Decision d, std::shared_ptr<const Gate> gate, std::size_t service) {
    if (phase_ != Phase::check) return;
    decision_ = std::move(d);
    audit_.user = decision_.identity.account;
    audit_.cert_issuer = decision_.cert_issuer;
    audit_.cert_serial = decision_.cert_serial;
    audit_.cert_sha256 = decision_.cert_sha256;
    if (!decision_.ok()) {
        record("denied", decision_.code, decision_.detail);
        start_tls_shutdown();
        return;
    }
    // The service's rules as the decision saw them (a reload may have changed them).
    gate_check_ = std::move(gate);
    service_check_ = service;
    if (gate_check_->service(service_check_).identity == TlsIdentity::header) {
        phase_ = Phase::head;
        read_head();
    } else {
        connect_backend();
    }
}

void Session::read_head() {
    ensure_buffers();
    tls_->async_read_some(asio::buffer(from_client_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                                  std::size_t n) {
        if (self->phase_ != Phase::head) return;
        if (ec) {
            self->record("denied", Code::tls_handshake, "the client closed before a complete HTTP request head");
            self->close_all();
            return;
        }
        self->head_.append(self->from_client_.data(), n);
        const TlsService& svc = self->gate_check_->service(self->service_check_);
        RequestHead r = rewrite_request_head(self->head_, svc.header, self->decision_.identity.account);
        switch (r.status) {
        case RequestHead::Status::incomplete:
            self->read_head();
            return;
        case RequestHead::Status::bad:
        case RequestHead::Status::too_large:
        case RequestHead::Status::unsupported:
            self->refuse_head(refusal_response(r.status), r.reason);
            return;
        case RequestHead::Status::ok:
            break;
        }
        self->prefix_.assign(r.head.begin(), r.head.end());
        const std::string_view rest = std::string_view(self->head_).substr(r.consumed);
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(rest.size(), r.body_length));
        self->prefix_.insert(self->prefix_.end(), rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(take));
        self->limit_body_ = true;
        self->body_left_ = r.body_length - take;
        self->head_.clear();
        self->connect_backend();
    });
}

void Session::refuse_head(const std::string& response, const std::string& reason) {
    record("denied", Code::tls_service_denied, "HTTP request head refused: " + reason);
    refusal_ = response;
    phase_ = Phase::closing;
    arm(std::chrono::seconds(2));
    asio::async_write(*tls_, asio::buffer(refusal_), [self = shared_from_this()](const boost::system::error_code&, std::size_t) {
        if (self->phase_ != Phase::closing) return;  // cut by the timer meanwhile
        self->phase_ = Phase::head;                  // so that start_tls_shutdown runs
        self->start_tls_shutdown();
    });
}

void Session::connect_backend() {
    phase_ = Phase::connect;
    const TlsService& svc = gate_check_->service(service_check_);
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(svc.backend.host, ec);
    if (ec) {
        record("failed", Code::tls_backend, "backend " + svc.backend.text + ": " + ec.message());
        start_tls_shutdown();
        return;
    }
    backend_.async_connect(tcp::endpoint(address, svc.backend.port),
                           [self = shared_from_this()](const boost::system::error_code& e) {
                               if (self->phase_ != Phase::connect) return;
                               if (e) {
                                   const TlsService& s = self->gate_check_->service(self->service_check_);
                                   self->record("failed", Code::tls_backend, "backend " + s.backend.text + ": " + e.message());
                                   self->start_tls_shutdown();
                                   return;
                               }
                               self->on_connected();
                           });
}

void Session::on_connected() {
    const TlsService& svc = gate_check_->service(service_check_);
    boost::system::error_code ec;
    backend_.set_option(tcp::no_delay(true), ec);
    if (svc.identity == TlsIdentity::proxy_v2) {
        SSL* ssl = tls_->native_handle();
        ProxyInfo info;
        info.source = peer_;
        info.destination = local_;
        if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) info.authority = sni;  // borrowed
        info.tls_version = SSL_get_version(ssl);
        info.cipher = SSL_get_cipher_name(ssl);
        info.cert_cn = decision_.cert_cn;
        info.resumed = audit_.resumed;
        info.user = decision_.identity.account;
        info.groups = decision_.identity.groups;
        info.privileges = decision_.identity.privileges;
        info.cert_sha256 = decision_.cert_sha256;
        auto header = encode_proxy_v2(info);
        if (!header) {
            record("failed", header.code(), header.error().detail());
            start_tls_shutdown();
            return;
        }
        prefix_ = std::move(*header);
    }
    record("granted", Code::ok, decision_.detail);
    release_handshake();
    phase_ = Phase::relay;
    if (prefix_.empty()) {
        start_relay();
        return;
    }
    asio::async_write(backend_, asio::buffer(prefix_), [self = shared_from_this()](const boost::system::error_code& e, std::size_t) {
        if (self->phase_ != Phase::relay) return;
        if (e) {
            self->close_all();
            return;
        }
        self->prefix_.clear();
        self->start_relay();
    });
}

void Session::start_relay() {
    ensure_buffers();
    last_activity_ = Clock::now();
    arm(gate_->config().tls.idle_timeout);
    read_client();
    read_backend();
}

void Session::read_client() {
    if (limit_body_ && body_left_ == 0) {
        // One request per connection: what the client sends after the body
        // is never forwarded (http_identity.hpp).
        client_done_ = true;
        return;
    }
    std::size_t want = from_client_.size();
    if (limit_body_ && body_left_ < want) want = static_cast<std::size_t>(body_left_);
    tls_->async_read_some(asio::buffer(from_client_.data(), want),
                         [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                             if (self->phase_ != Phase::relay) return;
                             if (ec) {
                                 self->client_done_ = true;
                                 boost::system::error_code ignored;
                                 self->backend_.shutdown(tcp::socket::shutdown_send, ignored);
                                 if (self->backend_done_) self->close_all();
                                 return;
                             }
                             self->last_activity_ = Clock::now();
                             self->adapt_buffers(self->bulk_up_, n);
                             if (self->limit_body_) self->body_left_ -= n;
                             asio::async_write(self->backend_, asio::buffer(self->from_client_.data(), n),
                                               [self](const boost::system::error_code& e, std::size_t) {
                                                   if (self->phase_ != Phase::relay) return;
                                                   if (e) {
                                                       self->close_all();
                                                       return;
                                                   }
                                                   self->read_client();
                                               });
                         });
}

void Session::read_backend() {
    backend_.async_read_some(asio::buffer(from_backend_),
                             [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                 if (self->phase_ != Phase::relay) return;
                                 if (ec) {
                                     self->backend_done_ = true;
                                     self->start_tls_shutdown();
                                     return;
                                 }
                                 self->last_activity_ = Clock::now();
                                 self->adapt_buffers(self->bulk_down_, n);
                                 asio::async_write(*self->tls_, asio::buffer(self->from_backend_.data(), n),
                                                   [self](const boost::system::error_code& e, std::size_t) {
                                                       if (self->phase_ != Phase::relay) return;
                                                       if (e) {
                                                           self->close_all();
                                                           return;
                                                       }
                                                       self->read_backend();
                                                   });
                             });
}

// close_notify to the client, bounded by 2 s, then close. A read of the
// client still pending is cancelled first; the shutdown starts once its
// handler has run (posted behind it on the strand).
void Session::start_tls_shutdown() {
    if (phase_ == Phase::closing || phase_ == Phase::closed) return;
    phase_ = Phase::closing;
    release_handshake();
    if (!tls_) return close_all();  // never reached without a handshake; nothing to shut down
    arm(std::chrono::seconds(2));
    boost::system::error_code ignored;
    backend_.close(ignored);
    tls_->next_layer().cancel(ignored);
    asio::post(strand_, [self = shared_from_this()]() {
        if (self->phase_ != Phase::closing) return;
        self->tls_->async_shutdown([self](const boost::system::error_code&) { self->close_all(); });
    });
}

void Session::close_all() {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::closed;
    ++timer_generation_;
    timer_.cancel();
    boost::system::error_code ignored;
    backend_.close(ignored);
    socket().close(ignored);
    release_handshake();
}

}  // namespace cardgate::tunnel
