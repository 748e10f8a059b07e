#include "bindings.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include <openssl/sha.h>

#include "accounts.hpp"
#include "config.h"
#include "config.hpp"
#include "dn.hpp"
#include "text.hpp"

namespace cardgate {
namespace {

constexpr std::uint32_t format_version = index_format_version(1, PACKAGE_VERSION);
constexpr std::size_t max_line = 4096;
constexpr std::size_t max_file = 256u << 20;
// Below this many bindings the table is rebuilt on every use: it costs less
// than a file in the index directory is worth.
constexpr std::size_t min_indexed = 1024;

struct Record {
    std::uint8_t key[16];
    std::uint32_t line;
    std::uint32_t reserved;
    std::uint64_t offset;
};
static_assert(sizeof(Record) == 32);

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool blank(char c) { return c == ' ' || c == '\t'; }

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return s;
}
std::string upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return s;
}

// The lookup key of a (kind, value[, issuer]) triple: SHA-256, first 16 bytes.
// Collisions only cost a re-check: every hit is re-read and compared.
void key_of(BindingKind kind, std::string_view value, const X509_NAME* issuer, std::uint8_t out[16]) {
    std::string in;
    in.reserve(value.size() + 8);
    in.push_back(static_cast<char>(kind));
    in.append(value);
    if (issuer) {
        const std::uint32_t h = dn_hash(issuer);
        in.push_back('\0');
        in.append(reinterpret_cast<const char*>(&h), sizeof h);
    }
    std::uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), md);
    std::memcpy(out, md, 16);
}

Result<Record> record_of(const Binding& b, std::uint64_t offset) {
    Record r{};
    r.line = b.line;
    r.offset = offset;
    if (b.kind == BindingKind::issuer_serial) {
        auto dn = CG_TRY(parse_dn(b.issuer));
        key_of(b.kind, b.value, dn.get(), r.key);
    } else {
        key_of(b.kind, b.value, nullptr, r.key);
    }
    return r;
}

// The serial as bindings write it: upper-case hex without leading zeros
// (BN_bn2hex pads to whole bytes: "0A1B" is "A1B" here).
std::string normal_serial(std::string s) {
    s.erase(0, std::min(s.find_first_not_of('0'), s.size() - 1));
    return s;
}

std::vector<std::pair<BindingKind, std::string>> cert_values(const Certificate& c) {
    std::vector<std::pair<BindingKind, std::string>> v{{BindingKind::spki_sha256, c.spki_sha256()},
                                                       {BindingKind::cert_sha256, c.sha256()}};
    if (!c.serial_hex().empty() && c.serial_hex().front() != '-')
        v.emplace_back(BindingKind::issuer_serial, normal_serial(c.serial_hex()));
    if (c.ski_from_key()) v.emplace_back(BindingKind::ski, c.ski());
    return v;
}

Error line_error(const std::string& path, unsigned line, std::string_view what) {
    return Error(Code::config_value, path + ":" + std::to_string(line) + ": " + std::string(what));
}

// Calls fn(line_number, offset, text) for each line; stops at the first Error.
template <typename Fn>
Status for_each_line(std::string_view text, Fn&& fn) {
    unsigned n = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        CG_TRY_VOID(fn(++n, pos, text.substr(pos, end - pos)));
        pos = end + 1;
    }
    return {};
}

struct Parsed {
    std::vector<Record> records;
    std::size_t bindings = 0;
};

Result<Parsed> parse_all(const std::string& path, std::string_view text) {
    Parsed p;
    CG_TRY_VOID(for_each_line(text, [&](unsigned n, std::size_t off, std::string_view line) -> Status {
        auto b = parse_binding_line(line);
        if (!b) return line_error(path, n, b.error().detail());
        if (!*b) return {};
        (*b)->line = n;
        auto r = record_of(**b, off);
        if (!r) return line_error(path, n, r.error().detail());
        p.records.push_back(*r);
        ++p.bindings;
        return {};
    }));
    std::sort(p.records.begin(), p.records.end(), [](const Record& a, const Record& b) {
        const int c = std::memcmp(a.key, b.key, sizeof a.key);
        return c < 0 || (c == 0 && a.line < b.line);
    });
    return p;
}

}  // namespace

std::string_view binding_kind_name(BindingKind k) noexcept {
    switch (k) {
    case BindingKind::spki_sha256: return "spki-sha256";
    case BindingKind::cert_sha256: return "cert-sha256";
    case BindingKind::issuer_serial: return "issuer-serial";
    case BindingKind::ski: return "ski";
    }
    return "unknown";
}

