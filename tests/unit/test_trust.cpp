// Chain validation for a purpose: every fixture case against login, tls and
// door; revocation (stale, missing, revoked intermediate, on_unknown); the
// injected clock; refusal of CA certificates as badges; TrustStore loading errors.
#define BOOST_TEST_MODULE trust
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <string>
#include <thread>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "src/ossl.hpp"
#include "src/trust.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
}  // namespace cardgate

using namespace cardgate;

namespace {

std::string fx(const std::string& rel = "") {
    const char* d = std::getenv("CARDGATE_FIXTURES");
    BOOST_REQUIRE_MESSAGE(d && *d, "CARDGATE_FIXTURES is not set (run through make check)");
    return rel.empty() ? std::string(d) : std::string(d) + "/" + rel;
}

template <typename T>
std::string why(const Result<T>& r) {
    return r.ok() ? std::string() : r.error().message();
}

// The organisation's usual setup: root anchor, issuing intermediate, both CRLs checked.
TrustConfig standard(std::vector<std::string> crls = {"pki/root.crl", "pki/issuing.crl"}) {
    TrustConfig t;
    t.anchors = {fx("pki/root.pem")};
    t.intermediates = {fx("pki/issuing.pem")};
    for (const auto& c : crls) t.crls.push_back(fx(c));
    if (!t.crls.empty()) t.revocation = {RevocationSource::crl};
    t.cache_dir.clear();  // nothing kept between tests (test_revocation covers the cache)
    return t;
}

TrustStore store(const TrustConfig& t) {
    auto r = TrustStore::create(t);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    return std::move(r).value();
}

Certificate leaf(const std::string& name) {
    auto r = Certificate::load(fx("certs/" + name));
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    return std::move(r).value();
}

const SystemClock now_clock;

Verdict check(const TrustStore& s, const std::string& name, Purpose p, const Clock& clock = now_clock) {
    return s.validate(leaf(name), p, default_purpose_config(p), clock);
}

std::time_t utc(int y, int mo, int d) {
    struct tm tm {};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    return timegm(&tm);
}

bool has_step(const Verdict& v, const std::string& name, bool ok, const std::string& says = "") {
    for (const auto& s : v.steps)
        if (s.name == name && s.ok == ok && s.detail.find(says) != std::string::npos) return true;
    return false;
}

std::string temp_copy(const std::string& from, mode_t mode) {
    std::ifstream in(from, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    char tmpl[] = "/tmp/cardgate-trust-XXXXXX";
    const int fd = mkstemp(tmpl);
    BOOST_REQUIRE(fd >= 0);
    BOOST_REQUIRE(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    close(fd);
    chmod(tmpl, mode);
    return tmpl;
}

}  // namespace

// ----------------------------------------------------------------- every fixture, every purpose

BOOST_AUTO_TEST_CASE(every_fixture_case_gets_its_code_for_each_purpose) {
    const auto s = store(standard());
    struct Case {
        const char* name;
        Code login, tls, door;
    };
    // alice-*/bob/alice2 carry clientAuth + msSmartcardLogin; door needs pivCardAuth.
    const Case cases[] = {
        {"alice-rsa2048.pem", Code::ok, Code::ok, Code::cert_eku},
        {"alice-rsa4096.pem", Code::ok, Code::ok, Code::cert_eku},
        {"alice-ec256.pem", Code::ok, Code::ok, Code::cert_eku},
        {"alice-ec384.der", Code::ok, Code::ok, Code::cert_eku},
        {"bob-ec256.pem", Code::ok, Code::ok, Code::cert_eku},
        {"alice2-login.pem", Code::ok, Code::ok, Code::cert_eku},
        {"cardauth.pem", Code::cert_eku, Code::cert_eku, Code::ok},
        {"expired.pem", Code::cert_expired, Code::cert_expired, Code::cert_expired},
        {"notyet.pem", Code::cert_not_yet_valid, Code::cert_not_yet_valid, Code::cert_not_yet_valid},
        {"revoked.pem", Code::cert_revoked, Code::cert_revoked, Code::cert_revoked},
        {"wrong-eku.pem", Code::cert_eku, Code::cert_eku, Code::cert_eku},
        {"no-digsig.pem", Code::cert_key_usage, Code::cert_key_usage, Code::cert_key_usage},
        // Its issuer (the non-CA intermediate) is not configured, and the card's
        // own certificates are never used: no path. Configured, it is
        // cert_not_ca (non_ca_intermediate_is_refused_at_its_depth).
        {"nonca-issued.pem", Code::cert_untrusted, Code::cert_untrusted, Code::cert_untrusted},
        // The look-alike CA has the issuing CA's DN but another key; the leaf's
        // authorityKeyIdentifier does not match the real issuing CA, so no path
        // is found at all: cert_untrusted (not cert_bad_signature).
        {"lookalike-issued.pem", Code::cert_untrusted, Code::cert_untrusted, Code::cert_untrusted},
    };
    for (const auto& c : cases) {
        const Code want[] = {c.login, c.tls, c.door};
        const Purpose ps[] = {Purpose::login, Purpose::tls, Purpose::door};
        for (int i = 0; i < 3; ++i) {
            const Verdict v = check(s, c.name, ps[i]);
            BOOST_TEST_INFO(c.name << " for " << purpose_name(ps[i]) << ": " << v.detail);
            BOOST_TEST(v.code == want[i]);
            BOOST_TEST(v.ok() == (want[i] == Code::ok));
            if (!v.ok()) {
                BOOST_TEST(!v.steps.empty());
                BOOST_TEST(!v.steps.back().ok);
                BOOST_TEST(v.detail.find("depth ") == 0u);  // names which certificate
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(a_valid_login_runs_every_step_in_order) {
    const auto s = store(standard());
    const Verdict v = check(s, "alice-ec256.pem", Purpose::login);
    BOOST_REQUIRE_MESSAGE(v.ok(), v.detail);
    std::vector<std::string> names;
    for (const auto& st : v.steps) {
        names.push_back(st.name);
        BOOST_TEST(st.ok);
    }
    BOOST_TEST((names == std::vector<std::string>{"parse", "chain", "revocation", "end-entity", "key-usage", "eku"}));
    BOOST_REQUIRE(v.chain_subjects.size() == 3u);
    BOOST_TEST(v.chain_subjects[0] == leaf("alice-ec256.pem").subject());
    BOOST_TEST(v.chain_subjects[2] == leaf("../pki/root.pem").subject());
}

BOOST_AUTO_TEST_CASE(refusal_detail_names_depth_and_subject) {
    const auto s = store(standard());
    const Verdict v = check(s, "revoked.pem", Purpose::login);
    BOOST_TEST(v.code == Code::cert_revoked);
    BOOST_TEST(v.detail.rfind("depth 0 (" + leaf("revoked.pem").subject() + ")", 0) == 0, v.detail);
    BOOST_TEST(has_step(v, "chain", true));
    BOOST_TEST(has_step(v, "revocation", false, "revoked"));
}

BOOST_AUTO_TEST_CASE(non_ca_intermediate_is_refused_at_its_depth) {
    TrustConfig t = standard();
    t.intermediates.push_back(fx("pki/nonca-intermediate.pem"));
    const auto s = store(t);
    const Verdict v = check(s, "nonca-issued.pem", Purpose::login);
    BOOST_TEST(v.code == Code::cert_not_ca);
    BOOST_TEST(v.detail.rfind("depth 1 (", 0) == 0, v.detail);
}

BOOST_AUTO_TEST_CASE(lookalike_ca_configured_nowhere_is_never_used_even_when_offered_as_intermediate) {
    // Even if the look-alike were (wrongly) listed as an intermediate it is
    // self-signed and not an anchor, so the chain ends untrusted.
    TrustConfig t = standard();
    t.intermediates.push_back(fx("pki/lookalike-ca.pem"));
    const auto s = store(t);
    const Verdict v = check(s, "lookalike-issued.pem", Purpose::login);
    BOOST_TEST(v.code == Code::cert_untrusted, v.detail);
}

BOOST_AUTO_TEST_CASE(without_the_configured_intermediate_a_leaf_is_untrusted) {
    TrustConfig t = standard();
    t.intermediates.clear();
    const auto s = store(t);
    const Verdict v = check(s, "alice-ec256.pem", Purpose::login);
    BOOST_TEST(v.code == Code::cert_untrusted);
    BOOST_TEST(v.detail.rfind("depth 0 (UID=alice,", 0) == 0, v.detail);
}

// ----------------------------------------------------------------- revocation

BOOST_AUTO_TEST_CASE(stale_crl_makes_status_unknown_and_denies) {
    const auto s = store(standard({"pki/root.crl", "pki/issuing-stale.crl"}));
    const Verdict v = check(s, "alice-ec256.pem", Purpose::login);
    BOOST_TEST(v.code == Code::cert_revocation_unknown, v.detail);
    BOOST_TEST(v.detail.find("stale (nextUpdate 2021-02-01T00:00:00Z)") != std::string::npos, v.detail);
}

BOOST_AUTO_TEST_CASE(stale_crl_passes_with_on_unknown_allow_and_says_so) {
    TrustConfig t = standard({"pki/root.crl", "pki/issuing-stale.crl"});
    t.on_unknown_allow = true;
    const auto s = store(t);
    const Verdict v = check(s, "alice-ec256.pem", Purpose::login);
    BOOST_TEST(v.ok(), v.detail);
    BOOST_TEST(has_step(v, "revocation", true, "allowed by trust.on_unknown = \"allow\""));
    BOOST_TEST(has_step(v, "revocation", true, "depth 0"));
}

BOOST_AUTO_TEST_CASE(on_unknown_allow_never_lets_a_revoked_certificate_through) {
    TrustConfig t = standard();
    t.on_unknown_allow = true;
    const auto s = store(t);
    BOOST_TEST(check(s, "revoked.pem", Purpose::login).code == Code::cert_revoked);
}

BOOST_AUTO_TEST_CASE(revoked_intermediate_fails_the_leaf_as_revoked) {
    const auto s = store(standard({"pki/root-revoked-issuing.crl", "pki/issuing.crl"}));
    const Verdict v = check(s, "alice-ec256.pem", Purpose::login);
    BOOST_TEST(v.code == Code::cert_revoked);
    BOOST_TEST(v.detail.rfind("depth 1 (", 0) == 0, v.detail);
}

BOOST_AUTO_TEST_CASE(missing_crl_for_the_issuing_ca_level_is_unknown) {
    const auto s = store(standard({"pki/root.crl"}));
    const Verdict v = check(s, "alice-ec256.pem", Purpose::login);
    BOOST_TEST(v.code == Code::cert_revocation_unknown);
    BOOST_TEST(v.detail.rfind("depth 0 (", 0) == 0, v.detail);
}

BOOST_AUTO_TEST_CASE(missing_crl_for_the_root_level_is_unknown) {
    const auto s = store(standard({"pki/issuing.crl"}));
    const Verdict v = check(s, "alice-ec256.pem", Purpose::login);
    BOOST_TEST(v.code == Code::cert_revocation_unknown);
    BOOST_TEST(v.detail.rfind("depth 1 (", 0) == 0, v.detail);
}

BOOST_AUTO_TEST_CASE(der_crl_is_used_like_pem) {
    const auto s = store(standard({"pki/root.crl", "pki/issuing.crl.der"}));
    BOOST_TEST(check(s, "revoked.pem", Purpose::login).code == Code::cert_revoked);
    BOOST_TEST(check(s, "alice-ec256.pem", Purpose::login).ok());
}

BOOST_AUTO_TEST_CASE(revocation_none_skips_crls_and_says_so) {
    TrustConfig t = standard();
    t.revocation.clear();
    const auto s = store(t);
    const Verdict v = check(s, "revoked.pem", Purpose::login);
    BOOST_TEST(v.ok(), v.detail);
    BOOST_TEST(has_step(v, "revocation", true, "not checked"));
}

BOOST_AUTO_TEST_CASE(crl_that_is_stale_at_the_injected_time_is_unknown) {
    // The fresh CRL is stale 60 days from now, while alice is still valid.
    const auto s = store(standard());
    const FixedClock later(std::time(nullptr) + 60 * 86400);
    const Verdict v = check(s, "alice-ec256.pem", Purpose::login, later);
    BOOST_TEST(v.code == Code::cert_revocation_unknown, v.detail);
}

// ----------------------------------------------------------------- injected clock

BOOST_AUTO_TEST_CASE(injected_clock_makes_alice_expired_in_2030) {
    const auto s = store(standard());
    const FixedClock c(utc(2030, 6, 1));
    const Verdict v = check(s, "alice-ec256.pem", Purpose::login, c);
    BOOST_TEST(v.code == Code::cert_expired);
    BOOST_TEST(v.detail.find("checked at 2030-06-01T00:00:00Z") != std::string::npos, v.detail);
}

BOOST_AUTO_TEST_CASE(injected_clock_makes_alice_not_yet_valid_in_2019) {
    const auto s = store(standard());
    const FixedClock c(utc(2019, 6, 1));
    BOOST_TEST(check(s, "alice-ec256.pem", Purpose::login, c).code == Code::cert_not_yet_valid);
}

BOOST_AUTO_TEST_CASE(expired_fixture_was_valid_in_2020_apart_from_its_crl) {
    TrustConfig t = standard();
    t.revocation.clear();
    const auto s = store(t);
    const FixedClock c(utc(2020, 6, 1));
    const Verdict v = check(s, "expired.pem", Purpose::login, c);
    // In 2020 the leaf is inside its validity; the CA certificates may not be yet.
    BOOST_TEST((v.code == Code::ok || v.code == Code::cert_not_yet_valid), v.detail);
    if (v.code == Code::cert_not_yet_valid) BOOST_TEST(v.detail.rfind("depth 0", 0) != 0u, v.detail);
}

// ----------------------------------------------------------------- CA certificates as badges

BOOST_AUTO_TEST_CASE(issuing_ca_certificate_presented_as_a_badge_is_refused_for_login) {
    const auto s = store(standard());
    const Verdict v = check(s, "../pki/issuing.pem", Purpose::login);
    BOOST_TEST(!v.ok());
    BOOST_TEST(v.code == Code::cert_policy);
    BOOST_TEST(has_step(v, "end-entity", false, "is a CA certificate"));
}

BOOST_AUTO_TEST_CASE(ca_certificate_is_refused_even_when_no_eku_is_required) {
    const auto s = store(standard());
    const PurposeConfig none{};
    for (const char* ca : {"pki/issuing.pem", "pki/root.pem"}) {
        auto c = Certificate::load(fx(ca));
        BOOST_REQUIRE(c.ok());
        const Verdict v = s.validate(*c, Purpose::door, none, now_clock);
        BOOST_TEST_INFO(ca << ": " << v.detail);
        BOOST_TEST(v.code == Code::cert_policy);
    }
}

// ----------------------------------------------------------------- EKU configuration

BOOST_AUTO_TEST_CASE(empty_eku_list_accepts_any_usage) {
    const auto s = store(standard());
    const PurposeConfig none{};
    BOOST_TEST(s.validate(leaf("wrong-eku.pem"), Purpose::login, none, now_clock).ok());
    BOOST_TEST(s.validate(leaf("cardauth.pem"), Purpose::login, none, now_clock).ok());
}

BOOST_AUTO_TEST_CASE(eku_failure_names_what_the_certificate_has_and_what_is_needed) {
    const auto s = store(standard());
    const Verdict v = check(s, "cardauth.pem", Purpose::login);
    BOOST_TEST(v.code == Code::cert_eku);
    BOOST_TEST(v.detail.find("pivCardAuth (2.16.840.1.101.3.6.8)") != std::string::npos, v.detail);
    BOOST_TEST(v.detail.find("clientAuth (1.3.6.1.5.5.7.3.2)") != std::string::npos, v.detail);
}

BOOST_AUTO_TEST_CASE(a_custom_oid_is_honoured) {
    const auto s = store(standard());
    const PurposeConfig server{{"1.3.6.1.5.5.7.3.1"}};
    BOOST_TEST(s.validate(leaf("wrong-eku.pem"), Purpose::tls, server, now_clock).ok());
    BOOST_TEST(s.validate(leaf("alice-ec256.pem"), Purpose::tls, server, now_clock).code == Code::cert_eku);
}

// ----------------------------------------------------------------- concurrency

BOOST_AUTO_TEST_CASE(concurrent_validations_share_one_store) {
    const auto s = store(standard());
    const auto alice = leaf("alice-ec256.pem");
    const auto revoked = leaf("revoked.pem");
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 40; ++i) {
                const bool good = (i + t) % 2 == 0;
                const Verdict v = s.validate(good ? alice : revoked, Purpose::login,
                                             default_purpose_config(Purpose::login), now_clock);
                if (v.code != (good ? Code::ok : Code::cert_revoked)) ++wrong;
            }
        });
    for (auto& th : threads) th.join();
    BOOST_TEST(wrong.load() == 0);
}

// ----------------------------------------------------------------- TrustStore::create

BOOST_AUTO_TEST_CASE(the_fixture_config_loads_and_validates_alice) {
    auto cfg = Config::load(fx("cardgate.conf"));
    BOOST_REQUIRE_MESSAGE(cfg.ok(), why(cfg));
    const auto s = store(cfg->trust);
    const Verdict v = s.validate(leaf("alice-ec256.pem"), Purpose::login, cfg->purpose(Purpose::login), now_clock);
    BOOST_TEST(v.ok(), v.detail);
}

BOOST_AUTO_TEST_CASE(missing_anchor_file_is_config_file_naming_key_and_file) {
    auto cfg = Config::parse("[trust]\nanchors = [\"/nonexistent/root.pem\"]\nrevocation = \"none\"\n", "/etc/cardgate/cardgate.conf");
    BOOST_REQUIRE(cfg.ok());
    auto r = TrustStore::create(cfg->trust);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == Code::config_file);
    BOOST_TEST(r.error().detail().rfind("/etc/cardgate/cardgate.conf:2:11: trust.anchors: /nonexistent/root.pem: ", 0) == 0,
               r.error().detail());
}

BOOST_AUTO_TEST_CASE(missing_intermediate_and_crl_files_name_their_keys) {
    TrustConfig t = standard();
    t.intermediates.push_back("/nonexistent/issuing.pem");
    auto r = TrustStore::create(t);
    BOOST_TEST(r.code() == Code::config_file);
    BOOST_TEST(r.error().detail().rfind("trust.intermediates: /nonexistent/issuing.pem: ", 0) == 0, r.error().detail());
    t = standard();
    t.crls.push_back("/nonexistent/x.crl");
    r = TrustStore::create(t);
    BOOST_TEST(r.code() == Code::config_file);
    BOOST_TEST(r.error().detail().rfind("trust.crls: /nonexistent/x.crl: ", 0) == 0, r.error().detail());
}

BOOST_AUTO_TEST_CASE(anchor_that_is_not_a_root_is_refused) {
    TrustConfig t = standard();
    t.anchors = {fx("pki/issuing.pem")};
    auto r = TrustStore::create(t);
    BOOST_TEST(r.code() == Code::config_file);
    BOOST_TEST(r.error().detail().find("is not a self-signed root") != std::string::npos, r.error().detail());
}

BOOST_AUTO_TEST_CASE(garbage_anchor_or_crl_is_config_file) {
    TrustConfig t = standard();
    t.anchors = {fx("pki/root.crl")};
    BOOST_TEST(TrustStore::create(t).code() == Code::config_file);
    t = standard();
    t.crls = {fx("pki/root.pem")};
    auto r = TrustStore::create(t);
    BOOST_TEST(r.code() == Code::config_file);
    BOOST_TEST(r.error().detail().find("trust.crls") != std::string::npos, r.error().detail());
}

BOOST_AUTO_TEST_CASE(world_writable_anchor_is_refused) {
    const std::string path = temp_copy(fx("pki/root.pem"), 0666);
    TrustConfig t = standard();
    t.anchors = {path};
    auto r = TrustStore::create(t);
    BOOST_TEST(r.code() == Code::config_file);
    BOOST_TEST(r.error().detail().find("world-writable") != std::string::npos, r.error().detail());
    std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(anchor_bundle_with_several_roots_loads_them_all) {
    std::ifstream a(fx("pki/root.pem")), b(fx("pki/lookalike-ca.pem"));
    const std::string both = std::string(std::istreambuf_iterator<char>(a), {}) + std::string(std::istreambuf_iterator<char>(b), {});
    char tmpl[] = "/tmp/cardgate-bundle-XXXXXX";
    const int fd = mkstemp(tmpl);
    BOOST_REQUIRE(write(fd, both.data(), both.size()) == static_cast<ssize_t>(both.size()));
    close(fd);
    TrustConfig t = standard();
    t.anchors = {tmpl};
    const auto s = store(t);
    BOOST_TEST(s.anchor_count() == 2u);
    BOOST_TEST(check(s, "alice-ec256.pem", Purpose::login).ok());
    std::remove(tmpl);
}

BOOST_AUTO_TEST_CASE(trust_config_built_in_code_is_checked_too) {
    TrustConfig t;
    BOOST_TEST(TrustStore::create(t).code() == Code::config_missing);
    t = standard({});
    t.revocation = {RevocationSource::crl};
    BOOST_TEST(TrustStore::create(t).code() == Code::config_missing);
    t.fetch_crls = true;  // CRLs from the distribution points instead
    BOOST_TEST(TrustStore::create(t).ok());
    t = standard({});
    t.revocation = {RevocationSource::ocsp};
    BOOST_TEST(TrustStore::create(t).ok());
}

BOOST_AUTO_TEST_CASE(verify_errors_map_to_precise_codes) {
    BOOST_TEST(code_for_verify_error(X509_V_ERR_CERT_HAS_EXPIRED, 0) == Code::cert_expired);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0) == Code::cert_untrusted);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, 1) == Code::cert_untrusted);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_CERT_SIGNATURE_FAILURE, 0) == Code::cert_bad_signature);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_INVALID_PURPOSE, 1) == Code::cert_not_ca);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_INVALID_PURPOSE, 0) == Code::cert_eku);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_KEYUSAGE_NO_CERTSIGN, 1) == Code::cert_not_ca);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_PATH_LENGTH_EXCEEDED, 1) == Code::cert_path_length);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER, 0) == Code::cert_revocation_unknown);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_CRL_SIGNATURE_FAILURE, 0) == Code::cert_revocation_unknown);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_CRL_NOT_YET_VALID, 0) == Code::cert_revocation_unknown);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_EE_KEY_TOO_SMALL, 0) == Code::cert_weak_algorithm);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_CA_MD_TOO_WEAK, 0) == Code::cert_weak_algorithm);
    BOOST_TEST(code_for_verify_error(X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION, 0) == Code::cert_policy);
}

