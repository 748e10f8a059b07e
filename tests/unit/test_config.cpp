// The config file: strict TOML, fail closed, every error names file:line:col and the key.
#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <string>

#include "src/config.hpp"
#include "src/duration.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
}  // namespace cardgate

using namespace cardgate;
using namespace std::chrono_literals;

namespace {

const std::string minimal = "[trust]\nanchors = [\"/etc/cardgate/ca/root.pem\"]\nrevocation = \"none\"\n";

template <typename T>
std::string why(const Result<T>& r) {
    return r.ok() ? std::string() : r.error().message();
}

Result<Config> parse(const std::string& text) { return Config::parse(text, "/etc/cardgate/cardgate.conf"); }

// Asserts the code and that the detail starts with "<path>:<where>: <key>: " and contains `says`.
void expect(const std::string& text, Code code, const std::string& where, const std::string& key,
            const std::string& says = "") {
    auto r = parse(text);
    BOOST_TEST_INFO("config:\n" << text);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == code);
    const std::string prefix = "/etc/cardgate/cardgate.conf:" + where + ": " + key + ": ";
    BOOST_TEST(r.error().detail().rfind(prefix, 0) == 0, "detail: " << r.error().detail() << "\nwanted prefix: " << prefix);
    if (!says.empty())
        BOOST_TEST(r.error().detail().find(says) != std::string::npos,
                   "detail: " << r.error().detail() << "\nwanted: " << says);
}

std::string with_trust(const std::string& trust_body, const std::string& rest = "") {
    return "[trust]\n" + trust_body + rest;
}

const std::string anchors = "anchors = [\"/ca/root.pem\"]\n";

std::string temp_file(const std::string& text) {
    char tmpl[] = "/tmp/cardgate-config-XXXXXX";
    const int fd = mkstemp(tmpl);
    BOOST_REQUIRE(fd >= 0);
    BOOST_REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fd);
    return tmpl;
}

}  // namespace

// ----------------------------------------------------------------- happy paths

BOOST_AUTO_TEST_CASE(minimal_config_gets_the_spec_defaults) {
    auto r = parse(minimal);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    const Config& c = *r;
    BOOST_TEST(c.path == "/etc/cardgate/cardgate.conf");
    BOOST_TEST(c.token.module == CARDGATE_DEFAULT_MODULE);
    BOOST_TEST(!c.token.uri.has_value());
    BOOST_TEST(c.token.timeout.count() == 10000);
    BOOST_TEST(c.token.wait_for_card.count() == 0);
    BOOST_TEST(c.trust.anchors == std::vector<std::string>{"/etc/cardgate/ca/root.pem"});
    BOOST_TEST(c.trust.revocation.empty());
    BOOST_TEST(!c.trust.on_unknown_allow);
    BOOST_TEST(!c.trust.checks_crl());
    BOOST_TEST((c.purpose(Purpose::login).eku == std::vector<std::string>{"1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.20.2.2"}));
    BOOST_TEST(c.purpose(Purpose::tls).eku == std::vector<std::string>{"1.3.6.1.5.5.7.3.2"});
    BOOST_TEST(c.purpose(Purpose::door).eku == std::vector<std::string>{"2.16.840.1.101.3.6.8"});
    BOOST_TEST(!c.mapping.bindings.has_value());
    BOOST_TEST(!c.mapping.allow_root);
    BOOST_TEST(c.mapping.rules.empty());
}

BOOST_AUTO_TEST_CASE(the_spec_example_parses_to_what_it_says) {
    const std::string text = R"([token]
module = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
uri = "pkcs11:manufacturer=piv_II"
timeout = "10s"
wait_for_card = "0s"

[trust]
anchors = ["/etc/cardgate/ca/root.pem"]
intermediates = ["/etc/cardgate/ca/issuing.pem"]
crls = ["/etc/cardgate/crl/issuing.crl"]
revocation = "crl"
on_unknown = "deny"

[purpose.login]
eku = ["clientAuth", "msSmartcardLogin"]

[purpose.door]
eku = ["pivCardAuth", "1.3.6.1.4.1.99999.1"]

[purpose.tls]
eku = []

[mapping]
bindings = "/etc/cardgate/bindings"
allow_root = false

[[mapping.rule]]
issuer = "CN=Example Issuing CA,O=Example Corp"
subject = ",OU=Engineering,O=Example Corp$"
user = "{subject.uid}"

[[mapping.rule]]
issuer = "CN=Example Issuing CA,O=Example Corp"
user = "{san.upn.local}"
)";
    auto r = parse(text);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    const Config& c = *r;
    BOOST_TEST(c.token.module == "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so");
    BOOST_TEST(*c.token.uri == "pkcs11:manufacturer=piv_II");
    BOOST_TEST(c.token.timeout.count() == 10000);
    BOOST_TEST(c.trust.intermediates == std::vector<std::string>{"/etc/cardgate/ca/issuing.pem"});
    BOOST_TEST(c.trust.crls == std::vector<std::string>{"/etc/cardgate/crl/issuing.crl"});
    BOOST_TEST(c.trust.checks_crl());
    BOOST_TEST(c.trust.origin.at("anchors") == "/etc/cardgate/cardgate.conf:8:11");
    BOOST_TEST(c.purpose(Purpose::tls).eku.empty());
    BOOST_TEST((c.purpose(Purpose::door).eku == std::vector<std::string>{"2.16.840.1.101.3.6.8", "1.3.6.1.4.1.99999.1"}));
    BOOST_TEST(*c.mapping.bindings == "/etc/cardgate/bindings");
    BOOST_REQUIRE(c.mapping.rules.size() == 2u);
    BOOST_TEST(c.mapping.rules[0].issuer == "CN=Example Issuing CA,O=Example Corp");
    BOOST_TEST(*c.mapping.rules[0].subject == ",OU=Engineering,O=Example Corp$");
    BOOST_TEST(c.mapping.rules[0].user == "{subject.uid}");
    BOOST_TEST(c.mapping.rules[0].line == 27);
    BOOST_TEST(!c.mapping.rules[1].subject.has_value());
    BOOST_TEST(c.mapping.rules[1].line == 32);
}

