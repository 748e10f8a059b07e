// The revocation decision (src/revocation.hpp) for trust.crls files, at
// injected times: which CRL answers, grace past nextUpdate and never longer,
// never before thisUpdate, several CRLs in one file, the index kept in the
// cache directory and rebuilt when it fails its check, the anchor under OCSP
// alone. OCSP and downloads against real servers: tests/integration/revocation.sh.
#define BOOST_TEST_MODULE revocation
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "src/bytes.hpp"
#include "src/crl_index.hpp"
#include "src/revocation.hpp"
#include "src/trust.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
std::ostream& operator<<(std::ostream& os, RevState s) { return os << static_cast<int>(s); }
}  // namespace cardgate

using namespace cardgate;
namespace fs = std::filesystem;

namespace {

std::string fx(const std::string& rel) {
    const char* d = std::getenv("CARDGATE_FIXTURES");
    BOOST_REQUIRE_MESSAGE(d && *d, "CARDGATE_FIXTURES is not set (run through make check)");
    return std::string(d) + "/" + rel;
}

Certificate leaf(const std::string& name) {
    auto r = Certificate::load(fx("certs/" + name));
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message()));
    return std::move(r).value();
}

// A private directory with copies of the CRLs and a cache directory.
struct Setup {
    fs::path dir;
    TrustConfig trust;

    Setup() {
        char tmpl[] = "/tmp/cardgate-rev-XXXXXX";
        BOOST_REQUIRE(mkdtemp(tmpl));
        dir = tmpl;
        fs::create_directory(dir / "cache");
        chmod((dir / "cache").c_str(), 0755);
        for (const char* f : {"root.crl", "issuing.crl", "issuing-stale.crl", "root-revoked-issuing.crl",
                              "issuing-delta-revokes-alice.crl", "issuing-critical-revokes-alice.crl",
                              "issuing-next-revokes-alice.crl", "lookalike-delta.crl", "issuing-onlyca-critical.crl",
                              "issuing-onlyuser-critical.crl"})
            fs::copy_file(fx(std::string("pki/") + f), dir / f);
        trust.anchors = {fx("pki/root.pem")};
        trust.intermediates = {fx("pki/issuing.pem")};
        trust.crls = {(dir / "root.crl").string(), (dir / "issuing.crl").string()};
        trust.revocation = {RevocationSource::crl};
        trust.cache_dir = (dir / "cache").string();
    }
    ~Setup() { fs::remove_all(dir); }

    Verdict check(const std::string& cert, std::time_t at = std::time(nullptr)) const {
        auto store = TrustStore::create(trust);
        BOOST_REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message()));
        FixedClock clock(at);
        return store->validate(leaf(cert), Purpose::login, default_purpose_config(Purpose::login), clock);
    }
    std::vector<fs::path> cached(const std::string& prefix) const {
        std::vector<fs::path> out;
        for (const auto& e : fs::directory_iterator(dir / "cache"))
            if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
        return out;
    }
};

constexpr std::time_t day = 86400;

}  // namespace

BOOST_AUTO_TEST_CASE(each_certificate_is_answered_by_its_issuers_crl) {
    Setup s;
    const Verdict v = s.check("alice-ec256.pem");
    BOOST_TEST(v.ok(), v.detail);
    BOOST_REQUIRE(v.revocation.size() == 3u);
    BOOST_TEST(v.revocation[0].state == RevState::good);
    BOOST_TEST(v.revocation[0].source == "CRL " + (s.dir / "issuing.crl").string());
    BOOST_TEST(v.revocation[1].source == "CRL " + (s.dir / "root.crl").string());
    BOOST_TEST(v.revocation[2].source == "CRL " + (s.dir / "root.crl").string());  // the anchor, by its own CRL
    for (const auto& r : v.revocation) {
        BOOST_TEST(!r.stale);
        BOOST_TEST(r.this_update <= std::time(nullptr));
        BOOST_TEST(r.expires > std::time(nullptr));
    }
}

