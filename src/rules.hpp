// How [[mapping.rule]] entries decide whether they map a certificate.
//
// A rule is scoped to one issuer (compared as the chain verifier compares
// names, dn.hpp), then tests, in this order: the subject regex (searched in
// the RFC 4514 subject), the EKU condition (one of), the policy condition
// (one of), the SAN-presence condition (all of), and finally expands its user
// template (template.hpp), whose result must be a valid account name.
//
// Scale: rules are indexed by the hash of their issuer, and a regex is only
// compiled (once, lazily) and run when the subject contains the literal text
// the regex requires (required_literal), so 10^4 rules cost a few hash-table
// probes and substring searches per certificate.
#pragma once

#include <memory>
#include <mutex>
// GCC 12 reports a false -Wmaybe-uninitialized inside <regex> when it
// optimises with the sanitizers on (GCC bug 105562); the pragma covers the
// header's own lines only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#pragma GCC diagnostic pop
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "ossl.hpp"
#include "result.hpp"
#include "rule_table.hpp"
#include "x509.hpp"

namespace cardgate {

// Why the pattern is not an ECMAScript regex std::regex accepts, or "".
std::string regex_problem(std::string_view pattern);

// A string every match of `pattern` must contain (the longest literal run of a
// top-level concatenation without alternation), or "" when none is known.
// Conservative: "" is always correct, a non-empty answer is a guarantee.
std::string required_literal(std::string_view pattern);

// Subjects longer than this are not searched with a regex (backtracking cost);
// a rule with a subject regex then fails with an error instead of guessing.
inline constexpr std::size_t max_regex_subject = 1024;

struct RuleResult {
    std::size_t index = 0;   // in MappingConfig::rules
    bool matched = false;
    std::string account;     // when matched
    std::string why;         // what decided it ("subject does not match", "matched", ...)
};

class RuleSet {
public:
    // From rules built in code or just parsed: MappingRule::issuer_hash and
    // literal are computed here when issuer_hash is 0. Error: config_value
    // (a rule that Config::parse would have refused).
    static Result<RuleSet> create(std::vector<MappingRule> rules);
    // From a table read in place (the config cache).
    static RuleSet create(std::shared_ptr<const RuleTable> table);

    // Every rule scoped to the certificate's issuer, tested in file order.
    // With explain = false only matching rules are returned (a login needs no
    // more); `tested` receives how many rules were scoped to the issuer.
    // An Error when a rule could not be evaluated (regex engine failure,
    // over-long subject, malformed table): the mapping must then be refused,
    // since a rule that could not say "match" might have made it ambiguous.
    Result<std::vector<RuleResult>> evaluate(const Certificate& cert, bool explain = true,
                                             std::size_t* tested = nullptr) const;

    std::size_t size() const noexcept { return table_->size(); }
    // Rule i, decoded (an empty rule if the table is malformed there).
    MappingRule rule(std::size_t i) const { return table_->rule(i).value_or(MappingRule{}); }

    RuleSet(RuleSet&&) = default;
    RuleSet& operator=(RuleSet&&) = default;

private:
    explicit RuleSet(std::shared_ptr<const RuleTable> t) : table_(std::move(t)) {}
    bool issuer_is(std::string_view text, const X509_NAME* issuer) const;
    RuleResult test(const MappingRule& r, std::size_t i, const Certificate& cert, Status& error) const;

    std::shared_ptr<const RuleTable> table_;
    // Filled on first use, under mutex_: compiled regexes by rule index, parsed issuers by text.
    mutable std::unordered_map<std::size_t, std::unique_ptr<std::regex>> regex_;
    mutable std::unordered_map<std::string, ossl::X509NamePtr> issuers_;
    mutable std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
};

}  // namespace cardgate