BOOST_AUTO_TEST_CASE(on_unknown_allow_and_revocation_none_are_read) {
    auto r = parse(with_trust(anchors + "revocation = \"none\"\non_unknown = \"allow\"\n"));
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->trust.on_unknown_allow);
    BOOST_TEST(r->trust.revocation.empty());
}

BOOST_AUTO_TEST_CASE(default_constructed_config_answers_purpose_with_the_defaults) {
    Config c;
    BOOST_TEST(c.purpose(Purpose::door).eku == std::vector<std::string>{"2.16.840.1.101.3.6.8"});
}

// ----------------------------------------------------------------- syntax and unknown keys

BOOST_AUTO_TEST_CASE(toml_syntax_error_is_config_syntax_with_line_and_column) {
    auto r = parse("[trust]\nanchors = [\"/a\"\n");
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == Code::config_syntax);
    BOOST_TEST(r.error().detail().rfind("/etc/cardgate/cardgate.conf:", 0) == 0);
}

BOOST_AUTO_TEST_CASE(duplicate_key_is_a_syntax_error) {
    auto r = parse(minimal + "anchors = [\"/b\"]\n");
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == Code::config_syntax);
    BOOST_TEST(r.error().detail().rfind("/etc/cardgate/cardgate.conf:4:", 0) == 0, r.error().detail());
}

BOOST_AUTO_TEST_CASE(unknown_top_level_key_is_refused) {
    expect("verbose = true\n" + minimal, Code::config_unknown_key, "1:1", "verbose", "allowed at the top level");
}

BOOST_AUTO_TEST_CASE(unknown_section_is_refused) {
    expect(minimal + "[tokens]\nmodule = \"/x.so\"\n", Code::config_unknown_key, "4:2", "tokens");
}

BOOST_AUTO_TEST_CASE(unknown_key_in_token_is_refused_and_names_the_allowed_keys) {
    expect("[token]\ntimeout = \"5s\"\ntimout = \"5s\"\n" + minimal, Code::config_unknown_key, "3:1", "token.timout",
           "module, uri, timeout, wait_for_card");
}

BOOST_AUTO_TEST_CASE(misspelt_key_in_trust_is_refused_not_ignored) {
    expect(with_trust(anchors + "revocaton = \"crl\"\n"), Code::config_unknown_key, "3:1", "trust.revocaton");
}

BOOST_AUTO_TEST_CASE(first_unknown_key_in_file_order_is_reported) {
    expect(with_trust(anchors + "zzz = 1\naaa = 2\n"), Code::config_unknown_key, "3:1", "trust.zzz");
}

BOOST_AUTO_TEST_CASE(unknown_purpose_is_refused) {
    expect(minimal + "[purpose.vpn]\neku = []\n", Code::config_unknown_key, "4:10", "purpose.vpn", "login, tls, door");
}

BOOST_AUTO_TEST_CASE(unknown_key_in_purpose_section_is_refused) {
    expect(minimal + "[purpose.login]\neku = []\nekus = []\n", Code::config_unknown_key, "6:1", "purpose.login.ekus");
}

BOOST_AUTO_TEST_CASE(unknown_key_in_mapping_rule_is_refused) {
    expect(minimal + "[[mapping.rule]]\nissuer = \"CN=X\"\nuser = \"{serial}\"\ngroup = \"wheel\"\n",
           Code::config_unknown_key, "7:1", "mapping.rule[0].group", "issuer, subject, user");
}

BOOST_AUTO_TEST_CASE(unknown_key_in_mapping_is_refused) {
    expect(minimal + "[mapping]\nallow_roots = true\n", Code::config_unknown_key, "5:1", "mapping.allow_roots");
}

// ----------------------------------------------------------------- types

