// Little-endian length-prefixed fields for cardgate's own cache entries
// (validation_cache.cpp, revocation.cpp): a writer that appends, and a
// reader over a payload that fails, and stays failed, once anything is short.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cardgate::bytes {

inline void put_u64(std::string& s, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}
inline void put(std::string& s, std::string_view b) {
    put_u64(s, b.size());
    s.append(b);
}
inline void put(std::string& s, std::span<const std::uint8_t> b) {
    put(s, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}
inline std::span<const std::uint8_t> as_span(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> p) : p_(p) {}
    bool u64(std::uint64_t& v) {
        if (!ok_ || p_.size() < 8) return ok_ = false;
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
    // A field of at most `max` bytes, viewed in place.
    bool field(std::span<const std::uint8_t>& out, std::size_t max) {
        std::uint64_t n;
        if (!u64(n) || n > max || n > p_.size()) return ok_ = false;
        out = p_.first(static_cast<std::size_t>(n));
        p_ = p_.subspan(static_cast<std::size_t>(n));
        return true;
    }
    bool text(std::string& s, std::size_t max) {
        std::span<const std::uint8_t> f;
        if (!field(f, max)) return false;
        s.assign(reinterpret_cast<const char*>(f.data()), f.size());
        return true;
    }
    bool done() const { return ok_ && p_.empty(); }

private:
    std::span<const std::uint8_t> p_;
    bool ok_ = true;
};

}  // namespace cardgate::bytes
