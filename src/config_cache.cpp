#include "config_cache.hpp"

#include <unistd.h>

#include <cstring>
#include <vector>

#include <openssl/sha.h>

#include "config.h"
#include "index_file.hpp"
#include "rule_table.hpp"

namespace cardgate {
namespace {

constexpr std::uint32_t format_version = index_format_version(1, PACKAGE_VERSION);
constexpr std::size_t max_config = 16u << 20;

// The config text with lines first..last of every rule blanked (newlines kept).
std::string blank_rules(std::string_view text, const std::vector<detail::LineSpan>& spans) {
    std::vector<bool> blank;
    for (const auto& s : spans) {
        if (blank.size() <= s.last) blank.resize(s.last + 1, false);
        for (unsigned l = s.first; l <= s.last; ++l) blank[l] = true;
    }
    std::string out;
    unsigned line = 1;
    for (char c : text) {
        if (c == '\n') {
            out.push_back('\n');
            ++line;
        } else if (line >= blank.size() || !blank[line]) {
            out.push_back(c);
        }
    }
    // Rules usually come last: what follows the last key needs no lines kept.
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\t' || out.back() == '\r'))
        out.pop_back();
    out.push_back('\n');
    return out;
}

bool same_except_rules(const Config& a, const Config& b) {
    const auto& m = a.mapping;
    const auto& n = b.mapping;
    return a.token.module == b.token.module && a.token.uri == b.token.uri && a.token.timeout == b.token.timeout &&
           a.token.wait_for_card == b.token.wait_for_card && a.trust.anchors == b.trust.anchors &&
           a.trust.intermediates == b.trust.intermediates && a.trust.crls == b.trust.crls &&
           a.trust.revocation == b.trust.revocation && a.trust.on_unknown_allow == b.trust.on_unknown_allow &&
           a.trust.origin == b.trust.origin && m.bindings == n.bindings && m.allow_root == n.allow_root &&
           m.require_strong == n.require_strong && m.min_uid == n.min_uid && m.sources == n.sources &&
           m.index_dir == n.index_dir && a.login.services == b.login.services &&
           a.login.warn_expiry == b.login.warn_expiry && a.login.pin_pattern == b.login.pin_pattern &&
           a.tls.certificate == b.tls.certificate &&
           a.tls.key == b.tls.key && a.tls.services.size() == b.tls.services.size() &&
           a.tls.clients.size() == b.tls.clients.size() && a.purposes.size() == b.purposes.size() &&
           std::equal(a.purposes.begin(), a.purposes.end(), b.purposes.begin(),
                      [](const auto& x, const auto& y) { return x.first == y.first && x.second.eku == y.second.eku; });
}

std::optional<std::vector<std::uint8_t>> encode(std::string_view text, const Config& full, const std::string& path,
                                                const std::vector<detail::LineSpan>& spans) {
    for (const auto& s : spans)
        if (!s.header) return std::nullopt;  // inline tables: blanking lines would not remove them cleanly
    const std::string residual = blank_rules(text, spans);
    // The residual must parse to the same config without rules, or the cache
    // would describe another file.
    auto check = Config::parse(residual, path);
    if (!check || !check->mapping.rules.empty() || !same_except_rules(*check, full)) return std::nullopt;

    std::vector<std::uint8_t> out(sizeof(std::uint32_t) + SHA256_DIGEST_LENGTH);
    const auto n = static_cast<std::uint32_t>(residual.size());
    std::memcpy(out.data(), &n, sizeof n);
    SHA256(reinterpret_cast<const unsigned char*>(residual.data()), residual.size(), out.data() + sizeof n);
    out.insert(out.end(), residual.begin(), residual.end());
    const auto table = RuleTable::encode(full.mapping.rules);
    out.insert(out.end(), table.begin(), table.end());
    return out;
}

std::optional<Config> decode(std::shared_ptr<const MappedIndex> mapped, const std::string& path) {
    const auto payload = mapped->payload();
    std::uint32_t n = 0;
    constexpr std::size_t head = sizeof n + SHA256_DIGEST_LENGTH;
    if (payload.size() < head) return std::nullopt;
    std::memcpy(&n, payload.data(), sizeof n);
    if (n > payload.size() - head) return std::nullopt;
    const std::string_view residual(reinterpret_cast<const char*>(payload.data() + head), n);
    std::uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(residual.data()), residual.size(), md);
    if (std::memcmp(md, payload.data() + sizeof n, sizeof md) != 0) return std::nullopt;
    auto c = Config::parse(residual, path);
    if (!c || !c->mapping.rules.empty()) return std::nullopt;
    auto table = RuleTable::view(payload.subspan(head + n), mapped);
    if (!table) return std::nullopt;
    c->mapping.rule_table = std::make_shared<const RuleTable>(std::move(*table));
    return std::move(*c);
}

}  // namespace

Result<Config> load_config(const std::string& path, const std::optional<std::string>& index_dir) {
    const ProtectedFile file = CG_TRY(ProtectedFile::open(path, max_config));
    const FileIdentity id = FileIdentity::of(file.stat());
    std::optional<IndexDir> dir;
    if (index_dir) dir.emplace(*index_dir);
    if (dir)
        if (std::shared_ptr<const MappedIndex> mapped = dir->open("config", format_version, path, id))
            if (auto c = decode(std::move(mapped), path)) return std::move(*c);

    const std::string text = CG_TRY(file.read());
    std::vector<detail::LineSpan> spans;
    Config c = CG_TRY(detail::parse_config(text, path, &spans));
    if (dir && c.mapping.rules.size() >= config_cache_min_rules) {
        struct stat after {};
        if (::fstat(file.fd(), &after) == 0 && FileIdentity::of(after) == id)
            if (auto payload = encode(text, c, path, spans)) (void)dir->store("config", format_version, path, id, *payload);
    }
    return c;
}

}  // namespace cardgate
