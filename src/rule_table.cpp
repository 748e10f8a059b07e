#include "rule_table.hpp"

#include <cstring>

#include <openssl/sha.h>

namespace cardgate {
namespace {

enum : std::uint8_t { flag_lowercase = 1, flag_strong = 2, flag_subject = 4 };
constexpr std::size_t record_size = 8;
constexpr std::size_t check_size = 16;  // SHA-256 prefix of a rule's bytes, checked when it is decoded

class Writer {
public:
    void u32(std::uint32_t v) { raw(&v, sizeof v); }
    void u8(std::uint8_t v) { raw(&v, 1); }
    void str(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        raw(s.data(), s.size());
    }
    void list(const std::vector<std::string>& l) {
        u32(static_cast<std::uint32_t>(l.size()));
        for (const auto& s : l) str(s);
    }
    void put32(std::size_t at, std::uint32_t v) { std::memcpy(bytes.data() + at, &v, sizeof v); }
    std::vector<std::uint8_t> bytes;

private:
    void raw(const void* p, std::size_t n) {
        const auto* b = static_cast<const std::uint8_t*>(p);
        bytes.insert(bytes.end(), b, b + n);
    }
};

class Reader {
public:
    Reader(std::span<const std::uint8_t> b, std::size_t pos) : b_(b), pos_(pos), ok_(pos <= b.size()) {}
    bool ok() const { return ok_; }
    std::size_t pos() const { return pos_; }
    std::uint32_t u32() {
        std::uint32_t v = 0;
        if (!ok_ || b_.size() - pos_ < sizeof v) return ok_ = false, 0;
        std::memcpy(&v, b_.data() + pos_, sizeof v);
        pos_ += sizeof v;
        return v;
    }
    std::uint8_t u8() {
        if (!ok_ || pos_ >= b_.size()) return ok_ = false, 0;
        return b_[pos_++];
    }
    std::string_view str() {
        const std::uint32_t n = u32();
        if (!ok_ || n > b_.size() - pos_) return ok_ = false, std::string_view();
        std::string_view s(reinterpret_cast<const char*>(b_.data() + pos_), n);
        pos_ += n;
        return s;
    }
    std::vector<std::string> list() {
        const std::uint32_t n = u32();
        std::vector<std::string> out;
        if (!ok_ || n > (b_.size() - pos_) / 4) return ok_ = false, out;
        for (std::uint32_t i = 0; i < n && ok_; ++i) out.emplace_back(str());
        return out;
    }

private:
    std::span<const std::uint8_t> b_;
    std::size_t pos_;
    bool ok_;
};

}  // namespace

std::vector<std::uint8_t> RuleTable::encode(const std::vector<MappingRule>& rules) {
    Writer w;
    w.u32(static_cast<std::uint32_t>(rules.size()));
    w.bytes.resize(4 + rules.size() * record_size);
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const MappingRule& r = rules[i];
        w.put32(4 + i * record_size, r.issuer_hash);
        w.put32(4 + i * record_size + 4, static_cast<std::uint32_t>(w.bytes.size()));
        w.u32(static_cast<std::uint32_t>(r.line));
        w.u8(static_cast<std::uint8_t>((r.lowercase ? flag_lowercase : 0) | (r.strong ? flag_strong : 0) |
                                       (r.subject ? flag_subject : 0)));
        w.str(r.issuer);
        w.str(r.subject.value_or(""));
        w.str(r.user);
        w.str(r.literal);
        w.list(r.eku);
        w.list(r.policies);
        w.list(r.san);
        std::uint32_t start = 0;
        std::memcpy(&start, w.bytes.data() + 4 + i * record_size + 4, sizeof start);
        std::uint8_t md[SHA256_DIGEST_LENGTH];
        SHA256(w.bytes.data() + start, w.bytes.size() - start, md);
        w.bytes.insert(w.bytes.end(), md, md + check_size);
    }
    return std::move(w.bytes);
}

std::optional<RuleTable> RuleTable::view(std::span<const std::uint8_t> bytes, std::shared_ptr<const void> owner) {
    Reader r(bytes, 0);
    const std::uint32_t n = r.u32();
    if (!r.ok() || n > (bytes.size() - 4) / record_size) return std::nullopt;
    return RuleTable(bytes, std::move(owner), n);
}

RuleTable RuleTable::build(const std::vector<MappingRule>& rules) {
    auto bytes = std::make_shared<const std::vector<std::uint8_t>>(encode(rules));
    std::span<const std::uint8_t> span(bytes->data(), bytes->size());
    return *view(span, std::move(bytes));
}

std::uint32_t RuleTable::issuer_hash(std::size_t i) const {
    std::uint32_t h = 0;
    std::memcpy(&h, bytes_.data() + 4 + i * record_size, sizeof h);  // in bounds: checked by view()
    return h;
}

std::optional<RuleTable::Key> RuleTable::key(std::size_t i) const {
    std::uint32_t off = 0;
    std::memcpy(&off, bytes_.data() + 4 + i * record_size + 4, sizeof off);
    Reader r(bytes_, off);
    r.u32();
    r.u8();
    Key k;
    k.issuer = r.str();
    r.str();
    r.str();
    k.literal = r.str();
    if (!r.ok()) return std::nullopt;
    return k;
}

std::optional<MappingRule> RuleTable::rule(std::size_t i) const {
    std::uint32_t off = 0;
    std::memcpy(&off, bytes_.data() + 4 + i * record_size + 4, sizeof off);
    Reader r(bytes_, off);
    MappingRule m;
    m.issuer_hash = issuer_hash(i);
    m.line = static_cast<int>(r.u32());
    const std::uint8_t flags = r.u8();
    m.lowercase = flags & flag_lowercase;
    m.strong = flags & flag_strong;
    m.issuer = r.str();
    const std::string_view subject = r.str();
    if (flags & flag_subject) m.subject = std::string(subject);
    m.user = r.str();
    m.literal = r.str();
    m.eku = r.list();
    m.policies = r.list();
    m.san = r.list();
    if (!r.ok() || r.pos() > bytes_.size() - check_size) return std::nullopt;
    // What is about to decide a mapping is exactly what was written.
    std::uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(bytes_.data() + off, r.pos() - off, md);
    if (std::memcmp(md, bytes_.data() + r.pos(), check_size) != 0) return std::nullopt;
    return m;
}

}  // namespace cardgate
