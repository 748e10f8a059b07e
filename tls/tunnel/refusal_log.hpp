// How refusals at the door are reported: one summary line per source,
// reason and burst, not one line per connection. An attacker opening
// thousands of connections must not turn into thousands of log lines (the
// log would become the next resource to exhaust, and the lines carry nothing
// but an address: no certificate was ever seen).
//
//   refused 372 connections from 127.0.0.9 in 2.1 s: per-source handshake limit (tls.max_handshakes_per_source)
//
// A burst of one (where, source, reason) starts with its first event and is
// reported once it has been quiet for `quiet` (1 s), or every `span` (10 s)
// while it goes on, so a sustained attack is still seen as it happens.
// Thread-safe; time is passed in.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "tls/tunnel/admission.hpp"

namespace cardgate::tunnel {

struct Burst {
    std::string where;   // the service or client name
    std::string source;  // source_of(address)
    Refusal reason = Refusal::per_source;
    unsigned long count = 0;
    SteadyTime first, last;
};

// "refused 372 connections from 127.0.0.9 in 2.1 s: <describe(reason)>"
// ("closed ..." for evictions and ClientHello timeouts).
std::string summary(const Burst& b);

class RefusalLog {
public:
    explicit RefusalLog(std::chrono::milliseconds quiet = std::chrono::seconds(1),
                        std::chrono::milliseconds span = std::chrono::seconds(10))
        : quiet_(quiet), span_(span) {}

    void add(const std::string& where, const std::string& source, Refusal reason, SteadyTime now);
    // The bursts ready to report (all of them when `everything`, at exit).
    std::vector<Burst> due(SteadyTime now, bool everything = false);

private:
    using Key = std::tuple<std::string, std::string, Refusal>;
    const std::chrono::milliseconds quiet_, span_;
    std::mutex mutex_;
    std::map<Key, Burst> open_;
};

}  // namespace cardgate::tunnel
