// Refusal bursts: see refusal_log.hpp.
#include "tls/tunnel/refusal_log.hpp"

#include <cstdio>

namespace cardgate::tunnel {

std::string summary(const Burst& b) {
    const bool closed = b.reason == Refusal::evicted || b.reason == Refusal::client_hello_timeout ||
                        b.reason == Refusal::closed_before_hello;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", std::chrono::duration<double>(b.last - b.first).count());
    return std::string(closed ? "closed " : "refused ") + std::to_string(b.count) +
           (b.count == 1 ? " connection from " : " connections from ") + b.source + " in " + secs +
           " s: " + std::string(describe(b.reason));
}

void RefusalLog::add(const std::string& where, const std::string& source, Refusal reason, SteadyTime now) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto [it, fresh] = open_.try_emplace(Key{where, source, reason});
    Burst& b = it->second;
    if (fresh) {
        b.where = where;
        b.source = source;
        b.reason = reason;
        b.first = now;
    }
    ++b.count;
    b.last = now;
}

std::vector<Burst> RefusalLog::due(SteadyTime now, bool everything) {
    std::vector<Burst> out;
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = open_.begin(); it != open_.end();) {
        const Burst& b = it->second;
        if (everything || now - b.last >= quiet_ || now - b.first >= span_) {
            out.push_back(b);
            it = open_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

}  // namespace cardgate::tunnel