BOOST_AUTO_TEST_CASE(integer_timeout_is_a_type_error_with_exact_position) {
    expect("[token]\nmodule = \"/m.so\"\n\ntimeout = 10\n" + minimal, Code::config_type, "4:11", "token.timeout",
           "expected a duration string");
}

BOOST_AUTO_TEST_CASE(anchors_as_a_string_is_a_type_error) {
    expect("[trust]\nanchors = \"/ca/root.pem\"\n", Code::config_type, "2:11", "trust.anchors", "an array of strings");
}

BOOST_AUTO_TEST_CASE(non_string_in_anchors_is_a_type_error) {
    expect("[trust]\nanchors = [\"/a\", 3]\n", Code::config_type, "2:18", "trust.anchors", "got an integer");
}

BOOST_AUTO_TEST_CASE(allow_root_as_a_string_is_a_type_error) {
    expect(minimal + "[mapping]\nallow_root = \"false\"\n", Code::config_type, "5:14", "mapping.allow_root", "true or false");
}

BOOST_AUTO_TEST_CASE(section_given_as_a_value_is_a_type_error) {
    expect("token = \"x\"\n" + minimal, Code::config_type, "1:9", "token", "a table");
}

BOOST_AUTO_TEST_CASE(single_mapping_rule_table_is_a_type_error) {
    expect(minimal + "[mapping.rule]\nissuer = \"CN=X\"\nuser = \"x\"\n", Code::config_type, "4:1", "mapping.rule",
           "[[mapping.rule]]");
}

BOOST_AUTO_TEST_CASE(eku_as_a_string_is_a_type_error) {
    expect(minimal + "[purpose.login]\neku = \"clientAuth\"\n", Code::config_type, "5:7", "purpose.login.eku");
}

// ----------------------------------------------------------------- durations

BOOST_AUTO_TEST_CASE(every_duration_unit_is_read) {
    const std::pair<const char*, std::int64_t> ok[] = {
        {"1500ms", 1500}, {"10s", 10000}, {"5m", 300000}, {"24h", 86400000}, {"30d", 2592000000},
        {"2592000s", 2592000000}, {"0007s", 7000},
    };
    for (const auto& [text, ms] : ok) {
        auto r = parse("[token]\ntimeout = \"" + std::string(text) + "\"\n" + minimal);
        BOOST_TEST_INFO(text);
        BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
        BOOST_TEST(r->token.timeout.count() == ms);
    }
}

BOOST_AUTO_TEST_CASE(the_spec_example_of_a_bad_duration_reads_as_documented) {
    expect("[token]\nmodule = \"/m.so\"\n\ntimeout = \"10 s\"\n" + minimal, Code::config_value, "4:11", "token.timeout",
           "\"10 s\" is not a duration");
}

BOOST_AUTO_TEST_CASE(malformed_durations_are_refused) {
    for (const char* bad : {"", "s", "10", "-5s", "+5s", "5sec", "1.5s", "1h30m", " 5s", "5s ", "5S", "0x10s", "5s\\u0000", "\\u00b55s"}) {
        BOOST_TEST_INFO(bad);
        expect("[token]\nwait_for_card = \"" + std::string(bad) + "\"\n" + minimal, Code::config_value, "2:17",
               "token.wait_for_card", "use e.g.");
    }
}

BOOST_AUTO_TEST_CASE(overlong_and_overflowing_durations_are_refused) {
    expect("[token]\ntimeout = \"31d\"\n" + minimal, Code::config_value, "2:11", "token.timeout", "at most 30d");
    expect("[token]\ntimeout = \"2592000001ms\"\n" + minimal, Code::config_value, "2:11", "token.timeout", "at most 30d");
    expect("[token]\ntimeout = \"99999999999999999999999999s\"\n" + minimal, Code::config_value, "2:11", "token.timeout");
    expect("[token]\ntimeout = \"18446744073709551615d\"\n" + minimal, Code::config_value, "2:11", "token.timeout");
}

BOOST_AUTO_TEST_CASE(zero_timeout_is_refused_but_zero_wait_is_allowed) {
    expect("[token]\ntimeout = \"0s\"\n" + minimal, Code::config_value, "2:11", "token.timeout", "longer than 0");
    auto r = parse("[token]\nwait_for_card = \"0ms\"\n" + minimal);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->token.wait_for_card.count() == 0);
}

BOOST_AUTO_TEST_CASE(duration_formatting_round_trips) {
    BOOST_TEST(format_duration(10s) == "10s");
    BOOST_TEST(format_duration(1500ms) == "1500ms");
    BOOST_TEST(format_duration(std::chrono::hours(24 * 30)) == "30d");
    BOOST_TEST(format_duration(0ms) == "0s");
    BOOST_TEST(parse_duration("90m")->count() == 5400000);
    BOOST_TEST(parse_duration("2h", 1h).code() == Code::config_value);
}

// ----------------------------------------------------------------- token values

