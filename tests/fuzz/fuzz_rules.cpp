// Fuzz target: what a [[mapping.rule]] is made of, and the config file that
// holds it (src/template.hpp, src/dn.hpp, src/rules.hpp, src/config.hpp).
//
// The input is split at the byte 0x1F (ASCII unit separator) into up to four
// fields: TEMPLATE, ISSUER DN, SUBJECT REGEX, SUBJECT TEXT. Each field is
// checked against what its header promises:
//
//   - a template that template_problem() accepts names only readable fields,
//     and expand_template() agrees with read_field() field by field;
//   - a DN that parse_dn() accepts equals itself, and its printed form parses
//     back to an equal name;
//   - when regex_problem() accepts a pattern and required_literal() names a
//     literal, no subject the regex finds a match in lacks that literal (the
//     guarantee the rule prefilter relies on), and RuleSet agrees with a plain
//     std::regex_search on the fixed certificate.
//
// The whole input is also parsed as a config file: it must fail with a
// located error or give rules that RuleSet accepts and can evaluate, and that
// survive the rule table's byte form (rule_table.hpp). The raw input is read
// as such a table too: a malformed one must read as "malformed", in bounds.
//
// std::regex backtracks, so a pattern can take exponential time; subjects are
// cut to a length at which the pattern's branching stays below ~10^6 paths.
//
// Run by hand: tests/fuzz/run-long; briefly by `make check` (tests/fuzz/rules.sh).
#include <algorithm>
#include <cstdint>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "accounts.hpp"
#include "config.hpp"
#include "dn.hpp"
#include "rule_table.hpp"
#include "rules.hpp"
#include "template.hpp"
#include "tests/fuzz/fixed_cert.hpp"

using namespace cardgate;

namespace {

constexpr char separator = '\x1f';
constexpr std::size_t max_pattern = 64;
constexpr std::string_view config_path = "fuzz.conf";

std::vector<std::string_view> split(std::string_view text) {
    std::vector<std::string_view> out;
    for (;;) {
        const auto at = text.find(separator);
        out.push_back(text.substr(0, at));
        if (at == std::string_view::npos || out.size() == 4) return out;
        text.remove_prefix(at + 1);
    }
}

std::string ascii_lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return s;
}

// ---------------------------------------------------------------- templates

void check_template(std::string_view t, const Certificate& cert) {
    const std::string problem = template_problem(t);
    const std::vector<std::string> fields = template_fields(t);
    const Expansion plain = expand_template(t, cert, false);
    const Expansion lower = expand_template(t, cert, true);
    FUZZ_REQUIRE(plain.value.has_value() == lower.value.has_value(), t);
    if (plain.value) FUZZ_REQUIRE(*lower.value == ascii_lower(*plain.value), t);
    else FUZZ_REQUIRE(!plain.why.empty(), t);
    if (!problem.empty()) return;

    FUZZ_REQUIRE(!t.empty() && t.size() <= 256 && t.find('\0') == std::string_view::npos, t);
    // Expand independently, field by field, with read_field().
    std::string expected;
    bool readable = true;
    std::size_t k = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
        FUZZ_REQUIRE(t[i] != '}', t);
        if (t[i] != '{') {
            expected.push_back(t[i]);
            continue;
        }
        const std::size_t close = t.find('}', i + 1);
        FUZZ_REQUIRE(close != std::string_view::npos, t);
        const std::string_view field = t.substr(i + 1, close - i - 1);
        FUZZ_REQUIRE(k < fields.size() && fields[k] == field, t);
        ++k;
        const FieldValue v = read_field(cert, field);
        if (!v.value) {
            // Missing or ambiguous, never unknown: template_problem() knew the field.
            FUZZ_REQUIRE(!v.why.empty() && v.why.rfind("unknown", 0) != 0, v.why);
            readable = false;
        } else {
            FUZZ_REQUIRE(!v.value->empty() && v.value->find('\0') == std::string::npos, t);
            expected += *v.value;
        }
        i = close;
    }
    FUZZ_REQUIRE(k == fields.size(), t);
    FUZZ_REQUIRE(plain.value.has_value() == readable, t);
    if (readable) FUZZ_REQUIRE(*plain.value == expected, t);
}

// ---------------------------------------------------------------- DNs