// ----------------------------------------------------------------- CRL without nextUpdate

namespace {

// Writes `pem` to a private temporary file and returns its path.
std::string temp_file(const std::string& pem) {
    char tmpl[] = "/tmp/cardgate-trust-XXXXXX";
    const int fd = mkstemp(tmpl);
    BOOST_REQUIRE(fd >= 0);
    BOOST_REQUIRE(write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()));
    close(fd);
    return tmpl;
}

template <class Write>
std::string pem_of(Write write) {
    ossl::BioPtr bio(BIO_new(BIO_s_mem()));
    BOOST_REQUIRE(write(bio.get()) == 1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

BOOST_AUTO_TEST_CASE(crl_without_next_update_is_never_current) {
    // A root made here, and a CRL it signs that has no nextUpdate: OpenSSL
    // alone would treat it as current forever (RFC 5280 5.1.2.5 requires it).
    ossl::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    BOOST_REQUIRE(key);
    ossl::X509Ptr ca(X509_new());
    X509_set_version(ca.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(ca.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(ca.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(ca.get()), 3600);
    X509_NAME* n = X509_get_subject_name(ca.get());  // get0-style: owned by ca
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("No NextUpdate CA"), -1, -1, 0);
    X509_set_issuer_name(ca.get(), n);
    X509_set_pubkey(ca.get(), key.get());
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, ca.get(), ca.get(), nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                              std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                              std::pair{NID_subject_key_identifier, "hash"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);  // owned: freed below
        BOOST_REQUIRE(ext);
        X509_add_ext(ca.get(), ext, -1);  // copies
        X509_EXTENSION_free(ext);
    }
    BOOST_REQUIRE(X509_sign(ca.get(), key.get(), EVP_sha256()) > 0);

    ossl::X509CrlPtr crl(X509_CRL_new());
    X509_CRL_set_version(crl.get(), 1);
    X509_CRL_set_issuer_name(crl.get(), n);
    ASN1_TIME* last = ASN1_TIME_adj(nullptr, std::time(nullptr), -700, 0);  // owned: freed below
    X509_CRL_set1_lastUpdate(crl.get(), last);                              // set1: copies
    ASN1_TIME_free(last);
    BOOST_REQUIRE(X509_CRL_sign(crl.get(), key.get(), EVP_sha256()) > 0);
    BOOST_REQUIRE(X509_CRL_get0_nextUpdate(crl.get()) == nullptr);

    TrustConfig t;
    t.anchors = {temp_file(pem_of([&](BIO* b) { return PEM_write_bio_X509(b, ca.get()); }))};
    t.crls = {temp_file(pem_of([&](BIO* b) { return PEM_write_bio_X509_CRL(b, crl.get()); }))};
    t.revocation = {RevocationSource::crl};
    t.cache_dir.clear();
    auto s = TrustStore::create(t);
    BOOST_REQUIRE(s.ok());
    // The root checked as its own leaf: its revocation is asked of its CRL,
    // which is refused, so the status is unknown.
    auto root = Certificate::from_x509(ca.get());
    BOOST_REQUIRE(root.ok());
    const Verdict v = s->validate(*root, Purpose::login, default_purpose_config(Purpose::login), now_clock);
    BOOST_TEST(v.code == Code::cert_revocation_unknown, v.detail);
    BOOST_TEST(v.detail.find("nextUpdate") != std::string::npos, v.detail);
    unlink(t.anchors[0].c_str());
    unlink(t.crls[0].c_str());
}
