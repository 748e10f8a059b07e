// Mapping a certificate to an account (mapping.hpp, accounts.hpp): account
// name syntax, NSS lookups, and the Mapper's fixed order -- sources, decision
// (unmapped / ambiguous / other user), require_strong, account existence,
// system accounts, groups and privileges.
//
// Accounts come from nss_wrapper with tests/unit/nss/{passwd,group}: run
// through tests/unit/with-nss.sh (make check does).
#define BOOST_TEST_MODULE mapping
#include <boost/test/unit_test.hpp>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "src/accounts.hpp"
#include "src/config.hpp"
#include "src/mapping.hpp"
#include "tests/unit/certgen.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
std::ostream& operator<<(std::ostream& os, Strength s) { return os << strength_name(s); }
}  // namespace cardgate

using namespace cardgate;
using namespace std::literals;
using certgen::Builder;
namespace fs = std::filesystem;

namespace {

const std::string pivAuth = "2.16.840.1.101.3.2.1.3.13";
const std::string config_path = "/etc/cardgate/cardgate.conf";

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/cardgate-mapping-XXXXXX";
        BOOST_REQUIRE(mkdtemp(tmpl));  // mode 0700
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string operator/(const std::string& name) const { return path + "/" + name; }
};

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        BOOST_REQUIRE(out.good());
        out << text;
    }
    BOOST_REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// The fake accounts must be what NSS answers, or nothing here means anything.
void require_nss_wrapper() {
    static const bool ok = [] {
        const char* p = std::getenv("NSS_WRAPPER_PASSWD");
        const passwd* carol = ::getpwnam("carol");
        return p && *p && carol && carol->pw_uid == 1003;
    }();
    BOOST_REQUIRE_MESSAGE(ok, "NSS does not know the test accounts: run through tests/unit/with-nss.sh (make check)");
}

struct FailingAccounts final : Accounts {
    Result<std::optional<Account>> find(const std::string& name) const override {
        return Error(Code::io, "account lookup for " + name + " failed: the directory is down");
    }
};

// One badge per person: O, OU, CN, UID, a policy and a SAN; `uid` as given.
Builder badge(std::string uid, std::string ou = "Engineering") {
    return Builder()
        .subject("O", "Example Corp")
        .subject("OU", std::move(ou))
        .subject("CN", "Someone Example")
        .subject("UID", uid)
        .email(uid + "@example.com")
        .policy(pivAuth);
}

MappingRule rule(std::string user, int line = 40) {
    MappingRule r;
    r.issuer = certgen::example_issuer;
    r.user = std::move(user);
    r.line = line;
    return r;
}

// A mapping configuration under construction, with its own bindings file and
// index directory.
struct Setup {
    TempDir dir;
    NssAccounts nss;
    MappingConfig cfg;
    Setup() {
        require_nss_wrapper();
        cfg.index_dir = dir.path;
        cfg.rules.clear();
    }
    Setup& bindings(const std::string& text, mode_t mode = 0600) {
        write_file(dir / "bindings", text, mode);
        cfg.bindings = dir / "bindings";
        return *this;
    }
    Setup& add(MappingRule r) {
        cfg.rules.push_back(std::move(r));
        return *this;
    }
    Mapper mapper(const Accounts* accounts = nullptr) const {
        auto m = Mapper::create(cfg, config_path, accounts ? *accounts : nss);
        BOOST_REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message()));
        return std::move(m).value();
    }
    MapResult map(const Certificate& c, std::optional<std::string_view> user = std::nullopt,
                  Purpose p = Purpose::login) const {
        return mapper().map(c, p, user);
    }
};

void expect_refused(const MapResult& r, Code code) {
    BOOST_TEST(r.code == code, "detail: " << r.detail);
    BOOST_TEST(!r.ok());
    BOOST_TEST(!r.identity.has_value());
    BOOST_TEST(!r.detail.empty());
    BOOST_REQUIRE(!r.steps.empty());
    BOOST_TEST(!r.steps.back().matched);
    BOOST_TEST(r.steps.back().detail.find(std::string(name(code))) == 0, r.steps.back().detail);
}