void check_dn(std::string_view text) {
    auto dn = parse_dn(text);
    if (!dn) {
        FUZZ_REQUIRE(dn.code() == Code::config_value && !dn.error().detail().empty(), text);
        return;
    }
    const X509_NAME* name = dn->get();
    FUZZ_REQUIRE(X509_NAME_entry_count(name) > 0, text);
    FUZZ_REQUIRE(same_dn(name, name), text);
    ossl::X509NamePtr copy(X509_NAME_dup(name));
    FUZZ_REQUIRE(copy && same_dn(name, copy.get()) && dn_hash(name) == dn_hash(copy.get()), text);

    // The certificate's RFC 4514 form of the name reads back as the same name,
    // except for attributes OpenSSL has no name for, which it prints as
    // "OID=#<hex DER>" and parse_dn() refuses on purpose.
    const std::string printed = name_to_string(name);
    auto again = parse_dn(printed);
    if (!again) {
        FUZZ_REQUIRE(printed.find("=#") != std::string::npos,
                     "\"" + std::string(text) + "\" prints as \"" + printed + "\": " + again.error().detail());
        return;
    }
    FUZZ_REQUIRE(same_dn(name, again->get()), "\"" + std::string(text) + "\" prints as \"" + printed + "\"");
    FUZZ_REQUIRE(dn_hash(name) == dn_hash(again->get()), printed);
}

// ---------------------------------------------------------------- regexes

// The longest subject std::regex may search with this pattern while the
// number of backtracking paths stays below ~10^6. Each quantifier and '|' is
// a branching point (an "{m,n}" counts max(m,n), since std::regex unrolls
// it). Without nesting the paths grow polynomially with the subject length;
// each quantified group or quantified quantifier ("a+*", which std::regex
// accepts as "(a+)*") multiplies the exponent.
std::size_t subject_bound(std::string_view p) {
    double branches = 0;
    int nested = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
        const char c = p[i];
        if (c == '\\') {
            ++i;
            continue;
        }
        if (c == '|' || c == '*' || c == '+' || c == '?') branches += 1;
        if (c == '{') {
            double most = 1;
            for (std::size_t j = i + 1; j < p.size() && p[j] != '}'; ++j) {
                double n = 0;
                while (j < p.size() && p[j] >= '0' && p[j] <= '9' && n < 1e6) n = n * 10 + (p[j++] - '0');
                most = std::max(most, n);
                if (j < p.size() && p[j] == '}') break;
            }
            branches += most;
        }
        // A lazy "a*?" is counted here too, to be safe.
        if ((c == '*' || c == '+' || c == '?' || c == '{') && i > 0 &&
            std::string_view(")*+?}").find(p[i - 1]) != std::string_view::npos)
            ++nested;
    }
    constexpr double budget = 1e6;
    constexpr std::size_t longest = 96;
    std::size_t len = 0;
    for (std::size_t l = 1; l <= longest; ++l) {
        double paths = 1;  // nested: (branches^(1 + nested))^l; else C(branches + l, l)
        for (std::size_t j = 1; j <= l && paths <= budget; ++j) {
            if (nested == 0) {
                paths = paths * (branches + double(j)) / double(j);
            } else {
                for (int k = 0; k <= nested && paths <= budget; ++k) paths *= std::max(2.0, branches);
            }
        }
        if (paths > budget) break;
        len = l;
    }
    return len;
}

// Strings likely to match the pattern: the given subject, the literal, the
// pattern's alternatives with the regex syntax stripped, and so on.
std::vector<std::string> candidate_subjects(std::string_view pattern, std::string_view subject, const std::string& lit) {
    std::vector<std::string> out{std::string(subject), lit, "", std::string(pattern)};
    std::string stripped, unescaped;
    for (char c : pattern) {
        if (std::string_view("\\^$.|?*+()[]{}").find(c) == std::string_view::npos) stripped.push_back(c);
        if (c != '\\') unescaped.push_back(c);
    }
    out.push_back(stripped);
    out.push_back(unescaped);
    for (std::size_t start = 0;;) {
        const std::size_t bar = pattern.find('|', start);
        const std::string_view alt = pattern.substr(start, bar == std::string_view::npos ? bar : bar - start);
        out.emplace_back(alt);
        std::string alt_stripped;
        for (char c : alt)
            if (std::string_view("\\^$.?*+()[]{}").find(c) == std::string_view::npos) alt_stripped.push_back(c);
        out.push_back(alt_stripped);
        if (bar == std::string_view::npos) break;
        start = bar + 1;
    }
    return out;
}

