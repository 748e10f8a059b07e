// [[mapping.rule]] evaluation (rules.hpp): issuer scoping as the verifier
// compares names, the subject regex and the literal prefilter that must never
// reject a subject the regex would accept, the EKU / policy / SAN conditions,
// and the account name a template may produce.
#define BOOST_TEST_MODULE rules
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "src/config.hpp"
#include "src/rules.hpp"  // brings <regex> (with the GCC 12 sanitizer workaround)
#include "tests/unit/certgen.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
}  // namespace cardgate

using namespace cardgate;
using namespace std::string_literals;
using certgen::Builder;

namespace {

const std::string clientAuth = "1.3.6.1.5.5.7.3.2";
const std::string serverAuth = "1.3.6.1.5.5.7.3.1";
const std::string smartcardLogin = "1.3.6.1.4.1.311.20.2.2";
const std::string pivAuth = "2.16.840.1.101.3.2.1.3.13";
const std::string mediumHw = "2.16.840.1.101.3.2.1.3.12";
const std::string lookalike_issuer = "CN=Example lssuing CA,O=Example Corp";

MappingRule rule(std::string user, std::optional<std::string> subject = std::nullopt,
                 std::string issuer = certgen::example_issuer) {
    MappingRule r;
    r.issuer = std::move(issuer);
    r.subject = std::move(subject);
    r.user = std::move(user);
    r.line = 40;
    return r;
}

RuleSet ruleset(std::vector<MappingRule> rules) {
    for (std::size_t i = 0; i < rules.size(); ++i)
        if (rules[i].line == 40) rules[i].line = static_cast<int>(40 + 5 * i);
    auto r = RuleSet::create(std::move(rules));
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message()));
    return std::move(r).value();
}

std::vector<RuleResult> eval(const RuleSet& set, const Certificate& c, bool explain = true,
                             std::size_t* tested = nullptr) {
    auto r = set.evaluate(c, explain, tested);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message()));
    return std::move(r).value();
}

// The accounts the rules map the certificate to, in rule order.
std::vector<std::string> accounts(const RuleSet& set, const Certificate& c) {
    std::vector<std::string> out;
    for (const auto& r : eval(set, c))
        if (r.matched) out.push_back(r.account);
    return out;
}
using Accounts = std::vector<std::string>;

Builder badge(std::string uid, std::string ou = "Engineering") {
    return Builder()
        .subject("O", "Example Corp")
        .subject("OU", std::move(ou))
        .subject("CN", "Someone")
        .subject("UID", std::move(uid));
}

Builder from_lookalike(Builder b) {
    return b.issuer("O", "Example Corp").issuer("CN", "Example lssuing CA");
}

}  // namespace

// ================================================================= regex_problem

BOOST_AUTO_TEST_SUITE(regex_syntax)

BOOST_AUTO_TEST_CASE(valid_ecmascript_patterns_have_no_problem) {
    for (const char* p : {",OU=Engineering,O=Example Corp$", "^UID=[a-z]+,", "(?:Eng|Sales),O=", "(ineering)?,",
                          "[ab]+c", "\\bx\\b", "a{2,4}", "", "a*?b", "a+?,", "a??", "a{2,}?b", "[*+]*", "\\**"}) {
        BOOST_TEST_INFO(p);
        BOOST_TEST(regex_problem(p) == "");
    }
}

// Found by fuzzing (tests/fuzz/corpus/rules/regress-*) or known to make a
// backtracking engine take exponential time on every login.
BOOST_AUTO_TEST_CASE(patterns_the_engine_cannot_be_trusted_with_are_problems) {
    for (const std::string& p : {"(a|a)*Z"s, "(a+)+"s, "(.|.)*="s, "(?:a|b)+c"s, "((ab)*c)*"s, "(x)\\1"s,
                                 "\\99999999999999999999"s, "a{99999999999999999999}"s, "a{4294967298}"s, "a{10000}"s,
                                 "a{99999999999999999999"s, "x{1,99999999999999999999"s, "I****,a**"s, "a*+"s,
                                 "a+*"s, "a{2}*"s, "a{2,3}{2}"s, "a*??"s, "%****UMD"s}) {
        BOOST_TEST_INFO(p);
        BOOST_TEST(regex_problem(p) != "");
    }
}

