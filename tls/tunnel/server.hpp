// Server mode: accept TLS on every [[tls.service]] listen address, decide
// (gate.hpp), forward plain TCP to the service's backend with the identity
// (proxy_v2.hpp, http_identity.hpp).
//
// One process, a few I/O threads (Boost.Asio, everything asynchronous, one
// strand per connection: no thread per connection). The checks, which may
// block on a revocation fetch, run on a separate bounded pool and post their
// decision back to the connection's strand.
//
// Limits (all from [tls]):
//   max_connections    connections open at once; one more is closed at accept (tls_limit)
//   max_handshakes, max_handshakes_per_source, handshake_rate_per_source,
//   handshake_burst_per_source
//                      the pending-handshake budget (accept → decision) and each
//                      source's share of it: guard.hpp, admission.hpp
//   client_hello_timeout  bound on accept → complete ClientHello
//   handshake_timeout  bound on accept → decision, on reading an HTTP request head,
//                      and on connecting to the backend; a stalled client is cut (tls_limit)
//   idle_timeout       an established connection with no byte either way is closed
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "src/clock.hpp"
#include "tls/tunnel/gate.hpp"
#include "tls/tunnel/guard.hpp"

namespace cardgate::tunnel {

class Server {
public:
    Server(boost::asio::io_context& io, std::shared_ptr<const Gate> gate, bool foreground);
    ~Server();

    // Binds every service's listen address. Error (config_value) naming the
    // service when one cannot be bound.
    Status listen();
    // Stops accepting; connections in progress finish on their own.
    void stop();

    // Swaps in a new Gate. Error (config_value) when it would change the set
    // of listen addresses (that needs a restart); the old Gate is then kept.
    Status replace(std::shared_ptr<const Gate> gate);
    std::shared_ptr<const Gate> gate() const;

    // For the connections (session.cpp).
    boost::asio::thread_pool& checks() noexcept { return checks_; }
    const Clock& clock() const noexcept { return clock_; }
    bool foreground() const noexcept { return foreground_; }
    const std::shared_ptr<Guard>& guard() const noexcept { return guard_; }
    // Shared with the connections: a connection still queued in the
    // io_context when the Server is gone (at exit) may still count down.
    struct Counters {
        std::atomic<unsigned> connections{0};
    };
    const std::shared_ptr<Counters> counters = std::make_shared<Counters>();

private:
    struct Listener;
    void accept(std::size_t i);

    boost::asio::io_context& io_;
    boost::asio::thread_pool checks_;
    SystemClock clock_;
    const bool foreground_;
    mutable std::mutex gate_mutex_;
    std::shared_ptr<const Gate> gate_;
    std::vector<std::unique_ptr<Listener>> listeners_;
    const std::shared_ptr<Guard> guard_;
    boost::asio::steady_timer report_timer_;
};

}  // namespace cardgate::tunnel