Result<std::optional<Binding>> parse_binding_line(std::string_view line) {
    using Out = std::optional<Binding>;
    auto bad = [](std::string what) { return Error(Code::config_value, std::move(what)); };
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // written on Windows
    if (line.size() > max_line) return bad("line is longer than " + std::to_string(max_line) + " bytes");
    if (line.find('\0') != std::string_view::npos) return bad("line contains a NUL byte");
    if (!valid_utf8(line)) return bad("line is not valid UTF-8");
    std::size_t i = 0;
    while (i < line.size() && blank(line[i])) ++i;
    if (i == line.size() || line[i] == '#') return Out{};
    for (char c : line)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return bad("line contains a control character");

    auto field = [&]() {
        while (i < line.size() && blank(line[i])) ++i;
        const std::size_t start = i;
        while (i < line.size() && !blank(line[i])) ++i;
        return line.substr(start, i - start);
    };
    Binding b;
    b.user = std::string(field());
    const std::string_view kind = field();
    const std::string_view value = field();
    if (auto why = account_name_problem(b.user); !why.empty()) return bad("user \"" + b.user + "\" " + why);
    if (kind.empty()) return bad("expected \"USER KIND VALUE\" (kinds: spki-sha256, cert-sha256, issuer-serial, ski)");
    if (kind == "spki-sha256") b.kind = BindingKind::spki_sha256;
    else if (kind == "cert-sha256") b.kind = BindingKind::cert_sha256;
    else if (kind == "issuer-serial") b.kind = BindingKind::issuer_serial;
    else if (kind == "ski") b.kind = BindingKind::ski;
    else return bad("unknown kind \"" + std::string(kind) + "\" (use spki-sha256, cert-sha256, issuer-serial or ski)");
    const std::string kname(kind);
    if (value.empty()) return bad(kname + ": value missing");
    if (!std::all_of(value.begin(), value.end(), is_hex)) return bad(kname + ": value \"" + std::string(value) + "\" is not hex");

    switch (b.kind) {
    case BindingKind::spki_sha256:
    case BindingKind::cert_sha256:
        if (value.size() != 64) return bad(kname + ": expected 64 hex digits (SHA-256), got " + std::to_string(value.size()));
        b.value = lower(std::string(value));
        break;
    case BindingKind::ski:
        if (value.size() % 2 || value.size() < 8 || value.size() > 128)
            return bad(kname + ": expected an even number of hex digits, 8 to 128, got " + std::to_string(value.size()));
        b.value = lower(std::string(value));
        break;
    case BindingKind::issuer_serial: {
        if (value.size() > 64) return bad(kname + ": serial longer than 64 hex digits");
        b.value = normal_serial(upper(std::string(value)));
        while (i < line.size() && blank(line[i])) ++i;
        std::string_view issuer = line.substr(i);
        while (!issuer.empty() && blank(issuer.back())) issuer.remove_suffix(1);
        if (issuer.empty()) return bad(kname + ": issuer DN missing after the serial");
        if (auto dn = parse_dn(issuer); !dn) return bad(kname + ": issuer \"" + std::string(issuer) + "\" is not an RFC 4514 DN: " + dn.error().detail());
        b.issuer = std::string(issuer);
        return Out{std::move(b)};
    }
    }
    if (!field().empty()) return bad(kname + ": unexpected text after the value");
    return Out{std::move(b)};
}

bool binding_matches(const Binding& b, const Certificate& cert) {
    switch (b.kind) {
    case BindingKind::spki_sha256: return b.value == cert.spki_sha256();
    case BindingKind::cert_sha256: return b.value == cert.sha256();
    case BindingKind::ski: return cert.ski_from_key() && b.value == cert.ski();
    case BindingKind::issuer_serial: {
        if (cert.serial_hex().empty() || cert.serial_hex().front() == '-' || b.value != normal_serial(cert.serial_hex()))
            return false;
        auto dn = parse_dn(b.issuer);
        return dn && same_dn(dn->get(), X509_get_issuer_name(cert.x509()));  // borrowed
    }
    }
    return false;
}

BindingsFile::~BindingsFile() {
    if (fd_ >= 0) ::close(fd_);
}

BindingsFile::BindingsFile(BindingsFile&& o) noexcept
    : path_(std::move(o.path_)), fd_(std::exchange(o.fd_, -1)), table_(std::move(o.table_)),
      mapped_(std::move(o.mapped_)) {}

std::span<const std::uint8_t> BindingsFile::records() const {
    if (mapped_) return mapped_->payload();
    return {table_.data(), table_.size()};
}

std::size_t BindingsFile::size() const noexcept {
    return (mapped_ ? mapped_->payload().size() : table_.size()) / sizeof(Record);
}