BOOST_AUTO_TEST_CASE(relative_module_path_is_refused) {
    expect("[token]\nmodule = \"opensc-pkcs11.so\"\n" + minimal, Code::config_value, "2:10", "token.module", "absolute path");
}

BOOST_AUTO_TEST_CASE(uri_must_be_a_pkcs11_uri) {
    expect("[token]\nuri = \"manufacturer=piv_II\"\n" + minimal, Code::config_value, "2:7", "token.uri", "pkcs11:");
}

// ----------------------------------------------------------------- trust values

BOOST_AUTO_TEST_CASE(missing_trust_section_is_config_missing) {
    expect("[token]\ntimeout = \"5s\"\n", Code::config_missing, "1:1", "trust");
}

BOOST_AUTO_TEST_CASE(missing_or_empty_anchors_is_config_missing) {
    expect("[trust]\non_unknown = \"deny\"\n", Code::config_missing, "1:1", "trust.anchors", "at least one");
    expect("[trust]\nanchors = []\n", Code::config_missing, "2:11", "trust.anchors", "at least one");
}

BOOST_AUTO_TEST_CASE(relative_anchor_path_is_refused) {
    expect("[trust]\nanchors = [\"/ok.pem\", \"ca/root.pem\"]\n", Code::config_value, "2:23", "trust.anchors",
           "absolute path");
    expect("[trust]\nanchors = [\"\"]\n", Code::config_value, "2:12", "trust.anchors", "absolute path");
}

BOOST_AUTO_TEST_CASE(ocsp_revocation_settings_parse) {
    auto r = parse(with_trust(anchors + "revocation = \"ocsp,crl\"\nfetch_crls = true\n"
                                        "ocsp_responder = \"http://127.0.0.1:18888/\"\nocsp_nonce = false\n"
                                        "ocsp_max_age = \"2d\"\nmax_staleness = \"24h\"\nfetch_timeout = \"3s\"\n"
                                        "crl_max_size = 2048\ncache_dir = \"/var/tmp/rev\"\n"));
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    const TrustConfig& t = r->trust;
    BOOST_TEST((t.revocation == std::vector{RevocationSource::ocsp, RevocationSource::crl}));
    BOOST_TEST(t.checks_ocsp());
    BOOST_TEST(t.checks_crl());
    BOOST_TEST(t.fetch_crls);
    BOOST_TEST(*t.ocsp_responder == "http://127.0.0.1:18888/");
    BOOST_TEST(!t.ocsp_nonce);
    BOOST_TEST(t.ocsp_max_age.count() == 2 * 86400 * 1000);
    BOOST_TEST(t.max_staleness.count() == 86400 * 1000);
    BOOST_TEST(t.fetch_timeout.count() == 3000);
    BOOST_TEST(t.crl_max_size == 2048u);
    BOOST_TEST(t.cache_dir == "/var/tmp/rev");
}

BOOST_AUTO_TEST_CASE(revocation_defaults_are_the_safe_ones) {
    auto r = parse(with_trust(anchors + "revocation = \"ocsp\"\n"));
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    const TrustConfig& t = r->trust;
    BOOST_TEST(t.checks_ocsp());
    BOOST_TEST(!t.checks_crl());
    BOOST_TEST(!t.fetch_crls);
    BOOST_TEST(t.ocsp_nonce);
    BOOST_TEST(!t.on_unknown_allow);
    BOOST_TEST(t.max_staleness.count() == 0);
    BOOST_TEST(!t.ocsp_responder.has_value());
}

BOOST_AUTO_TEST_CASE(bad_revocation_settings_are_refused) {
    const std::pair<const char*, const char*> cases[] = {
        {"ocsp_responder = \"file:///etc/passwd\"", "http:// or https://"},
        {"ocsp_responder = \"ldap://ca.example/\"", "http:// or https://"},
        {"ocsp_responder = \"http://\"", "http:// or https://"},
        {"ocsp_responder = \"http://user:pw@ocsp.example/\"", "http:// or https://"},
        {"ocsp_max_age = \"0s\"", "longer than 0"},
        {"fetch_timeout = \"0s\"", "longer than 0"},
        {"fetch_timeout = \"6m\"", "at most"},
        {"max_staleness = \"soon\"", "trust.max_staleness"},
        {"crl_max_size = 12", "out of range"},
        {"crl_max_size = 9999999999", "out of range"},
        {"cache_dir = \"cache\"", "absolute path"},
    };
    for (const auto& [line, why_] : cases) {
        BOOST_TEST_INFO(line);
        const std::string key(line, std::string_view(line).find(' '));
        expect(with_trust(anchors + "revocation = \"ocsp\"\n" + line + "\n"), Code::config_value,
               "4:" + std::to_string(key.size() + 4), "trust." + key, why_);
    }
    expect(with_trust(anchors + "revocation = \"ocsp\"\nfetch_crls = \"yes\"\n"), Code::config_type, "4:14",
           "trust.fetch_crls");
    expect(with_trust(anchors + "revocation = \"ocsp\"\ncrl_max_size = \"1M\"\n"), Code::config_type, "4:16",
           "trust.crl_max_size");
    // "ocsp,crl" needs CRLs just like "crl"; fetch_crls counts.
    expect(with_trust(anchors + "revocation = \"ocsp,crl\"\n"), Code::config_missing, "3:14", "trust.revocation",
           "trust.fetch_crls");
    BOOST_TEST(parse(with_trust(anchors + "revocation = \"crl\"\nfetch_crls = true\n")).ok());
}

