#include "rules.hpp"

#include <algorithm>

#include "accounts.hpp"
#include "dn.hpp"
#include "template.hpp"

namespace cardgate {
namespace {

// Index just past the class that starts at p[i] ('['), or npos. ECMAScript
// as libstdc++ reads it: "[]" is an empty class and "[^]" any character (a
// leading ']' ends the class), "\\cX" is one escape of three characters.
std::size_t skip_class(std::string_view p, std::size_t i) {
    ++i;
    if (i < p.size() && p[i] == '^') ++i;
    while (i < p.size() && p[i] != ']') {
        if (p[i] == '\\') i += (i + 1 < p.size() && p[i + 1] == 'c') ? 3 : 2;
        else ++i;
    }
    return i < p.size() ? i + 1 : std::string_view::npos;
}

std::size_t skip_group(std::string_view p, std::size_t i) {
    int depth = 0;
    while (i < p.size()) {
        const char c = p[i];
        if (c == '\\') {
            i += 2;
        } else if (c == '[') {
            i = skip_class(p, i);
            if (i == std::string_view::npos) return i;
        } else {
            if (c == '(') ++depth;
            if (c == ')' && --depth == 0) return i + 1;
            ++i;
        }
    }
    return std::string_view::npos;
}

bool top_level_alternation(std::string_view p) {
    for (std::size_t i = 0; i < p.size();) {
        const char c = p[i];
        if (c == '|') return true;
        if (c == '\\') i += 2;
        else if (c == '[') i = skip_class(p, i);
        else if (c == '(') i = skip_group(p, i);
        else ++i;
        if (i == std::string_view::npos) return true;  // malformed: claim nothing
    }
    return false;
}

}  // namespace

namespace {

// What the engine cannot be trusted with: numbers libstdc++ would overflow
// (back-references, repeat counts), back-references at all (they make
// matching exponential and no subject rule needs one), and a quantified group
// that itself holds a quantifier or an alternation ("(a|a)*", "(a+)+"): with
// a backtracking engine such a pattern takes exponential time on a subject
// that almost matches, on every login.
std::string engine_problem(std::string_view p) {
    struct Group {
        bool quantified_inside = false;
    };
    std::vector<Group> open;
    bool last_group_risky = false;  // the group just closed holds a quantifier or '|'
    bool after_quantifier = false;  // the previous token was a quantifier
    bool lazy_taken = false;        // ... already followed by its lazy '?'
    for (std::size_t i = 0; i < p.size(); ++i) {
        const char c = p[i];
        const bool after_group = i > 0 && p[i - 1] == ')';
        const bool prev_quantifier = after_quantifier;
        after_quantifier = false;
        if (c == '\\') {
            if (i + 1 < p.size() && p[i + 1] >= '1' && p[i + 1] <= '9')
                return "back-references (\\1 ... \\9) are not allowed";
            if (i + 1 < p.size() && p[i + 1] == 'c') ++i;
            ++i;
            continue;
        }
        if (c == '[') {
            const std::size_t end = skip_class(p, i);
            if (end == std::string_view::npos) return "";  // std::regex reports it
            i = end - 1;
            continue;
        }
        if (c == '(') {
            open.push_back({});
            continue;
        }
        if (c == ')') {
            last_group_risky = !open.empty() && open.back().quantified_inside;
            if (!open.empty()) open.pop_back();
            if (last_group_risky && !open.empty()) open.back().quantified_inside = true;
            continue;
        }
        const bool quantifier = c == '*' || c == '+' || c == '?' || c == '{';
        if (quantifier && prev_quantifier) {
            // libstdc++ takes "a**" or "a+{2}" as a repeated repetition ((a*)*):
            // exponential backtracking, as a nested group (found by fuzzing).
            // Only one lazy '?' may follow a quantifier.
            if (c != '?' || lazy_taken)
                return "a quantifier on a quantifier (such as \"a**\" or \"a+{2}\") can take exponential time; "
                       "write one quantifier";
            after_quantifier = lazy_taken = true;
            continue;
        }
        if (quantifier) {
            after_quantifier = true;
            lazy_taken = false;
        }
        if (c == '{') {
            const std::size_t close = p.find('}', i);
            // Without a closing brace libstdc++ still reads the count (and
            // overflows on a long one: found by fuzzing), so check to the end.
            const std::string_view body = p.substr(i + 1, close == std::string_view::npos ? p.npos : close - i - 1);
            std::size_t digits = 0;
            for (char d : body) {
                if (d >= '0' && d <= '9') {
                    if (++digits > 4) return "a repeat count above 9999 is not allowed";
                } else {
                    digits = 0;
                }
            }
            // A well-formed count ({n}, {n,}, {n,m}) is one token: what
            // follows its '}' follows a quantifier.
            const std::size_t comma = body.find(',');
            auto all_digits = [](std::string_view d) { return d.find_first_not_of("0123456789") == d.npos; };
            const std::string_view low = body.substr(0, comma);
            if (close != std::string_view::npos && !low.empty() && all_digits(low) &&
                (comma == body.npos || all_digits(body.substr(comma + 1))))
                i = close;
            else
                after_quantifier = false;  // a '{' that counts nothing
        }
        if (quantifier && after_group && last_group_risky && c != '?')
            return "a repeated group that itself repeats or alternates (such as \"(a|b)*\" or \"(a+)+\") can take "
                   "exponential time; write it without the nesting";
        if (c == '|' || (quantifier && c != '?')) {
            if (!open.empty()) open.back().quantified_inside = true;
        }
    }
    return "";
}

}  // namespace

std::string regex_problem(std::string_view pattern) {
    if (pattern.size() > 1024) return "longer than 1024 characters";
    if (pattern.find('\0') != std::string_view::npos) return "contains a NUL byte";
    if (auto why = engine_problem(pattern); !why.empty()) return why;
    // A std::string: libstdc++ 12 reads one byte past the end of a pattern
    // ending in '(' (found by fuzzing), so it gets a terminated copy.
    const std::string copy(pattern);
    try {
        std::regex re(copy, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        return e.what();
    }
    return "";
}

std::string required_literal(std::string_view p) {
    if (top_level_alternation(p)) return "";
    std::string best, cur;
    auto flush = [&] {
        if (cur.size() > best.size()) best = cur;
        cur.clear();
    };
    bool last_literal = false;  // the previous atom is the last char of cur
    std::size_t i = 0;
    while (i < p.size()) {
        const char c = p[i];
        if (c == '*' || c == '?' || c == '{' || c == '+') {
            // A quantifier: "x*", "x?", "x{0,}" make x optional; "x+" keeps one x
            // but what follows is no longer adjacent to what precedes it.
            if (last_literal && c != '+' && !cur.empty()) cur.pop_back();
            flush();
            if (c == '{') {
                const auto close = p.find('}', i);
                if (close == std::string_view::npos) return "";
                i = close + 1;
            } else {
                ++i;
            }
            if (i < p.size() && p[i] == '?') ++i;  // lazy form
            last_literal = false;
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= p.size()) return "";
            const char e = p[i + 1];
            const bool punct = (e >= 0x21 && e <= 0x2F) || (e >= 0x3A && e <= 0x40) || (e >= 0x5B && e <= 0x60) ||
                               (e >= 0x7B && e <= 0x7E);
            if (punct) {
                cur.push_back(e);
                last_literal = true;
            } else {  // \d \w \s \b \n \xHH \uHHHH \cX, back-references: not literal text here
                flush();
                last_literal = false;
                if (e == 'x') i += 2;
                else if (e == 'u') i += 4;
                else if (e == 'c') i += 1;
            }
            i += 2;
            continue;
        }
        if (c == '[' || c == '(') {
            flush();
            i = c == '[' ? skip_class(p, i) : skip_group(p, i);
            if (i == std::string_view::npos) return "";
            last_literal = false;
            continue;
        }
        if (c == '.' || c == '^' || c == '$' || c == ')' || c == ']' || c == '}' || c == '|') {
            if (c == ')' || c == '|') return "";  // unbalanced: claim nothing
            flush();
            last_literal = false;
            ++i;
            continue;
        }
        cur.push_back(c);
        last_literal = true;
        ++i;
    }
    flush();
    return best;
}

Result<RuleSet> RuleSet::create(std::vector<MappingRule> rules) {
    for (std::size_t i = 0; i < rules.size(); ++i) {
        MappingRule& r = rules[i];
        if (r.issuer_hash != 0) continue;
        auto dn = parse_dn(r.issuer);
        if (!dn)
            return Error(Code::config_value, "mapping rule " + std::to_string(i + 1) + ": issuer: " + dn.error().detail());
        r.issuer_hash = dn_hash(dn->get());
        if (r.subject) r.literal = required_literal(*r.subject);
    }
    return RuleSet(std::make_shared<const RuleTable>(RuleTable::build(rules)));
}

RuleSet RuleSet::create(std::shared_ptr<const RuleTable> table) { return RuleSet(std::move(table)); }

bool RuleSet::issuer_is(std::string_view text, const X509_NAME* issuer) const {
    std::lock_guard lock(*mutex_);
    auto it = issuers_.find(std::string(text));
    if (it == issuers_.end()) {
        auto dn = parse_dn(text);
        it = issuers_.emplace(std::string(text), dn ? std::move(*dn) : nullptr).first;
    }
    return it->second && same_dn(it->second.get(), issuer);
}

RuleResult RuleSet::test(const MappingRule& r, std::size_t i, const Certificate& cert, Status& error) const {
    RuleResult out;
    out.index = i;
    if (r.subject) {
        const std::string& subject = cert.subject();
        if (!r.literal.empty() && subject.find(r.literal) == std::string::npos) {
            out.why = "subject does not match " + *r.subject;
            return out;
        }
        if (subject.size() > max_regex_subject) {
            error = Error(Code::internal, "rule at line " + std::to_string(r.line) + ": the subject is longer than " +
                                              std::to_string(max_regex_subject) + " bytes; not searched with a regex");
            return out;
        }
        try {
            std::lock_guard lock(*mutex_);
            auto& re = regex_[i];
            if (!re) re = std::make_unique<std::regex>(*r.subject, std::regex::ECMAScript);
            if (!std::regex_search(subject, *re)) {
                out.why = "subject does not match " + *r.subject;
                return out;
            }
        } catch (const std::exception& e) {
            error = Error(Code::internal, "rule at line " + std::to_string(r.line) + ": regex failed: " + e.what());
            return out;
        }
    }
    if (!r.eku.empty() &&
        std::none_of(r.eku.begin(), r.eku.end(), [&](const std::string& o) { return cert.has_eku_oid(o); })) {
        out.why = "certificate has none of the rule's EKUs";
        return out;
    }
    if (!r.policies.empty() && std::none_of(r.policies.begin(), r.policies.end(), [&](const std::string& o) {
            return std::find(cert.policies().begin(), cert.policies().end(), o) != cert.policies().end();
        })) {
        out.why = "certificate has none of the rule's policies";
        return out;
    }
    for (const std::string& kind : r.san) {
        if ((kind == "email" && cert.emails().empty()) || (kind == "upn" && cert.upns().empty())) {
            out.why = "certificate has no SAN " + kind;
            return out;
        }
    }
    Expansion e = expand_template(r.user, cert, r.lowercase);
    if (!e.value) {
        out.why = "template " + r.user + ": " + e.why;
        return out;
    }
    if (auto why = account_name_problem(*e.value); !why.empty()) {
        out.why = "template " + r.user + " gives a name that " + why;
        return out;
    }
    out.matched = true;
    out.account = std::move(*e.value);
    out.why = "matched";
    return out;
}

Result<std::vector<RuleResult>> RuleSet::evaluate(const Certificate& cert, bool explain, std::size_t* tested) const {
    const X509_NAME* issuer = X509_get_issuer_name(cert.x509());  // borrowed
    const std::uint32_t hash = dn_hash(issuer);
    const std::string& subject = cert.subject();
    auto malformed = [](std::size_t i) {
        return Error(Code::internal, "mapping rule " + std::to_string(i + 1) + ": rule table is malformed");
    };
    std::vector<RuleResult> out;
    std::size_t count = 0;
    std::string_view last_issuer;
    bool have_last = false, last_same = false;
    for (std::size_t i = 0; i < table_->size(); ++i) {
        if (table_->issuer_hash(i) != hash) continue;
        const auto key = table_->key(i);
        if (!key) return malformed(i);
        // Rules of one issuer are usually written with the same text: compare once.
        if (!have_last || key->issuer != last_issuer) {
            last_same = issuer_is(key->issuer, issuer);
            last_issuer = key->issuer;
            have_last = true;
        }
        if (!last_same) continue;
        ++count;
        // The cheap test first: the literal text the subject regex requires.
        if (!explain && !key->literal.empty() && subject.find(key->literal) == std::string::npos) continue;
        const auto rule = table_->rule(i);
        if (!rule) return malformed(i);
        Status error;
        RuleResult r = test(*rule, i, cert, error);
        if (!error) return error.error();
        if (r.matched || explain) out.push_back(std::move(r));
    }
    if (tested) *tested = count;
    return out;
}

}  // namespace cardgate
