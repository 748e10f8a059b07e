// Server mode: listeners and limits at accept; see server.hpp.
#include "tls/tunnel/server.hpp"

#include <syslog.h>

#include <algorithm>
#include <set>
#include <thread>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "tls/tunnel/audit.hpp"
#include "tls/tunnel/session.hpp"

namespace cardgate::tunnel {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Server::Listener {
    Listener(asio::io_context& io, TlsEndpoint ep) : endpoint(std::move(ep)), acceptor(io), retry(io) {}
    TlsEndpoint endpoint;
    tcp::acceptor acceptor;
    asio::steady_timer retry;
};

namespace {

// Checks may wait on an OCSP responder or a CRL download; they run here so
// that the I/O threads never block. Bounded by tls.max_handshakes anyway.
unsigned check_threads() { return std::clamp(2 * std::thread::hardware_concurrency(), 4u, 16u); }

std::string endpoint_key(const TlsEndpoint& e) { return e.host + "|" + std::to_string(e.port); }

std::set<std::string> listen_set(const Gate& g) {
    std::set<std::string> s;
    for (const auto& svc : g.config().tls.services) s.insert(endpoint_key(svc.listen));
    return s;
}

// A burst of refusals at the door: one audit line for all of them.
Guard::Report audit_burst(bool foreground) {
    return [foreground](const Burst& b) {
        AuditRecord r;
        r.outcome = "denied";
        r.code = Code::tls_limit;
        r.service = b.where;
        r.peer = b.source;
        r.detail = summary(b);
        audit(r, foreground);
    };
}

}  // namespace

Server::Server(asio::io_context& io, std::shared_ptr<const Gate> gate, bool foreground)
    : io_(io), checks_(check_threads()), foreground_(foreground), gate_(std::move(gate)),
      guard_(Guard::create(admission_limits(gate_->config().tls), audit_burst(foreground))), report_timer_(io) {}

Server::~Server() {
    stop();
    checks_.join();
}

std::shared_ptr<const Gate> Server::gate() const {
    std::lock_guard<std::mutex> lock(gate_mutex_);
    return gate_;
}

Status Server::replace(std::shared_ptr<const Gate> gate) {
    std::lock_guard<std::mutex> lock(gate_mutex_);
    if (listen_set(*gate) != listen_set(*gate_))
        return Error(Code::config_value, "the set of [[tls.service]] listen addresses changed: that needs a restart");
    gate_ = std::move(gate);
    guard_->set_limits(admission_limits(gate_->config().tls));
    return {};
}

Status Server::listen() {
    const auto g = gate();
    for (const TlsService& svc : g->config().tls.services) {
        auto l = std::make_unique<Listener>(io_, svc.listen);
        boost::system::error_code ec;
        const tcp::endpoint ep(asio::ip::make_address(svc.listen.host, ec), svc.listen.port);
        if (!ec) l->acceptor.open(ep.protocol(), ec);
        if (!ec) l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) l->acceptor.bind(ep, ec);
        if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            return Error(Code::config_value, g->config().path + ":" + std::to_string(svc.line) + ": tls.service " +
                                                 svc.name + ": cannot listen on " + svc.listen.text + ": " + ec.message());
        listeners_.push_back(std::move(l));
    }
    for (std::size_t i = 0; i < listeners_.size(); ++i) accept(i);
    report_periodically(report_timer_, guard_);
    return {};
}

void Server::stop() {
    for (auto& l : listeners_) {
        boost::system::error_code ignored;
        l->acceptor.close(ignored);
        l->retry.cancel();
    }
    report_timer_.cancel();
    guard_->report_due(true);
}

void Server::accept(std::size_t i) {
    listeners_[i]->acceptor.async_accept(asio::make_strand(io_), [this, i](const boost::system::error_code& ec, tcp::socket socket) {
        Listener& l = *listeners_[i];
        if (ec == asio::error::operation_aborted || !l.acceptor.is_open()) return;
        if (ec) {
            // Out of descriptors or memory: try again shortly, do not spin.
            syslog(LOG_DAEMON | LOG_ERR, "cardgate-tunnel: accept on %s: %s", l.endpoint.text.c_str(), ec.message().c_str());
            l.retry.expires_after(std::chrono::milliseconds(100));
            l.retry.async_wait([this, i](const boost::system::error_code& e) {
                if (!e) accept(i);
            });
            return;
        }
        const auto g = gate();
        const auto& services = g->config().tls.services;
        std::size_t idx = 0;
        while (idx < services.size() && endpoint_key(services[idx].listen) != endpoint_key(l.endpoint)) ++idx;
        const auto& tls = g->config().tls;
        std::string refused;
        boost::system::error_code e_ignored;
        if (idx == services.size()) refused = "no service listens here any more";
        else if (counters->connections.load() >= tls.max_connections)
            refused = "tls.max_connections (" + std::to_string(tls.max_connections) + ") reached";
        if (refused.empty()) {
            // Refusals by the pending-handshake budget are counted by the
            // guard and audited once per source and burst, not here.
            if (auto ticket = guard_->admit(services[idx].name, socket))
                std::make_shared<Session>(*this, g, idx, std::move(socket), std::move(ticket))->start();
            else
                socket.close(e_ignored);
        } else {
            AuditRecord r;
            r.outcome = "denied";
            r.code = Code::tls_limit;
            r.service = idx < services.size() ? services[idx].name : l.endpoint.text;
            boost::system::error_code e;
            const auto remote = socket.remote_endpoint(e);
            if (!e) r.peer = remote.address().to_string() + ":" + std::to_string(remote.port());
            r.detail = refused;
            audit(r, foreground_);
            socket.close(e);
        }
        accept(i);
    });
}

}  // namespace cardgate::tunnel