BOOST_AUTO_TEST_CASE(revoked_leaf_and_revoked_intermediate) {
    Setup s;
    Verdict v = s.check("revoked.pem");
    BOOST_TEST(v.code == Code::cert_revoked);
    BOOST_REQUIRE(v.revocation.size() == 1u);  // the check stops at the first revoked certificate
    BOOST_TEST(v.revocation[0].reason == 1);   // keyCompromise
    BOOST_TEST(v.detail.find("keyCompromise") != std::string::npos, v.detail);
    s.trust.crls[0] = (s.dir / "root-revoked-issuing.crl").string();
    v = s.check("alice-ec256.pem");
    BOOST_TEST(v.code == Code::cert_revoked);
    BOOST_TEST(v.detail.rfind("depth 1 (CN=Example Issuing CA", 0) == 0, v.detail);
}

BOOST_AUTO_TEST_CASE(a_stale_crl_is_used_within_max_staleness_and_never_longer) {
    Setup s;
    // The fixture CRLs' nextUpdate is 30 days ahead.
    const std::time_t stale_by_a_day = std::time(nullptr) + 31 * day;
    Verdict v = s.check("alice-ec256.pem", stale_by_a_day);
    BOOST_TEST(v.code == Code::cert_revocation_unknown);
    BOOST_TEST(v.detail.find("stale (nextUpdate") != std::string::npos, v.detail);

    s.trust.max_staleness = std::chrono::hours(48);
    v = s.check("alice-ec256.pem", stale_by_a_day);
    BOOST_TEST(v.ok(), v.detail);
    BOOST_REQUIRE(!v.revocation.empty());
    BOOST_TEST(v.revocation[0].stale);
    BOOST_TEST(describe(v.revocation[0], stale_by_a_day).find("STALE") != std::string::npos);

    s.trust.max_staleness = std::chrono::hours(12);
    v = s.check("alice-ec256.pem", stale_by_a_day);
    BOOST_TEST(v.code == Code::cert_revocation_unknown);
    BOOST_TEST(v.detail.find("beyond trust.max_staleness") != std::string::npos, v.detail);
}

BOOST_AUTO_TEST_CASE(a_crl_is_never_used_before_its_this_update) {
    Setup s;
    // A minute before the issuing CA's CRL's thisUpdate (the badge is valid then).
    const Verdict now = s.check("alice-ec256.pem");
    BOOST_REQUIRE(now.ok());
    const Verdict v = s.check("alice-ec256.pem", now.revocation.at(0).this_update - 60);
    BOOST_TEST(v.code == Code::cert_revocation_unknown);
    BOOST_TEST(v.detail.find("not valid yet") != std::string::npos, v.detail);
}

BOOST_AUTO_TEST_CASE(the_current_crl_wins_over_a_stale_one_of_the_same_issuer) {
    Setup s;
    s.trust.crls = {(s.dir / "root.crl").string(), (s.dir / "issuing-stale.crl").string(),
                    (s.dir / "issuing.crl").string()};
    const Verdict v = s.check("revoked.pem");
    BOOST_TEST(v.code == Code::cert_revoked);
    BOOST_TEST(v.revocation[0].source == "CRL " + (s.dir / "issuing.crl").string());
    BOOST_TEST(!v.revocation[0].stale);
}

BOOST_AUTO_TEST_CASE(several_pem_crls_in_one_file) {
    Setup s;
    {
        std::ofstream out(s.dir / "both.crl");
        for (const char* f : {"root.crl", "issuing.crl"}) out << std::ifstream(s.dir / f).rdbuf();
    }
    s.trust.crls = {(s.dir / "both.crl").string()};
    BOOST_TEST(s.check("alice-ec256.pem").ok());
    BOOST_TEST(s.check("revoked.pem").code == Code::cert_revoked);
}

