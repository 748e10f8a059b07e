// How a listening side defends its pending-handshake budget: the one object
// server mode (server.cpp, session.cpp) and client mode (client.cpp) both
// consult at accept. It joins the budget (admission.hpp) to the summarised
// report of refusals (refusal_log.hpp), whose lines go to `report` (the
// audit in server mode, the daemon log in client mode).
//
// Shared (std::shared_ptr): a connection still queued in the io_context when
// its listener is gone may still give its place back or count a refusal.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "src/config.hpp"
#include "tls/tunnel/admission.hpp"
#include "tls/tunnel/refusal_log.hpp"

namespace cardgate::tunnel {

// [tls] max_handshakes, max_handshakes_per_source, handshake_rate_per_source,
// handshake_burst_per_source.
AdmissionLimits admission_limits(const TlsConfig& tls);

class Guard {
public:
    using Report = std::function<void(const Burst&)>;
    static std::shared_ptr<Guard> create(AdmissionLimits limits, Report report);

    // At accept: a place in the budget, or null (the refusal is counted:
    // close the socket). A victim evicted for this newcomer is told here.
    std::unique_ptr<Admission::Ticket> admit(const std::string& where, const boost::asio::ip::tcp::socket& socket);
    // The same for a source named by the caller (client mode: the local uid).
    std::unique_ptr<Admission::Ticket> admit(const std::string& where, const std::string& source);
    // A connection closed before its handshake got anywhere (evicted, or no
    // ClientHello in time): counted in a burst, not reported on its own.
    void count(const std::string& where, const std::string& source, Refusal reason);
    void set_limits(AdmissionLimits limits) { admission_->set_limits(limits); }
    // Reports the bursts that are over (or all of them), and gives memory
    // back once a wave of pending connections has drained (see guard.cpp).
    void report_due(bool everything = false);
    const Admission& admission() const noexcept { return *admission_; }

private:
    Guard(std::shared_ptr<Admission> a, Report r) : admission_(std::move(a)), report_(std::move(r)) {}
    void release_memory();
    const std::shared_ptr<Admission> admission_;
    const Report report_;
    RefusalLog log_;
    std::atomic<unsigned> high_water_{0};  // pending connections at the top of the last wave (timer and stop())
};

// Calls guard->report_due() every 250 ms until `timer` is cancelled.
void report_periodically(boost::asio::steady_timer& timer, std::shared_ptr<Guard> guard);

// The source a socket's peer is accounted to ("?" if it is already gone).
std::string source_of(const boost::asio::ip::tcp::socket& socket);

}  // namespace cardgate::tunnel
