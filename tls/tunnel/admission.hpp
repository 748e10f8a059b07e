// Who may start a TLS handshake: the pending-handshake budget of one
// listening side (server mode's services, client mode's local ports), shared
// so that no one source can take it.
//
// A connection is "pending" from accept until its decision (server mode) or
// until its TLS connection is up (client mode). At accept, in this order:
//
//   1. per source: at most `per_source` pending connections. A source is an
//      IPv4 address, or the /64 of an IPv6 address (one host usually owns a
//      whole /64, so per-address limits would let it take 2^64 places).
//   2. per source: a token bucket of `burst` handshakes refilled at `rate`
//      per second, so a flood of full handshakes from one source is refused
//      at accept, before any cryptography, instead of taking the CPU and the
//      check pool from everyone else.
//   3. the whole budget, `max_pending`: when it is full, the oldest pending
//      connection that has not finished its handshake is closed to make room
//      (evicted), in preference to refusing the newcomer: a peer that holds
//      places without finishing loses them to anyone who arrives later, and
//      one that finishes its handshake can no longer be pushed out. Only when
//      every pending connection has finished its handshake is the newcomer
//      refused.
//
// Thread-safe (one mutex; accept handlers of several listeners and the
// connections' strands call in). Time is passed in, so tests need no sleeps.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>

namespace cardgate::tunnel {

using SteadyTime = std::chrono::steady_clock::time_point;

// Why a connection was not let through, or was closed before its handshake
// got anywhere. These are counted and summarised per source and burst
// (refusal_log.hpp), not audited one line per connection.
enum class Refusal { per_source, rate, budget_full, evicted, client_hello_timeout, closed_before_hello };

// "per-source handshake limit (tls.max_handshakes_per_source)", ...
std::string_view describe(Refusal r);

// The key a connection is accounted to: "192.0.2.7", or "2001:db8:1:2::/64".
// An IPv4-mapped IPv6 address counts as its IPv4 address.
std::string source_of(const boost::asio::ip::address& a);

// A pending connection that the budget may close early (rule 3). evict() is
// called outside the budget's lock, from any thread: it must post to the
// connection's strand.
class Evictable {
public:
    virtual ~Evictable() = default;
    virtual void evict() = 0;
};

struct AdmissionLimits {
    unsigned max_pending = 1024;  // tls.max_handshakes
    unsigned per_source = 32;     // tls.max_handshakes_per_source
    unsigned rate = 100;          // tls.handshake_rate_per_source, per second
    unsigned burst = 200;         // tls.handshake_burst_per_source
};

class Admission : public std::enable_shared_from_this<Admission> {
public:
    // One place in the budget, given back when released or destroyed.
    class Ticket {
    public:
        ~Ticket() { release(); }
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        // The connection may be evicted from now on (before: it is being set up).
        void bind(std::weak_ptr<Evictable> connection);
        // Its handshake is done: it keeps its place but can no longer be evicted.
        void handshake_done();
        void release();
        const std::string& source() const noexcept { return source_; }

    private:
        friend class Admission;
        Ticket(std::shared_ptr<Admission> owner, std::uint64_t id, std::string source)
            : owner_(std::move(owner)), id_(id), source_(std::move(source)) {}
        std::shared_ptr<Admission> owner_;  // null once released
        std::uint64_t id_;
        std::string source_;
    };

    struct Outcome {
        std::unique_ptr<Ticket> ticket;     // null: refused for `refusal`
        Refusal refusal = Refusal::budget_full;
        std::shared_ptr<Evictable> victim;  // call victim->evict(): its place went to this ticket
    };

    static std::shared_ptr<Admission> create(AdmissionLimits limits);
    void set_limits(AdmissionLimits limits);  // a reload; places already taken stay taken

    Outcome admit(const std::string& source, SteadyTime now);

    unsigned pending() const;
    unsigned pending_from(const std::string& source) const;
    std::size_t sources_tracked() const;

private:
    explicit Admission(AdmissionLimits limits) : limits_(limits) {}

    struct Entry {
        std::string source;
        std::weak_ptr<Evictable> connection;  // empty until bound
        bool evictable = false;
    };
    struct Source {
        unsigned pending = 0;
        double tokens = 0;
        SteadyTime refilled;
    };

    bool take_token(Source& s, SteadyTime now) const;
    std::shared_ptr<Evictable> evict_oldest();
    void forget_idle_sources(SteadyTime now);
    void release(std::uint64_t id);
    void bind(std::uint64_t id, std::weak_ptr<Evictable> connection);
    void handshake_done(std::uint64_t id);

    mutable std::mutex mutex_;
    AdmissionLimits limits_;
    std::uint64_t next_id_ = 0;
    std::map<std::uint64_t, Entry> pending_;  // by id: oldest first
    std::unordered_map<std::string, Source> sources_;
    std::uint64_t admits_since_sweep_ = 0;
};

}  // namespace cardgate::tunnel