BOOST_AUTO_TEST_CASE(a_crl_that_fails_its_checks_leaves_the_status_unknown_saying_why) {
    Setup s;
    { std::ofstream(s.dir / "issuing.crl", std::ios::trunc) << "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"; }
    const Verdict v = s.check("alice-ec256.pem");
    BOOST_TEST(v.code == Code::cert_revocation_unknown);
    BOOST_TEST(v.detail.find((s.dir / "issuing.crl").string()) != std::string::npos, v.detail);
}

// Issue 13, defect 1: a newer CRL of the same issuer that cardgate cannot
// use never leaves an older one to answer "good".
BOOST_AUTO_TEST_CASE(a_newer_delta_crl_silences_the_older_complete_crl) {
    Setup s;
    const std::string delta = (s.dir / "issuing-delta-revokes-alice.crl").string();
    s.trust.crls.push_back(delta);
    for (const char* badge : {"alice-ec256.pem", "bob-ec256.pem"}) {  // a delta covers every badge of its issuer
        const Verdict v = s.check(badge);
        BOOST_TEST(v.code == Code::cert_revocation_unknown, badge << ": " << v.detail);
        BOOST_TEST(v.detail.find(delta) != std::string::npos, v.detail);
        BOOST_TEST(v.detail.find((s.dir / "issuing.crl").string() + " (number 4096") != std::string::npos, v.detail);
        BOOST_TEST(v.detail.find("delta CRL, number 4098") != std::string::npos, v.detail);
        BOOST_TEST(v.detail.find("deltaCRLIndicator") != std::string::npos, v.detail);
    }
    // Whichever order the files come in.
    s.trust.crls = {(s.dir / "root.crl").string(), delta, (s.dir / "issuing.crl").string()};
    BOOST_TEST(s.check("alice-ec256.pem").code == Code::cert_revocation_unknown);
}

BOOST_AUTO_TEST_CASE(a_newer_crl_with_an_unknown_critical_extension_silences_the_older_one) {
    Setup s;
    {  // in the same file as the older CRL, too
        std::ofstream out(s.dir / "issuing.crl", std::ios::app);
        out << std::ifstream(s.dir / "issuing-critical-revokes-alice.crl").rdbuf();
    }
    const Verdict v = s.check("alice-ec256.pem");
    BOOST_TEST(v.code == Code::cert_revocation_unknown, v.detail);
    BOOST_TEST(v.detail.find("unknown critical CRL extension 1.2.3.4.99") != std::string::npos, v.detail);
    BOOST_TEST(v.detail.find("number 4099") != std::string::npos, v.detail);
    // A revocation stands: a later CRL could only lift a hold.
    BOOST_TEST(s.check("revoked.pem").code == Code::cert_revoked);
    s.trust.on_unknown_allow = true;  // and so on_unknown = "allow" never lets it through
    BOOST_TEST(s.check("revoked.pem").code == Code::cert_revoked);
}

BOOST_AUTO_TEST_CASE(a_pem_block_that_cannot_be_decoded_may_be_any_issuers_newest_crl) {
    Setup s;
    { std::ofstream(s.dir / "issuing.crl", std::ios::app) << "-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n"; }
    const Verdict v = s.check("alice-ec256.pem");
    BOOST_TEST(v.code == Code::cert_revocation_unknown, v.detail);
    BOOST_TEST(v.detail.find("PEM blocks cannot be decoded") != std::string::npos, v.detail);
}

BOOST_AUTO_TEST_CASE(a_refused_crl_older_than_the_answering_one_does_not_matter) {
    Setup s;
    s.trust.crls = {(s.dir / "root.crl").string(), (s.dir / "issuing-delta-revokes-alice.crl").string(),
                    (s.dir / "issuing-critical-revokes-alice.crl").string(),
                    (s.dir / "issuing-next-revokes-alice.crl").string()};
    Verdict v = s.check("alice-ec256.pem");
    BOOST_TEST(v.code == Code::cert_revoked, v.detail);
    BOOST_TEST(v.revocation.at(0).source == "CRL " + (s.dir / "issuing-next-revokes-alice.crl").string());
    v = s.check("bob-ec256.pem");
    BOOST_TEST(v.ok(), v.detail);
}

