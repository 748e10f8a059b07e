// Strict TOML reading of the config file: see config.hpp and SPEC "Config file".
//
// Shape of this file: one Parser walks the document section by section
// (token, trust, purpose, mapping); every getter checks presence and type and
// returns the node with the value, so that a later value check can still name
// the exact line and column. The first problem found ends the parse.
// GCC 12 reports a false -Wmaybe-uninitialized inside libstdc++'s <regex>
// (std::function in _StateT) when built with -fsanitize=address; the
// suppression covers the library headers only, not this file's code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "config.hpp"

#include "pkcs11/uri.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <set>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <toml++/toml.h>

#include "config_cache.hpp"
#include "dn.hpp"
#include "duration.hpp"
#include "http_fetch.hpp"
#include "rule_table.hpp"
#include "rules.hpp"
#include "template.hpp"
#include "ossl.hpp"
#pragma GCC diagnostic pop

namespace cardgate {

// ----------------------------------------------------------------- EKU names

namespace {

struct EkuName {
    std::string_view name;
    std::string_view oid;
};

// RFC 5280 section 4.2.1.12; Microsoft smart card logon (KB 281245);
// id-PIV-cardAuth from NIST SP 800-78 / FIPS 201 (2.16.840.1.101.3.6.8).
constexpr std::array<EkuName, 6> eku_names{{
    {"clientAuth", "1.3.6.1.5.5.7.3.2"},
    {"serverAuth", "1.3.6.1.5.5.7.3.1"},
    {"emailProtection", "1.3.6.1.5.5.7.3.4"},
    {"codeSigning", "1.3.6.1.5.5.7.3.3"},
    {"msSmartcardLogin", "1.3.6.1.4.1.311.20.2.2"},
    {"pivCardAuth", "2.16.840.1.101.3.6.8"},
}};
constexpr std::string_view any_eku_oid = "2.5.29.37.0";

bool looks_dotted(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    bool dot = false;
    for (char c : s) {
        if (c == '.') {
            if (dot) return false;
            dot = true;
        } else if (c >= '0' && c <= '9') {
            dot = false;
        } else {
            return false;
        }
    }
    return s.find('.') != std::string_view::npos;
}

std::string known_eku_list() {
    std::string s;
    for (const auto& e : eku_names) {
        if (!s.empty()) s += ", ";
        s += e.name;
    }
    return s + " or a dotted OID";
}

}  // namespace

Result<std::string> resolve_eku(std::string_view s) {
    if (s == "anyExtendedKeyUsage" || s == any_eku_oid)
        return Error(Code::config_value,
                     "anyExtendedKeyUsage is refused: it would accept a certificate issued for any purpose; "
                     "name the usages this purpose needs");
    for (const auto& e : eku_names)
        if (s == e.name) return std::string(e.oid);
    if (!looks_dotted(s))
        return Error(Code::config_value, "\"" + std::string(s) + "\" is not a known EKU name (use " +
                                             known_eku_list() + ")");
    const std::string text(s);
    ossl::Asn1ObjectPtr obj(OBJ_txt2obj(text.c_str(), 1));  // owned; no_name = 1: numeric form only
    char canon[128];
    if (!obj || OBJ_obj2txt(canon, sizeof canon, obj.get(), 1) <= 0 || text != canon) {
        ossl::last_error();  // drop the queue: the message below says it all
        return Error(Code::config_value, "\"" + text + "\" is not a valid object identifier in canonical "
                                         "dotted form (e.g. \"1.3.6.1.5.5.7.3.2\")");
    }
    return text;
}

std::string eku_display_name(std::string_view oid) {
    for (const auto& e : eku_names)
        if (oid == e.oid) return std::string(e.name);
    return std::string(oid);
}

const PurposeConfig& default_purpose_config(Purpose p) {
    static const PurposeConfig login{{"1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.20.2.2"}};
    static const PurposeConfig tls{{"1.3.6.1.5.5.7.3.2"}};
    static const PurposeConfig door{{"2.16.840.1.101.3.6.8"}};
    switch (p) {
    case Purpose::login: return login;
    case Purpose::tls: return tls;
    case Purpose::door: return door;
    }
    return login;
}

bool TrustConfig::checks_crl() const {
    return std::find(revocation.begin(), revocation.end(), RevocationSource::crl) != revocation.end();
}

bool TrustConfig::checks_ocsp() const {
    return std::find(revocation.begin(), revocation.end(), RevocationSource::ocsp) != revocation.end();
}

const PurposeConfig& Config::purpose(Purpose p) const {
    auto it = purposes.find(p);
    return it != purposes.end() ? it->second : default_purpose_config(p);
}

// ----------------------------------------------------------------- the parser

namespace {

std::string_view type_name(toml::node_type t) {
    switch (t) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    }
    return "an unknown type";
}

// A value quoted for a message: printable ASCII kept, the rest escaped, long values cut.
std::string quote(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string q = "\"";
    for (std::size_t i = 0; i < s.size() && i < 120; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            q += '\\';
            q += static_cast<char>(c);
        } else if (c >= 0x20 && c < 0x7f) {
            q += static_cast<char>(c);
        } else {
            q += "\\x";
            q += hex[c >> 4];
            q += hex[c & 15];
        }
    }
    if (s.size() > 120) q += "...";
    return q + "\"";
}

template <typename T>
struct Located {
    T value;
    const toml::node* node;
};

using Allowed = std::initializer_list<std::string_view>;

std::string join(Allowed names) {
    std::string s;
    for (auto n : names) {
        if (!s.empty()) s += ", ";
        s += n;
    }
    return s;
}

class Parser {
public:
    explicit Parser(const std::string& path) : path_(path) {}

