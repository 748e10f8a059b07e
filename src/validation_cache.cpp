#include "validation_cache.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "bytes.hpp"
#include "config.h"
#include "ossl.hpp"

namespace cardgate {
namespace {

constexpr std::string_view kind = "pathcheck";
constexpr std::uint32_t format_version = index_format_version(2, PACKAGE_VERSION);
constexpr std::uint32_t max_subjects = 32;        // OpenSSL's default maximum depth is 100; paths here are short
constexpr std::uint32_t max_subject_len = 16384;

constexpr std::uint32_t max_der = 64u << 10;

using bytes::put;
using bytes::put_u64;

struct Entry {
    TimeWindow window;
    std::int64_t checked_at = 0;
    std::vector<std::string> chain;        // subjects, leaf first
    std::vector<std::span<const std::uint8_t>> ders;  // the path, leaf first (in the mapped entry)
    std::vector<ossl::X509Ptr> certs;                 // the path above the leaf, parsed (the leaf is the caller's)
};

std::string encode(const Verdict& v, std::int64_t now) {
    std::string s;
    put_u64(s, static_cast<std::uint64_t>(v.path_window->from));
    put_u64(s, static_cast<std::uint64_t>(v.path_window->until));
    put_u64(s, static_cast<std::uint64_t>(now));
    put_u64(s, v.chain_subjects.size());
    for (const auto& c : v.chain_subjects) put(s, c);
    put_u64(s, v.chain_der.size());
    for (const auto& d : v.chain_der) put(s, d);
    return s;
}

std::optional<Entry> decode(std::span<const std::uint8_t> payload) {
    bytes::Reader r(payload);
    Entry e;
    std::int64_t from, until;
    std::uint64_t n;
    if (!r.i64(from) || !r.i64(until) || !r.i64(e.checked_at) || !r.u64(n) || n == 0 || n > max_subjects)
        return std::nullopt;
    e.window = {from, until};
    e.chain.resize(n);
    for (auto& c : e.chain)
        if (!r.text(c, max_subject_len)) return std::nullopt;
    std::uint64_t m;
    if (!r.u64(m) || m != n) return std::nullopt;
    for (std::uint64_t i = 0; i < m; ++i) {
        std::span<const std::uint8_t> der;
        if (!r.field(der, max_der)) return std::nullopt;
        e.ders.push_back(der);
        if (i == 0) continue;  // the leaf: parsed already, by whoever asks
        const unsigned char* p = der.data();
        ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
        if (!x || p != der.data() + der.size()) return std::nullopt;
        e.certs.push_back(std::move(x));
    }
    if (!r.done()) return std::nullopt;
    return e;
}

}  // namespace

Validator::Validator(const TrustConfig& trust, std::string index_dir)
    : trust_(trust), checker_(std::make_shared<const RevocationChecker>(trust)) {
    if (!index_dir.empty()) dir_.emplace(std::move(index_dir));
}

// Each trust file's path and identity, in config order; nullopt when one
// cannot be read or changed within the last 2 s (then nothing is remembered).
std::optional<std::string> Validator::trust_identity(std::int64_t now) const {
    std::string s;
    for (const auto* list : {&trust_.anchors, &trust_.intermediates}) {
        put_u64(s, list->size());
        for (const auto& path : *list) {
            struct stat st {};
            if (::stat(path.c_str(), &st) != 0) return std::nullopt;
            const FileIdentity id = FileIdentity::of(st);
            if (id.recent(now)) return std::nullopt;
            put(s, path);
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
    put(m, purpose_name(purpose));
    put(m, *identity_);
    put(m, std::span<const std::uint8_t>(leaf.der()));
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
        const auto leaf_der = leaf.der();
        if (e && e->window.contains(now) && std::equal(leaf_der.begin(), leaf_der.end(), e->ders[0].begin(),
                                                       e->ders[0].end())) {
            Verdict v;
            v.code = Code::internal;  // check_leaf decides
            v.steps.push_back({"parse", true, parse_step_detail(leaf)});
            const std::string when = format_utc(static_cast<std::time_t>(e->checked_at));
            v.steps.push_back({"chain", true,
                               std::to_string(e->chain.size()) + " certificates up to " + e->chain.back() + ", at " +
                                   format_utc(now) + " (signatures checked at " + when +
                                   " with the same trust files, current until " + format_utc(e->window.until) + ")"});
            v.chain_subjects = std::move(e->chain);
            v.path_window = e->window;
            std::vector<X509*> path{leaf.x509()};
            for (const auto& c : e->certs) path.push_back(c.get());
            for (auto d : e->ders) v.chain_der.emplace_back(reinterpret_cast<const char*>(d.data()), d.size());
            last_ = Last::reused;
            if (!check_revocation(v, *checker_, path, now))
                return v.code == Code::config_file ? Result<Verdict>(Error(v.code, v.detail)) : Result<Verdict>(std::move(v));
            return std::move(check_leaf(v, leaf, purpose, pc));
        }
    }

    if (!store_) store_.emplace(CG_TRY(TrustStore::create(trust_, checker_)));
    Verdict v = store_->validate(leaf, purpose, pc, clock);
    if (v.code == Code::config_file) return Error(v.code, v.detail);
    // Remember the path once steps 2 and 3 passed (a refusal by the leaf's
    // own checks is still a good path), unless a trust file changed while the
    // store was being loaded (the key would name other bytes).
    const bool path_passed = std::any_of(v.steps.begin(), v.steps.end(),
                                         [](const Step& s) { return s.name == "revocation" && s.ok; });
    if (key && path_passed && v.path_window && v.path_window->contains(now) && trust_identity(now) == identity_) {
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