Result<BindingsFile> BindingsFile::open(const std::string& path, const IndexDir* index_dir) {
    BindingsFile f;
    f.path_ = path;
    ProtectedFile file = CG_TRY(ProtectedFile::open(path, max_file));
    const FileIdentity id = FileIdentity::of(file.stat());
    if (index_dir) {
        f.mapped_ = index_dir->open("bindings", format_version, path, id);
        if (f.mapped_ && f.mapped_->payload().size() % sizeof(Record) == 0) {
            f.fd_ = file.release();  // kept for re-reading the lines the index points at
            return f;
        }
        f.mapped_.reset();
    }
    const std::string text = CG_TRY(file.read());
    Parsed p = CG_TRY(parse_all(path, text));
    f.table_.resize(p.records.size() * sizeof(Record));
    if (!p.records.empty()) std::memcpy(f.table_.data(), p.records.data(), f.table_.size());
    if (index_dir && p.bindings >= min_indexed) {
        struct stat after {};
        // Store only what was read from an unchanged file.
        if (::fstat(file.fd(), &after) == 0 && FileIdentity::of(after) == id)
            (void)index_dir->store("bindings", format_version, path, id, f.table_);
    }
    f.fd_ = file.release();
    return f;
}

Result<std::vector<BindingHit>> BindingsFile::lookup(const Certificate& cert) const {
    const auto table = records();
    const std::size_t n = table.size() / sizeof(Record);
    auto at = [&](std::size_t i) {
        Record r;
        std::memcpy(&r, table.data() + i * sizeof(Record), sizeof r);
        return r;
    };
    std::vector<BindingHit> hits;
    std::set<unsigned> seen;
    for (const auto& [kind, value] : cert_values(cert)) {
        std::uint8_t key[16];
        key_of(kind, value, kind == BindingKind::issuer_serial ? X509_get_issuer_name(cert.x509()) : nullptr, key);
        std::size_t lo = 0, hi = n;  // first record with key >= key
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (std::memcmp(at(mid).key, key, sizeof key) < 0) lo = mid + 1;
            else hi = mid;
        }
        for (std::size_t i = lo; i < n; ++i) {
            const Record r = at(i);
            if (std::memcmp(r.key, key, sizeof key) != 0) break;
            if (!seen.insert(r.line).second) continue;
            // Read from one byte before the offset: a line starts at 0 or after
            // a newline, so an index pointing into a line ("alice ..." read
            // as "ice ...") cannot invent a binding.
            char buf[max_line + 3];
            const std::uint64_t from = r.offset == 0 ? 0 : r.offset - 1;
            ssize_t got;
            do got = ::pread(fd_, buf, sizeof buf, static_cast<off_t>(from));
            while (got < 0 && errno == EINTR);
            if (got < 0) return Error(Code::config_io, path_ + ": cannot read: " + std::strerror(errno));
            std::string_view line(buf, static_cast<std::size_t>(got));
            if (r.offset != 0) {
                if (line.empty() || line.front() != '\n')
                    return Error(Code::config_io, path_ + ": its index does not point at the start of a line");
                line.remove_prefix(1);
            }
            line = line.substr(0, line.find('\n'));
            auto b = parse_binding_line(line);
            // The file changed under the index (in place, after it was opened):
            // what it says now is not known, so nothing is assumed.
            if (!b || !*b) return Error(Code::config_io, path_ + ":" + std::to_string(r.line) + ": changed while in use");
            (*b)->line = r.line;
            if (binding_matches(**b, cert))
                hits.push_back({std::move(**b), path_ + ":" + std::to_string(r.line)});
        }
    }
    std::sort(hits.begin(), hits.end(), [](const BindingHit& a, const BindingHit& b) { return a.binding.line < b.binding.line; });
    return hits;
}

Result<BindingsFile::Report> BindingsFile::check(const std::string& path, std::size_t limit) {
    Report rep;
    const ProtectedFile file = CG_TRY(ProtectedFile::open(path, max_file));
    const std::string text = CG_TRY(file.read());
    std::map<std::string, std::set<std::string>> users_by_key;
    std::map<std::string, unsigned> first_line;
    (void)for_each_line(text, [&](unsigned n, std::size_t, std::string_view line) -> Status {
        auto b = parse_binding_line(line);
        if (!b) {
            if (rep.errors.size() < limit) rep.errors.push_back(path + ":" + std::to_string(n) + ": " + b.error().detail());
            return {};
        }
        if (!*b) return {};
        ++rep.bindings;
        auto r = record_of(**b, 0);
        if (!r) return {};
        const std::string k(reinterpret_cast<const char*>(r->key), sizeof r->key);
        users_by_key[k].insert((*b)->user);
        first_line.emplace(k, n);
        if (users_by_key[k].size() == 2 && rep.warnings.size() < limit)
            rep.warnings.push_back(path + ":" + std::to_string(n) + ": " + std::string(binding_kind_name((*b)->kind)) +
                                   " " + (*b)->value + " is also bound to another user (line " +
                                   std::to_string(first_line[k]) + "); certificates it names are ambiguous");
        return {};
    });
    return rep;
}

}  // namespace cardgate