void expect_mapped(const MapResult& r, const std::string& account, Strength strength) {
    BOOST_REQUIRE_MESSAGE(r.ok(), "refused: " << name(r.code) << ": " << r.detail);
    BOOST_REQUIRE(r.identity.has_value());
    BOOST_TEST(r.identity->account == account);
    BOOST_TEST(r.identity->strength == strength);
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

// ================================================================= account names

BOOST_AUTO_TEST_SUITE(account_names)

BOOST_AUTO_TEST_CASE(ordinary_names_are_accepted) {
    for (const std::string& n : {"alice"s, "a"s, "svc-backup"s, "john.doe"s, "j_doe"s, "alice@EXAMPLE.COM"s,
                                 "host01$"s, "A1"s, "0day"s, std::string(64, 'x')}) {
        BOOST_TEST_INFO(n);
        BOOST_TEST(account_name_problem(n) == "");
    }
}

BOOST_AUTO_TEST_CASE(ldap_regex_and_shell_metacharacters_are_refused) {
    for (char c : std::string("()*\\|;/: \n\t\"'`&<>!#%+,=?[]{}~^$")) {
        const std::string name = "ali"s + c + "ce";
        BOOST_TEST_CONTEXT("name \"ali" << c << "ce\"") {
            const std::string why = account_name_problem(name);
            BOOST_TEST(why.find("at offset 3") != std::string::npos, why);
        }
    }
}

BOOST_AUTO_TEST_CASE(control_characters_and_nul_are_refused) {
    for (const std::string& n : {"ali\0ce"s, "alice\x7f"s, "\x01root"s, "alice\r"s, "root\x1b[0m"s}) {
        BOOST_TEST_INFO("name with a control character");
        BOOST_TEST(account_name_problem(n).find("0x") != std::string::npos, account_name_problem(n));
    }
}

BOOST_AUTO_TEST_CASE(leading_dash_or_dot_is_refused) {
    BOOST_TEST(account_name_problem("-alice").find("starts with '-'") != std::string::npos);
    BOOST_TEST(account_name_problem("--help").find("starts with '-'") != std::string::npos);
    BOOST_TEST(account_name_problem(".alice").find("starts with '.'") != std::string::npos);
    BOOST_TEST(account_name_problem("..").find("starts with '.'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(dollar_only_at_the_end_and_not_alone) {
    BOOST_TEST(account_name_problem("host$") == "");
    BOOST_TEST(account_name_problem("$") != "");
    BOOST_TEST(account_name_problem("ho$t") != "");
    BOOST_TEST(account_name_problem("host$$") != "");
}

BOOST_AUTO_TEST_CASE(overlong_and_empty_names_are_refused) {
    BOOST_TEST(account_name_problem(std::string(65, 'a')).find("longer than 64") != std::string::npos);
    BOOST_TEST(account_name_problem("").find("empty") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(non_ascii_names_are_refused) {
    for (const char* n : {"\xC3\xA4lice", "\xD0\xB0lice" /* Cyrillic a */, "alic\xC3\xA9", "\xEF\xBD\x81lice" /* fullwidth a */}) {
        BOOST_TEST_INFO(n);
        BOOST_TEST(account_name_problem(n).find("0x") != std::string::npos, account_name_problem(n));
    }
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= NSS accounts

BOOST_AUTO_TEST_SUITE(nss_accounts)

BOOST_AUTO_TEST_CASE(nss_wrapper_supplies_the_test_accounts) { require_nss_wrapper(); }

BOOST_AUTO_TEST_CASE(account_is_found_with_uid_gid_and_sorted_groups) {
    require_nss_wrapper();
    auto a = NssAccounts().find("alice");
    BOOST_REQUIRE(a.ok());
    BOOST_REQUIRE(a->has_value());
    const Account& alice = **a;
    BOOST_TEST(alice.name == "alice");
    BOOST_TEST(alice.uid == 1001u);
    BOOST_TEST(alice.gid == 1001u);
    BOOST_TEST(alice.groups == (std::vector<std::string>{"alice", "door-lab", "engineering", "wheel"}));
}

BOOST_AUTO_TEST_CASE(name_differing_in_case_is_not_found) {
    require_nss_wrapper();
    auto a = NssAccounts().find("Alice");
    BOOST_REQUIRE(a.ok());
    BOOST_TEST(!a->has_value());
    auto b = NssAccounts().find("ALICE");
    BOOST_REQUIRE(b.ok());
    BOOST_TEST(!b->has_value());
}

BOOST_AUTO_TEST_CASE(unknown_and_malformed_names_are_not_found) {
    require_nss_wrapper();
    for (const std::string& n : {"erin"s, "alice "s, " alice"s, "alice\n"s, "alice\0root"s, "root:x"s, ""s, "*"s}) {
        BOOST_TEST_INFO("find(\"" << n << "\")");
        auto a = NssAccounts().find(n);
        BOOST_REQUIRE(a.ok());
        BOOST_TEST(!a->has_value());
    }
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= Mapper: sources and strength

BOOST_AUTO_TEST_SUITE(sources)

BOOST_AUTO_TEST_CASE(binding_alone_maps_strong) {
    Setup s;
    const auto alice = badge("alice").build();
    s.bindings("# test\nalice spki-sha256 " + alice.spki_sha256() + "\n");
    auto r = s.map(alice);
    expect_mapped(r, "alice", Strength::strong);
    BOOST_TEST(r.identity->uid == 1001u);
    BOOST_TEST(r.identity->source == "binding " + s.dir / "bindings" + ":2 (spki-sha256)");
}

BOOST_AUTO_TEST_CASE(rule_alone_maps_weak) {
    Setup s;
    s.add(rule("{subject.uid}", 12));
    auto r = s.map(badge("alice").build());
    expect_mapped(r, "alice", Strength::weak);
    BOOST_TEST(r.identity->source == "rule " + config_path + ":12");
}

BOOST_AUTO_TEST_CASE(rule_declared_strong_maps_strong) {
    Setup s;
    auto r = rule("{subject.uid}");
    r.strong = true;
    s.add(r);
    expect_mapped(s.map(badge("alice").build()), "alice", Strength::strong);
}

BOOST_AUTO_TEST_CASE(binding_and_rule_agreeing_map_strong_by_the_binding) {
    Setup s;
    const auto alice = badge("alice").build();
    s.bindings("alice cert-sha256 " + alice.sha256() + "\n").add(rule("{subject.uid}"));
    auto r = s.map(alice);
    expect_mapped(r, "alice", Strength::strong);
    BOOST_TEST(r.identity->source.rfind("binding ", 0) == 0, r.identity->source);
    BOOST_TEST(r.candidates.size() == 2u);
}

BOOST_AUTO_TEST_CASE(two_bindings_of_one_account_are_not_ambiguous) {
    Setup s;
    const auto alice = badge("alice").build();
    s.bindings("alice cert-sha256 " + alice.sha256() + "\nalice spki-sha256 " + alice.spki_sha256() + "\n");
    expect_mapped(s.map(alice), "alice", Strength::strong);
}

BOOST_AUTO_TEST_CASE(rules_only_ignores_the_bindings_file) {
    Setup s;
    const auto alice = badge("alice").build();
    s.bindings("bob spki-sha256 " + alice.spki_sha256() + "\n").add(rule("{subject.uid}"));
    s.cfg.sources = {MappingSource::rules};
    expect_mapped(s.map(alice), "alice", Strength::weak);
    // Not even opened: a missing file does not matter.
    s.cfg.bindings = s.dir / "absent";
    expect_mapped(s.map(alice), "alice", Strength::weak);
}

BOOST_AUTO_TEST_CASE(bindings_only_ignores_the_rules) {
    Setup s;
    const auto alice = badge("alice").build();
    s.bindings("# none\n").add(rule("{subject.uid}"));
    s.cfg.sources = {MappingSource::bindings};
    expect_refused(s.map(alice), Code::map_unmapped);
}

BOOST_AUTO_TEST_CASE(sources_are_consulted_in_the_configured_order) {
    Setup s;
    const auto alice = badge("alice").build();
    s.bindings("alice spki-sha256 " + alice.spki_sha256() + "\n").add(rule("{subject.uid}"));
    auto step_of = [](const MapResult& r, const std::string& prefix) {
        for (std::size_t i = 0; i < r.steps.size(); ++i)
            if (r.steps[i].source.rfind(prefix, 0) == 0) return i;
        return r.steps.size();
    };
    s.cfg.sources = {MappingSource::rules, MappingSource::bindings};
    auto r = s.map(alice);
    expect_mapped(r, "alice", Strength::strong);  // the strong candidate decides, whatever the order
    BOOST_TEST(r.identity->source == "binding " + s.dir / "bindings" + ":1 (spki-sha256)");
    BOOST_TEST(step_of(r, "rule ") < step_of(r, "binding "));
    BOOST_TEST(r.candidates.front().source.rfind("rule ", 0) == 0);
    s.cfg.sources = {MappingSource::bindings, MappingSource::rules};
    r = s.map(alice);
    BOOST_TEST(step_of(r, "binding ") < step_of(r, "rule "));
}

BOOST_AUTO_TEST_CASE(explain_records_rules_that_did_not_match) {
    Setup s;
    s.add(rule("{san.upn.local}", 10)).add(rule("{subject.uid}", 20));
    const auto alice = badge("alice").build();
    auto quiet = s.mapper().map(alice, Purpose::login, std::nullopt, false);
    auto loud = s.mapper().map(alice, Purpose::login, std::nullopt, true);
    expect_mapped(quiet, "alice", Strength::weak);
    expect_mapped(loud, "alice", Strength::weak);
    auto mentions_rule10 = [](const MapResult& r) {
        return std::any_of(r.steps.begin(), r.steps.end(),
                           [](const MapStep& st) { return st.source == "rule " + config_path + ":10"; });
    };
    BOOST_TEST(!mentions_rule10(quiet));
    BOOST_TEST(mentions_rule10(loud));
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= Mapper: the decision

BOOST_AUTO_TEST_SUITE(decision)

BOOST_AUTO_TEST_CASE(nothing_maps_the_certificate_is_unmapped) {
    Setup s;
    s.bindings("bob spki-sha256 " + badge("bob").build().spki_sha256() + "\n").add(rule("{san.upn}"));
    expect_refused(s.map(badge("alice").build()), Code::map_unmapped);
}

BOOST_AUTO_TEST_CASE(no_sources_configured_is_unmapped) {
    Setup s;
    expect_refused(s.map(badge("alice").build()), Code::map_unmapped);
}

BOOST_AUTO_TEST_CASE(one_key_bound_to_two_users_is_ambiguous) {
    Setup s;
    const auto alice = badge("alice").build();
    s.bindings("alice spki-sha256 " + alice.spki_sha256() + "\nbob spki-sha256 " + alice.spki_sha256() + "\n");
    auto r = s.map(alice);
    expect_refused(r, Code::map_ambiguous);
    BOOST_TEST(r.candidates.size() == 2u);
    BOOST_TEST(r.detail.find("alice, bob") != std::string::npos, r.detail);
}

BOOST_AUTO_TEST_CASE(rule_and_binding_disagreeing_are_ambiguous) {
    Setup s;
    const auto alice = badge("alice").build();
    s.bindings("bob spki-sha256 " + alice.spki_sha256() + "\n").add(rule("{subject.uid}"));
    expect_refused(s.map(alice), Code::map_ambiguous);
}

BOOST_AUTO_TEST_CASE(two_rules_disagreeing_are_ambiguous) {
    Setup s;
    s.add(rule("{subject.uid}")).add(rule("{san.upn.local}"));
    expect_refused(s.map(badge("alice").upn("bob@EXAMPLE.COM").build()), Code::map_ambiguous);
}

BOOST_AUTO_TEST_CASE(user_given_among_weak_candidates_is_chosen) {
    Setup s;
    s.add(rule("{subject.uid}")).add(rule("{subject.ou}"));
    const auto c = badge("alice", "bob").build();
    expect_mapped(s.map(c, "alice"sv), "alice", Strength::weak);
    expect_mapped(s.map(c, "bob"sv), "bob", Strength::weak);
    expect_refused(s.map(c), Code::map_ambiguous);
}

BOOST_AUTO_TEST_CASE(user_given_may_not_override_a_strong_binding_for_another) {
    Setup s;
    const auto alice = badge("alice").build();
    s.bindings("bob spki-sha256 " + alice.spki_sha256() + "\n").add(rule("{subject.uid}"));
    auto r = s.map(alice, "alice"sv);
    expect_refused(r, Code::map_other_user);
    BOOST_TEST(r.detail.find("bob") != std::string::npos, r.detail);
    // The strongly bound user is fine: the weak rule for alice does not object.
    expect_mapped(s.map(alice, "bob"sv), "bob", Strength::strong);
}

BOOST_AUTO_TEST_CASE(user_given_may_not_override_a_strong_rule_for_another) {
    Setup s;
    auto strong = rule("{subject.uid}");
    strong.strong = true;
    s.add(strong).add(rule("{subject.ou}"));
    expect_refused(s.map(badge("alice", "bob").build(), "bob"sv), Code::map_other_user);
}

BOOST_AUTO_TEST_CASE(user_given_that_is_not_a_candidate_is_other_user) {
    Setup s;
    s.add(rule("{subject.uid}"));
    auto r = s.map(badge("alice").build(), "bob"sv);
    expect_refused(r, Code::map_other_user);
    BOOST_TEST(r.detail.find("alice") != std::string::npos);
}

// The user asked for may be what a person typed where a PIN was expected
// (the PAM user-name question): the detail goes to syslog and never repeats it.
BOOST_AUTO_TEST_CASE(user_given_that_is_not_a_candidate_is_not_repeated_in_the_detail) {
    Setup s;
    s.add(rule("{subject.uid}")).add(rule("{subject.ou}"));
    auto r = s.map(badge("alice", "bob").build(), "987654-secret"sv);
    expect_refused(r, Code::map_other_user);
    BOOST_TEST(r.detail.find("987654") == std::string::npos, r.detail);
    BOOST_TEST(r.detail.find("not among the candidates") != std::string::npos, r.detail);
    for (const auto& step : r.steps) BOOST_TEST(step.detail.find("987654") == std::string::npos, step.detail);
}

BOOST_AUTO_TEST_CASE(user_given_with_no_candidates_is_unmapped) {
    Setup s;
    s.add(rule("{san.upn}"));
    expect_refused(s.map(badge("alice").build(), "alice"sv), Code::map_unmapped);
}

BOOST_AUTO_TEST_CASE(user_given_differing_in_case_is_other_user) {
    Setup s;
    s.add(rule("{subject.uid}"));
    expect_refused(s.map(badge("alice").build(), "Alice"sv), Code::map_other_user);
    expect_refused(s.map(badge("alice").build(), "alice "sv), Code::map_other_user);
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= Mapper: policy and accounts

BOOST_AUTO_TEST_SUITE(accounts)

BOOST_AUTO_TEST_CASE(mapped_account_that_does_not_exist_is_unknown_not_unmapped) {
    Setup s;
    s.add(rule("{subject.uid}"));
    auto r = s.map(badge("erin").build());
    expect_refused(r, Code::map_unknown_account);
    BOOST_TEST(r.detail.find("erin") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(strongly_bound_account_that_does_not_exist_is_unknown) {
    Setup s;
    const auto c = badge("x").build();
    s.bindings("erin spki-sha256 " + c.spki_sha256() + "\n");
    expect_refused(s.map(c), Code::map_unknown_account);
}

BOOST_AUTO_TEST_CASE(account_differing_in_case_does_not_exist) {
    Setup s;
    s.add(rule("{subject.uid}"));
    expect_refused(s.map(badge("Alice").build()), Code::map_unknown_account);
    s.cfg.rules.clear();
    auto lower = rule("{subject.uid}");
    lower.lowercase = true;
    s.add(lower);
    expect_mapped(s.map(badge("Alice").build()), "alice", Strength::weak);
}

BOOST_AUTO_TEST_CASE(root_is_refused) {
    Setup s;
    s.add(rule("{subject.uid}"));
    auto r = s.map(badge("root").build());
    expect_refused(r, Code::map_system_account);
    BOOST_TEST(r.detail.find("root") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(root_is_refused_even_by_a_strong_binding) {
    Setup s;
    const auto c = badge("x").build();
    s.bindings("root spki-sha256 " + c.spki_sha256() + "\n");
    expect_refused(s.map(c), Code::map_system_account);
    expect_refused(s.map(c, "root"sv), Code::map_system_account);
}

BOOST_AUTO_TEST_CASE(accounts_below_1000_are_refused) {
    Setup s;
    s.add(rule("{subject.uid}"));
    for (const char* sys : {"daemon", "svc"}) {
        BOOST_TEST_INFO(sys);
        expect_refused(s.map(badge(sys).build()), Code::map_system_account);
    }
}

BOOST_AUTO_TEST_CASE(allow_root_allows_root_and_system_accounts) {
    Setup s;
    s.add(rule("{subject.uid}"));
    s.cfg.allow_root = true;
    auto r = s.map(badge("root").build());
    expect_mapped(r, "root", Strength::weak);
    BOOST_TEST(r.identity->uid == 0u);
    expect_mapped(s.map(badge("svc").build()), "svc", Strength::weak);
}

BOOST_AUTO_TEST_CASE(min_uid_is_configurable) {
    Setup s;
    s.add(rule("{subject.uid}"));
    s.cfg.min_uid = 999;
    expect_mapped(s.map(badge("svc").build()), "svc", Strength::weak);
    expect_refused(s.map(badge("daemon").build()), Code::map_system_account);
    s.cfg.min_uid = 1002;
    expect_refused(s.map(badge("alice").build()), Code::map_system_account);
    expect_mapped(s.map(badge("bob").build()), "bob", Strength::weak);
    s.cfg.min_uid = 1;
    expect_mapped(s.map(badge("daemon").build()), "daemon", Strength::weak);
    expect_refused(s.map(badge("root").build()), Code::map_system_account);  // uid 0 whatever min_uid says
}

BOOST_AUTO_TEST_CASE(require_strong_refuses_a_weak_login) {
    Setup s;
    s.add(rule("{subject.uid}"));
    s.cfg.require_strong = true;
    auto r = s.map(badge("alice").build(), std::nullopt, Purpose::login);
    expect_refused(r, Code::map_weak);
    BOOST_TEST(r.steps.back().source == "policy");
}

BOOST_AUTO_TEST_CASE(require_strong_does_not_apply_to_tls) {
    Setup s;
    s.add(rule("{subject.uid}"));
    s.cfg.require_strong = true;
    expect_mapped(s.map(badge("alice").build(), std::nullopt, Purpose::tls), "alice", Strength::weak);
}

BOOST_AUTO_TEST_CASE(require_strong_accepts_bindings_and_strong_rules) {
    Setup s;
    const auto alice = badge("alice").build();
    s.bindings("alice spki-sha256 " + alice.spki_sha256() + "\n");
    s.cfg.require_strong = true;
    expect_mapped(s.map(alice), "alice", Strength::strong);
    s.cfg.sources = {MappingSource::rules};
    auto strong = rule("{subject.uid}");
    strong.strong = true;
    s.add(strong);
    expect_mapped(s.map(badge("bob").build()), "bob", Strength::strong);
}

BOOST_AUTO_TEST_CASE(failed_account_lookup_refuses) {
    Setup s;
    s.add(rule("{subject.uid}"));
    FailingAccounts down;
    auto r = s.mapper(&down).map(badge("alice").build(), Purpose::login, std::nullopt);
    expect_refused(r, Code::io);
}

BOOST_AUTO_TEST_CASE(groups_and_certificate_facts_become_privileges) {
    Setup s;
    s.add(rule("{subject.uid}"));
    const auto c = Builder()
                       .subject("O", "Example Corp")
                       .subject("OU", "Engineering")
                       .subject_plus("OU", "Door Lab")
                       .subject("UID", "alice")
                       .policy(pivAuth)
                       .policy("1.3.6.1.4.1.99999.1")
                       .build();
    auto r = s.map(c);
    expect_mapped(r, "alice", Strength::weak);
    const Identity& id = *r.identity;
    BOOST_TEST(id.gid == 1001u);
    BOOST_TEST(id.groups == (std::vector<std::string>{"alice", "door-lab", "engineering", "wheel"}));
    for (const char* p : {"group:alice", "group:door-lab", "group:engineering", "group:wheel", "ou:Engineering",
                          "ou:Door Lab"}) {
        BOOST_TEST_INFO(p);
        BOOST_TEST(has(id.privileges, p));
    }
    BOOST_TEST(has(id.privileges, "policy:" + pivAuth));
    BOOST_TEST(has(id.privileges, "policy:1.3.6.1.4.1.99999.1"));
    BOOST_TEST(id.privileges.size() == 8u);
}

BOOST_AUTO_TEST_CASE(group_without_a_name_appears_as_its_number) {
    Setup s;
    s.add(rule("{subject.uid}"));
    auto r = s.map(badge("frank").build());  // primary gid 4242 has no group entry
    expect_mapped(r, "frank", Strength::weak);
    BOOST_TEST(r.identity->gid == 4242u);
    BOOST_TEST(r.identity->groups == std::vector<std::string>{"4242"});
    BOOST_TEST(has(r.identity->privileges, "group:4242"));
}

BOOST_AUTO_TEST_CASE(privileges_of_another_user_are_not_given) {
    Setup s;
    s.add(rule("{subject.uid}"));
    auto r = s.map(Builder().subject("OU", "Engineering").subject("UID", "carol").build());
    expect_mapped(r, "carol", Strength::weak);
    BOOST_TEST(r.identity->groups == (std::vector<std::string>{"carol", "door-lab"}));
    BOOST_TEST(!has(r.identity->privileges, "group:wheel"));
    BOOST_TEST(!has(r.identity->privileges, "group:engineering"));
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= Mapper: failures of the sources

BOOST_AUTO_TEST_SUITE(broken_sources)

BOOST_AUTO_TEST_CASE(missing_bindings_file_fails_create) {
    Setup s;
    s.cfg.bindings = s.dir / "absent";
    auto m = Mapper::create(s.cfg, config_path, s.nss);
    BOOST_REQUIRE(!m.ok());
    BOOST_TEST(m.code() == Code::config_io);
    BOOST_TEST(m.error().detail().rfind("mapping.bindings: ", 0) == 0, m.error().detail());
}

BOOST_AUTO_TEST_CASE(bindings_file_with_the_wrong_mode_fails_create) {
    for (mode_t mode : {0666, 0602}) {
        BOOST_TEST_CONTEXT("mode " << std::oct << mode) {
            Setup s;
            s.bindings("alice spki-sha256 " + badge("alice").build().spki_sha256() + "\n", mode);
            BOOST_TEST(Mapper::create(s.cfg, config_path, s.nss).code() == Code::config_file);
        }
    }
}

BOOST_AUTO_TEST_CASE(bindings_file_owned_by_someone_else_fails_create) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("not root: cannot give a file away; skipped");
        return;
    }
    Setup s;
    s.bindings("# nothing\n", 0644);
    BOOST_REQUIRE(::chown((s.dir / "bindings").c_str(), 4242, 4242) == 0);
    BOOST_TEST(Mapper::create(s.cfg, config_path, s.nss).code() == Code::config_file);
}

BOOST_AUTO_TEST_CASE(bindings_path_that_is_a_directory_fails_create) {
    Setup s;
    BOOST_REQUIRE(::mkdir((s.dir / "bindings.d").c_str(), 0700) == 0);
    s.cfg.bindings = s.dir / "bindings.d";
    BOOST_TEST(Mapper::create(s.cfg, config_path, s.nss).code() == Code::config_file);
}

BOOST_AUTO_TEST_CASE(bindings_file_with_a_bad_line_fails_create) {
    Setup s;
    s.bindings("alice spki-sha256 0123\n");
    auto m = Mapper::create(s.cfg, config_path, s.nss);
    BOOST_TEST(m.code() == Code::config_value);
    BOOST_TEST(m.error().detail().find(s.dir / "bindings" + ":1: ") != std::string::npos, m.error().detail());
}

BOOST_AUTO_TEST_CASE(bad_rule_issuer_fails_create) {
    Setup s;
    auto r = rule("{subject.uid}");
    r.issuer = "CN=Example Issuing CA, O=Example Corp";
    s.add(r);
    BOOST_TEST(Mapper::create(s.cfg, config_path, s.nss).code() == Code::config_value);
}

BOOST_AUTO_TEST_CASE(bindings_file_changed_in_place_refuses_the_mapping) {
    Setup s;
    const auto alice = badge("alice").build();
    s.bindings("alice spki-sha256 " + alice.spki_sha256() + "\n").add(rule("{subject.uid}"));
    auto m = s.mapper();
    BOOST_REQUIRE(::truncate((s.dir / "bindings").c_str(), 0) == 0);
    auto r = m.map(alice, Purpose::login, std::nullopt);
    expect_refused(r, Code::config_io);
    BOOST_TEST(r.steps.back().source == "sources");
}

BOOST_AUTO_TEST_CASE(rule_that_cannot_be_evaluated_refuses_the_mapping) {
    Setup s;
    auto r = rule("{subject.uid}");
    r.subject = "OU=Dep";
    s.add(r);
    Builder b;
    for (int i = 0; i < 20; ++i) b.subject("OU", "Department " + std::to_string(i) + std::string(50, 'x'));
    b.subject("UID", "alice");
    expect_refused(s.map(b.build()), Code::internal);
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= from the config file

BOOST_AUTO_TEST_SUITE(config_keys)

namespace {
const std::string head = "[trust]\nanchors = [\"/etc/cardgate/ca/root.pem\"]\nrevocation = \"none\"\n";
Result<Config> parse(const std::string& text) { return Config::parse(head + text, config_path); }
}  // namespace

BOOST_AUTO_TEST_CASE(mapping_keys_are_read) {
    auto c = parse("[mapping]\nbindings = \"/etc/cardgate/bindings\"\nrequire_strong = true\nmin_uid = 500\n"
                   "sources = [\"rules\", \"bindings\"]\nindex_dir = \"/var/cache/cg\"\n"
                   "[[mapping.rule]]\nissuer = \"CN=Example Issuing CA,O=Example Corp\"\nuser = \"{subject.uid}\"\n"
                   "eku = [\"clientAuth\"]\npolicies = [\"2.16.840.1.101.3.2.1.3.13\"]\nsan = [\"upn\"]\n"
                   "lowercase = true\nstrong = true\n");
    BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message()));
    const MappingConfig& m = c->mapping;
    BOOST_TEST(m.require_strong);
    BOOST_TEST(m.min_uid == 500u);
    BOOST_TEST((m.sources == std::vector<MappingSource>{MappingSource::rules, MappingSource::bindings}));
    BOOST_TEST(m.index_dir == "/var/cache/cg");
    BOOST_REQUIRE(m.rules.size() == 1u);
    const MappingRule& r = m.rules[0];
    BOOST_TEST(r.eku == std::vector<std::string>{"1.3.6.1.5.5.7.3.2"});
    BOOST_TEST(r.policies == std::vector<std::string>{pivAuth});
    BOOST_TEST(r.san == std::vector<std::string>{"upn"});
    BOOST_TEST(r.lowercase);
    BOOST_TEST(r.strong);
}

BOOST_AUTO_TEST_CASE(defaults_are_strict) {
    auto c = parse("");
    BOOST_REQUIRE(c.ok());
    BOOST_TEST(!c->mapping.allow_root);
    BOOST_TEST(!c->mapping.require_strong);
    BOOST_TEST(c->mapping.min_uid == 1000u);
}

BOOST_AUTO_TEST_CASE(bad_mapping_values_are_refused) {
    const std::pair<std::string, Code> cases[] = {
        {"[mapping]\nsources = [\"ldap\"]\n", Code::config_value},
        {"[mapping]\nsources = []\n", Code::config_value},
        {"[mapping]\nsources = [\"rules\", \"rules\"]\n", Code::config_value},
        {"[mapping]\nsources = [\"bindings\"]\n", Code::config_missing},
        {"[mapping]\nmin_uid = 0\n", Code::config_value},
        {"[mapping]\nmin_uid = -5\n", Code::config_value},
        {"[mapping]\nmin_uid = \"1000\"\n", Code::config_type},
        {"[mapping]\nrequire_strong = \"yes\"\n", Code::config_type},
        {"[mapping]\nindex_dir = \"relative/dir\"\n", Code::config_value},
        {"[mapping]\nstrict = true\n", Code::config_unknown_key},
    };
    for (const auto& [text, code] : cases) {
        BOOST_TEST_CONTEXT(text) { BOOST_TEST(parse(text).code() == code); }
    }
}

BOOST_AUTO_TEST_CASE(bad_rule_values_are_refused) {
    const std::string rule_head = "[[mapping.rule]]\nissuer = \"CN=Example Issuing CA,O=Example Corp\"\nuser = \"{subject.uid}\"\n";
    const std::pair<std::string, Code> cases[] = {
        {"eku = [\"anyExtendedKeyUsage\"]\n", Code::config_value},
        {"eku = [\"2.5.29.37.0\"]\n", Code::config_value},
        {"eku = [\"frobnicate\"]\n", Code::config_value},
        {"policies = [\"not-an-oid\"]\n", Code::config_value},
        {"policies = [\"2.16.840.1.101.3.2.1.3.13.\"]\n", Code::config_value},
        {"san = [\"dns\"]\n", Code::config_value},
        {"san = \"upn\"\n", Code::config_type},
        {"lowercase = 1\n", Code::config_type},
        {"strong = \"true\"\n", Code::config_type},
        {"subject = \"(unclosed\"\n", Code::config_value},
        {"group = \"wheel\"\n", Code::config_unknown_key},
    };
    for (const auto& [text, code] : cases) {
        BOOST_TEST_CONTEXT(text) { BOOST_TEST(parse(rule_head + text).code() == code); }
    }
    BOOST_TEST(parse("[[mapping.rule]]\nuser = \"{subject.uid}\"\n").code() == Code::config_missing);
    BOOST_TEST(parse("[[mapping.rule]]\nissuer = \"CN=X\"\n").code() == Code::config_missing);
    BOOST_TEST(parse("[[mapping.rule]]\nissuer = \"CN=X, O=Y\"\nuser = \"{subject.uid}\"\n").code() == Code::config_value);
    BOOST_TEST(parse("[[mapping.rule]]\nissuer = \"CN=X\"\nuser = \"{subject.bogus}\"\n").code() == Code::config_value);
}

BOOST_AUTO_TEST_CASE(mapper_built_from_a_parsed_config_maps) {
    require_nss_wrapper();
    auto c = parse("[mapping]\nsources = [\"rules\"]\n"
                   "[[mapping.rule]]\nissuer = \"cn=example issuing ca,o=example corp\"\n"
                   "subject = \",OU=Engineering,O=Example Corp$\"\nuser = \"{subject.uid}\"\n"
                   "[[mapping.rule]]\nissuer = \"CN=Example lssuing CA,O=Example Corp\"\nuser = \"root\"\n");
    BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message()));
    NssAccounts nss;
    auto m = Mapper::create(std::move(c->mapping), config_path, nss);
    BOOST_REQUIRE(m.ok());
    auto r = m->map(badge("alice").build(), Purpose::login, std::nullopt);
    expect_mapped(r, "alice", Strength::weak);
    BOOST_TEST(r.identity->source == "rule " + config_path + ":6");
    expect_refused(m->map(badge("bob", "Sales").build(), Purpose::login, std::nullopt), Code::map_unmapped);
}

BOOST_AUTO_TEST_SUITE_END()