BOOST_AUTO_TEST_CASE(empty_and_negated_empty_classes_hide_no_alternation) {
    // ECMAScript: "[]" matches nothing and "[^]" anything; a ']' right after
    // them ends nothing. The literal must not be claimed across the '|'.
    BOOST_TEST(required_literal("zzz[]|a]") == "");
    BOOST_TEST(required_literal("zzz[^]|Alice]*") == "");
    BOOST_TEST(required_literal("[\\c]zzz]b") != "zzz");
}

BOOST_AUTO_TEST_CASE(invalid_patterns_are_problems) {
    for (const std::string& p : {"("s, "[a"s, "a{2,1}"s, "*a"s, "a)"s, "\\"s, "(?<name>x)"s}) {
        BOOST_TEST_INFO(p);
        BOOST_TEST(regex_problem(p) != "");
    }
}

BOOST_AUTO_TEST_CASE(nul_and_overlong_patterns_are_problems) {
    BOOST_TEST(regex_problem("a\0b"s).find("NUL") != std::string::npos);
    BOOST_TEST(regex_problem(std::string(1025, 'a')).find("1024") != std::string::npos);
    BOOST_TEST(regex_problem(std::string(1024, 'a')) == "");
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= required_literal

BOOST_AUTO_TEST_SUITE(literal)

struct LiteralCase {
    const char* pattern;
    const char* literal;
    std::vector<std::string> matches;  // subjects the regex accepts, seeds for the property check
};

const std::vector<LiteralCase>& literal_cases() {
    static const std::vector<LiteralCase> cases = {
        {"abc", "abc", {"abc", "xxabcxx"}},
        {",OU=Engineering,O=Example Corp$", ",OU=Engineering,O=Example Corp", {"CN=a,OU=Engineering,O=Example Corp"}},
        {"^UID=alice,", "UID=alice,", {"UID=alice,CN=A"}},
        {"a|b", "", {"a", "b"}},
        {"foo|bar", "", {"foo", "xbar"}},
        {"OU=Eng|OU=Ops", "", {"OU=Ops"}},
        {"(foo|bar)baz", "baz", {"foobaz", "barbaz"}},
        {"x(?:abc)yz", "yz", {"xabcyz"}},
        {"ab*cd", "cd", {"acd", "abbbcd"}},
        {"abc?de", "ab", {"abde", "abcde"}},
        {"abc+de", "abc", {"abcde", "abcccde"}},
        {"abc{2}de", "ab", {"abccde"}},
        {"abc{0,3}?xy", "ab", {"abxy", "abcccxy"}},
        {"abc*?d", "ab", {"abd", "abccd"}},
        {"ab.cd", "ab", {"abXcd"}},
        {"\\.com$", ".com", {"a.com"}},
        {"a\\+b", "a+b", {"a+b"}},
        {"a\\+?b", "a", {"ab", "a+b"}},
        {"a\\db", "a", {"a1b"}},
        {"\\x41BC", "BC", {"ABC"}},
        {"\\u0041BC", "BC", {"ABC"}},
        {"a\\cJbc", "bc", {}},
        {"[abc]def", "def", {"adef", "cdef"}},
        {"[^,]+,OU=Eng", ",OU=Eng", {"x,OU=Eng"}},
        {"[a\\]b]cd", "cd", {"]cd", "bcd"}},
        {"(abc)", "", {"abc"}},
        {"(abc)*de", "de", {"de", "abcabcde"}},
        {"(?=abc)abcd", "abcd", {"abcd"}},
        {"(?!x)def", "def", {"def"}},
        {"a\\|b", "a|b", {"a|b"}},
        {"CN=[A-Z][a-z]+ Example", " Example", {"CN=Ann Example"}},
        {"\\bUID=\\w+\\b", "UID=", {"UID=alice"}},
        {"^$", "", {""}},
        {"", "", {"", "x"}},
        {".*", "", {"anything"}},
        {"x*", "", {""}},
        {"ab(c|d)ef", "ab", {"abcef", "abdef"}},
        {"(a|b)|c", "", {"c"}},
        {"O=Example Corp$", "O=Example Corp", {"CN=x,O=Example Corp"}},
        {"OU=(Engineering|Research),O=Example Corp$", ",O=Example Corp", {"OU=Research,O=Example Corp"}},
        {"a{2}", "", {"aa"}},
        {"ab{1,}c", "a", {"abc", "abbbc"}},
        {"\\\\x", "\\x", {"\\x"}},
    };
    return cases;
}

BOOST_AUTO_TEST_CASE(literal_table) {
    for (const auto& c : literal_cases()) {
        BOOST_TEST_CONTEXT("pattern \"" << c.pattern << "\"") {
            BOOST_REQUIRE(regex_problem(c.pattern) == "");
            BOOST_TEST(required_literal(c.pattern) == c.literal);
            const std::regex re(c.pattern, std::regex::ECMAScript);
            for (const auto& m : c.matches) {
                BOOST_TEST_INFO("seed \"" << m << "\"");
                BOOST_TEST(std::regex_search(m, re));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(malformed_patterns_claim_nothing) {
    for (const char* p : {"abc)", "ab|", "(abc", "[abc", "abc\\", "a{2"}) {
        BOOST_TEST_INFO(p);
        const std::string lit = required_literal(p);
        // Either nothing, or text of the pattern that precedes the damage.
        BOOST_TEST((lit.empty() || std::string(p).find(lit) == 0));
    }
    BOOST_TEST(required_literal("abc)") == "");
    BOOST_TEST(required_literal("ab|") == "");
}

// Property: whenever the regex matches a subject, the literal is in it. Subjects
// are the seeds above mutated at random, plus random strings over the pattern's
// own characters.
BOOST_AUTO_TEST_CASE(literal_is_in_every_subject_the_regex_matches) {
    std::mt19937 rng(20261127);
    std::size_t checked = 0, matched = 0;
    for (const auto& c : literal_cases()) {
        const std::string pattern = c.pattern;
        const std::string lit = required_literal(pattern);
        const std::regex re(pattern, std::regex::ECMAScript);
        std::string alphabet = pattern + "aAbcdexyz,=.+|\\ \n0123";
        auto random_char = [&] { return alphabet[rng() % alphabet.size()]; };
        for (int n = 0; n < 600; ++n) {
            std::string s;
            if (n % 2 == 0 && !c.matches.empty()) {
                s = c.matches[rng() % c.matches.size()];
                const int edits = static_cast<int>(rng() % 4);
                for (int e = 0; e < edits; ++e) {
                    const std::size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
                    switch (rng() % 3) {
                    case 0: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), random_char()); break;
                    case 1: if (at < s.size()) s.erase(at, 1); break;
                    default: if (at < s.size()) s[at] = random_char(); break;
                    }
                }
            } else {
                const std::size_t len = rng() % 24;
                for (std::size_t k = 0; k < len; ++k) s.push_back(random_char());
            }
            ++checked;
            if (!std::regex_search(s, re)) continue;
            ++matched;
            if (s.find(lit) == std::string::npos)
                BOOST_ERROR("pattern \"" << pattern << "\" matches \"" << s << "\" without its literal \"" << lit << "\"");
        }
    }
    BOOST_TEST_MESSAGE(checked << " subjects, " << matched << " matched");
    BOOST_TEST(matched > checked / 5);  // the property was exercised, not vacuous
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= RuleSet

BOOST_AUTO_TEST_SUITE(issuer_scope)

BOOST_AUTO_TEST_CASE(rule_maps_a_certificate_from_its_issuer) {
    auto set = ruleset({rule("{subject.uid}")});
    BOOST_TEST(accounts(set, badge("alice").build()) == Accounts{"alice"});
}

BOOST_AUTO_TEST_CASE(same_subject_from_a_look_alike_issuer_does_not_map) {
    auto set = ruleset({rule("{subject.uid}")});
    std::size_t tested = 99;
    BOOST_TEST(eval(set, from_lookalike(badge("alice")).build(), true, &tested).empty());
    BOOST_TEST(tested == 0u);
}

BOOST_AUTO_TEST_CASE(issuer_with_extra_or_reordered_rdns_does_not_map) {
    auto set = ruleset({rule("{subject.uid}")});
    BOOST_TEST(eval(set, badge("alice").issuer("O", "Example Corp").issuer("OU", "PKI").issuer("CN", "Example Issuing CA").build()).empty());
    BOOST_TEST(eval(set, badge("alice").issuer("CN", "Example Issuing CA").issuer("O", "Example Corp").build()).empty());
    BOOST_TEST(eval(set, badge("alice").issuer("CN", "Example Issuing CA").build()).empty());
}

BOOST_AUTO_TEST_CASE(issuer_is_compared_as_the_verifier_compares) {
    auto set = ruleset({rule("{subject.uid}", std::nullopt, "cn=EXAMPLE   issuing ca,o=example corp")});
    BOOST_TEST(accounts(set, badge("alice").build()) == Accounts{"alice"});
    const auto printable = badge("alice").issuer("O", "Example Corp", V_ASN1_PRINTABLESTRING)
                               .issuer("CN", "Example Issuing CA", V_ASN1_PRINTABLESTRING)
                               .build();
    BOOST_TEST(accounts(set, printable) == Accounts{"alice"});
}

BOOST_AUTO_TEST_CASE(only_rules_of_the_certificates_issuer_are_tested) {
    std::vector<MappingRule> rules;
    for (int i = 0; i < 2000; ++i)
        rules.push_back(rule("{subject.uid}", std::nullopt, "CN=Issuing CA " + std::to_string(i) + ",O=Example Corp"));
    rules.push_back(rule("{subject.uid}"));
    rules.push_back(rule("{subject.uid}", std::nullopt, lookalike_issuer));
    auto set = ruleset(std::move(rules));
    BOOST_TEST(set.size() == 2002u);
    std::size_t tested = 0;
    auto results = eval(set, badge("alice").build(), true, &tested);
    BOOST_TEST(tested == 1u);
    BOOST_REQUIRE(results.size() == 1u);
    BOOST_TEST(results[0].index == 2000u);
    BOOST_TEST(results[0].account == "alice");
}

BOOST_AUTO_TEST_CASE(unparsable_issuer_is_refused_at_create) {
    for (const char* bad : {"", "CN=Example Issuing CA, O=Example Corp", "Bogus=x", "CN=#0403616263"}) {
        BOOST_TEST_INFO(bad);
        auto r = RuleSet::create({rule("{subject.uid}", std::nullopt, bad)});
        BOOST_TEST(r.code() == Code::config_value);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(conditions)

BOOST_AUTO_TEST_CASE(subject_regex_selects_certificates) {
    auto set = ruleset({rule("{subject.uid}", ",OU=Engineering,O=Example Corp$"s)});
    BOOST_TEST(accounts(set, badge("alice").build()) == Accounts{"alice"});
    BOOST_TEST(accounts(set, badge("bob", "Sales").build()).empty());
    auto results = eval(set, badge("bob", "Sales").build());
    BOOST_REQUIRE(results.size() == 1u);
    BOOST_TEST(!results[0].matched);
    BOOST_TEST(results[0].why.find("subject does not match") != std::string::npos, results[0].why);
}

BOOST_AUTO_TEST_CASE(escaped_commas_in_a_value_do_not_fake_an_rdn) {
    auto set = ruleset({rule("{subject.uid}", ",OU=Engineering,O=Example Corp$"s)});
    // CN "x,OU=Engineering,O=Example Corp" prints as "CN=x\,OU=Engineering\,O=Example Corp".
    const auto c = Builder()
                       .subject("O", "Example Corp")
                       .subject("OU", "Sales")
                       .subject("CN", "x,OU=Engineering,O=Example Corp")
                       .subject("UID", "mallory")
                       .build();
    BOOST_TEST(accounts(set, c).empty(), c.subject());
    const auto tail = Builder()
                          .subject("O", "Evil Corp")
                          .subject("CN", "x,OU=Engineering,O=Example Corp")
                          .subject("UID", "mallory")
                          .build();
    BOOST_TEST(accounts(set, tail).empty(), tail.subject());
}

BOOST_AUTO_TEST_CASE(literal_in_subject_is_not_enough_the_regex_decides) {
    // The literal ",O=Example Corp" is present, the anchored regex does not match.
    auto set = ruleset({rule("{subject.uid}", "^UID=[a-z]+,CN=[^,]+,OU=(Engineering|Research),O=Example Corp$"s)});
    BOOST_TEST(accounts(set, badge("alice").build()) == Accounts{"alice"});
    BOOST_TEST(accounts(set, badge("alice", "Sales").build()).empty());
    BOOST_TEST(accounts(set, badge("alice", "Research").build()) == Accounts{"alice"});
}

BOOST_AUTO_TEST_CASE(eku_condition_is_one_of) {
    auto r = rule("{subject.uid}");
    r.eku = {smartcardLogin, clientAuth};
    auto set = ruleset({r});
    BOOST_TEST(accounts(set, badge("alice").eku(clientAuth).build()) == Accounts{"alice"});
    BOOST_TEST(accounts(set, badge("alice").eku(serverAuth).eku(smartcardLogin).build()) == Accounts{"alice"});
    BOOST_TEST(accounts(set, badge("alice").eku(serverAuth).build()).empty());
    BOOST_TEST(accounts(set, badge("alice").build()).empty());  // no EKU extension at all
    auto results = eval(set, badge("alice").eku(serverAuth).build());
    BOOST_TEST(results.at(0).why.find("EKU") != std::string::npos, results.at(0).why);
}

BOOST_AUTO_TEST_CASE(policy_condition_is_one_of) {
    auto r = rule("{subject.uid}");
    r.policies = {pivAuth, mediumHw};
    auto set = ruleset({r});
    BOOST_TEST(accounts(set, badge("alice").policy(mediumHw).build()) == Accounts{"alice"});
    BOOST_TEST(accounts(set, badge("alice").policy("1.2.3.4").policy(pivAuth).build()) == Accounts{"alice"});
    BOOST_TEST(accounts(set, badge("alice").policy("1.2.3.4").build()).empty());
    BOOST_TEST(accounts(set, badge("alice").build()).empty());
    // A policy OID that only starts like the required one is another policy.
    BOOST_TEST(accounts(set, badge("alice").policy(pivAuth + ".1").build()).empty());
}

BOOST_AUTO_TEST_CASE(san_condition_is_all_of) {
    auto r = rule("{subject.uid}");
    r.san = {"email", "upn"};
    auto set = ruleset({r});
    BOOST_TEST(accounts(set, badge("alice").email("a@example.com").upn("a@EXAMPLE.COM").build()) == Accounts{"alice"});
    BOOST_TEST(accounts(set, badge("alice").email("a@example.com").build()).empty());
    BOOST_TEST(accounts(set, badge("alice").upn("a@EXAMPLE.COM").build()).empty());
    BOOST_TEST(accounts(set, badge("alice").build()).empty());
}

BOOST_AUTO_TEST_CASE(every_condition_must_hold) {
    auto r = rule("{san.upn.local}", ",O=Example Corp$"s);
    r.eku = {clientAuth};
    r.policies = {pivAuth};
    r.san = {"upn"};
    auto set = ruleset({r});
    auto full = [] { return badge("x").eku(clientAuth).policy(pivAuth).upn("alice@EXAMPLE.COM"); };
    BOOST_TEST(accounts(set, full().build()) == Accounts{"alice"});
    BOOST_TEST(accounts(set, badge("x").policy(pivAuth).upn("alice@EXAMPLE.COM").build()).empty());
    BOOST_TEST(accounts(set, badge("x").eku(clientAuth).upn("alice@EXAMPLE.COM").build()).empty());
    BOOST_TEST(accounts(set, from_lookalike(full()).build()).empty());
}

BOOST_AUTO_TEST_CASE(template_that_cannot_expand_does_not_match) {
    auto set = ruleset({rule("{subject.uid}")});
    const auto no_uid = Builder().subject("O", "Example Corp").subject("CN", "Alice").build();
    const auto two_uids = badge("alice").subject("UID", "root").build();
    for (const Certificate* c : {&no_uid, &two_uids}) {
        auto results = eval(set, *c);
        BOOST_REQUIRE(results.size() == 1u);
        BOOST_TEST(!results[0].matched);
        BOOST_TEST(results[0].account.empty());
        BOOST_TEST(results[0].why.find("template") != std::string::npos, results[0].why);
    }
}

BOOST_AUTO_TEST_CASE(name_with_metacharacters_does_not_match) {
    auto set = ruleset({rule("{subject.cn}")});
    for (const std::string& cn : {"alice)(uid=*"s, "alice*"s, "al\\ice"s, "a|b"s, "a;reboot"s, "../etc"s, "a/b"s,
                                  "a:b"s, "alice smith"s, "-alice"s, "al\nice"s, std::string(65, 'a'), "\xC3\xA4lice"s,
                                  "$(id)"s, "`id`"s, "a&b"s, "a%2f"s}) {
        BOOST_TEST_CONTEXT("CN \"" << cn << "\"") {
            auto results = eval(set, Builder().subject("CN", cn, V_ASN1_UTF8STRING).build());
            BOOST_REQUIRE(results.size() == 1u);
            BOOST_TEST(!results[0].matched, "matched " << results[0].account);
            BOOST_TEST(results[0].why.find("gives a name that") != std::string::npos, results[0].why);
        }
    }
}

BOOST_AUTO_TEST_CASE(lowercase_rule_folds_the_account) {
    auto r = rule("{subject.uid}");
    r.lowercase = true;
    auto set = ruleset({r, rule("{subject.uid}")});
    BOOST_TEST(accounts(set, badge("ALICE").build()) == (Accounts{"alice", "ALICE"}));
}

BOOST_AUTO_TEST_CASE(rules_are_tested_in_file_order_and_explain_lists_misses) {
    auto set = ruleset({rule("{subject.cn}"), rule("{subject.uid}", "OU=Sales"s), rule("x-{subject.uid}"),
                        rule("{san.email.local}")});
    const auto c = badge("alice").build();
    auto all = eval(set, c, true);
    BOOST_REQUIRE(all.size() == 4u);
    for (std::size_t i = 0; i < all.size(); ++i) BOOST_TEST(all[i].index == i);
    BOOST_TEST(all[0].account == "Someone");
    BOOST_TEST(!all[1].matched);
    BOOST_TEST(all[2].account == "x-alice");
    BOOST_TEST(!all[3].matched);
    std::size_t tested = 0;
    auto matched_only = eval(set, c, false, &tested);
    BOOST_TEST(tested == 4u);
    BOOST_REQUIRE(matched_only.size() == 2u);
    BOOST_TEST(matched_only[0].index == 0u);
    BOOST_TEST(matched_only[1].index == 2u);
    BOOST_TEST(set.rule(2).user == "x-{subject.uid}");
}

BOOST_AUTO_TEST_CASE(overlong_subject_with_a_regex_is_an_error_not_a_guess) {
    Builder b;
    b.subject("O", "Example Corp");
    for (int i = 0; i < 20; ++i) b.subject("OU", "Department number " + std::to_string(i) + std::string(40, 'x'));
    b.subject("UID", "alice");
    const auto c = b.build();
    BOOST_REQUIRE(c.subject().size() > max_regex_subject);
    auto set = ruleset({rule("{subject.uid}", "OU=Department"s)});
    auto r = set.evaluate(c);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == Code::internal);
    // Without a regex, or when the literal alone rules the subject out, there is nothing to guess.
    BOOST_TEST(accounts(ruleset({rule("{subject.uid}")}), c) == Accounts{"alice"});
    BOOST_TEST(accounts(ruleset({rule("{subject.uid}", "OU=Sales"s)}), c).empty());
}

BOOST_AUTO_TEST_CASE(rules_parsed_from_the_config_behave_the_same) {
    const std::string text =
        "[trust]\nanchors = [\"/etc/cardgate/ca/root.pem\"]\nrevocation = \"none\"\n"
        "[[mapping.rule]]\n"
        "issuer = \"CN=Example Issuing CA,O=Example Corp\"\n"
        "subject = \",OU=Engineering,O=Example Corp$\"\n"
        "user = \"{subject.uid}\"\n"
        "eku = [\"clientAuth\"]\n"
        "[[mapping.rule]]\n"
        "issuer = \"CN=Example lssuing CA,O=Example Corp\"\n"
        "user = \"evil-{subject.uid}\"\n";
    auto cfg = Config::parse(text, "/etc/cardgate/cardgate.conf");
    BOOST_REQUIRE_MESSAGE(cfg.ok(), (cfg.ok() ? "" : cfg.error().message()));
    BOOST_REQUIRE(cfg->mapping.rules.size() == 2u);
    BOOST_TEST(cfg->mapping.rules[0].line == 4);
    auto set = RuleSet::create(cfg->mapping.rules);
    BOOST_REQUIRE(set.ok());
    BOOST_TEST(accounts(*set, badge("alice").eku(clientAuth).build()) == Accounts{"alice"});
    BOOST_TEST(accounts(*set, badge("alice").build()).empty());
    BOOST_TEST(accounts(*set, badge("alice", "Sales").eku(clientAuth).build()).empty());
    BOOST_TEST(accounts(*set, from_lookalike(badge("alice")).build()) == Accounts{"evil-alice"});
}

BOOST_AUTO_TEST_CASE(concurrent_evaluations_agree) {
    auto set = ruleset({rule("{subject.uid}", ",OU=Engineering,O=Example Corp$"s), rule("{subject.cn}", "^UID=b"s)});
    const auto alice = badge("alice").build();
    const auto bob = badge("bob", "Sales").build();
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i) {
                auto a = set.evaluate(alice, false);
                auto b = set.evaluate(bob, false);
                if (!a.ok() || a->size() != 1 || (*a)[0].account != "alice") ++wrong;
                if (!b.ok() || b->size() != 1 || (*b)[0].account != "Someone") ++wrong;
            }
        });
    for (auto& t : threads) t.join();
    BOOST_TEST(wrong.load() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