    Result<Config> run(const toml::table& root);

private:
    // "<path>:<line>:<col>" (1:1 for a node toml++ did not place, e.g. an implicit table).
    std::string where(const toml::source_region& r) const {
        const auto line = r.begin.line ? r.begin.line : 1;
        const auto col = r.begin.column ? r.begin.column : 1;
        return path_ + ":" + std::to_string(line) + ":" + std::to_string(col);
    }
    std::string at(const toml::source_region& r) const { return where(r) + ": "; }
    Error fail(Code c, const toml::source_region& r, std::string_view key, std::string_view what) const {
        return Error(c, at(r) + std::string(key) + ": " + std::string(what));
    }
    Error fail(Code c, const toml::node& n, std::string_view key, std::string_view what) const {
        return fail(c, n.source(), key, what);
    }
    Error wrong_type(const toml::node& n, std::string_view key, std::string_view expected) const {
        return fail(Code::config_type, n, key,
                    "expected " + std::string(expected) + ", got " + std::string(type_name(n.type())));
    }

    static std::string dotted(std::string_view prefix, std::string_view key) {
        return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
    }

    Status only_keys(const toml::table& t, std::string_view prefix, Allowed allowed) const;
    Result<const toml::table*> table(const toml::table& t, std::string_view prefix, std::string_view key) const;
    Result<std::optional<Located<std::string>>> string(const toml::table& t, std::string_view prefix,
                                                       std::string_view key) const;
    Result<std::optional<bool>> boolean(const toml::table& t, std::string_view prefix, std::string_view key) const;
    Result<std::optional<std::vector<Located<std::string>>>> strings(const toml::table& t, std::string_view prefix,
                                                                     std::string_view key) const;
    Result<std::optional<std::string>> path_value(const toml::table& t, std::string_view prefix,
                                                  std::string_view key) const;
    Result<std::vector<std::string>> path_list(const toml::table& t, std::string_view prefix,
                                               std::string_view key) const;
    Result<std::optional<std::chrono::milliseconds>> duration(const toml::table& t, std::string_view prefix,
                                                              std::string_view key, bool zero_ok) const;

    Status token(const toml::table& root, TokenConfig& out) const;
    Status trust(const toml::table& root, TrustConfig& out) const;
    Status purposes(const toml::table& root, std::map<Purpose, PurposeConfig>& out) const;
    Result<PurposeConfig> purpose(const toml::table& t, std::string_view prefix) const;
    Status mapping(const toml::table& root, MappingConfig& out) const;
    Status login(const toml::table& root, LoginConfig& out) const;
    Status tls(const toml::table& root, TlsConfig& out) const;
    Status tls_admission(const toml::table& t, TlsConfig& out) const;
    Result<TlsService> tls_service(const toml::table& t, std::string_view prefix) const;
    Result<TlsClient> tls_client(const toml::table& t, std::string_view prefix) const;
    Result<std::optional<TlsEndpoint>> endpoint(const toml::table& t, std::string_view prefix, std::string_view key,
                                                bool host_optional) const;
    Status client_listen(const toml::table& t, std::string_view prefix, TlsClient& out) const;
    Result<std::optional<std::vector<std::uint32_t>>> uid_list(const toml::table& t, std::string_view prefix,
                                                               std::string_view key) const;
    Result<std::optional<unsigned>> count(const toml::table& t, std::string_view prefix, std::string_view key,
                                          unsigned max) const;
    Result<std::string> entry_name(const toml::table& t, std::string_view prefix) const;
    Result<MappingRule> rule(const toml::table& t, std::string_view prefix) const;
    Result<std::vector<std::string>> oid_list(const toml::table& t, std::string_view prefix, std::string_view key,
                                              bool eku) const;

    const std::string& path_;
};

Status Parser::only_keys(const toml::table& t, std::string_view prefix, Allowed allowed) const {
    // Report the first unknown key in file order, not in the table's sorted order.
    const toml::key* first = nullptr;
    for (auto&& [k, v] : t) {
        (void)v;
        if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
        const auto& b = k.source().begin;
        if (!first || b.line < first->source().begin.line ||
            (b.line == first->source().begin.line && b.column < first->source().begin.column))
            first = &k;
    }
    if (!first) return {};
    const std::string where = prefix.empty() ? "at the top level" : "in [" + std::string(prefix) + "]";
    return fail(Code::config_unknown_key, first->source(), dotted(prefix, first->str()),
                "unknown key (allowed " + where + ": " + join(allowed) + ")");
}

Result<const toml::table*> Parser::table(const toml::table& t, std::string_view prefix,
                                         std::string_view key) const {
    const toml::node* n = t.get(key);
    if (!n) return static_cast<const toml::table*>(nullptr);
    if (!n->is_table()) return wrong_type(*n, dotted(prefix, key), "a table ([" + dotted(prefix, key) + "])");
    return n->as_table();
}

Result<std::optional<Located<std::string>>> Parser::string(const toml::table& t, std::string_view prefix,
                                                           std::string_view key) const {
    const toml::node* n = t.get(key);
    if (!n) return std::optional<Located<std::string>>{};
    if (!n->is_string()) return wrong_type(*n, dotted(prefix, key), "a string");
    return std::optional<Located<std::string>>{Located<std::string>{n->as_string()->get(), n}};
}

Result<std::optional<bool>> Parser::boolean(const toml::table& t, std::string_view prefix,
                                            std::string_view key) const {
    const toml::node* n = t.get(key);
    if (!n) return std::optional<bool>{};
    if (!n->is_boolean()) return wrong_type(*n, dotted(prefix, key), "true or false");
    return std::optional<bool>{n->as_boolean()->get()};
}

Result<std::optional<std::vector<Located<std::string>>>> Parser::strings(const toml::table& t,
                                                                         std::string_view prefix,
                                                                         std::string_view key) const {
    using Out = std::optional<std::vector<Located<std::string>>>;
    const toml::node* n = t.get(key);
    if (!n) return Out{};
    const std::string name = dotted(prefix, key);
    if (!n->is_array()) return wrong_type(*n, name, "an array of strings, e.g. [\"...\"]");
    std::vector<Located<std::string>> out;
    for (const toml::node& el : *n->as_array()) {
        if (!el.is_string()) return wrong_type(el, name, "an array of strings");
        out.push_back({el.as_string()->get(), &el});
    }
    return Out{std::move(out)};
}