bool searches(const std::regex& re, const std::string& s) {
    try {
        return std::regex_search(s, re);
    } catch (const std::regex_error&) {
        return false;
    }
}

// RuleSet, with one rule scoped to the fixed certificate's issuer, decides the
// subject condition as std::regex_search on the certificate's subject does.
void check_rule(std::string_view pattern, const std::regex& re, const Certificate& cert) {
    MappingRule r;
    r.issuer = std::string(fuzz::fixed_cert_issuer);
    r.subject = std::string(pattern);
    r.user = "{subject.uid}";
    r.line = 1;
    auto set = RuleSet::create(std::vector<MappingRule>{r});
    FUZZ_REQUIRE(set.ok(), set.error().detail());
    auto explained = set->evaluate(cert, true);
    FUZZ_REQUIRE(explained.ok(), explained.error().detail());
    FUZZ_REQUIRE(explained->size() == 1, pattern);
    const bool match = searches(re, cert.subject());
    FUZZ_REQUIRE((*explained)[0].matched == match,
                 "rule subject /" + std::string(pattern) + "/ on \"" + cert.subject() + "\": RuleSet says \"" +
                     (*explained)[0].why + "\", std::regex_search says " + (match ? "match" : "no match"));
    std::size_t tested = 0;
    auto quick = set->evaluate(cert, false, &tested);  // matching rules only
    FUZZ_REQUIRE(quick.ok(), quick.error().detail());
    FUZZ_REQUIRE(tested == 1 && quick->size() == (match ? 1u : 0u), pattern);
}