BOOST_AUTO_TEST_CASE(a_refused_crl_silences_only_the_certificates_its_scope_covers) {
    Setup s;
    s.trust.crls.push_back((s.dir / "issuing-onlyca-critical.crl").string());  // CA certificates only
    Verdict v = s.check("alice-ec256.pem");
    BOOST_TEST(v.ok(), v.detail);
    s.trust.crls.back() = (s.dir / "issuing-onlyuser-critical.crl").string();  // every badge
    v = s.check("alice-ec256.pem");
    BOOST_TEST(v.code == Code::cert_revocation_unknown, v.detail);
    BOOST_TEST(v.detail.find("issuing-onlyuser-critical.crl (number 4102") != std::string::npos, v.detail);
}

BOOST_AUTO_TEST_CASE(a_crl_under_the_issuers_name_that_it_did_not_sign_silences_nothing) {
    Setup s;
    s.trust.crls.push_back((s.dir / "lookalike-delta.crl").string());
    const Verdict v = s.check("alice-ec256.pem");
    BOOST_TEST(v.ok(), v.detail);
    BOOST_TEST(v.revocation.at(0).source == "CRL " + (s.dir / "issuing.crl").string());
}

BOOST_AUTO_TEST_CASE(a_refused_crl_newer_than_a_stale_one_makes_it_unknown_even_within_max_staleness) {
    Setup s;
    s.trust.crls = {(s.dir / "root.crl").string(), (s.dir / "issuing-stale.crl").string(),
                    (s.dir / "issuing-critical-revokes-alice.crl").string()};
    s.trust.max_staleness = std::chrono::hours(24 * 365 * 20);
    const Verdict v = s.check("alice-ec256.pem");
    BOOST_TEST(v.code == Code::cert_revocation_unknown, v.detail);
    BOOST_TEST(v.detail.find("issuing-stale.crl (number 4097") != std::string::npos, v.detail);
}

BOOST_AUTO_TEST_CASE(the_scope_of_a_refused_crl_is_read_and_its_signature_judged) {
    auto bytes = [](const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
    };
    const Certificate issuing = leaf("../pki/issuing.pem");
    const Certificate lookalike = leaf("../pki/lookalike-ca.pem");
    const auto delta = bytes(fx("pki/issuing-delta-revokes-alice.crl"));
    auto s = read_crl_scope(delta, issuing.x509());
    BOOST_REQUIRE(s.ok());
    BOOST_TEST(s->delta);
    BOOST_TEST((s->signature == CrlScope::Signature::verified));
    BOOST_TEST((s->signer_spki_sha256 == spki_sha256(issuing.x509())));
    BOOST_TEST(to_hex(s->crl_number) == "1002");
    s = read_crl_scope(delta, lookalike.x509());  // same name, another key
    BOOST_REQUIRE(s.ok());
    BOOST_TEST((s->signature == CrlScope::Signature::failed));
    s = read_crl_scope(bytes(fx("pki/lookalike-delta.crl")), issuing.x509());
    BOOST_REQUIRE(s.ok());
    BOOST_TEST((s->signature == CrlScope::Signature::failed));
    const std::vector<std::uint8_t> junk = {0x30, 0x03, 0x02, 0x01, 0x00};
    BOOST_TEST(read_crl_scope(junk, issuing.x509()).code() == Code::cert_revocation_unknown);
}

