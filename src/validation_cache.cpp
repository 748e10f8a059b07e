#include "validation_cache.hpp"

#include <sys/stat.h>

#include <cstring>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "config.h"

namespace cardgate {
namespace {

constexpr std::string_view kind = "pathcheck";
constexpr std::uint32_t format_version = index_format_version(1, PACKAGE_VERSION);
constexpr std::uint32_t max_subjects = 32;        // OpenSSL's default maximum depth is 100; paths here are short
constexpr std::uint32_t max_subject_len = 16384;

void put_u64(std::string& s, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}
void put_bytes(std::string& s, std::string_view b) {
    put_u64(s, b.size());
    s.append(b);
}

// A reader over an entry's payload; every get fails once anything is short.
class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> p) : p_(p) {}
    bool u64(std::uint64_t& v) {
        if (p_.size() < 8) return ok_ = false;
        v = 0;
        for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p_[i]) << (8 * i);
        p_ = p_.subspan(8);
        return true;
    }
    bool i64(std::int64_t& v) {
        std::uint64_t u;
        if (!u64(u)) return false;
        v = static_cast<std::int64_t>(u);
        return true;
    }
    bool text(std::string& s, std::size_t max) {
        std::uint64_t n;
        if (!u64(n) || n > max || n > p_.size()) return ok_ = false;
        s.assign(reinterpret_cast<const char*>(p_.data()), n);
        p_ = p_.subspan(n);
        return true;
    }
    bool done() const { return ok_ && p_.empty(); }

private:
    std::span<const std::uint8_t> p_;
    bool ok_ = true;
};

struct Entry {
    TimeWindow window;
    std::int64_t checked_at = 0;
    std::vector<std::string> chain;
};

std::string encode(const Verdict& v, std::int64_t now) {
    std::string s;
    put_u64(s, static_cast<std::uint64_t>(v.path_window->from));
    put_u64(s, static_cast<std::uint64_t>(v.path_window->until));
    put_u64(s, static_cast<std::uint64_t>(now));
    put_u64(s, v.chain_subjects.size());
    for (const auto& c : v.chain_subjects) put_bytes(s, c);
    return s;
}

std::optional<Entry> decode(std::span<const std::uint8_t> payload) {
    Reader r(payload);
    Entry e;
    std::int64_t from, until;
    std::uint64_t n;
    if (!r.i64(from) || !r.i64(until) || !r.i64(e.checked_at) || !r.u64(n) || n == 0 || n > max_subjects)
        return std::nullopt;
    e.window = {from, until};
    e.chain.resize(n);
    for (auto& c : e.chain)
        if (!r.text(c, max_subject_len)) return std::nullopt;
    if (!r.done()) return std::nullopt;
    return e;
}

}  // namespace

Validator::Validator(const TrustConfig& trust, std::string index_dir) : trust_(trust) {
    if (!index_dir.empty()) dir_.emplace(std::move(index_dir));
}

// Each trust file's path and identity, in config order; nullopt when one
// cannot be read or changed within the last 2 s (then nothing is remembered).
std::optional<std::string> Validator::trust_identity(std::int64_t now) const {
    std::string s;
    for (const auto* list : {&trust_.anchors, &trust_.intermediates, &trust_.crls}) {
        put_u64(s, list->size());
        for (const auto& path : *list) {
            struct stat st {};
            if (::stat(path.c_str(), &st) != 0) return std::nullopt;
            const FileIdentity id = FileIdentity::of(st);
            if (id.recent(now)) return std::nullopt;
            put_bytes(s, path);
            for (std::uint64_t v : {id.dev, id.ino, id.size, static_cast<std::uint64_t>(id.mtime_sec),
                                    static_cast<std::uint64_t>(id.mtime_nsec), static_cast<std::uint64_t>(id.ctime_sec),
                                    static_cast<std::uint64_t>(id.ctime_nsec), std::uint64_t{id.mode}, std::uint64_t{id.uid}})
                put_u64(s, v);
        }
    }
    return s;
}

std::optional<Validator::Key> Validator::key_for(const Certificate& leaf, Purpose purpose, std::int64_t now) {
    if (!dir_) return std::nullopt;
    if (!identity_known_) {
        identity_ = trust_identity(now);
        identity_known_ = true;
    }
    if (!identity_) return std::nullopt;
    std::string m = "cardgate path check\n";
    put_u64(m, format_version);
    put_u64(m, OpenSSL_version_num());
    put_bytes(m, purpose_name(purpose));
    put_u64(m, trust_.revocation.size());
    for (auto r : trust_.revocation) put_u64(m, static_cast<std::uint64_t>(r));
    put_u64(m, trust_.on_unknown_allow ? 1 : 0);
    put_bytes(m, *identity_);
    const auto der = leaf.der();
    put_bytes(m, {reinterpret_cast<const char*>(der.data()), der.size()});
    Key k;
    SHA256(reinterpret_cast<const unsigned char*>(m.data()), m.size(), k.data());
    return k;
}

Result<Verdict> Validator::validate(const Certificate& leaf, Purpose purpose, const PurposeConfig& pc,
                                    const Clock& clock) {
    last_ = Last::checked;
    const std::time_t now = clock.now();
    const auto key = key_for(leaf, purpose, now);

    if (key) {
        auto mapped = dir_->open_entry(kind, format_version, *key);
        std::optional<Entry> e;
        if (mapped) e = decode(mapped->payload());
        if (e && e->window.contains(now)) {
            Verdict v;
            v.code = Code::internal;  // check_leaf decides
            v.steps.push_back({"parse", true, parse_step_detail(leaf)});
            const std::string when = format_utc(static_cast<std::time_t>(e->checked_at));
            v.steps.push_back({"chain", true,
                               std::to_string(e->chain.size()) + " certificates up to " + e->chain.back() + ", at " +
                                   format_utc(now) + " (signatures checked at " + when +
                                   " with the same trust files, current until " + format_utc(e->window.until) + ")"});
            v.steps.push_back({"revocation", true,
                               trust_.checks_crl()
                                   ? "not revoked: a current CRL covers each of the " + std::to_string(e->chain.size()) +
                                         " certificates (the same CRL files as at " + when + ")"
                                   : std::string("not checked (trust.revocation = \"none\")")});
            v.chain_subjects = std::move(e->chain);
            v.path_window = e->window;
            last_ = Last::reused;
            return std::move(check_leaf(v, leaf, purpose, pc));
        }
    }

    if (!store_) store_.emplace(CG_TRY(TrustStore::create(trust_)));
    Verdict v = store_->validate(leaf, purpose, pc, clock);
    // Remember a clean pass of the path steps, unless a trust file changed
    // while the store was being loaded (the key would name other bytes).
    if (key && v.path_window && v.path_window->contains(now) && trust_identity(now) == identity_) {
        dir_->prune(kind, now);
        const std::string payload = encode(v, now);
        if (dir_->store_entry(kind, format_version, *key,
                              {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()},
                              v.path_window->until))
            last_ = Last::stored;
    }
    return v;
}

}  // namespace cardgate