BOOST_AUTO_TEST_CASE(unknown_revocation_value_is_refused) {
    for (const char* v : {"crl,ocsp", "CRL", "", "crl ", "yes"}) {
        BOOST_TEST_INFO(v);
        expect(with_trust(anchors + "crls = [\"/c.crl\"]\nrevocation = \"" + v + "\"\n"), Code::config_value, "4:14",
               "trust.revocation", "\"none\", \"crl\"");
    }
}

BOOST_AUTO_TEST_CASE(crl_revocation_without_crls_is_config_missing) {
    expect(with_trust(anchors + "revocation = \"crl\"\n"), Code::config_missing, "3:14", "trust.revocation", "trust.crls");
    expect(with_trust(anchors + "crls = []\nrevocation = \"crl\"\n"), Code::config_missing, "4:14", "trust.revocation");
}

BOOST_AUTO_TEST_CASE(crls_without_a_revocation_setting_is_config_missing) {
    expect(with_trust(anchors + "crls = [\"/c.crl\"]\n"), Code::config_missing, "1:1", "trust.revocation",
           "\"none\" to not check it");
}

BOOST_AUTO_TEST_CASE(missing_revocation_is_config_missing) {
    // No silent default for a security control.
    expect(with_trust(anchors), Code::config_missing, "1:1", "trust.revocation", "or \"none\" to not check");
}

BOOST_AUTO_TEST_CASE(revocation_none_must_be_written_to_turn_checking_off) {
    auto r = parse(with_trust(anchors + "revocation = \"none\"\n"));
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->trust.revocation.empty());
    BOOST_TEST(!r->trust.checks_crl());
}

BOOST_AUTO_TEST_CASE(on_unknown_other_than_deny_or_allow_is_refused) {
    expect(with_trust(anchors + "revocation = \"none\"\non_unknown = \"ignore\"\n"), Code::config_value, "4:14", "trust.on_unknown",
           "\"deny\" or \"allow\"");
    expect(with_trust(anchors + "revocation = \"none\"\non_unknown = false\n"), Code::config_type, "4:14", "trust.on_unknown");
}

// ----------------------------------------------------------------- purposes and EKUs

BOOST_AUTO_TEST_CASE(eku_names_and_dotted_oids_resolve) {
    auto r = parse(minimal + "[purpose.tls]\neku = [\"serverAuth\", \"emailProtection\", \"codeSigning\", "
                             "\"msSmartcardLogin\", \"pivCardAuth\", \"clientAuth\", \"1.2.840.113549.1.1.1\", \"clientAuth\"]\n");
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST((r->purpose(Purpose::tls).eku ==
                std::vector<std::string>{"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.4", "1.3.6.1.5.5.7.3.3",
                                         "1.3.6.1.4.1.311.20.2.2", "2.16.840.1.101.3.6.8", "1.3.6.1.5.5.7.3.2",
                                         "1.2.840.113549.1.1.1"}));
    // Untouched purposes keep their defaults.
    BOOST_TEST(r->purpose(Purpose::door).eku == std::vector<std::string>{"2.16.840.1.101.3.6.8"});
}

BOOST_AUTO_TEST_CASE(empty_eku_list_means_none_required) {
    auto r = parse(minimal + "[purpose.door]\neku = []\n");
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->purpose(Purpose::door).eku.empty());
}

BOOST_AUTO_TEST_CASE(any_extended_key_usage_is_refused_by_name_and_by_oid) {
    expect(minimal + "[purpose.login]\neku = [\"clientAuth\", \"anyExtendedKeyUsage\"]\n", Code::config_value, "5:22",
           "purpose.login.eku", "anyExtendedKeyUsage is refused");
    expect(minimal + "[purpose.login]\neku = [\"2.5.29.37.0\"]\n", Code::config_value, "5:8", "purpose.login.eku",
           "anyExtendedKeyUsage is refused");
}

BOOST_AUTO_TEST_CASE(unknown_eku_names_and_bad_oids_are_refused) {
    for (const char* bad : {"clientauth", "ClientAuth", "smartcardLogon", "1", "1.", ".1.2", "1..2", "1.2.x", "1.02.3",
                            "99.1", "1.3.6.1 ", ""}) {
        BOOST_TEST_INFO(bad);
        expect(minimal + "[purpose.door]\neku = [\"" + bad + "\"]\n", Code::config_value, "5:8", "purpose.door.eku");
    }
}