// A file path that decides trust must be absolute: a relative one would be
// resolved against the working directory of whoever runs su or sudo.
Result<std::optional<std::string>> Parser::path_value(const toml::table& t, std::string_view prefix,
                                                      std::string_view key) const {
    auto s = CG_TRY(string(t, prefix, key));
    if (!s) return std::optional<std::string>{};
    if (s->value.empty() || s->value.front() != '/' || s->value.find('\0') != std::string::npos)
        return fail(Code::config_value, *s->node, dotted(prefix, key),
                    quote(s->value) + " is not an absolute path (it must start with \"/\")");
    return std::optional<std::string>{s->value};
}

Result<std::vector<std::string>> Parser::path_list(const toml::table& t, std::string_view prefix,
                                                   std::string_view key) const {
    auto list = CG_TRY(strings(t, prefix, key));
    std::vector<std::string> out;
    if (!list) return out;
    for (const auto& s : *list) {
        if (s.value.empty() || s.value.front() != '/' || s.value.find('\0') != std::string::npos)
            return fail(Code::config_value, *s.node, dotted(prefix, key),
                        quote(s.value) + " is not an absolute path (it must start with \"/\")");
        out.push_back(s.value);
    }
    return out;
}

Result<std::optional<std::chrono::milliseconds>> Parser::duration(const toml::table& t, std::string_view prefix,
                                                                  std::string_view key, bool zero_ok) const {
    using Out = std::optional<std::chrono::milliseconds>;
    const toml::node* n = t.get(key);
    if (!n) return Out{};
    const std::string name = dotted(prefix, key);
    if (!n->is_string()) return wrong_type(*n, name, "a duration string such as \"10s\", \"5m\" or \"24h\"");
    auto d = parse_duration(n->as_string()->get());
    if (!d) return fail(d.code(), *n, name, d.error().detail());
    if (!zero_ok && d->count() == 0)
        return fail(Code::config_value, *n, name, "must be longer than 0 (e.g. \"10s\")");
    return Out{*d};
}

// ---- [token]

Status Parser::token(const toml::table& root, TokenConfig& out) const {
    const toml::table* t = CG_TRY(table(root, "", "token"));
    if (!t) return {};
    CG_TRY_VOID(only_keys(*t, "token", {"module", "uri", "timeout", "wait_for_card"}));
    if (auto m = CG_TRY(path_value(*t, "token", "module"))) out.module = *m;
    if (auto u = CG_TRY(string(*t, "token", "uri"))) {
        // Parsed now, so a bad filter is a config error at load time with its
        // line, not a surprise at the first login. It only selects tokens and
        // objects: a PIN or a module in it would be a secret in a config file
        // or a second, unchecked module setting.
        auto uri = p11::Uri::parse(u->value);
        if (!uri) return fail(Code::config_value, *u->node, "token.uri", uri.error().detail());
        if (uri->has_pin_value() || uri->pin_source || uri->module_path || uri->module_name)
            return fail(Code::config_value, *u->node, "token.uri",
                        "selects tokens and objects only: pin-value, pin-source, module-path and module-name are "
                        "not allowed here");
        out.uri = u->value;
    }
    if (auto d = CG_TRY(duration(*t, "token", "timeout", false))) out.timeout = *d;
    if (auto d = CG_TRY(duration(*t, "token", "wait_for_card", true))) out.wait_for_card = *d;
    return {};
}

// ---- [trust]

Status Parser::trust(const toml::table& root, TrustConfig& out) const {
    const toml::table* t = CG_TRY(table(root, "", "trust"));
    if (!t)
        return fail(Code::config_missing, root.source(), "trust",
                    "required: a [trust] section with at least one anchor, e.g. anchors = [\"/etc/cardgate/ca/root.pem\"]");
    CG_TRY_VOID(only_keys(*t, "trust", {"anchors", "intermediates", "crls", "revocation", "on_unknown", "fetch_crls",
                                        "ocsp_responder", "ocsp_nonce", "ocsp_max_age", "max_staleness",
                                        "fetch_timeout", "crl_max_size", "cache_dir"}));

    for (std::string_view key : {"anchors", "intermediates", "crls"})
        if (const toml::node* n = t->get(key)) out.origin.emplace(std::string(key), where(n->source()));
    out.anchors = CG_TRY(path_list(*t, "trust", "anchors"));
    out.intermediates = CG_TRY(path_list(*t, "trust", "intermediates"));
    out.crls = CG_TRY(path_list(*t, "trust", "crls"));
    if (out.anchors.empty())
        return fail(Code::config_missing, t->get("anchors") ? t->get("anchors")->source() : t->source(),
                    "trust.anchors", "at least one trust anchor file (PEM) is required");

    if (auto b = CG_TRY(boolean(*t, "trust", "fetch_crls"))) out.fetch_crls = *b;
    if (auto b = CG_TRY(boolean(*t, "trust", "ocsp_nonce"))) out.ocsp_nonce = *b;
    if (auto u = CG_TRY(string(*t, "trust", "ocsp_responder"))) {
        if (!is_fetchable_url(u->value))
            return fail(Code::config_value, *u->node, "trust.ocsp_responder",
                        quote(u->value) + " is not an http:// or https:// URL with a host");
        out.ocsp_responder = u->value;
    }
    if (auto d = CG_TRY(duration(*t, "trust", "ocsp_max_age", false))) out.ocsp_max_age = *d;
    if (auto d = CG_TRY(duration(*t, "trust", "max_staleness", true))) out.max_staleness = *d;
    if (auto d = CG_TRY(duration(*t, "trust", "fetch_timeout", false))) {
        if (*d > std::chrono::minutes(5))
            return fail(Code::config_value, *t->get("fetch_timeout"), "trust.fetch_timeout",
                        "must be at most \"5m\" (a login waits for it)");
        out.fetch_timeout = *d;
    }
    if (const toml::node* n = t->get("crl_max_size")) {
        if (!n->is_integer()) return wrong_type(*n, "trust.crl_max_size", "an integer (bytes)");
        const std::int64_t v = n->as_integer()->get();
        if (v < 1024 || v > (std::int64_t{4} << 30))
            return fail(Code::config_value, *n, "trust.crl_max_size",
                        std::to_string(v) + " is out of range (1024 to 4294967296 bytes)");
        out.crl_max_size = static_cast<std::uint64_t>(v);
    }
    if (auto d = CG_TRY(path_value(*t, "trust", "cache_dir"))) out.cache_dir = *d;

    auto rev = CG_TRY(string(*t, "trust", "revocation"));
    const bool have_crls = !out.crls.empty() || out.fetch_crls;
    if (!rev) {
        // No silent default for a security control: turning revocation off
        // must be written down.
        return fail(Code::config_missing, t->source(), "trust.revocation",
                    "required: \"crl\", \"ocsp\" or \"ocsp,crl\" to check revocation, or \"none\" to not check it");
    } else if (rev->value == "none") {
        out.revocation.clear();
    } else if (rev->value == "crl" || rev->value == "ocsp,crl") {
        if (!have_crls)
            return fail(Code::config_missing, *rev->node, "trust.revocation",
                        quote(rev->value) + " needs CRLs: trust.crls naming at least one CRL file, or "
                        "trust.fetch_crls = true");
        out.revocation = rev->value == "crl" ? std::vector{RevocationSource::crl}
                                             : std::vector{RevocationSource::ocsp, RevocationSource::crl};
    } else if (rev->value == "ocsp") {
        out.revocation = {RevocationSource::ocsp};
    } else {
        return fail(Code::config_value, *rev->node, "trust.revocation",
                    quote(rev->value) + " is not allowed (use \"none\", \"crl\", \"ocsp\" or \"ocsp,crl\")");
    }

    if (auto u = CG_TRY(string(*t, "trust", "on_unknown"))) {
        if (u->value != "deny" && u->value != "allow")
            return fail(Code::config_value, *u->node, "trust.on_unknown",
                        quote(u->value) + " is not allowed (use \"deny\" or \"allow\")");
        out.on_unknown_allow = u->value == "allow";
    }
    return {};
}

