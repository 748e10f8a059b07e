// The listening side's guard: see guard.hpp.
#include "tls/tunnel/guard.hpp"

#include <malloc.h>

#include <algorithm>

namespace cardgate::tunnel {

namespace asio = boost::asio;

AdmissionLimits admission_limits(const TlsConfig& tls) {
    AdmissionLimits l;
    l.max_pending = tls.max_handshakes;
    l.per_source = tls.max_handshakes_per_source;
    l.rate = tls.handshake_rate_per_source;
    l.burst = tls.handshake_burst_per_source;
    return l;
}

std::shared_ptr<Guard> Guard::create(AdmissionLimits limits, Report report) {
    return std::shared_ptr<Guard>(new Guard(Admission::create(limits), std::move(report)));
}

std::string source_of(const asio::ip::tcp::socket& socket) {
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    return ec ? std::string("?") : source_of(remote.address());
}

std::unique_ptr<Admission::Ticket> Guard::admit(const std::string& where, const asio::ip::tcp::socket& socket) {
    return admit(where, source_of(socket));
}

std::unique_ptr<Admission::Ticket> Guard::admit(const std::string& where, const std::string& source) {
    Admission::Outcome o = admission_->admit(source, std::chrono::steady_clock::now());
    // Outside the budget's lock: evict() posts to the victim's strand, which
    // counts the eviction once it has really closed the connection.
    if (o.victim) o.victim->evict();
    if (!o.ticket) count(where, source, o.refusal);
    return std::move(o.ticket);
}

void Guard::count(const std::string& where, const std::string& source, Refusal reason) {
    log_.add(where, source, reason, std::chrono::steady_clock::now());
}

void Guard::report_due(bool everything) {
    for (const Burst& b : log_.due(std::chrono::steady_clock::now(), everything)) report_(b);
    release_memory();
}

// glibc keeps what a wave of pending connections freed (their TLS objects
// and buffers are scattered over several arenas) and the process would stay
// at its peak for good: an attacker's burst would cost memory forever. Once
// a wave of at least 128 has drained to a quarter, malloc_trim gives the
// free pages back (a few milliseconds, once per wave, on the report timer).
void Guard::release_memory() {
    const unsigned now = admission_->pending();
    unsigned top = high_water_.load();
    while (now > top && !high_water_.compare_exchange_weak(top, now)) {
    }
    top = std::max(top, now);
    if (top < 128 || now > top / 4) return;
    if (!high_water_.compare_exchange_strong(top, now)) return;  // the other caller trims
    malloc_trim(0);
}

void report_periodically(asio::steady_timer& timer, std::shared_ptr<Guard> guard) {
    timer.expires_after(std::chrono::milliseconds(250));
    timer.async_wait([&timer, guard = std::move(guard)](const boost::system::error_code& ec) {
        if (ec) return;  // cancelled: the listener stopped
        guard->report_due();
        report_periodically(timer, guard);
    });
}

}  // namespace cardgate::tunnel