BOOST_AUTO_TEST_CASE(purpose_section_without_eku_is_config_missing) {
    expect(minimal + "[purpose.login]\n", Code::config_missing, "4:1", "purpose.login.eku", "[] = no EKU required");
}

BOOST_AUTO_TEST_CASE(purpose_given_as_a_value_is_a_type_error) {
    expect(minimal + "[purpose]\nlogin = [\"clientAuth\"]\n", Code::config_type, "5:9", "purpose.login", "a table");
}

// ----------------------------------------------------------------- mapping

BOOST_AUTO_TEST_CASE(relative_bindings_path_is_refused) {
    expect(minimal + "[mapping]\nbindings = \"bindings\"\n", Code::config_value, "5:12", "mapping.bindings", "absolute");
}

BOOST_AUTO_TEST_CASE(rule_without_issuer_or_user_is_config_missing) {
    expect(minimal + "[[mapping.rule]]\nuser = \"{subject.uid}\"\n", Code::config_missing, "4:1", "mapping.rule[0].issuer");
    expect(minimal + "[[mapping.rule]]\nissuer = \"CN=X\"\n", Code::config_missing, "4:1", "mapping.rule[0].user");
}

BOOST_AUTO_TEST_CASE(issuer_that_is_not_an_rfc4514_dn_is_refused) {
    for (const char* bad : {"Example Issuing CA", "CN=Example Issuing CA, O=Example Corp", "CN=A,", "=A", "CN=A;O=B",
                            "CN=a\\zz", "CN=#abc", "CN=A<B", "", "2.5.4.3=#0c0141,O=X", "CN=,O=X",
                            "NOSUCHATTR=x,O=X", "CN=caf\\C3,O=X"}) {
        BOOST_TEST_INFO(bad);
        expect(minimal + "[[mapping.rule]]\nissuer = '" + bad + "'\nuser = \"{serial}\"\n", Code::config_value, "5:10",
               "mapping.rule[0].issuer", "not an RFC 4514 DN");
    }
}

BOOST_AUTO_TEST_CASE(escaped_and_multivalued_issuers_are_accepted) {
    for (const char* good : {"CN=Example\\, Inc.,O=Example Corp", "CN=A+UID=b,O=C", "2.5.4.3=A,O=X",
                             "CN=\\23hash\\20,O=X", "CN=caf\\C3\\A9,O=X", "CN=café,O=X", "uid=alice,dc=example,dc=com"}) {
        BOOST_TEST_INFO(good);
        auto r = parse(minimal + "[[mapping.rule]]\nissuer = '" + good + "'\nuser = \"{serial}\"\n");
        BOOST_TEST(r.ok(), why(r));
    }
}

BOOST_AUTO_TEST_CASE(login_pin_pattern_is_an_optional_ecmascript_regex) {
    auto none = parse(minimal);
    BOOST_REQUIRE_MESSAGE(none.ok(), why(none));
    BOOST_TEST(!none->login.pin_pattern.has_value());
    auto r = parse(minimal + "[login]\npin_pattern = '[0-9]{6,8}'\n");
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->login.pin_pattern.value_or("") == "[0-9]{6,8}");
    expect(minimal + "[login]\npin_pattern = '(unclosed'\n", Code::config_value, "5:15", "login.pin_pattern",
           "not a valid ECMAScript regular expression");
    expect(minimal + "[login]\npin_pattern = ''\n", Code::config_value, "5:15", "login.pin_pattern",
           "leave the key out");
    expect(minimal + "[login]\npin_pattern = 6\n", Code::config_type, "5:15", "login.pin_pattern");
}

BOOST_AUTO_TEST_CASE(subject_regex_that_does_not_compile_is_refused) {
    for (const char* bad : {"(unclosed", "[a-", "a{2,1}", "*x", "\\"}) {
        BOOST_TEST_INFO(bad);
        expect(minimal + "[[mapping.rule]]\nissuer = \"CN=X\"\nsubject = '" + bad + "'\nuser = \"{serial}\"\n",
               Code::config_value, "6:11", "mapping.rule[0].subject", "not a valid ECMAScript regular expression");
    }
}

BOOST_AUTO_TEST_CASE(user_template_with_bad_braces_or_fields_is_refused) {
    const std::pair<const char*, const char*> bad[] = {
        {"{subject.uid", "unbalanced '{'"},   {"uid}", "unbalanced '}'"},   {"{a{subject.uid}}", "nested '{'"},
        {"{subject.}", "unknown field"},      {"{subject}", "unknown field"}, {"{san.dns}", "unknown field"},
        {"{SERIAL}", "unknown field"},        {"{}", "unknown field"},        {"", "is empty"},
        {"{subject.u id}", "unknown field"},  {"}{", "unbalanced '}'"},
    };
    for (const auto& [tmpl, why] : bad) {
        BOOST_TEST_INFO(tmpl);
        expect(minimal + "[[mapping.rule]]\nissuer = \"CN=X\"\nuser = '" + tmpl + "'\n", Code::config_value, "6:8",
               "mapping.rule[0].user", why);
    }
}