// ---- [purpose.X]

Result<PurposeConfig> Parser::purpose(const toml::table& t, std::string_view prefix) const {
    CG_TRY_VOID(only_keys(t, prefix, {"eku"}));
    auto list = CG_TRY(strings(t, prefix, "eku"));
    const std::string key = std::string(prefix) + ".eku";
    if (!list)
        return fail(Code::config_missing, t.source(), key,
                    "required in [" + std::string(prefix) + "] (names or dotted OIDs; [] = no EKU required)");
    PurposeConfig out;
    for (const auto& s : *list) {
        auto oid = resolve_eku(s.value);
        if (!oid) return fail(oid.code(), *s.node, key, oid.error().detail());
        if (std::find(out.eku.begin(), out.eku.end(), *oid) == out.eku.end()) out.eku.push_back(*oid);
    }
    return out;
}

Status Parser::purposes(const toml::table& root, std::map<Purpose, PurposeConfig>& out) const {
    for (Purpose p : {Purpose::login, Purpose::tls, Purpose::door}) out[p] = default_purpose_config(p);
    const toml::table* t = CG_TRY(table(root, "", "purpose"));
    if (!t) return {};
    CG_TRY_VOID(only_keys(*t, "purpose", {"login", "tls", "door"}));
    for (auto&& [k, v] : *t) {
        const auto p = purpose_from(k.str());  // only_keys made sure it is known
        const std::string prefix = "purpose." + std::string(k.str());
        if (!p) return fail(Code::config_unknown_key, k.source(), prefix, "unknown purpose");
        if (!v.is_table()) return wrong_type(v, prefix, "a table ([" + prefix + "])");
        out[*p] = CG_TRY(purpose(*v.as_table(), prefix));
    }
    return {};
}

// ---- [mapping] and [[mapping.rule]]


Result<std::vector<std::string>> Parser::oid_list(const toml::table& t, std::string_view prefix,
                                                  std::string_view key, bool eku) const {
    std::vector<std::string> out;
    auto list = CG_TRY(strings(t, prefix, key));
    if (!list) return out;
    for (const auto& s : *list) {
        if (eku) {
            auto oid = resolve_eku(s.value);
            if (!oid) return fail(oid.code(), *s.node, dotted(prefix, key), oid.error().detail());
            out.push_back(*oid);
        } else {
            // Canonical form, as certificates' OIDs are printed: "2.16.840.01" would never match.
            ossl::Asn1ObjectPtr obj(looks_dotted(s.value) ? OBJ_txt2obj(s.value.c_str(), 1) : nullptr);
            char buf[128];
            const int n = obj ? OBJ_obj2txt(buf, sizeof buf, obj.get(), 1) : 0;
            ERR_clear_error();
            if (n <= 0 || static_cast<std::size_t>(n) >= sizeof buf || std::string_view(buf, static_cast<std::size_t>(n)) != s.value)
                return fail(Code::config_value, *s.node, dotted(prefix, key),
                            quote(s.value) + " is not a dotted OID in canonical form (e.g. \"2.16.840.1.101.3.2.1.3.13\")");
            out.push_back(s.value);
        }
    }
    return out;
}