void check_regex(std::string_view pattern, std::string_view subject, const Certificate& cert) {
    const std::string lit = required_literal(pattern);  // any input: must not crash
    if (pattern.size() > max_pattern) return;
    const std::string problem = regex_problem(pattern);
    if (!problem.empty()) return;
    std::regex re;
    try {
        re.assign(pattern.begin(), pattern.end(), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        fuzz::invariant_failed(__FILE__, __LINE__, "a pattern regex_problem() accepts compiles", e.what());
    }
    const std::size_t bound = subject_bound(pattern);
    if (bound >= cert.subject().size()) check_rule(pattern, re, cert);
    if (lit.empty()) return;
    for (std::string s : candidate_subjects(pattern, subject, lit)) {
        if (s.size() > bound) s.resize(bound);
        if (searches(re, s))
            FUZZ_REQUIRE(s.find(lit) != std::string::npos, "/" + std::string(pattern) + "/ matches \"" + s +
                                                                "\", which lacks the required literal \"" + lit + "\"");
    }
}

// ---------------------------------------------------------------- the rule table

bool same_rule(const MappingRule& a, const MappingRule& b) {
    return a.issuer == b.issuer && a.subject == b.subject && a.user == b.user && a.eku == b.eku &&
           a.policies == b.policies && a.san == b.san && a.lowercase == b.lowercase && a.strong == b.strong &&
           a.line == b.line && a.issuer_hash == b.issuer_hash && a.literal == b.literal;
}

// Parsed rules carry their derived fields, and read back from the table as written.
void check_table_round_trip(const std::vector<MappingRule>& rules) {
    for (const MappingRule& r : rules) {
        auto dn = parse_dn(r.issuer);
        FUZZ_REQUIRE(dn.ok() && r.issuer_hash == dn_hash(dn->get()), r.issuer);
        FUZZ_REQUIRE(r.literal == (r.subject ? required_literal(*r.subject) : ""), r.subject.value_or(""));
    }
    const RuleTable table = RuleTable::build(rules);
    FUZZ_REQUIRE(table.size() == rules.size(), "rule table size");
    for (std::size_t i = 0; i < rules.size(); ++i) {
        FUZZ_REQUIRE(table.issuer_hash(i) == rules[i].issuer_hash, rules[i].issuer);
        const auto key = table.key(i);
        FUZZ_REQUIRE(key && key->issuer == rules[i].issuer && key->literal == rules[i].literal, rules[i].issuer);
        const auto rule = table.rule(i);
        FUZZ_REQUIRE(rule && same_rule(*rule, rules[i]), rules[i].issuer);
    }
}

// Any bytes: reading them as a table stays in bounds (ASan watches).
void check_table_bytes(std::string_view text) {
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
    const auto table = RuleTable::view(bytes, nullptr);
    if (!table) return;
    FUZZ_REQUIRE(4 + table->size() * 8 <= bytes.size(), "rule table count");
    for (std::size_t i = 0; i < table->size(); ++i) {
        (void)table->issuer_hash(i);
        const auto key = table->key(i);
        const auto rule = table->rule(i);
        if (rule) FUZZ_REQUIRE(key && key->issuer == rule->issuer && key->literal == rule->literal, "rule table key");
    }
}

// ---------------------------------------------------------------- the config file

bool located(const std::string& detail) {
    // "<path>:<line>:<col>: ..."
    const std::string prefix = std::string(config_path) + ":";
    if (detail.rfind(prefix, 0) != 0) return false;
    std::size_t i = prefix.size();
    for (int part = 0; part < 2; ++part) {
        const std::size_t digits = i;
        while (i < detail.size() && detail[i] >= '0' && detail[i] <= '9') ++i;
        if (i == digits || i >= detail.size() || detail[i] != ':') return false;
        ++i;
    }
    return detail.compare(i, 1, " ") == 0;
}

void check_config(std::string_view text, const Certificate& cert) {
    auto config = Config::parse(text, std::string(config_path));
    if (!config) {
        const Code c = config.code();
        FUZZ_REQUIRE(c == Code::config_syntax || c == Code::config_unknown_key || c == Code::config_type ||
                         c == Code::config_value || c == Code::config_missing,
                     config.error().detail());
        FUZZ_REQUIRE(located(config.error().detail()), config.error().detail());
        return;
    }
    // The config cache's parse (with the line span of each rule) agrees.
    std::vector<detail::LineSpan> spans;
    auto spanned = detail::parse_config(text, std::string(config_path), &spans);
    FUZZ_REQUIRE(spanned.ok() && spans.size() == config->mapping.rules.size(), text);
    for (std::size_t i = 0; i < spans.size(); ++i)
        FUZZ_REQUIRE(spans[i].first <= spans[i].last && int(spans[i].first) == config->mapping.rules[i].line, text);
    FUZZ_REQUIRE(config->purposes.size() == 3, text);
    FUZZ_REQUIRE(!config->trust.anchors.empty(), text);
    bool searchable = true;
    for (const MappingRule& r : config->mapping.rules) {
        FUZZ_REQUIRE(parse_dn(r.issuer).ok(), r.issuer);
        FUZZ_REQUIRE(template_problem(r.user).empty(), r.user);
        if (r.subject) {
            FUZZ_REQUIRE(regex_problem(*r.subject).empty(), *r.subject);
            searchable = searchable && subject_bound(*r.subject) >= cert.subject().size();
        }
    }
    check_table_round_trip(config->mapping.rules);
    // A rule Config::parse accepted is one RuleSet accepts (rules.hpp).
    auto set = RuleSet::create(config->mapping.rules);
    FUZZ_REQUIRE(set.ok(), set.error().detail());
    FUZZ_REQUIRE(set->size() == config->mapping.rules.size(), text);
    if (!searchable) return;
    auto explained = set->evaluate(cert, true);
    FUZZ_REQUIRE(explained.ok(), explained.error().detail());
    std::vector<std::size_t> matched;
    for (const RuleResult& r : *explained) {
        FUZZ_REQUIRE(r.index < config->mapping.rules.size(), text);
        if (r.matched) {
            FUZZ_REQUIRE(r.why == "matched" && account_name_problem(r.account).empty(), r.account);
            matched.push_back(r.index);
        } else {
            FUZZ_REQUIRE(!r.why.empty(), text);
        }
    }
    auto quick = set->evaluate(cert, false);
    FUZZ_REQUIRE(quick.ok(), quick.error().detail());
    std::vector<std::size_t> quick_matched;
    for (const RuleResult& r : *quick) {
        FUZZ_REQUIRE(r.matched, text);
        quick_matched.push_back(r.index);
    }
    FUZZ_REQUIRE(quick_matched == matched, text);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    (void)fuzz::fixed_cert();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const Certificate& cert = fuzz::fixed_cert();
    const std::vector<std::string_view> f = split(text);
    check_template(f[0], cert);
    if (f.size() > 1) check_dn(f[1]);
    if (f.size() > 2) check_regex(f[2], f.size() > 3 ? f[3] : std::string_view(), cert);
    check_config(text, cert);
    check_table_bytes(text);
    return 0;
}