BOOST_AUTO_TEST_CASE(every_template_field_is_accepted) {
    for (const char* good : {"{subject.uid}", "{subject.cn}", "{subject.0.9.2342.19200300.100.1.1}", "{san.email}",
                             "{san.email.local}", "{san.upn}", "{san.upn.local}", "{serial}", "u-{serial}-{subject.ou}",
                             "alice"}) {
        BOOST_TEST_INFO(good);
        auto r = parse(minimal + "[[mapping.rule]]\nissuer = \"CN=X\"\nuser = '" + good + "'\n");
        BOOST_TEST(r.ok(), why(r));
    }
}

BOOST_AUTO_TEST_CASE(errors_in_a_later_rule_name_that_rule) {
    expect(minimal + "[[mapping.rule]]\nissuer = \"CN=X\"\nuser = \"{serial}\"\n\n[[mapping.rule]]\nissuer = \"CN=Y\"\n"
                     "user = \"{subject.uid\"\n",
           Code::config_value, "10:8", "mapping.rule[1].user");
}

// ----------------------------------------------------------------- the file itself

BOOST_AUTO_TEST_CASE(load_reads_a_protected_file) {
    const std::string path = temp_file(minimal);
    chmod(path.c_str(), 0644);
    auto r = Config::load(path);
    BOOST_TEST(r.ok(), why(r));
    if (r.ok()) BOOST_TEST(r->path == path);
    std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(world_writable_config_is_refused) {
    const std::string path = temp_file(minimal);
    chmod(path.c_str(), 0666);
    auto r = Config::load(path);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == Code::config_file);
    BOOST_TEST(r.error().detail() == path + ": file is world-writable; anyone could change who is trusted (fix: chmod o-w " +
                                         path + ")");
    std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(config_owned_by_another_user_is_refused) {
    if (geteuid() != 0) {
        BOOST_TEST_MESSAGE("skipped: needs root to chown");
        return;
    }
    const std::string path = temp_file(minimal);
    chmod(path.c_str(), 0644);
    BOOST_REQUIRE(chown(path.c_str(), 4242, 4242) == 0);
    auto r = Config::load(path);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == Code::config_file);
    BOOST_TEST(r.error().detail().find("owned by uid 4242") != std::string::npos, r.error().detail());
    std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(missing_config_is_config_io) {
    auto r = Config::load("/nonexistent/cardgate.conf");
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == Code::config_io);
    BOOST_TEST(r.error().detail().rfind("/nonexistent/cardgate.conf: cannot open", 0) == 0, r.error().detail());
}

BOOST_AUTO_TEST_CASE(directory_as_config_is_refused) {
    auto r = Config::load("/tmp");
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == Code::config_file);
    BOOST_TEST(r.error().detail() == "/tmp: is not a regular file");
}

BOOST_AUTO_TEST_CASE(errors_from_load_carry_the_real_path) {
    const std::string path = temp_file("[trust]\nanchors = [\"/a\"]\nbogus = 1\n");
    chmod(path.c_str(), 0600);
    auto r = Config::load(path);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == Code::config_unknown_key);
    BOOST_TEST(r.error().detail().rfind(path + ":3:1: trust.bogus: unknown key", 0) == 0, r.error().detail());
    std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(config_files_in_the_source_tree_parse_as_their_names_say) {
    const char* src = std::getenv("CARDGATE_SRCDIR");
    if (!src) {
        BOOST_TEST_MESSAGE("skipped: CARDGATE_SRCDIR not set");
        return;
    }
    const std::string dir = std::string(src) + "/tests/fixtures/configs/";
    const std::pair<const char*, Code> files[] = {
        {"good-full.conf", Code::ok},
        {"bad-unknown-key.conf", Code::config_unknown_key},
        {"bad-ocsp-responder.conf", Code::config_value},
        {"bad-duration.conf", Code::config_value},
    };
    for (const auto& [file, code] : files) {
        std::ifstream in(dir + file);
        BOOST_TEST_INFO(file);
        BOOST_REQUIRE(in.good());
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto r = Config::parse(text, file);
        BOOST_TEST(r.code() == code, why(r));
    }
}

// ----------------------------------------------------------------- mapping keys (identity issue)