Result<MappingRule> Parser::rule(const toml::table& t, std::string_view prefix) const {
    CG_TRY_VOID(only_keys(t, prefix, {"issuer", "subject", "user", "eku", "policies", "san", "lowercase", "strong"}));
    MappingRule r;
    r.line = static_cast<int>(t.source().begin.line);

    auto issuer = CG_TRY(string(t, prefix, "issuer"));
    if (!issuer)
        return fail(Code::config_missing, t.source(), dotted(prefix, "issuer"),
                    "required: the exact issuer DN in RFC 4514 form, e.g. \"CN=Example Issuing CA,O=Example Corp\"");
    if (auto dn = parse_dn(issuer->value); !dn)
        return fail(Code::config_value, *issuer->node, dotted(prefix, "issuer"),
                    quote(issuer->value) + " is not an RFC 4514 DN: " + dn.error().detail());
    r.issuer = issuer->value;
    r.issuer_hash = dn_hash(parse_dn(issuer->value)->get());

    if (auto subject = CG_TRY(string(t, prefix, "subject"))) {
        if (auto why = regex_problem(subject->value); !why.empty())
            return fail(Code::config_value, *subject->node, dotted(prefix, "subject"),
                        quote(subject->value) + " is not a valid ECMAScript regular expression: " + why);
        r.subject = subject->value;
        r.literal = required_literal(subject->value);
    }

    auto user = CG_TRY(string(t, prefix, "user"));
    if (!user)
        return fail(Code::config_missing, t.source(), dotted(prefix, "user"),
                    "required: a template naming the account, e.g. \"{subject.uid}\"");
    if (auto why = template_problem(user->value); !why.empty())
        return fail(Code::config_value, *user->node, dotted(prefix, "user"),
                    quote(user->value) + " is not a valid template: " + why);
    r.user = user->value;

    r.eku = CG_TRY(oid_list(t, prefix, "eku", true));
    r.policies = CG_TRY(oid_list(t, prefix, "policies", false));
    if (auto san = CG_TRY(strings(t, prefix, "san"))) {
        for (const auto& s : *san) {
            if (s.value != "email" && s.value != "upn")
                return fail(Code::config_value, *s.node, dotted(prefix, "san"),
                            quote(s.value) + " is not allowed (use \"email\" or \"upn\")");
            r.san.push_back(s.value);
        }
    }
    if (auto b = CG_TRY(boolean(t, prefix, "lowercase"))) r.lowercase = *b;
    if (auto b = CG_TRY(boolean(t, prefix, "strong"))) r.strong = *b;
    return r;
}

Status Parser::mapping(const toml::table& root, MappingConfig& out) const {
    const toml::table* t = CG_TRY(table(root, "", "mapping"));
    if (!t) return {};
    CG_TRY_VOID(only_keys(*t, "mapping", {"bindings", "allow_root", "require_strong", "min_uid", "sources",
                                          "index_dir", "rule"}));
    out.bindings = CG_TRY(path_value(*t, "mapping", "bindings"));
    if (auto b = CG_TRY(boolean(*t, "mapping", "allow_root"))) out.allow_root = *b;
    if (auto b = CG_TRY(boolean(*t, "mapping", "require_strong"))) out.require_strong = *b;
    if (auto d = CG_TRY(path_value(*t, "mapping", "index_dir"))) out.index_dir = *d;
    if (const toml::node* n = t->get("min_uid")) {
        if (!n->is_integer()) return wrong_type(*n, "mapping.min_uid", "an integer");
        const auto v = n->as_integer()->get();
        if (v < 1 || v > 2147483647)
            return fail(Code::config_value, *n, "mapping.min_uid", std::to_string(v) + " is out of range (1 to 2147483647)");
        out.min_uid = static_cast<unsigned>(v);
    }
    if (auto list = CG_TRY(strings(*t, "mapping", "sources"))) {
        out.sources.clear();
        for (const auto& s : *list) {
            MappingSource src;
            if (s.value == "bindings") src = MappingSource::bindings;
            else if (s.value == "rules") src = MappingSource::rules;
            else
                return fail(Code::config_value, *s.node, "mapping.sources",
                            quote(s.value) + " is not a mapping source (use \"bindings\" and/or \"rules\")");
            if (std::find(out.sources.begin(), out.sources.end(), src) != out.sources.end())
                return fail(Code::config_value, *s.node, "mapping.sources", quote(s.value) + " is listed twice");
            out.sources.push_back(src);
        }
        if (out.sources.empty())
            return fail(Code::config_value, *t->get("sources"), "mapping.sources", "must name at least one source");
        if (std::find(out.sources.begin(), out.sources.end(), MappingSource::bindings) != out.sources.end() &&
            !out.bindings)
            return fail(Code::config_missing, *t->get("sources"), "mapping.sources",
                        "\"bindings\" is listed but mapping.bindings names no file");
    }
    const toml::node* rules = t->get("rule");
    if (!rules) return {};
    if (!rules->is_array_of_tables())
        return wrong_type(*rules, "mapping.rule", "an array of tables ([[mapping.rule]] sections)");
    std::size_t i = 0;
    for (const toml::node& n : *rules->as_array())
        out.rules.push_back(CG_TRY(rule(*n.as_table(), "mapping.rule[" + std::to_string(i++) + "]")));
    return {};
}

// ---- [login]

Status Parser::login(const toml::table& root, LoginConfig& out) const {
    const toml::table* t = CG_TRY(table(root, "", "login"));
    if (!t) return {};
    CG_TRY_VOID(only_keys(*t, "login", {"services", "warn_expiry", "pin_pattern"}));
    if (auto list = CG_TRY(strings(*t, "login", "services"))) {
        for (const auto& s : *list) {
            const bool ok = !s.value.empty() && s.value.size() <= 64 &&
                            std::all_of(s.value.begin(), s.value.end(), [](char c) {
                                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                       c == '-' || c == '_' || c == '.' || c == '@';
                            });
            if (!ok)
                return fail(Code::config_value, *s.node, "login.services",
                            quote(s.value) + " is not a PAM service name (letters, digits, '-', '_', '.', '@')");
            out.services.push_back(s.value);
        }
        if (out.services.empty())
            return fail(Code::config_value, *t->get("services"), "login.services",
                        "an empty list would refuse every service; leave the key out to allow all");
    }
    if (auto d = CG_TRY(duration(*t, "login", "warn_expiry", true))) out.warn_expiry = *d;
    if (auto p = CG_TRY(string(*t, "login", "pin_pattern"))) {
        if (auto why = regex_problem(p->value); !why.empty())
            return fail(Code::config_value, *p->node, "login.pin_pattern",
                        quote(p->value) + " is not a valid ECMAScript regular expression: " + why);
        if (p->value.empty())
            return fail(Code::config_value, *p->node, "login.pin_pattern",
                        "an empty pattern matches no PIN; leave the key out for digits only");
        out.pin_pattern = p->value;
    }
    return {};
}