BOOST_AUTO_TEST_CASE(a_crl_file_writable_by_others_is_a_config_error_at_every_check) {
    Setup s;
    auto store = TrustStore::create(s.trust);
    BOOST_REQUIRE(store.ok());
    chmod((s.dir / "issuing.crl").c_str(), 0666);
    SystemClock clock;
    const Verdict v = store->validate(leaf("alice-ec256.pem"), Purpose::login,
                                      default_purpose_config(Purpose::login), clock);
    BOOST_TEST(v.code == Code::config_file);
    BOOST_TEST(TrustStore::create(s.trust).code() == Code::config_file);
}

BOOST_AUTO_TEST_CASE(the_index_is_kept_and_rebuilt_when_it_fails_its_check) {
    Setup s;
    // Index files are not stored for a CRL changed within two seconds.
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    BOOST_TEST(s.check("alice-ec256.pem").ok());
    auto idx = s.cached("crlfile-");
    BOOST_REQUIRE(idx.size() == 2u);
    for (const auto& p : idx) {
        BOOST_TEST(((fs::status(p).permissions() & fs::perms::others_read) != fs::perms::none));  // 0644
        BOOST_TEST(((fs::status(p).permissions() & fs::perms::others_write) == fs::perms::none));
    }
    BOOST_TEST(s.check("revoked.pem").code == Code::cert_revoked);  // from the kept index

    // Flip bytes near the end of every index (the serial slots, or the trailer).
    for (const auto& p : idx) {
        std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-40, std::ios::end);
        f.write("\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    }
    BOOST_TEST(s.check("revoked.pem").code == Code::cert_revoked);
    const Verdict v = s.check("alice-ec256.pem");
    BOOST_TEST(v.ok(), v.detail);
    // Rebuilt and stored again: the next check reads good indexes.
    BOOST_TEST(s.check("revoked.pem").code == Code::cert_revoked);
    BOOST_TEST(s.cached("crlfile-").size() == 2u);
}

BOOST_AUTO_TEST_CASE(an_untrusted_cache_directory_is_not_used) {
    Setup s;
    chmod((s.dir / "cache").c_str(), 0777);
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    BOOST_TEST(s.check("alice-ec256.pem").ok());
    BOOST_TEST(s.cached("").empty());
}

BOOST_AUTO_TEST_CASE(under_ocsp_alone_the_anchor_is_not_checked_and_says_why) {
    Setup s;
    s.trust.revocation = {RevocationSource::ocsp};
    s.trust.crls.clear();
    s.trust.ocsp_responder = "http://127.0.0.1:1/";  // nothing listens on port 1
    s.trust.fetch_timeout = std::chrono::milliseconds(2000);
    Verdict v = s.check("alice-ec256.pem");
    BOOST_TEST(v.code == Code::cert_revocation_unknown);
    s.trust.on_unknown_allow = true;
    v = s.check("alice-ec256.pem");
    BOOST_TEST(v.ok(), v.detail);
    BOOST_REQUIRE(v.revocation.size() == 3u);
    BOOST_TEST(v.revocation[0].state == RevState::unknown);
    BOOST_TEST(v.revocation[0].detail.find("127.0.0.1:1") != std::string::npos, v.revocation[0].detail);
    BOOST_TEST(v.revocation[2].state == RevState::not_checked);
    BOOST_TEST(v.revocation[2].detail.find("trust anchor") != std::string::npos);
    const std::string sum = revocation_summary(v.revocation, std::time(nullptr));
    BOOST_TEST(sum == "0 unknown; 1 unknown; 2 not checked", sum);
}

BOOST_AUTO_TEST_CASE(reason_names) {
    BOOST_TEST(crl_reason_name(1) == "keyCompromise");
    BOOST_TEST(crl_reason_name(6) == "certificateHold");
    BOOST_TEST(crl_reason_name(-1) == "unspecified");
    BOOST_TEST(crl_reason_name(7) == "unspecified");  // 7 is unassigned
    BOOST_TEST(crl_reason_name(99) == "unspecified");
}
