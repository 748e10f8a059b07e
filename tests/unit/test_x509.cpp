// X.509 helpers: parsing (PEM, DER, bundles), the fields cardgate decides on,
// and refusal of malformed input.
#define BOOST_TEST_MODULE x509
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <ostream>
#include <string>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "src/x509.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
}  // namespace cardgate

using namespace cardgate;

namespace {

std::string fixtures() {
    const char* d = std::getenv("CARDGATE_FIXTURES");
    BOOST_REQUIRE_MESSAGE(d && *d, "CARDGATE_FIXTURES is not set (run through make check)");
    return d;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    BOOST_REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Certificate cert(const std::string& rel) {
    auto r = Certificate::load(fixtures() + "/" + rel);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message()));
    return std::move(r).value();
}

std::string sha256_hex(const std::string& bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    BOOST_REQUIRE(EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) == 1);
    return to_hex({md, n});
}

int year_of(std::time_t t) {
    struct tm tm {};
    gmtime_r(&t, &tm);
    return tm.tm_year + 1900;
}

const std::string clientAuth = "1.3.6.1.5.5.7.3.2";
const std::string pivCardAuth = "2.16.840.1.101.3.6.8";
const std::string serverAuth = "1.3.6.1.5.5.7.3.1";

// A self-signed certificate made in memory, for malformed cases no CA would issue.
struct Made {
    ossl::EvpPkeyPtr key;
    ossl::X509Ptr x;
};
Made make_cert() {
    Made m;
    m.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    m.x.reset(X509_new());
    BOOST_REQUIRE(m.key && m.x);
    X509_set_version(m.x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(m.x.get()), 7);
    X509_gmtime_adj(X509_getm_notBefore(m.x.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(m.x.get()), 3600);
    X509_NAME* n = X509_get_subject_name(m.x.get());  // owned by the cert
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("made"), -1, -1, 0);
    X509_set_issuer_name(m.x.get(), n);
    X509_set_pubkey(m.x.get(), m.key.get());
    BOOST_REQUIRE(X509_sign(m.x.get(), m.key.get(), EVP_sha256()) > 0);  // re-signed after any change
    return m;
}
void add_ext(X509* x, int nid, const char* value) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, nullptr, nid, value);  // owned: freed below
    BOOST_REQUIRE(e);
    X509_add_ext(x, e, -1);  // copies
    X509_EXTENSION_free(e);
}
std::string der_of(X509* x) {
    unsigned char* buf = nullptr;
    const int n = i2d_X509(x, &buf);
    std::string s(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
    OPENSSL_free(buf);
    return s;
}
std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

// ----------------------------------------------------------------- fields

BOOST_AUTO_TEST_CASE(leaf_names_are_rfc4514_most_specific_first) {
    const auto alice = cert("certs/alice-ec256.pem");
    const auto issuing = cert("pki/issuing.pem");
    BOOST_TEST(alice.subject().rfind("UID=alice,CN=", 0) == 0, alice.subject());
    BOOST_TEST(alice.subject().find(",OU=Engineering,O=Example Corp") != std::string::npos, alice.subject());
    BOOST_TEST(alice.issuer() == issuing.subject());
    BOOST_TEST(issuing.subject().find("O=Example Corp") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(san_emails_and_upns_are_extracted) {
    const auto alice = cert("certs/alice-rsa2048.pem");
    BOOST_TEST(alice.emails() == std::vector<std::string>{"alice@example.com"});
    BOOST_TEST(alice.upns() == std::vector<std::string>{"alice@EXAMPLE.COM"});
    const auto bob = cert("certs/bob-ec256.pem");
    BOOST_TEST(bob.emails() == std::vector<std::string>{"bob@example.com"});
    BOOST_TEST(bob.upns() == std::vector<std::string>{"bob@EXAMPLE.COM"});
}

BOOST_AUTO_TEST_CASE(key_types_and_sizes_are_named) {
    BOOST_TEST(cert("certs/alice-rsa2048.pem").key_type() == "RSA-2048");
    BOOST_TEST(cert("certs/alice-rsa4096.pem").key_type() == "RSA-4096");
    BOOST_TEST(cert("certs/alice-ec256.pem").key_type() == "EC P-256");
    BOOST_TEST(cert("certs/alice-ec384.pem").key_type() == "EC P-384");
}

BOOST_AUTO_TEST_CASE(hashes_match_an_independent_computation) {
    const auto alice = cert("certs/alice-ec256.der");
    BOOST_TEST(alice.sha256() == sha256_hex(slurp(fixtures() + "/certs/alice-ec256.der")));
    BOOST_TEST(alice.sha256().size() == 64u);
    // SPKI: the DER SubjectPublicKeyInfo, re-encoded from the public key.
    unsigned char* spki = nullptr;
    const int n = i2d_PUBKEY(X509_get0_pubkey(alice.x509()), &spki);
    BOOST_REQUIRE(n > 0);
    const std::string spki_der(reinterpret_cast<char*>(spki), static_cast<std::size_t>(n));
    OPENSSL_free(spki);
    BOOST_TEST(alice.spki_sha256() == sha256_hex(spki_der));
    BOOST_TEST(alice.spki_sha256() != alice.sha256());
}

BOOST_AUTO_TEST_CASE(pem_and_der_forms_are_the_same_certificate) {
    const auto pem = cert("certs/alice-ec384.pem");
    const auto der = cert("certs/alice-ec384.der");
    BOOST_TEST(pem.sha256() == der.sha256());
    BOOST_TEST(pem.serial_hex() == der.serial_hex());
    BOOST_TEST(pem.der() == der.der());
}

BOOST_AUTO_TEST_CASE(serial_is_upper_case_hex_as_openssl_prints_it) {
    const auto alice = cert("certs/alice-ec256.pem");
    ossl::BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(alice.x509()), nullptr));
    ossl::OsslString hex(BN_bn2hex(bn.get()));
    BOOST_TEST(alice.serial_hex() == std::string(hex.get()));
    for (char c : alice.serial_hex()) BOOST_TEST(((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')));
}

BOOST_AUTO_TEST_CASE(validity_times_are_read) {
    const auto expired = cert("certs/expired.pem");
    BOOST_TEST(year_of(expired.not_before()) == 2020);
    BOOST_TEST(year_of(expired.not_after()) == 2021);
    const auto notyet = cert("certs/notyet.pem");
    BOOST_TEST(notyet.not_before() > std::time(nullptr) + 300 * 86400);
}

BOOST_AUTO_TEST_CASE(eku_oids_are_dotted) {
    const auto alice = cert("certs/alice-ec256.pem");
    BOOST_TEST(alice.has_eku());
    BOOST_TEST(alice.has_eku_oid(clientAuth));
    const auto cardauth = cert("certs/cardauth.pem");
    BOOST_TEST(cardauth.eku() == std::vector<std::string>{pivCardAuth});
    const auto wrong = cert("certs/wrong-eku.pem");
    BOOST_TEST(wrong.eku() == std::vector<std::string>{serverAuth});
    BOOST_TEST(!cert("pki/root.pem").has_eku());
}

BOOST_AUTO_TEST_CASE(key_usage_bits_and_presence_are_read) {
    const auto alice = cert("certs/alice-ec256.pem");
    BOOST_TEST(alice.has_key_usage());
    BOOST_TEST((alice.key_usage() & key_usage::digital_signature) != 0u);
    const auto nodig = cert("certs/no-digsig.pem");
    BOOST_TEST(nodig.has_key_usage());
    BOOST_TEST((nodig.key_usage() & key_usage::digital_signature) == 0u);
    BOOST_TEST((nodig.key_usage() & key_usage::key_encipherment) != 0u);
    auto m = make_cert();
    auto none = Certificate::from_der(bytes(der_of(m.x.get())));
    BOOST_REQUIRE(none.ok());
    BOOST_TEST(!none->has_key_usage());
    BOOST_TEST(none->key_usage() == 0u);
}

BOOST_AUTO_TEST_CASE(ca_and_self_signed_are_told_apart) {
    BOOST_TEST(cert("pki/root.pem").is_ca());
    BOOST_TEST(cert("pki/root.pem").is_self_signed());
    BOOST_TEST(cert("pki/issuing.pem").is_ca());
    BOOST_TEST(!cert("pki/issuing.pem").is_self_signed());
    BOOST_TEST(!cert("pki/nonca-intermediate.pem").is_ca());
    BOOST_TEST(!cert("certs/alice-ec256.pem").is_ca());
    BOOST_TEST(!cert("certs/alice-ec256.pem").is_self_signed());
}

BOOST_AUTO_TEST_CASE(copies_share_the_certificate_and_outlive_the_original) {
    std::optional<Certificate> copy;
    {
        const auto alice = cert("certs/alice-ec256.pem");
        copy.emplace(alice);
        BOOST_TEST(copy->x509() == alice.x509());
    }
    BOOST_TEST(copy->sha256().size() == 64u);
    BOOST_TEST(copy->der().size() > 100u);
}

BOOST_AUTO_TEST_CASE(from_x509_takes_its_own_reference) {
    auto m = make_cert();
    auto c = Certificate::from_x509(m.x.get(), "test");
    BOOST_REQUIRE(c.ok());
    m.x.reset();  // the caller's reference is gone
    BOOST_TEST(c->subject() == "CN=made");
    BOOST_TEST(c->serial_hex() == "07");
}

BOOST_AUTO_TEST_CASE(a_pem_bundle_yields_every_certificate_in_order) {
    const std::string bundle = slurp(fixtures() + "/pki/root.pem") + slurp(fixtures() + "/pki/issuing.pem");
    auto all = parse_certificates(bundle, "bundle");
    BOOST_REQUIRE(all.ok());
    BOOST_REQUIRE(all->size() == 2u);
    BOOST_TEST((*all)[0].subject() == cert("pki/root.pem").subject());
    BOOST_TEST((*all)[1].subject() == cert("pki/issuing.pem").subject());
}

// ----------------------------------------------------------------- hostile input

BOOST_AUTO_TEST_CASE(garbage_is_cert_parse_naming_the_origin) {
    auto r = Certificate::from_bytes("this is not a certificate", "/tmp/garbage.pem");
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.code() == Code::cert_parse);
    BOOST_TEST(r.error().detail().rfind("/tmp/garbage.pem: ", 0) == 0, r.error().detail());
}

BOOST_AUTO_TEST_CASE(empty_input_is_cert_parse) {
    BOOST_TEST(Certificate::from_der({}, "empty").code() == Code::cert_parse);
    BOOST_TEST(Certificate::from_pem("", "empty").code() == Code::cert_parse);
}

BOOST_AUTO_TEST_CASE(truncated_der_is_cert_parse) {
    const std::string der = slurp(fixtures() + "/certs/alice-ec256.der");
    BOOST_TEST(Certificate::from_der(bytes(der.substr(0, der.size() - 1)), "cut").code() == Code::cert_parse);
    BOOST_TEST(Certificate::from_der(bytes(der.substr(0, 10)), "cut").code() == Code::cert_parse);
}

BOOST_AUTO_TEST_CASE(der_with_trailing_bytes_is_cert_parse) {
    auto r = Certificate::from_der(bytes(slurp(fixtures() + "/certs/alice-ec256.der") + "X"), "trailing");
    BOOST_TEST(r.code() == Code::cert_parse);
    BOOST_TEST(r.error().detail().find("trailing bytes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(pem_with_two_certificates_is_not_one_certificate) {
    const std::string two = slurp(fixtures() + "/certs/alice-ec256.pem") + slurp(fixtures() + "/certs/bob-ec256.pem");
    auto r = Certificate::from_pem(two, "two.pem");
    BOOST_TEST(r.code() == Code::cert_parse);
    BOOST_TEST(r.error().detail().find("2 certificates") != std::string::npos, r.error().detail());
}

BOOST_AUTO_TEST_CASE(pem_with_corrupt_base64_is_cert_parse) {
    std::string pem = slurp(fixtures() + "/certs/alice-ec256.pem");
    pem[pem.find('\n') + 20] = '!';
    BOOST_TEST(Certificate::from_pem(pem, "corrupt.pem").code() == Code::cert_parse);
}

BOOST_AUTO_TEST_CASE(a_crl_is_not_a_certificate) {
    BOOST_TEST(Certificate::load(fixtures() + "/pki/issuing.crl").code() == Code::cert_parse);
    BOOST_TEST(Certificate::load(fixtures() + "/pki/issuing.crl.der").code() == Code::cert_parse);
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_an_io_error_naming_it) {
    auto r = Certificate::load("/nonexistent/alice.pem");
    BOOST_TEST(r.code() == Code::io);
    BOOST_TEST(r.error().detail().rfind("/nonexistent/alice.pem: ", 0) == 0);
}

BOOST_AUTO_TEST_CASE(duplicated_extension_is_refused) {
    auto m = make_cert();
    add_ext(m.x.get(), NID_key_usage, "critical,digitalSignature");
    add_ext(m.x.get(), NID_key_usage, "critical,keyCertSign");
    BOOST_REQUIRE(X509_sign(m.x.get(), m.key.get(), EVP_sha256()) > 0);
    auto r = Certificate::from_der(bytes(der_of(m.x.get())), "dup");
    BOOST_TEST(r.code() == Code::cert_parse);
    BOOST_TEST(r.error().detail().find("extensions") != std::string::npos, r.error().detail());
}

BOOST_AUTO_TEST_CASE(san_email_with_an_embedded_nul_is_refused) {
    auto m = make_cert();
    GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();  // owned until X509_add1_ext_i2d copies it
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    const char evil[] = "alice@example.com\0.evil.org";
    ASN1_STRING_set(ia5, evil, sizeof evil - 1);
    GENERAL_NAME_set0_value(gn, GEN_EMAIL, ia5);  // gn owns ia5
    sk_GENERAL_NAME_push(names, gn);              // names owns gn
    X509_add1_ext_i2d(m.x.get(), NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT);  // encodes a copy
    GENERAL_NAMES_free(names);
    BOOST_REQUIRE(X509_sign(m.x.get(), m.key.get(), EVP_sha256()) > 0);
    auto r = Certificate::from_der(bytes(der_of(m.x.get())), "nul");
    BOOST_TEST(r.code() == Code::cert_parse);
    BOOST_TEST(r.error().detail().find("NUL") != std::string::npos, r.error().detail());
}

BOOST_AUTO_TEST_CASE(upn_that_is_not_utf8string_is_ignored) {
    auto m = make_cert();
    add_ext(m.x.get(), NID_subject_alt_name,
            "otherName:1.3.6.1.4.1.311.20.2.3;IA5STRING:mallory@EXAMPLE.COM,"
            "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@EXAMPLE.COM");
    BOOST_REQUIRE(X509_sign(m.x.get(), m.key.get(), EVP_sha256()) > 0);
    auto r = Certificate::from_der(bytes(der_of(m.x.get())), "upn");
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->upns() == std::vector<std::string>{"alice@EXAMPLE.COM"});
}

BOOST_AUTO_TEST_CASE(utf8_and_special_characters_in_names_follow_rfc4514) {
    auto m = make_cert();
    X509_NAME* n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Caf\xc3\xa9, Inc."), -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("a+b"), -1, -1, 0);
    X509_set_subject_name(m.x.get(), n);  // copies
    X509_NAME_free(n);
    BOOST_REQUIRE(X509_sign(m.x.get(), m.key.get(), EVP_sha256()) > 0);
    auto r = Certificate::from_der(bytes(der_of(m.x.get())), "names");
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->subject() == "CN=a\\+b,O=Caf\xc3\xa9\\, Inc.");
}