BOOST_AUTO_TEST_CASE(every_rule_condition_key_is_parsed) {
    auto r = parse(minimal + "[mapping]\nrequire_strong = true\nmin_uid = 5000\nsources = [\"rules\"]\n"
                             "index_dir = \"/var/cache/x\"\n[[mapping.rule]]\nissuer = \"CN=X\"\nuser = \"{san.upn.local}\"\n"
                             "eku = [\"msSmartcardLogin\"]\npolicies = [\"2.16.840.1.101.3.2.1.3.13\"]\nsan = [\"upn\"]\n"
                             "lowercase = true\nstrong = true\n");
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    const auto& m = r->mapping;
    BOOST_TEST(m.require_strong);
    BOOST_TEST(m.min_uid == 5000u);
    BOOST_TEST((m.sources == std::vector<MappingSource>{MappingSource::rules}));
    BOOST_TEST(m.index_dir == "/var/cache/x");
    BOOST_REQUIRE(m.rules.size() == 1u);
    BOOST_TEST(m.rules[0].eku == std::vector<std::string>{"1.3.6.1.4.1.311.20.2.2"});
    BOOST_TEST(m.rules[0].policies == std::vector<std::string>{"2.16.840.1.101.3.2.1.3.13"});
    BOOST_TEST(m.rules[0].san == std::vector<std::string>{"upn"});
    BOOST_TEST(m.rules[0].lowercase);
    BOOST_TEST(m.rules[0].strong);
    BOOST_TEST(m.rules[0].issuer_hash != 0u);
}

BOOST_AUTO_TEST_CASE(mapping_defaults_are_the_safe_ones) {
    auto r = parse(minimal);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(!r->mapping.allow_root);
    BOOST_TEST(!r->mapping.require_strong);
    BOOST_TEST(r->mapping.min_uid == 1000u);
}

BOOST_AUTO_TEST_CASE(subject_regex_gets_its_required_literal) {
    auto r = parse(minimal + "[[mapping.rule]]\nissuer = \"CN=X\"\nsubject = \",OU=Eng(ineering)?,O=Example Corp$\"\n"
                             "user = \"{subject.uid}\"\n");
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    BOOST_TEST(r->mapping.rules[0].literal == ",O=Example Corp");
}

BOOST_AUTO_TEST_CASE(bad_mapping_values_are_refused_with_their_position) {
    const std::string rule = "[[mapping.rule]]\nissuer = \"CN=X\"\nuser = \"{serial}\"\n";
    expect(minimal + rule + "policies = [\"2.16.840.01.1\"]\n", Code::config_value, "7:13", "mapping.rule[0].policies",
           "canonical");
    expect(minimal + rule + "policies = [\"anyPolicy\"]\n", Code::config_value, "7:13", "mapping.rule[0].policies");
    expect(minimal + rule + "eku = [\"anyExtendedKeyUsage\"]\n", Code::config_value, "7:8", "mapping.rule[0].eku");
    expect(minimal + rule + "san = [\"dns\"]\n", Code::config_value, "7:8", "mapping.rule[0].san", "\"email\" or \"upn\"");
    expect(minimal + rule + "lowercase = \"yes\"\n", Code::config_type, "7:13", "mapping.rule[0].lowercase");
    expect(minimal + rule + "strong = 1\n", Code::config_type, "7:10", "mapping.rule[0].strong");
    expect(minimal + "[mapping]\nmin_uid = 0\n", Code::config_value, "5:11", "mapping.min_uid", "out of range");
    expect(minimal + "[mapping]\nmin_uid = \"1000\"\n", Code::config_type, "5:11", "mapping.min_uid");
    expect(minimal + "[mapping]\nsources = [\"ldap\"]\n", Code::config_value, "5:12", "mapping.sources");
    expect(minimal + "[mapping]\nsources = [\"rules\", \"rules\"]\n", Code::config_value, "5:21", "mapping.sources",
           "twice");
    expect(minimal + "[mapping]\nsources = []\n", Code::config_value, "5:11", "mapping.sources", "at least one");
    expect(minimal + "[mapping]\nsources = [\"bindings\"]\n", Code::config_missing, "5:11", "mapping.sources",
           "names no file");
    expect(minimal + "[mapping]\nindex_dir = \"cache\"\n", Code::config_value, "5:13", "mapping.index_dir", "absolute");
    expect(minimal + "[mapping]\nrequire_strong = \"true\"\n", Code::config_type, "5:18", "mapping.require_strong");
}

BOOST_AUTO_TEST_CASE(template_attribute_names_follow_ldap_not_openssl) {
    // OpenSSL's short name "uid" is uniqueIdentifier; {subject.uid} must be
    // the directory's uid (userId), which the config accepts as known.
    for (const char* good : {"{subject.uid}", "{subject.UID}", "{subject.userid}", "{subject.CN}", "{subject.dc}",
                             "{subject.0.9.2342.19200300.100.1.1}", "x-{serial}-{subject.ou}"}) {
        BOOST_TEST_INFO(good);
        auto r = parse(minimal + "[[mapping.rule]]\nissuer = \"CN=X\"\nuser = '" + good + "'\n");
        BOOST_TEST(r.ok(), why(r));
    }
    for (const char* bad : {"{subject.nosuch}", "{subject.}", "{subject.c n}", "{subject.1..2}", "{san.dns}"}) {
        BOOST_TEST_INFO(bad);
        expect(minimal + "[[mapping.rule]]\nissuer = \"CN=X\"\nuser = '" + bad + "'\n", Code::config_value, "6:8",
               "mapping.rule[0].user", "unknown field");
    }
}
