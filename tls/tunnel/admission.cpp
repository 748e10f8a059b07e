// The pending-handshake budget: see admission.hpp.
#include "tls/tunnel/admission.hpp"

#include <algorithm>

namespace cardgate::tunnel {

namespace asio = boost::asio;

std::string_view describe(Refusal r) {
    switch (r) {
    case Refusal::per_source: return "per-source handshake limit (tls.max_handshakes_per_source)";
    case Refusal::rate: return "per-source handshake rate (tls.handshake_rate_per_source)";
    case Refusal::budget_full: return "every pending handshake is past its ClientHello (tls.max_handshakes)";
    case Refusal::evicted: return "oldest unfinished handshakes closed for newcomers (tls.max_handshakes full)";
    case Refusal::client_hello_timeout: return "no complete ClientHello within tls.client_hello_timeout";
    case Refusal::closed_before_hello: return "the peer closed before a complete ClientHello";
    }
    return "?";
}

std::string source_of(const asio::ip::address& a) {
    if (a.is_v4()) return a.to_string();
    const asio::ip::address_v6 v6 = a.to_v6();
    if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
    auto bytes = v6.to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return asio::ip::address_v6(bytes).to_string() + "/64";
}

std::shared_ptr<Admission> Admission::create(AdmissionLimits limits) {
    return std::shared_ptr<Admission>(new Admission(limits));
}

void Admission::set_limits(AdmissionLimits limits) {
    std::lock_guard<std::mutex> lock(mutex_);
    limits_ = limits;
}

bool Admission::take_token(Source& s, SteadyTime now) const {
    const double elapsed = std::chrono::duration<double>(now - s.refilled).count();
    s.tokens = std::min<double>(limits_.burst, s.tokens + std::max(0.0, elapsed) * limits_.rate);
    s.refilled = now;
    if (s.tokens < 1.0) return false;
    s.tokens -= 1.0;
    return true;
}

// Oldest first (ids grow with time); connections still being set up
// (unbound) and those past their handshake are skipped.
std::shared_ptr<Evictable> Admission::evict_oldest() {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        if (!it->second.evictable) continue;
        auto victim = it->second.connection.lock();
        if (!victim) continue;  // finishing its destructor: it releases on its own
        if (auto s = sources_.find(it->second.source); s != sources_.end() && s->second.pending > 0) --s->second.pending;
        pending_.erase(it);
        return victim;
    }
    return nullptr;
}

// A source with nothing pending and a full bucket is indistinguishable from
// one never seen: forget it, so the table is bounded by recent activity.
void Admission::forget_idle_sources(SteadyTime now) {
    if (++admits_since_sweep_ < 1024 && sources_.size() < 4096) return;
    admits_since_sweep_ = 0;
    for (auto it = sources_.begin(); it != sources_.end();) {
        const double elapsed = std::chrono::duration<double>(now - it->second.refilled).count();
        const bool full = it->second.tokens + elapsed * limits_.rate >= limits_.burst;
        it = it->second.pending == 0 && full ? sources_.erase(it) : std::next(it);
    }
}

Admission::Outcome Admission::admit(const std::string& source, SteadyTime now) {
    Outcome out;
    std::lock_guard<std::mutex> lock(mutex_);
    forget_idle_sources(now);
    auto [it, fresh] = sources_.try_emplace(source);
    Source& s = it->second;
    if (fresh) {
        s.tokens = limits_.burst;
        s.refilled = now;
    }
    if (s.pending >= limits_.per_source) {
        out.refusal = Refusal::per_source;
        return out;
    }
    if (!take_token(s, now)) {
        out.refusal = Refusal::rate;
        return out;
    }
    if (pending_.size() >= limits_.max_pending) {
        out.victim = evict_oldest();
        if (!out.victim) {
            out.refusal = Refusal::budget_full;
            return out;
        }
    }
    const std::uint64_t id = next_id_++;
    pending_.emplace(id, Entry{source, {}, false});
    ++s.pending;
    out.ticket.reset(new Ticket(shared_from_this(), id, source));
    return out;
}

void Admission::bind(std::uint64_t id, std::weak_ptr<Evictable> connection) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    it->second.connection = std::move(connection);
    it->second.evictable = true;
}

void Admission::handshake_done(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = pending_.find(id);
    if (it != pending_.end()) it->second.evictable = false;
}

void Admission::release(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // evicted: its place was given away already
    auto s = sources_.find(it->second.source);
    if (s != sources_.end() && s->second.pending > 0) --s->second.pending;
    pending_.erase(it);
}

unsigned Admission::pending() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<unsigned>(pending_.size());
}

unsigned Admission::pending_from(const std::string& source) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sources_.find(source);
    return it == sources_.end() ? 0 : it->second.pending;
}

std::size_t Admission::sources_tracked() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return sources_.size();
}

void Admission::Ticket::bind(std::weak_ptr<Evictable> connection) {
    if (owner_) owner_->bind(id_, std::move(connection));
}

void Admission::Ticket::handshake_done() {
    if (owner_) owner_->handshake_done(id_);
}

void Admission::Ticket::release() {
    if (!owner_) return;
    owner_->release(id_);
    owner_.reset();
}

}  // namespace cardgate::tunnel