// ---- [tls], [[tls.service]], [[tls.client]] (cardgate-tunnel(8))

// RFC 7230 section 3.2.6 token: the characters a header field name may have.
bool is_http_token(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
}

bool is_entry_name(std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.';
    });
}

// "HOST:PORT" with an IP literal host ("[::1]:443" for IPv6); with
// host_optional, a bare "PORT" or ":PORT" means 127.0.0.1.
std::optional<TlsEndpoint> parse_endpoint(std::string_view text, bool host_optional) {
    TlsEndpoint e;
    e.text = std::string(text);
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        in6_addr a6{};
        if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) return std::nullopt;
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            if (!host_optional) return std::nullopt;
            port = text;
        } else {
            host = text.substr(0, colon);
            port = text.substr(colon + 1);
        }
        if (host.empty()) {
            if (!host_optional) return std::nullopt;
            host = "127.0.0.1";
        }
        in_addr a4{};
        if (inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1) return std::nullopt;
    }
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    const int p = std::stoi(std::string(port));
    if (p < 1 || p > 65535) return std::nullopt;
    e.host = std::string(host);
    e.port = static_cast<std::uint16_t>(p);
    return e;
}

Result<std::optional<TlsEndpoint>> Parser::endpoint(const toml::table& t, std::string_view prefix,
                                                    std::string_view key, bool host_optional) const {
    auto s = CG_TRY(string(t, prefix, key));
    if (!s) return std::optional<TlsEndpoint>{};
    auto e = parse_endpoint(s->value, host_optional);
    if (!e)
        return fail(Code::config_value, *s->node, dotted(prefix, key),
                    quote(s->value) + " is not an address: use \"IP:PORT\" with an IPv4 literal or \"[IPv6]:PORT\" "
                    "(no host names), port 1 to 65535");
    return std::optional<TlsEndpoint>{std::move(*e)};
}

