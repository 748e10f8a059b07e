// One server-mode connection, from accept to close, on its own strand:
//
//   handshake ─→ check (on the check pool) ─→ [request head] ─→ connect ─→ relay ─→ closing
//        └──────────────┴───────────── any refusal or limit ──────┴──→ audit "denied", close
//
// Exactly one audit line is written per connection that sent a complete
// ClientHello, at the decision: "denied" with the first failing step's code,
// "failed" (tls_backend) when the backend cannot be reached, or "granted"
// once the backend is connected and before the first byte is forwarded.
// A connection that never got that far (no ClientHello within
// tls.client_hello_timeout, closed by the peer before it, or evicted for a
// newcomer: admission.hpp) carries nothing worth a line of its own: it is
// counted in its source's burst summary (refusal_log.hpp) instead.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "tls/tunnel/admission.hpp"
#include "tls/tunnel/audit.hpp"
#include "tls/tunnel/gate.hpp"
#include "tls/tunnel/proxy_v2.hpp"
#include "tls/tunnel/server.hpp"

namespace cardgate::tunnel {


class Session : public std::enable_shared_from_this<Session>, public Evictable {
public:
    // `socket` is bound to a strand of the server's io_context; `ticket` is
    // its place in the pending-handshake budget (server.cpp took it).
    Session(Server& server, std::shared_ptr<const Gate> gate, std::size_t service,
            boost::asio::ip::tcp::socket socket, std::unique_ptr<Admission::Ticket> ticket);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start();
    // Closes the connection if its handshake is still unfinished (admission.hpp).
    void evict() override;

private:
    enum class Phase { handshake, check, head, connect, relay, closing, closed };
    using Clock = std::chrono::steady_clock;

    boost::asio::ip::tcp::socket& socket() { return tls_ ? tls_->next_layer() : accepted_; }
    void on_first_bytes(const boost::system::error_code& ec);
    void arm(Clock::duration d);
    void on_timer();
    void on_handshake(const boost::system::error_code& ec);
    void on_decision(Decision d, std::shared_ptr<const Gate> gate, std::size_t service);
    void read_head();
    void refuse_head(const std::string& response, const std::string& reason);
    void connect_backend();
    void on_connected();
    void start_relay();
    void read_client();
    void read_backend();
    void start_tls_shutdown();
    void close_all();
    void release_handshake();
    void drop_before_hello(Refusal why);
    void ensure_buffers();
    void adapt_buffers(bool& direction_bulk, std::size_t n);
    void record(std::string outcome, Code code, std::string detail);

    Server& server_;  // not used once the connection is over (see ~Session)
    std::shared_ptr<Server::Counters> counters_;
    std::shared_ptr<Guard> guard_;
    std::unique_ptr<Admission::Ticket> ticket_;  // null once released
    std::shared_ptr<const Gate> gate_;  // keeps the TLS context and the service alive
    std::size_t service_;
    std::shared_ptr<const Gate> gate_check_;  // the Gate whose check granted: its service rules apply
    std::size_t service_check_ = 0;
    const boost::asio::ip::tcp::socket::executor_type strand_;
    // Until the peer's first bytes arrive, only the accepted socket: the TLS
    // stream (the SSL object and Asio's 2 x 17 KiB record buffers, ~80 KiB
    // in all) is made then, so a peer that connects and sends nothing costs
    // a descriptor and about 2 KiB.
    boost::asio::ip::tcp::socket accepted_;
    std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
    boost::asio::ip::tcp::socket backend_;
    boost::asio::steady_timer timer_;
    unsigned timer_generation_ = 0;
    Phase phase_ = Phase::handshake;
    bool audited_ = false;
    AuditRecord audit_;
    Decision decision_;
    IpPort peer_, local_;
    std::string head_;             // identity = "header": bytes read so far
    std::vector<std::uint8_t> prefix_;  // sent to the backend first
    std::string refusal_;
    bool limit_body_ = false;
    std::uint64_t body_left_ = 0;
    bool client_done_ = false, backend_done_ = false;
    bool bulk_up_ = false, bulk_down_ = false;  // the last read that way filled half a buffer
    Clock::time_point last_activity_;
    Clock::time_point handshake_deadline_;
    // Allocated once the handshake is done: a pending handshake costs no relay
    // buffers (32 KiB), so an idle peer holding places costs less.
    std::vector<char> from_client_, from_backend_;
};

}  // namespace cardgate::tunnel