// 127.0.0.0/8 or ::1: what only this host can connect to.
bool is_loopback(const std::string& host) {
    in_addr a4{};
    if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    in6_addr a6{};
    return inet_pton(AF_INET6, host.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

// A client tunnel presents the badge to whoever connects to its plain side,
// so that side is offered on this host only: a loopback address, whose peer
// the tunnel identifies through the kernel's socket table, or a UNIX socket
// (peer_uid.hpp). A wildcard or an interface address would lend the badge to
// the network.
Status Parser::client_listen(const toml::table& t, std::string_view prefix, TlsClient& out) const {
    const std::string key = dotted(prefix, "listen");
    auto s = CG_TRY(string(t, prefix, "listen"));
    if (!s)
        return fail(Code::config_missing, t.source(), key,
                    "required: the loopback port or UNIX socket to accept plain connections on, e.g. "
                    "\"127.0.0.1:9443\" or \"unix:/run/user/1000/cardgate/wiki.sock\"");
    if (s->value.rfind("unix:", 0) == 0) {
        const std::string path = s->value.substr(5);
        // sun_path holds 108 bytes with the terminating NUL; no abstract
        // sockets (they have no file mode to protect them).
        if (path.empty() || path.front() != '/' || path.back() == '/' || path.size() >= 108 ||
            path.find('\0') != std::string::npos)
            return fail(Code::config_value, *s->node, key,
                        quote(s->value) + " is not a UNIX socket path: use \"unix:/ABSOLUTE/PATH\" (at most 107 bytes)");
        out.listen.text = s->value;
        out.listen_unix = path;
        return {};
    }
    auto e = CG_TRY(endpoint(t, prefix, "listen", true));
    if (!is_loopback(e->host))
        return fail(Code::config_value, *s->node, key,
                    quote(s->value) + " is not a loopback address: a client tunnel lends the badge to whoever "
                    "connects, so it listens on 127.0.0.0/8, [::1] or a \"unix:/PATH\" socket only");
    out.listen = std::move(*e);
    return {};
}

// uids as integers (no name lookups while parsing); 4294967295 is (uid_t)-1.
Result<std::optional<std::vector<std::uint32_t>>> Parser::uid_list(const toml::table& t, std::string_view prefix,
                                                                   std::string_view key) const {
    using Out = std::optional<std::vector<std::uint32_t>>;
    const toml::node* n = t.get(key);
    if (!n) return Out{};
    const std::string name = dotted(prefix, key);
    if (!n->is_array()) return wrong_type(*n, name, "an array of uids (integers), e.g. [1001]");
    std::vector<std::uint32_t> out;
    for (const toml::node& el : *n->as_array()) {
        if (!el.is_integer()) return wrong_type(el, name, "an array of uids (integers)");
        const auto v = el.as_integer()->get();
        if (v < 0 || v >= 4294967295LL)
            return fail(Code::config_value, el, name, std::to_string(v) + " is not a uid (0 to 4294967294)");
        out.push_back(static_cast<std::uint32_t>(v));
    }
    return Out{std::move(out)};
}

Result<std::optional<unsigned>> Parser::count(const toml::table& t, std::string_view prefix, std::string_view key,
                                              unsigned max) const {
    const toml::node* n = t.get(key);
    if (!n) return std::optional<unsigned>{};
    if (!n->is_integer()) return wrong_type(*n, dotted(prefix, key), "an integer");
    const auto v = n->as_integer()->get();
    if (v < 1 || v > static_cast<std::int64_t>(max))
        return fail(Code::config_value, *n, dotted(prefix, key),
                    std::to_string(v) + " is out of range (1 to " + std::to_string(max) + ")");
    return std::optional<unsigned>{static_cast<unsigned>(v)};
}

Result<std::string> Parser::entry_name(const toml::table& t, std::string_view prefix) const {
    auto name = CG_TRY(string(t, prefix, "name"));
    if (!name)
        return fail(Code::config_missing, t.source(), dotted(prefix, "name"),
                    "required: a name for audit lines (letters, digits, '-', '_', '.'; at most 64)");
    if (!is_entry_name(name->value))
        return fail(Code::config_value, *name->node, dotted(prefix, "name"),
                    quote(name->value) + " is not allowed (letters, digits, '-', '_', '.'; at most 64)");
    return name->value;
}

Result<TlsService> Parser::tls_service(const toml::table& t, std::string_view prefix) const {
    CG_TRY_VOID(only_keys(t, prefix, {"name", "listen", "backend", "identity", "header", "allow_users",
                                      "allow_groups", "allow_privileges"}));
    TlsService s;
    s.line = static_cast<int>(t.source().begin.line);
    s.name = CG_TRY(entry_name(t, prefix));
    auto listen = CG_TRY(endpoint(t, prefix, "listen", false));
    if (!listen)
        return fail(Code::config_missing, t.source(), dotted(prefix, "listen"),
                    "required: the address to accept TLS on, e.g. \"0.0.0.0:8443\"");
    s.listen = std::move(*listen);
    auto backend = CG_TRY(endpoint(t, prefix, "backend", false));
    if (!backend)
        return fail(Code::config_missing, t.source(), dotted(prefix, "backend"),
                    "required: the plain TCP service to forward to, e.g. \"127.0.0.1:8080\"");
    s.backend = std::move(*backend);
    if (auto id = CG_TRY(string(t, prefix, "identity"))) {
        if (id->value == "none") s.identity = TlsIdentity::none;
        else if (id->value == "proxy-v2") s.identity = TlsIdentity::proxy_v2;
        else if (id->value == "header") s.identity = TlsIdentity::header;
        else
            return fail(Code::config_value, *id->node, dotted(prefix, "identity"),
                        quote(id->value) + " is not allowed (use \"none\", \"proxy-v2\" or \"header\")");
    }
    if (auto h = CG_TRY(string(t, prefix, "header"))) {
        if (s.identity != TlsIdentity::header)
            return fail(Code::config_value, *h->node, dotted(prefix, "header"),
                        "only meaningful with identity = \"header\"");
        if (!is_http_token(h->value))
            return fail(Code::config_value, *h->node, dotted(prefix, "header"),
                        quote(h->value) + " is not an HTTP header field name (RFC 7230 token, at most 64)");
        s.header = h->value;
    }
    auto list = [&](std::string_view key, std::vector<std::string>& out) -> Status {
        auto l = CG_TRY(strings(t, prefix, key));
        if (!l) return {};
        for (const auto& v : *l) {
            if (v.value.empty() || v.value.size() > 256 || v.value.find('\0') != std::string::npos)
                return fail(Code::config_value, *v.node, dotted(prefix, key), quote(v.value) + " is not allowed");
            out.push_back(v.value);
        }
        return {};
    };
    CG_TRY_VOID(list("allow_users", s.allow_users));
    CG_TRY_VOID(list("allow_groups", s.allow_groups));
    CG_TRY_VOID(list("allow_privileges", s.allow_privileges));
    return s;
}

Result<TlsClient> Parser::tls_client(const toml::table& t, std::string_view prefix) const {
    CG_TRY_VOID(only_keys(t, prefix, {"name", "listen", "connect", "server_name", "certificate", "key", "allow_uids",
                                      "check_revocation"}));
    TlsClient c;
    c.line = static_cast<int>(t.source().begin.line);
    c.name = CG_TRY(entry_name(t, prefix));
    CG_TRY_VOID(client_listen(t, prefix, c));
    if (auto uids = CG_TRY(uid_list(t, prefix, "allow_uids"))) c.allow_uids = std::move(*uids);
    if (auto b = CG_TRY(boolean(t, prefix, "check_revocation"))) c.check_revocation = *b;
    auto connect = CG_TRY(endpoint(t, prefix, "connect", false));
    if (!connect)
        return fail(Code::config_missing, t.source(), dotted(prefix, "connect"),
                    "required: the TLS server to connect to, e.g. \"192.0.2.10:8443\"");
    c.connect = std::move(*connect);
    auto sn = CG_TRY(string(t, prefix, "server_name"));
    if (!sn)
        return fail(Code::config_missing, t.source(), dotted(prefix, "server_name"),
                    "required: the DNS name or IP address the server's certificate must carry");
    const bool name_ok = !sn->value.empty() && sn->value.size() <= 253 &&
                         std::all_of(sn->value.begin(), sn->value.end(), [](char ch) {
                             return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                                    ch == '-' || ch == '.' || ch == ':';
                         });
    if (!name_ok)
        return fail(Code::config_value, *sn->node, dotted(prefix, "server_name"),
                    quote(sn->value) + " is not a DNS name or IP address");
    c.server_name = sn->value;
    if (auto cert = CG_TRY(string(t, prefix, "certificate"))) {
        if (cert->value.rfind("pkcs11:", 0) == 0) {
            auto uri = p11::Uri::parse(cert->value);
            if (!uri) return fail(Code::config_value, *cert->node, dotted(prefix, "certificate"), uri.error().detail());
        } else if (cert->value.empty() || cert->value.front() != '/' || cert->value.find('\0') != std::string::npos) {
            return fail(Code::config_value, *cert->node, dotted(prefix, "certificate"),
                        quote(cert->value) + " is neither a pkcs11: URI nor an absolute path");
        }
        c.certificate = cert->value;
    }
    if (auto key = CG_TRY(string(t, prefix, "key"))) {
        auto uri = p11::Uri::parse(key->value);
        if (!uri) return fail(Code::config_value, *key->node, dotted(prefix, "key"), uri.error().detail());
        // A PIN written into a config file is a secret in a file many can read.
        if (uri->has_pin_value())
            return fail(Code::config_value, *key->node, dotted(prefix, "key"),
                        "pin-value is not allowed in a config file (use pin-source=file:... or the prompt)");
        c.key = key->value;
    }
    return c;
}

// The pending-handshake budget's share per source (tls/tunnel/admission.hpp).
Status Parser::tls_admission(const toml::table& t, TlsConfig& out) const {
    if (auto n = CG_TRY(count(t, "tls", "max_handshakes_per_source", 100000))) out.max_handshakes_per_source = *n;
    if (auto n = CG_TRY(count(t, "tls", "handshake_rate_per_source", 1000000))) out.handshake_rate_per_source = *n;
    if (auto n = CG_TRY(count(t, "tls", "handshake_burst_per_source", 1000000))) out.handshake_burst_per_source = *n;
    if (auto d = CG_TRY(duration(t, "tls", "client_hello_timeout", false))) out.client_hello_timeout = *d;
    return {};
}

Status Parser::tls(const toml::table& root, TlsConfig& out) const {
    const toml::table* t = CG_TRY(table(root, "", "tls"));
    if (!t) return {};
    CG_TRY_VOID(only_keys(*t, "tls", {"certificate", "key", "max_handshakes", "max_connections", "handshake_timeout",
                                      "idle_timeout", "session_lifetime", "service", "client", "max_handshakes_per_source",
                                      "handshake_rate_per_source", "handshake_burst_per_source", "client_hello_timeout"}));
    out.certificate = CG_TRY(path_value(*t, "tls", "certificate"));
    out.key = CG_TRY(path_value(*t, "tls", "key"));
    if (auto n = CG_TRY(count(*t, "tls", "max_handshakes", 100000))) out.max_handshakes = *n;
    if (auto n = CG_TRY(count(*t, "tls", "max_connections", 1000000))) out.max_connections = *n;
    if (auto d = CG_TRY(duration(*t, "tls", "handshake_timeout", false))) out.handshake_timeout = *d;
    if (auto d = CG_TRY(duration(*t, "tls", "idle_timeout", false))) out.idle_timeout = *d;
    CG_TRY_VOID(tls_admission(*t, out));
    if (auto d = CG_TRY(duration(*t, "tls", "session_lifetime", true))) {
        if (*d > std::chrono::hours(24))
            return fail(Code::config_value, *t->get("session_lifetime"), "tls.session_lifetime",
                        "must be at most \"24h\"");
        out.session_lifetime = *d;
    }
    if (const toml::node* services = t->get("service")) {
        if (!services->is_array_of_tables())
            return wrong_type(*services, "tls.service", "an array of tables ([[tls.service]] sections)");
        std::set<std::string> names, listens;
        std::size_t i = 0;
        for (const toml::node& n : *services->as_array()) {
            const std::string prefix = "tls.service[" + std::to_string(i++) + "]";
            TlsService s = CG_TRY(tls_service(*n.as_table(), prefix));
            if (!names.insert(s.name).second)
                return fail(Code::config_value, *n.as_table()->get("name"), prefix + ".name",
                            quote(s.name) + " is already the name of another [[tls.service]]");
            if (!listens.insert(s.listen.host + "|" + std::to_string(s.listen.port)).second)
                return fail(Code::config_value, *n.as_table()->get("listen"), prefix + ".listen",
                            quote(s.listen.text) + " is already the address of another [[tls.service]]");
            out.services.push_back(std::move(s));
        }
        if (!out.certificate || !out.key)
            return fail(Code::config_missing, t->source(), out.certificate ? "tls.key" : "tls.certificate",
                        "required when [[tls.service]] is present: the server's certificate chain (PEM) and key file");
    }
    if (const toml::node* clients = t->get("client")) {
        if (!clients->is_array_of_tables())
            return wrong_type(*clients, "tls.client", "an array of tables ([[tls.client]] sections)");
        std::set<std::string> names;
        std::size_t i = 0;
        for (const toml::node& n : *clients->as_array()) {
            const std::string prefix = "tls.client[" + std::to_string(i++) + "]";
            TlsClient c = CG_TRY(tls_client(*n.as_table(), prefix));
            if (!names.insert(c.name).second)
                return fail(Code::config_value, *n.as_table()->get("name"), prefix + ".name",
                            quote(c.name) + " is already the name of another [[tls.client]]");
            out.clients.push_back(std::move(c));
        }
    }
    return {};
}

Result<Config> Parser::run(const toml::table& root) {
    CG_TRY_VOID(only_keys(root, "", {"token", "trust", "purpose", "mapping", "login", "tls"}));
    Config c;
    c.path = path_;
    CG_TRY_VOID(token(root, c.token));
    CG_TRY_VOID(trust(root, c.trust));
    CG_TRY_VOID(purposes(root, c.purposes));
    CG_TRY_VOID(mapping(root, c.mapping));
    CG_TRY_VOID(login(root, c.login));
    CG_TRY_VOID(tls(root, c.tls));
    return c;
}

}  // namespace

// ----------------------------------------------------------------- entry points

namespace detail {

Result<Config> parse_config(std::string_view text, const std::string& path, std::vector<LineSpan>* rule_spans) {
    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        const auto& b = e.source().begin;
        return Error(Code::config_syntax,
                     path + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " + std::string(e.description()));
    }
    Config c = CG_TRY(Parser(path).run(root));
    if (!rule_spans) return c;
    const toml::array* rules = root["mapping"]["rule"].as_array();
    for (std::size_t i = 0; rules && i < rules->size(); ++i) {
        const toml::table* t = rules->get(i)->as_table();
        LineSpan span;
        span.first = span.last = t->source().begin.line;
        span.header = !t->is_inline();
        for (auto&& [k, v] : *t) span.last = std::max({span.last, k.source().end.line, v.source().end.line});
        rule_spans->push_back(span);
    }
    return c;
}

}  // namespace detail

Result<Config> Config::parse(std::string_view text, const std::string& path_for_messages) {
    return detail::parse_config(text, path_for_messages, nullptr);
}

std::size_t MappingConfig::rule_count() const { return rule_table ? rule_table->size() : rules.size(); }

Result<Config> Config::load(const std::string& path, const std::optional<std::string>& index_dir) {
    return load_config(path, index_dir);
}

}  // namespace cardgate
