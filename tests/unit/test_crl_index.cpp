// The CRL index (src/crl_index.hpp): the fixture CRLs (written by openssl ca)
// against OpenSSL's own reading of them; CRLs assembled here byte by byte and
// signed with keys made here, one hostile feature each, every one refused
// with cert_revocation_unknown and a detail naming it; a large CRL of random
// serials; and index payloads tampered with after the build, refused with
// Code::io by open() or by the find() that reads the damaged block.
#define BOOST_TEST_MODULE crl_index
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "src/crl_index.hpp"
#include "src/ossl.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
}  // namespace cardgate

using namespace cardgate;
using Der = std::vector<std::uint8_t>;

namespace {

// ----------------------------------------------------------------- fixtures

std::string fx(const std::string& rel) {
    const char* d = std::getenv("CARDGATE_FIXTURES");
    BOOST_REQUIRE_MESSAGE(d && *d, "CARDGATE_FIXTURES is not set (run through make check)");
    return std::string(d) + "/" + rel;
}

Der read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    BOOST_REQUIRE_MESSAGE(in, "cannot read " << path);
    return Der((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

ossl::X509Ptr load_cert(const std::string& rel) {
    const Der pem = read_file(fx(rel));
    ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    ossl::X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));  // owned
    BOOST_REQUIRE_MESSAGE(x, "cannot parse " << rel);
    return x;
}

template <typename T>
std::string why(const Result<T>& r) {
    return r.ok() ? std::string() : r.error().message();
}

Der build(const Der& crl, X509* issuer) {
    auto r = build_crl_index(crl, issuer);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    return std::move(r).value();
}

CrlIndexView view(const Der& payload) {
    auto v = CrlIndexView::open(payload);
    BOOST_REQUIRE_MESSAGE(v.ok(), why(v));
    return std::move(v).value();
}

std::optional<RevokedEntry> find(const CrlIndexView& v, const Der& serial) {
    auto r = v.find(serial);
    BOOST_REQUIRE_MESSAGE(r.ok(), why(r));
    return *r;
}

// A payload and the view over it, kept together (the view borrows the bytes).
struct Indexed {
    Der payload;
    CrlIndexView view;
    const CrlFacts& facts() const { return view.facts(); }
};

Indexed indexed(const Der& crl, X509* issuer) {
    Der payload = build(crl, issuer);
    CrlIndexView v = view(payload);
    return Indexed{std::move(payload), std::move(v)};  // moving the vector keeps its buffer
}

std::optional<RevokedEntry> find(const Indexed& i, const Der& serial) { return find(i.view, serial); }

// The build is refused with cert_revocation_unknown and a detail containing `says`.
void refused(const Der& crl, X509* issuer, const std::string& says) {
    auto r = build_crl_index(crl, issuer);
    BOOST_REQUIRE_MESSAGE(!r.ok(), "accepted; expected a refusal saying '" << says << "'");
    BOOST_TEST(r.code() == Code::cert_revocation_unknown);
    BOOST_TEST_INFO("detail: " << r.error().detail());
    BOOST_TEST(r.error().detail().find(says) != std::string::npos);
}

bool is_corrupt(const Error& e) { return e.code() == Code::io && e.detail().find("CRL index corrupt") == 0; }

// ----------------------------------------------------------------- DER assembly

Der tlv(std::uint8_t tag, const Der& content) {
    Der out{tag};
    const std::size_t n = content.size();
    if (n < 0x80) {
        out.push_back(static_cast<std::uint8_t>(n));
    } else {
        Der len;
        for (std::size_t v = n; v; v >>= 8) len.insert(len.begin(), static_cast<std::uint8_t>(v));
        out.push_back(static_cast<std::uint8_t>(0x80 | len.size()));
        out.insert(out.end(), len.begin(), len.end());
    }
    out.insert(out.end(), content.begin(), content.end());
    return out;
}

Der cat(std::initializer_list<Der> parts) {
    Der out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}
Der cat(const std::vector<Der>& parts) {
    Der out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}
Der seq(std::initializer_list<Der> parts) { return tlv(0x30, cat(parts)); }
Der integer(const Der& content) { return tlv(0x02, content); }
Der null() { return {0x05, 0x00}; }
Der boolean(bool v) { return {0x01, 0x01, static_cast<std::uint8_t>(v ? 0xFF : 0x00)}; }
Der utc(const std::string& s) { return tlv(0x17, Der(s.begin(), s.end())); }
Der gen_time(const std::string& s) { return tlv(0x18, Der(s.begin(), s.end())); }
Der octets(const Der& c) { return tlv(0x04, c); }

Der oid(const char* dotted) {
    ossl::Asn1ObjectPtr o(OBJ_txt2obj(dotted, 1));  // owned
    BOOST_REQUIRE(o);
    unsigned char* p = nullptr;
    const int n = i2d_ASN1_OBJECT(o.get(), &p);  // allocates p: freed below
    BOOST_REQUIRE(n > 0);
    Der out(p, p + n);
    OPENSSL_free(p);
    return out;
}

Der ext(const char* id, bool critical, const Der& value) {
    return critical ? seq({oid(id), boolean(true), octets(value)}) : seq({oid(id), octets(value)});
}
Der reason(int code) { return ext("2.5.29.21", false, tlv(0x0A, {static_cast<std::uint8_t>(code)})); }

Der entry(const Der& serial, const Der& when = utc("260101000000Z"), std::optional<std::vector<Der>> exts = {}) {
    if (!exts) return seq({integer(serial), when});
    return seq({integer(serial), when, tlv(0x30, cat(*exts))});
}

const char* ecdsa_sha256 = "1.2.840.10045.4.3.2";

// A CRL to be signed: every field a test may replace. Defaults make a valid v2 CRL.
struct Spec {
    std::optional<Der> version = integer({0x01});
    Der alg = seq({oid(ecdsa_sha256)});
    std::optional<Der> outer_alg;  // default: alg
    Der issuer;                     // default: the CA's subject
    Der this_update = utc("260101000000Z");
    std::optional<Der> next_update = utc("260201000000Z");
    std::optional<std::vector<Der>> entries = std::vector<Der>{entry({0x01, 0x23}, utc("251231120000Z"), {{reason(1)}})};
    std::optional<std::vector<Der>> extensions = std::vector<Der>{ext("2.5.29.20", false, integer({0x2A}))};
    const char* md = "SHA256";  // nullptr: EdDSA
    bool pss = false;
    Der tbs_suffix;             // appended inside tbsCertList
};

// A CA made here: a key, a self-signed certificate with the given keyUsage.
struct Ca {
    ossl::EvpPkeyPtr key;
    ossl::X509Ptr cert;
    Der name;
};

Ca make_ca(const char* alg = "EC", const char* param = "P-256", const char* key_usage = "critical,keyCertSign,cRLSign",
           const char* cn = "Test CRL CA") {
    Ca ca;
    if (std::string(alg) == "RSA")
        ca.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(std::atoi(param))));  // owned
    else if (param)
        ca.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, alg, param));  // owned
    else
        ca.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, alg));  // owned
    BOOST_REQUIRE(ca.key);
    ca.cert.reset(X509_new());
    X509* x = ca.cert.get();
    BOOST_REQUIRE(X509_set_version(x, 2) == 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME* n = X509_get_subject_name(x);  // borrowed from x
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Example Corp"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    BOOST_REQUIRE(X509_set_issuer_name(x, n) == 1);
    BOOST_REQUIRE(X509_set_pubkey(x, ca.key.get()) == 1);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    BOOST_REQUIRE(bc);
    X509_add_ext(x, bc, -1);  // copies
    X509_EXTENSION_free(bc);
    if (key_usage) {
        X509_EXTENSION* ku = X509V3_EXT_conf_nid(nullptr, &ctx, NID_key_usage, key_usage);
        BOOST_REQUIRE(ku);
        X509_add_ext(x, ku, -1);  // copies
        X509_EXTENSION_free(ku);
    }
    const bool ed = std::string(alg).rfind("ED", 0) == 0;
    BOOST_REQUIRE(X509_sign(x, ca.key.get(), ed ? nullptr : EVP_sha256()) > 0);
    unsigned char* p = nullptr;
    const int len = i2d_X509_NAME(X509_get_subject_name(x), &p);  // allocates p: freed below
    ca.name.assign(p, p + len);
    OPENSSL_free(p);
    return ca;
}

const Ca& ec_ca() {
    static const Ca ca = make_ca();
    return ca;
}

Der sign_bytes(const Der& tbs, EVP_PKEY* key, const char* md, bool pss) {
    ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    BOOST_REQUIRE(EVP_DigestSignInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, key, nullptr) == 1);
    if (pss) {
        BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
        BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1);
        BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, md, nullptr) == 1);
    }
    std::size_t n = 0;
    BOOST_REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &n, tbs.data(), tbs.size()) == 1);
    Der sig(n);
    BOOST_REQUIRE(EVP_DigestSign(ctx.get(), sig.data(), &n, tbs.data(), tbs.size()) == 1);
    sig.resize(n);
    return sig;
}

Der tbs_of(const Spec& s, const Ca& ca) {
    Der body;
    auto add = [&body](const Der& d) { body.insert(body.end(), d.begin(), d.end()); };
    if (s.version) add(*s.version);
    add(s.alg);
    add(s.issuer.empty() ? ca.name : s.issuer);
    add(s.this_update);
    if (s.next_update) add(*s.next_update);
    if (s.entries) add(tlv(0x30, cat(*s.entries)));
    if (s.extensions) add(tlv(0xA0, tlv(0x30, cat(*s.extensions))));
    add(s.tbs_suffix);
    return tlv(0x30, body);
}

Der signed_crl(const Spec& s, const Ca& ca = ec_ca()) {
    const Der tbs = tbs_of(s, ca);
    Der bits{0x00};
    const Der sig = sign_bytes(tbs, ca.key.get(), s.md, s.pss);
    bits.insert(bits.end(), sig.begin(), sig.end());
    return seq({tbs, s.outer_alg ? *s.outer_alg : s.alg, tlv(0x03, bits)});
}

// RSASSA-PSS-params (RFC 4055) for SHA-256, MGF1-SHA-256 and salt `salt`.
Der pss_alg(const char* hash = "2.16.840.1.101.3.4.2.1", const char* mgf_hash = "2.16.840.1.101.3.4.2.1",
            std::uint8_t salt = 32, std::optional<Der> trailer = {}) {
    Der params = cat({tlv(0xA0, seq({oid(hash), null()})),
                      tlv(0xA1, seq({oid("1.2.840.113549.1.1.8"), seq({oid(mgf_hash), null()})})),
                      tlv(0xA2, integer({salt}))});
    if (trailer) params = cat({params, tlv(0xA3, *trailer)});
    return seq({oid("1.2.840.113549.1.1.10"), tlv(0x30, params)});
}

// What OpenSSL reads in a CRL: serial content octets -> (revocation time, reason).
std::map<Der, std::pair<std::int64_t, int>> openssl_entries(const Der& crl) {
    const unsigned char* p = crl.data();
    ossl::X509CrlPtr x(d2i_X509_CRL(nullptr, &p, static_cast<long>(crl.size())));  // owned
    BOOST_REQUIRE(x);
    std::map<Der, std::pair<std::int64_t, int>> out;
    STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(x.get());  // borrowed from x
    for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
        const X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
        const ASN1_INTEGER* serial = X509_REVOKED_get0_serialNumber(r);
        unsigned char* d = nullptr;
        const int n = i2d_ASN1_INTEGER(serial, &d);  // allocates d: freed below
        Der content(d + 2, d + n);                   // short-form length: serials are < 128 octets
        OPENSSL_free(d);
        struct tm tm {};
        BOOST_REQUIRE(ASN1_TIME_to_tm(X509_REVOKED_get0_revocationDate(r), &tm) == 1);
        int crit = 0;
        ASN1_ENUMERATED* e = static_cast<ASN1_ENUMERATED*>(
            X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, nullptr));  // owned
        const int reason = e ? static_cast<int>(ASN1_ENUMERATED_get(e)) : -1;
        ASN1_ENUMERATED_free(e);
        out[content] = {timegm(&tm), reason};
    }
    return out;
}

std::int64_t openssl_time(const ASN1_TIME* t) {
    struct tm tm {};
    BOOST_REQUIRE(ASN1_TIME_to_tm(t, &tm) == 1);
    return timegm(&tm);
}

}  // namespace

// ================================================================= fixture CRLs

BOOST_AUTO_TEST_SUITE(fixture_crls)

BOOST_AUTO_TEST_CASE(revoked_badge_is_found_with_key_compromise) {
    const auto issuing = load_cert("pki/issuing.pem");
    const auto v = indexed(read_file(fx("pki/issuing.crl")), issuing.get());
    const auto revoked = load_cert("certs/revoked.pem");
    const auto hit = find(v, serial_key(revoked.get()));
    BOOST_REQUIRE(hit.has_value());
    BOOST_TEST(hit->reason == 1);  // keyCompromise
    BOOST_TEST(v.facts().count == 1u);
}

BOOST_AUTO_TEST_CASE(valid_badges_are_not_found) {
    const auto issuing = load_cert("pki/issuing.pem");
    const auto v = indexed(read_file(fx("pki/issuing.crl")), issuing.get());
    for (const char* c : {"certs/alice-ec256.pem", "certs/alice-rsa2048.pem", "certs/bob-ec256.pem"}) {
        BOOST_TEST_INFO(c);
        BOOST_TEST(!find(v, serial_key(load_cert(c).get())).has_value());
    }
}

BOOST_AUTO_TEST_CASE(pem_and_der_give_the_same_index) {
    const auto issuing = load_cert("pki/issuing.pem");
    const Der from_pem = build(read_file(fx("pki/issuing.crl")), issuing.get());
    const Der from_der = build(read_file(fx("pki/issuing.crl.der")), issuing.get());
    BOOST_TEST(from_pem == from_der);  // the CRL's SHA-256 is of the DER in both cases
    const auto v = view(from_pem);
    BOOST_TEST(v.facts().crl_sha256 == [] {
        const Der der = read_file(fx("pki/issuing.crl.der"));
        Sha256 d;
        SHA256(der.data(), der.size(), d.data());
        return d;
    }());
}

BOOST_AUTO_TEST_CASE(facts_are_those_openssl_reads) {
    const auto issuing = load_cert("pki/issuing.pem");
    struct Case {
        const char* file;
        Der number;  // openssl ca writes crlnumber in hex: 1000, then 1001
    };
    for (const Case& c : {Case{"pki/issuing.crl", {0x10, 0x00}}, Case{"pki/issuing-stale.crl", {0x10, 0x01}}}) {
        BOOST_TEST_INFO(c.file);
        const Der pem = read_file(fx(c.file));
        ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
        ossl::X509CrlPtr x(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));  // owned
        BOOST_REQUIRE(x);
        const auto v = indexed(pem, issuing.get());
        const CrlFacts& f = v.facts();
        BOOST_TEST(f.this_update == openssl_time(X509_CRL_get0_lastUpdate(x.get())));
        BOOST_TEST(f.next_update == openssl_time(X509_CRL_get0_nextUpdate(x.get())));
        BOOST_TEST(f.crl_number == c.number);
        BOOST_TEST(f.issuer_name_sha256 == name_sha256(X509_get_subject_name(issuing.get())));
        BOOST_TEST(f.signer_spki_sha256 == spki_sha256(issuing.get()));
        BOOST_TEST(f.idp_uris.empty());
        BOOST_TEST(!f.only_user_certs);
        BOOST_TEST(!f.only_ca_certs);
    }
}

BOOST_AUTO_TEST_CASE(every_fixture_crl_agrees_with_openssl) {
    struct Case {
        const char* crl;
        const char* issuer;
    };
    for (const Case& c : {Case{"pki/issuing.crl", "pki/issuing.pem"}, Case{"pki/issuing-stale.crl", "pki/issuing.pem"},
                          Case{"pki/root.crl", "pki/root.pem"}, Case{"pki/root-revoked-issuing.crl", "pki/root.pem"}}) {
        BOOST_TEST_INFO(c.crl);
        const auto issuer = load_cert(c.issuer);
        const Der pem = read_file(fx(c.crl));
        ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
        ossl::X509CrlPtr x(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));  // owned
        BOOST_REQUIRE(x);
        unsigned char* d = nullptr;
        const int n = i2d_X509_CRL(x.get(), &d);  // allocates d: freed below
        const Der der(d, d + n);
        OPENSSL_free(d);
        const auto want = openssl_entries(der);
        const auto v = indexed(pem, issuer.get());
        BOOST_TEST(v.facts().count == want.size());
        for (const auto& [serial, e] : want) {
            const auto hit = find(v, serial);
            BOOST_REQUIRE(hit.has_value());
            BOOST_TEST(hit->revoked_at == e.first);
            BOOST_TEST(hit->reason == e.second);
        }
    }
}

BOOST_AUTO_TEST_CASE(root_crl_revoking_the_issuing_ca_finds_it_with_ca_compromise) {
    const auto root = load_cert("pki/root.pem");
    const auto v = indexed(read_file(fx("pki/root-revoked-issuing.crl")), root.get());
    const auto hit = find(v, serial_key(load_cert("pki/issuing.pem").get()));
    BOOST_REQUIRE(hit.has_value());
    BOOST_TEST(hit->reason == 2);  // cACompromise
    // The plain root CRL lists nothing: an empty index, in which nothing is found.
    const auto empty = indexed(read_file(fx("pki/root.crl")), root.get());
    BOOST_TEST(empty.facts().count == 0u);
    BOOST_TEST(!find(empty, serial_key(load_cert("pki/issuing.pem").get())).has_value());
}

BOOST_AUTO_TEST_CASE(root_is_not_the_issuer_of_the_issuing_crl) {
    refused(read_file(fx("pki/issuing.crl")), load_cert("pki/root.pem").get(), "is not ");
}

BOOST_AUTO_TEST_CASE(lookalike_ca_with_the_same_name_fails_the_signature) {
    refused(read_file(fx("pki/issuing.crl")), load_cert("pki/lookalike-ca.pem").get(), "does not verify with the key of");
}

BOOST_AUTO_TEST_CASE(every_single_bit_flip_of_the_crl_is_refused) {
    const auto issuing = load_cert("pki/issuing.pem");
    const Der der = read_file(fx("pki/issuing.crl.der"));
    for (std::size_t i = 0; i < der.size(); ++i) {
        for (std::uint8_t bit : {0x01, 0x80}) {
            Der d = der;
            d[i] ^= bit;
            auto r = build_crl_index(d, issuing.get());
            BOOST_TEST_INFO("octet " << i << " bit " << int(bit));
            BOOST_TEST(r.code() == Code::cert_revocation_unknown);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_truncation_and_any_trailing_octet_is_refused) {
    const auto issuing = load_cert("pki/issuing.pem");
    const Der der = read_file(fx("pki/issuing.crl.der"));
    for (std::size_t n = 0; n < der.size(); ++n) {
        auto r = build_crl_index(std::span(der.data(), n), issuing.get());
        BOOST_TEST_INFO("first " << n << " octets");
        BOOST_TEST(r.code() == Code::cert_revocation_unknown);
    }
    Der longer = der;
    longer.push_back(0x00);
    refused(longer, issuing.get(), "trailing data");
}

BOOST_AUTO_TEST_CASE(outer_length_not_in_shortest_form_is_refused) {
    const auto issuing = load_cert("pki/issuing.pem");
    const Der der = read_file(fx("pki/issuing.crl.der"));
    // Re-encode the outer SEQUENCE's length with one more length octet than needed.
    BOOST_REQUIRE(der[0] == 0x30 && (der[1] & 0x80));
    const std::size_t n = der[1] & 0x7F;
    Der d{0x30, static_cast<std::uint8_t>(0x80 | (n + 1)), 0x00};
    d.insert(d.end(), der.begin() + 2, der.end());
    refused(d, issuing.get(), "shortest form");
}

BOOST_AUTO_TEST_CASE(not_a_crl_is_refused) {
    const auto issuing = load_cert("pki/issuing.pem");
    const std::string junk = "hello";
    refused(Der(junk.begin(), junk.end()), issuing.get(), "not a DER or PEM CRL");
    refused(read_file(fx("pki/issuing.pem")), issuing.get(), "not a DER or PEM CRL");
    const std::string bad = "-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n";
    refused(Der(bad.begin(), bad.end()), issuing.get(), "no well-formed");
    // Blank lines inside the base64 body: OpenSSL's PEM reader refuses them,
    // so cardgate does too (found by fuzz_crl_index: a hand-written decoder
    // read them).
    {
        const Der good = read_file(fx("pki/issuing.crl"));
        std::string t(good.begin(), good.end());
        const auto nl = t.find('\n', t.find("-----BEGIN X509 CRL-----"));
        const auto second = t.find('\n', nl + 1);
        t.insert(second + 1, "\n\n\n");
        refused(Der(t.begin(), t.end()), issuing.get(), "no well-formed");
    }
    refused(Der{}, issuing.get(), "not a DER or PEM CRL");
    // The markers must be whole lines, as for OpenSSL's PEM reader (found by fuzz_crl_index).
    const Der pem = read_file(fx("pki/issuing.crl"));
    Der mid{'x', 'y'};
    mid.insert(mid.end(), pem.begin(), pem.end());
    refused(mid, issuing.get(), "not a DER or PEM CRL");
    // Text lines before the block (as `openssl crl -text` writes) are skipped.
    const std::string text = "Certificate Revocation List (CRL):\n  ...\n";
    Der with_text(text.begin(), text.end());
    with_text.insert(with_text.end(), pem.begin(), pem.end());
    BOOST_TEST(build(with_text, issuing.get()) == build(pem, issuing.get()));
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= CRLs made here: accepted

BOOST_AUTO_TEST_SUITE(accepted)

BOOST_AUTO_TEST_CASE(a_plain_v2_crl_is_indexed) {
    const auto v = indexed(signed_crl(Spec{}), ec_ca().cert.get());
    const auto hit = find(v, {0x01, 0x23});
    BOOST_REQUIRE(hit.has_value());
    BOOST_TEST(hit->reason == 1);
    BOOST_TEST(hit->revoked_at == 1767182400);  // 2025-12-31T12:00:00Z
    BOOST_TEST(v.facts().this_update == 1767225600);  // 2026-01-01
    BOOST_TEST(v.facts().next_update == 1769904000);  // 2026-02-01
    BOOST_TEST(v.facts().crl_number == Der{0x2A});
    BOOST_TEST(!find(v, {0x01, 0x24}).has_value());
    BOOST_TEST(!find(v, {0x23}).has_value());
    BOOST_TEST(!find(v, {}).has_value());
    BOOST_TEST(!find(v, Der(40, 0x01)).has_value());
}

BOOST_AUTO_TEST_CASE(entries_without_reason_and_crl_without_entries_or_extensions) {
    Spec s;
    s.entries = std::vector<Der>{entry({0x05})};
    auto v = indexed(signed_crl(s), ec_ca().cert.get());
    BOOST_TEST(find(v, {0x05})->reason == -1);
    s.entries.reset();
    s.extensions.reset();
    s.version.reset();  // v1: nothing needs v2
    v = indexed(signed_crl(s), ec_ca().cert.get());
    BOOST_TEST(v.facts().count == 0u);
    BOOST_TEST(v.facts().crl_number.empty());
}

BOOST_AUTO_TEST_CASE(generalized_time_and_century_rules) {
    Spec s;
    s.this_update = gen_time("20500101000000Z");
    s.next_update = gen_time("20500201000000Z");
    s.entries = std::vector<Der>{entry({0x07}, utc("491231235959Z")), entry({0x08}, utc("500101000000Z"))};
    const auto v = indexed(signed_crl(s), ec_ca().cert.get());
    BOOST_TEST(v.facts().this_update == 2524608000);        // 2050-01-01
    BOOST_TEST(find(v, {0x07})->revoked_at == 2524607999);  // 2049-12-31T23:59:59 (YY < 50: 20YY)
    BOOST_TEST(find(v, {0x08})->revoked_at == -631152000);  // 1950-01-01 (YY >= 50: 19YY)
}

BOOST_AUTO_TEST_CASE(negative_and_zero_serials_are_indexed_as_encoded) {
    // RFC 5280 4.1.2.2 asks relying parties to cope with non-conforming
    // negative serials: the index keeps the two's complement octets, which is
    // what serial_key() of such a certificate gives.
    ossl::X509Ptr cert(X509_new());
    ossl::BignumPtr bn(BN_new());
    BN_set_word(bn.get(), 0x1234);
    BN_set_negative(bn.get(), 1);
    BOOST_REQUIRE(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())));  // writes into cert
    const Der key = serial_key(cert.get());
    BOOST_TEST(key == (Der{0xED, 0xCC}));  // -0x1234
    Spec s;
    s.entries = std::vector<Der>{entry(key), entry({0x00}), entry({0x12, 0x34})};
    const auto v = indexed(signed_crl(s), ec_ca().cert.get());
    BOOST_TEST(find(v, key).has_value());
    BOOST_TEST(find(v, {0x00}).has_value());
    BOOST_TEST(find(v, {0x12, 0x34}).has_value());
    BOOST_TEST(v.facts().count == 3u);
}

BOOST_AUTO_TEST_CASE(a_serial_listed_twice_is_kept_once_with_its_earliest_date) {
    Spec s;
    s.entries = std::vector<Der>{entry({0x09}, utc("260105000000Z"), {{reason(4)}}),
                                 entry({0x09}, utc("251201000000Z"), {{reason(1)}}), entry({0x0A})};
    const auto v = indexed(signed_crl(s), ec_ca().cert.get());
    BOOST_TEST(v.facts().count == 2u);
    const auto hit = find(v, {0x09});
    BOOST_REQUIRE(hit.has_value());
    BOOST_TEST(hit->reason == 1);
    BOOST_TEST(hit->revoked_at == 1764547200);  // 2025-12-01
}

BOOST_AUTO_TEST_CASE(serials_of_22_octets_are_the_longest_accepted) {
    Der serial(22, 0x5A);
    Spec s;
    s.entries = std::vector<Der>{entry(serial)};
    const auto v = indexed(signed_crl(s), ec_ca().cert.get());
    BOOST_TEST(find(v, serial).has_value());
}

BOOST_AUTO_TEST_CASE(issuing_distribution_point_scope_is_recorded) {
    // IDP: fullName { directoryName, URI, URI }, onlyContainsUserCerts.
    const Der dirname = tlv(0xA4, ec_ca().name);
    const std::string u1 = "http://crl.example/a.crl", u2 = "ldap://crl.example/cn=a";
    const Der full = tlv(0xA0, cat({dirname, tlv(0x86, Der(u1.begin(), u1.end())), tlv(0x86, Der(u2.begin(), u2.end()))}));
    const Der idp = seq({tlv(0xA0, full), Der{0x81, 0x01, 0xFF}});
    Spec s;
    s.extensions->push_back(ext("2.5.29.28", true, idp));
    s.extensions->push_back(ext("2.5.29.46", false, seq({})));              // freshestCRL: ignored
    s.extensions->push_back(ext("1.3.6.1.4.1.99999.1", false, octets({})));  // unknown, not critical
    const auto v = indexed(signed_crl(s), ec_ca().cert.get());
    BOOST_TEST(v.facts().idp_uris == (std::vector<std::string>{u1, u2}));
    BOOST_TEST(v.facts().only_user_certs);
    BOOST_TEST(!v.facts().only_ca_certs);
    s.extensions->at(1) = ext("2.5.29.28", true, seq({Der{0x82, 0x01, 0xFF}}));
    const auto ca_only = indexed(signed_crl(s), ec_ca().cert.get());
    BOOST_TEST(ca_only.facts().only_ca_certs);
    BOOST_TEST(ca_only.facts().idp_uris.empty());
}

BOOST_AUTO_TEST_CASE(every_accepted_signature_algorithm_verifies) {
    struct Case {
        const char* alg;
        const char* param;
        const char* oid;
        const char* md;
        bool null_params;
    };
    const Case cases[] = {
        {"EC", "P-384", "1.2.840.10045.4.3.3", "SHA384", false},
        {"EC", "P-521", "1.2.840.10045.4.3.4", "SHA512", false},
        {"EC", "P-224", ecdsa_sha256, "SHA256", false},
        {"RSA", "2048", "1.2.840.113549.1.1.11", "SHA256", true},
        {"RSA", "2048", "1.2.840.113549.1.1.12", "SHA384", true},
        {"RSA", "2048", "1.2.840.113549.1.1.13", "SHA512", false},  // absent instead of NULL: tolerated
        {"ED25519", nullptr, "1.3.101.112", nullptr, false},
        {"ED448", nullptr, "1.3.101.113", nullptr, false},
    };
    for (const Case& c : cases) {
        BOOST_TEST_INFO(c.oid << " with " << c.alg);
        const Ca ca = make_ca(c.alg, c.param);
        Spec s;
        s.alg = c.null_params ? seq({oid(c.oid), null()}) : seq({oid(c.oid)});
        s.md = c.md;
        const auto v = indexed(signed_crl(s, ca), ca.cert.get());
        BOOST_TEST(find(v, {0x01, 0x23}).has_value());
    }
}

BOOST_AUTO_TEST_CASE(rsassa_pss_with_its_parameters_verifies) {
    const Ca ca = make_ca("RSA", "2048");
    Spec s;
    s.alg = pss_alg();
    s.pss = true;
    BOOST_TEST(find(indexed(signed_crl(s, ca), ca.cert.get()), {0x01, 0x23}).has_value());
    s.alg = pss_alg("2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.1", 32, integer({0x01}));
    BOOST_TEST(find(indexed(signed_crl(s, ca), ca.cert.get()), {0x01, 0x23}).has_value());
}

BOOST_AUTO_TEST_CASE(serial_key_is_the_integer_content) {
    const auto revoked = load_cert("certs/revoked.pem");
    const ASN1_INTEGER* s = X509_get0_serialNumber(revoked.get());
    const Der key = serial_key(revoked.get());
    ossl::BignumPtr bn(ASN1_INTEGER_to_BN(s, nullptr));
    Der be(static_cast<std::size_t>(BN_num_bytes(bn.get())));
    BN_bn2bin(bn.get(), be.data());
    if (be[0] & 0x80) be.insert(be.begin(), 0x00);
    BOOST_TEST(key == be);
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= CRLs made here: refused

BOOST_AUTO_TEST_SUITE(refused_crls)

X509* ca_cert() { return ec_ca().cert.get(); }

BOOST_AUTO_TEST_CASE(flipped_bits_in_signature_entry_and_tbs_are_refused) {
    const Der good = signed_crl(Spec{});
    const Der serial{0x01, 0x23};
    const auto at = std::search(good.begin(), good.end(), serial.begin(), serial.end()) - good.begin();
    Der d = good;
    d[static_cast<std::size_t>(at) + 1] ^= 0x01;  // the revoked serial 0123 -> 0122
    refused(d, ca_cert(), "does not verify");
    d = good;
    d[good.size() - 3] ^= 0x10;  // inside the signature value
    refused(d, ca_cert(), "does not verify");
    const std::string t = "260101000000Z";
    const auto tu = std::search(good.begin(), good.end(), t.begin(), t.end()) - good.begin();
    d = good;
    d[static_cast<std::size_t>(tu) + 3] = '2';  // thisUpdate 2026-01-01 -> 2026-02-01
    refused(d, ca_cert(), "does not verify");
}

BOOST_AUTO_TEST_CASE(indefinite_and_non_minimal_lengths_inside_tbs_are_refused) {
    Spec s;
    // An entry whose SEQUENCE length takes 0x81 for a value below 128.
    Der e = entry({0x11});
    Der bad{0x30, 0x81, e[1]};
    bad.insert(bad.end(), e.begin() + 2, e.end());
    s.entries = std::vector<Der>{bad};
    refused(signed_crl(s), ca_cert(), "shortest form");
    // revokedCertificates with an indefinite length.
    Spec t;
    t.entries.reset();
    t.extensions.reset();
    t.tbs_suffix = cat({Der{0x30, 0x80}, entry({0x11}), Der{0x00, 0x00}});
    refused(signed_crl(t), ca_cert(), "indefinite length");
}

BOOST_AUTO_TEST_CASE(missing_next_update_is_refused) {
    Spec s;
    s.next_update.reset();
    refused(signed_crl(s), ca_cert(), "no nextUpdate (RFC 5280 5.1.2.5)");
}

BOOST_AUTO_TEST_CASE(next_update_before_this_update_is_refused) {
    Spec s;
    s.next_update = utc("251201000000Z");
    refused(signed_crl(s), ca_cert(), "nextUpdate is before");
}

BOOST_AUTO_TEST_CASE(invalid_times_are_refused) {
    for (const Der& t : {utc("261301000000Z"), utc("260230000000Z"), utc("260101240000Z"), utc("2601010000Z"),
                         utc("260101000000+0100"), gen_time("20260101000000.5Z"), utc("26010100000aZ"),
                         gen_time("260101000000Z"), tlv(0x04, {0x01})}) {
        Spec s;
        s.this_update = t;
        refused(signed_crl(s), ca_cert(), "thisUpdate");
    }
    Spec s;
    s.entries = std::vector<Der>{entry({0x01}, utc("250229000000Z"))};  // 2025 is not a leap year
    refused(signed_crl(s), ca_cert(), "entry 1: CRL DER: revocationDate");
}

BOOST_AUTO_TEST_CASE(v1_crl_with_extensions_is_refused) {
    Spec s;
    s.version.reset();
    refused(signed_crl(s), ca_cert(), "v1 but has extensions");
    s.extensions.reset();  // entry extension only (reasonCode)
    refused(signed_crl(s), ca_cert(), "v1 but has extensions");
}

BOOST_AUTO_TEST_CASE(versions_other_than_v2_are_refused) {
    for (const Der& v : {integer({0x00}), integer({0x02}), integer({0x00, 0x01})}) {
        Spec s;
        s.version = v;
        refused(signed_crl(s), ca_cert(), "not v2");
    }
}

BOOST_AUTO_TEST_CASE(delta_crl_is_refused) {
    Spec s;
    s.extensions->push_back(ext("2.5.29.27", true, integer({0x29})));
    refused(signed_crl(s), ca_cert(), "delta CRLs are not supported");
}

BOOST_AUTO_TEST_CASE(unknown_critical_crl_extension_is_refused) {
    Spec s;
    s.extensions->push_back(ext("1.3.6.1.4.1.99999.7", true, null()));
    refused(signed_crl(s), ca_cert(), "unknown critical CRL extension 1.3.6.1.4.1.99999.7");
}

BOOST_AUTO_TEST_CASE(duplicate_crl_extension_is_refused) {
    Spec s;
    s.extensions->push_back(ext("2.5.29.20", false, integer({0x2B})));
    refused(signed_crl(s), ca_cert(), "appears twice");
}

BOOST_AUTO_TEST_CASE(bad_crl_numbers_are_refused) {
    for (const Der& n : {integer({0xFF}), integer({0x00, 0x01}), integer(Der(21, 0x7F)), null()}) {
        Spec s;
        s.extensions = std::vector<Der>{ext("2.5.29.20", false, n)};
        refused(signed_crl(s), ca_cert(), "2.5.29.20");
    }
}

BOOST_AUTO_TEST_CASE(unknown_critical_entry_extension_is_refused) {
    Spec s;
    s.entries->push_back(entry({0x44}, utc("260101000000Z"), {{ext("1.3.6.1.4.1.99999.8", true, null())}}));
    refused(signed_crl(s), ca_cert(), "entry 2: unknown critical entry extension 1.3.6.1.4.1.99999.8");
}

BOOST_AUTO_TEST_CASE(certificate_issuer_entry_extension_is_refused) {
    Spec s;
    const Der names = seq({tlv(0xA4, ec_ca().name)});
    s.entries->push_back(entry({0x45}, utc("260101000000Z"), {{ext("2.5.29.29", true, names)}}));
    refused(signed_crl(s), ca_cert(), "entry 2: certificateIssuer");
}

BOOST_AUTO_TEST_CASE(bad_reason_codes_are_refused) {
    struct Case {
        Der value;
        const char* says;
    };
    for (const Case& c : {Case{tlv(0x0A, {8}), "removeFromCRL"}, Case{tlv(0x0A, {7}), "not a CRLReason"},
                          Case{tlv(0x0A, {11}), "not a CRLReason"}, Case{integer({1}), "(2.5.29.21): CRL DER: extnValue"},
                          Case{tlv(0x0A, {0, 1}), "not a valid CRLReason"}}) {
        Spec s;
        s.entries = std::vector<Der>{entry({0x46}, utc("260101000000Z"), {{ext("2.5.29.21", false, c.value)}})};
        refused(signed_crl(s), ca_cert(), c.says);
    }
}

BOOST_AUTO_TEST_CASE(unsupported_issuing_distribution_points_are_refused) {
    const std::string u = "http://crl.example/a.crl";
    const Der uri = tlv(0x86, Der(u.begin(), u.end()));
    struct Case {
        Der idp;
        const char* says;
    };
    const Case cases[] = {
        {seq({tlv(0xA0, tlv(0xA0, uri)), Der{0x83, 0x02, 0x07, 0x80}}), "onlySomeReasons"},
        {seq({Der{0x84, 0x01, 0xFF}}), "indirect CRLs are not supported"},
        {seq({Der{0x85, 0x01, 0xFF}}), "attribute certificates"},
        {seq({Der{0x81, 0x01, 0xFF}, Der{0x82, 0x01, 0xFF}}), "both set"},
        {seq({tlv(0xA0, tlv(0xA1, seq({})))}), "only a fullName"},
        {seq({tlv(0xA0, tlv(0xA0, tlv(0xA4, ec_ca().name)))}), "holds no URI"},
        {seq({tlv(0xA0, tlv(0xA0, tlv(0x86, {'a', ' ', 'b'})))}), "not printable ASCII"},
        {seq({Der{0x82, 0x01, 0xFF}, Der{0x81, 0x01, 0xFF}}), "unexpected field tag"},
        {seq({}), "empty"},
    };
    for (const Case& c : cases) {
        Spec s;
        s.extensions->push_back(ext("2.5.29.28", true, c.idp));
        refused(signed_crl(s), ca_cert(), c.says);
    }
}

BOOST_AUTO_TEST_CASE(sha1_and_md5_signatures_are_refused_by_name) {
    Spec s;
    s.alg = seq({oid("1.2.840.10045.4.1")});  // ecdsa-with-SHA1
    s.md = "SHA1";
    refused(signed_crl(s), ca_cert(), "ecdsa-with-SHA1 (1.2.840.10045.4.1) is not accepted");
    const Ca rsa = make_ca("RSA", "2048");
    s.alg = seq({oid("1.2.840.113549.1.1.5"), null()});
    refused(signed_crl(s, rsa), rsa.cert.get(), "sha1WithRSAEncryption");
    s.alg = seq({oid("1.2.840.113549.1.1.4"), null()});
    s.md = "SHA256";  // the signature does not matter: the algorithm is refused first
    refused(signed_crl(s, rsa), rsa.cert.get(), "md5WithRSAEncryption");
}

BOOST_AUTO_TEST_CASE(pss_with_sha1_defaults_or_mismatched_hashes_is_refused) {
    const Ca rsa = make_ca("RSA", "2048");
    Spec s;
    s.pss = true;
    s.alg = seq({oid("1.2.840.113549.1.1.10"), seq({})});  // every field defaulted: SHA-1
    refused(signed_crl(s, rsa), rsa.cert.get(), "RSASSA-PSS with SHA-1");
    s.alg = pss_alg("2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.2");
    refused(signed_crl(s, rsa), rsa.cert.get(), "MGF1 hash SHA384 differs");
    s.alg = pss_alg("1.3.14.3.2.26", "1.3.14.3.2.26");
    refused(signed_crl(s, rsa), rsa.cert.get(), "sha1");
    s.alg = pss_alg("2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.1", 20);  // signed with salt 32
    refused(signed_crl(s, rsa), rsa.cert.get(), "does not verify");
    s.alg = pss_alg("2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.1", 32, integer({0x02}));
    refused(signed_crl(s, rsa), rsa.cert.get(), "trailerField");
}

BOOST_AUTO_TEST_CASE(inner_and_outer_algorithms_must_match) {
    Spec s;
    s.outer_alg = seq({oid("1.2.840.10045.4.3.3")});
    refused(signed_crl(s), ca_cert(), "differs from signatureAlgorithm");
    s.outer_alg = seq({oid(ecdsa_sha256), null()});
    refused(signed_crl(s), ca_cert(), "differs from signatureAlgorithm");
}

BOOST_AUTO_TEST_CASE(ecdsa_with_parameters_or_wrong_key_type_is_refused) {
    Spec s;
    s.alg = seq({oid(ecdsa_sha256), null()});
    refused(signed_crl(s), ca_cert(), "unexpected parameters");
    const Ca rsa = make_ca("RSA", "2048");
    Spec r;
    r.alg = seq({oid("1.2.840.113549.1.1.11"), null()});
    refused(signed_crl(r, rsa), ca_cert(), "does not fit the EC key");
}

BOOST_AUTO_TEST_CASE(small_keys_are_refused) {
    const Ca rsa = make_ca("RSA", "1024");
    Spec s;
    s.alg = seq({oid("1.2.840.113549.1.1.11"), null()});
    refused(signed_crl(s, rsa), rsa.cert.get(), "1024-bit RSA key");
    const Ca ec = make_ca("EC", "prime192v1");
    refused(signed_crl(Spec{}, ec), ec.cert.get(), "192-bit EC key");
}

BOOST_AUTO_TEST_CASE(issuer_without_crl_sign_is_refused) {
    const Ca ca = make_ca("EC", "P-256", "critical,keyCertSign", "No CRL Sign CA");
    refused(signed_crl(Spec{}, ca), ca.cert.get(), "does not include cRLSign");
    // Without keyUsage at all, a CA may sign CRLs (RFC 5280 4.2.1.3 applies when present).
    const Ca no_ku = make_ca("EC", "P-256", nullptr, "No KeyUsage CA");
    BOOST_TEST(build_crl_index(signed_crl(Spec{}, no_ku), no_ku.cert.get()).ok());
}

BOOST_AUTO_TEST_CASE(issuer_name_must_be_byte_equal) {
    Spec s;
    const Ca other = make_ca("EC", "P-256", "critical,keyCertSign,cRLSign", "Other CA");
    s.issuer = other.name;
    refused(signed_crl(s), ca_cert(), "CRL issuer CN=Other CA,O=Example Corp is not CN=Test CRL CA,O=Example Corp");
}

BOOST_AUTO_TEST_CASE(long_serials_are_refused_naming_the_entry) {
    Spec s;
    s.entries = std::vector<Der>{entry({0x01}), entry({0x02}), entry(Der(23, 0x33))};
    refused(signed_crl(s), ca_cert(), "entry 3: serial number is 23 octets; at most 22 are supported");
    s.entries = std::vector<Der>{entry(Der(40, 0x33))};
    refused(signed_crl(s), ca_cert(), "entry 1: serial number is 40 octets");
}

BOOST_AUTO_TEST_CASE(non_minimal_and_empty_serials_are_refused) {
    for (const Der& serial : {Der{0x00, 0x05}, Der{0xFF, 0x85}, Der{}}) {
        Spec s;
        s.entries = std::vector<Der>{entry(serial)};
        refused(signed_crl(s), ca_cert(), "entry 1: serial number is not a DER INTEGER");
    }
}

BOOST_AUTO_TEST_CASE(malformed_extension_encodings_are_refused) {
    struct Case {
        std::vector<Der> exts;
        const char* says;
    };
    const Der bad_bool = seq({oid("2.5.29.35"), Der{0x01, 0x01, 0x01}, octets(seq({}))});
    const Der bad_oid = seq({Der{0x06, 0x02, 0x80, 0x01}, octets(null())});
    const Case cases[] = {
        {{bad_bool}, "not a DER BOOLEAN"},
        {{bad_oid}, "malformed OID"},
        {{seq({oid("2.5.29.20"), octets(integer({1})), null()})}, "unexpected octets"},
        {{}, "crlExtensions: empty"},
    };
    for (const Case& c : cases) {
        Spec s;
        s.extensions = c.exts;
        refused(signed_crl(s), ca_cert(), c.says);
    }
}

BOOST_AUTO_TEST_CASE(anything_after_the_crl_extensions_is_refused) {
    Spec s;
    s.tbs_suffix = null();
    refused(signed_crl(s), ca_cert(), "tbsCertList");
}

BOOST_AUTO_TEST_CASE(signature_bit_string_with_unused_bits_is_refused) {
    Der d = signed_crl(Spec{});
    // The BIT STRING's first content octet (unused bits) follows tbsCertList and the algorithm.
    const Der tbs = tbs_of(Spec{}, ec_ca());
    BOOST_REQUIRE(d[1] == 0x81 || d[1] == 0x82);
    const std::size_t head = d[1] == 0x81 ? 3 : 4;
    const std::size_t bits_at = head + tbs.size() + seq({oid(ecdsa_sha256)}).size();
    BOOST_REQUIRE(d[bits_at] == 0x03);
    const std::size_t content = bits_at + (d[bits_at + 1] & 0x80 ? 3 : 2);
    BOOST_REQUIRE(d[content] == 0x00);
    d[content] = 0x01;
    refused(d, ca_cert(), "not a whole number of octets");
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= a large CRL

namespace {

struct Large {
    Der crl;
    std::set<Der> serials;
    Der payload;
};

// 100,000 random serials of 1..20 octets (positive, minimal), each with a reason.
const Large& large() {
    static const Large l = [] {
        Large out;
        std::mt19937_64 rng(20261127);
        std::vector<Der> entries;
        while (out.serials.size() < 100000) {
            Der s(1 + rng() % 20);
            for (auto& b : s) b = static_cast<std::uint8_t>(rng());
            s[0] &= 0x7F;
            if (s.size() > 1 && s[0] == 0) s[0] = 1;
            if (!out.serials.insert(s).second) continue;
            const int r = static_cast<int>(rng() % 7);  // 0..6
            entries.push_back(entry(s, utc("251101000000Z"), {{reason(r)}}));
        }
        Spec spec;
        spec.entries = std::move(entries);
        out.crl = signed_crl(spec);
        out.payload = build(out.crl, ec_ca().cert.get());
        return out;
    }();
    return l;
}

// Offsets in a payload, from its documented layout (crl_index.cpp).
constexpr std::size_t header_size = 192, slot_size = 32;

std::uint64_t le64(const Der& p, std::size_t at) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[at + static_cast<std::size_t>(i)];
    return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(large_crl)

BOOST_AUTO_TEST_CASE(every_revoked_serial_is_found_and_others_are_not) {
    const Large& l = large();
    const auto v = view(l.payload);
    BOOST_TEST(v.facts().count == l.serials.size());
    for (const Der& s : l.serials) {
        const auto hit = find(v, s);
        BOOST_REQUIRE(hit.has_value());
        BOOST_REQUIRE(hit->reason >= 0 && hit->reason <= 6);
    }
    std::mt19937_64 rng(7);
    int misses = 0;
    for (int i = 0; i < 20000; ++i) {
        Der s(1 + rng() % 21);
        for (auto& b : s) b = static_cast<std::uint8_t>(rng());
        if (l.serials.count(s)) continue;
        BOOST_REQUIRE(!find(v, s).has_value());
        ++misses;
    }
    BOOST_TEST(misses > 18000);
}

BOOST_AUTO_TEST_CASE(agrees_with_openssl_entry_by_entry) {
    const Large& l = large();
    const auto want = openssl_entries(l.crl);
    const auto v = view(l.payload);
    BOOST_TEST(want.size() == l.serials.size());
    for (const auto& [serial, e] : want) {
        const auto hit = find(v, serial);
        BOOST_REQUIRE(hit.has_value());
        BOOST_REQUIRE(hit->revoked_at == e.first);
        BOOST_REQUIRE(hit->reason == e.second);
    }
}

BOOST_AUTO_TEST_CASE(building_twice_gives_the_same_payload) {
    BOOST_TEST(build(large().crl, ec_ca().cert.get()) == large().payload);
}

BOOST_AUTO_TEST_SUITE_END()

// ================================================================= tampered indexes

BOOST_AUTO_TEST_SUITE(tampered_index)

BOOST_AUTO_TEST_CASE(a_flipped_slot_byte_fails_the_find_in_its_block_only) {
    const Large& l = large();
    const std::uint64_t per_block = le64(l.payload, 16) & 0xFFFFFFFF;
    const std::uint64_t blocks = le64(l.payload, 32);
    BOOST_REQUIRE(blocks > 3);
    // Flip one octet of block 2 (its 5th slot, at the serial and at the time).
    for (std::size_t off : {std::size_t{3}, std::size_t{27}}) {
        Der p = l.payload;
        const std::size_t slot = 2 * per_block + 4;
        p[header_size + slot * slot_size + off] ^= 0x40;
        const auto v = view(p);  // open() does not read slots
        // The first key of block 2 is its fence; find it, and a key of block 5.
        Der in_block(p.begin() + static_cast<long>(header_size + 2 * per_block * slot_size + 1),
                     p.begin() + static_cast<long>(header_size + 2 * per_block * slot_size + 1 +
                                                   p[header_size + 2 * per_block * slot_size]));
        auto r = v.find(in_block);
        BOOST_REQUIRE(!r.ok());
        BOOST_TEST(is_corrupt(r.error()));
        BOOST_TEST(r.error().detail().find("block 2") != std::string::npos);
        const std::size_t other = header_size + 5 * per_block * slot_size;
        Der in_other(p.begin() + static_cast<long>(other + 1), p.begin() + static_cast<long>(other + 1 + p[other]));
        BOOST_TEST(find(v, in_other).has_value());
    }
}

BOOST_AUTO_TEST_CASE(any_changed_header_or_table_octet_fails_open) {
    // A small index: 3000 entries in 3 blocks, so every octet outside the slots is tried.
    Spec s;
    s.entries = std::vector<Der>{};
    for (std::uint32_t i = 1; i <= 3000; ++i)
        s.entries->push_back(entry({static_cast<std::uint8_t>(0x40 | (i >> 8)), static_cast<std::uint8_t>(i)}));
    const std::string u = "http://crl.example/x.crl";
    s.extensions->push_back(ext("2.5.29.28", true, seq({tlv(0xA0, tlv(0xA0, tlv(0x86, Der(u.begin(), u.end()))))})));
    const Der payload = build(signed_crl(s), ec_ca().cert.get());
    const std::size_t count = le64(payload, 24);
    BOOST_REQUIRE(count == 3000u);
    const std::size_t tables = header_size + count * slot_size;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < header_size; ++i) where.push_back(i);
    for (std::size_t i = tables; i < payload.size(); ++i) where.push_back(i);
    for (std::size_t i : where) {
        for (std::uint8_t bit : {0x01, 0x80}) {
            Der p = payload;
            p[i] ^= bit;
            auto r = CrlIndexView::open(p);
            BOOST_TEST_INFO("octet " << i << " bit " << int(bit));
            BOOST_REQUIRE(!r.ok());
            BOOST_TEST(is_corrupt(r.error()));
        }
    }
    BOOST_TEST(view(payload).facts().idp_uris == std::vector<std::string>{u});
}

BOOST_AUTO_TEST_CASE(every_truncation_and_extension_fails_open) {
    Spec s;
    const Der payload = build(signed_crl(s), ec_ca().cert.get());
    for (std::size_t n = 0; n < payload.size(); ++n) {
        auto r = CrlIndexView::open(std::span(payload.data(), n));
        BOOST_TEST_INFO("first " << n << " octets");
        BOOST_REQUIRE(!r.ok());
        BOOST_TEST(is_corrupt(r.error()));
    }
    // The large one, at a few places.
    const Der& big = large().payload;
    for (std::size_t n : {std::size_t{0}, std::size_t{191}, std::size_t{192}, big.size() / 2, big.size() - 33, big.size() - 1}) {
        auto r = CrlIndexView::open(std::span(big.data(), n));
        BOOST_REQUIRE(!r.ok());
        BOOST_TEST(is_corrupt(r.error()));
    }
    Der longer = payload;
    longer.push_back(0);
    auto r = CrlIndexView::open(longer);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(is_corrupt(r.error()));
}

BOOST_AUTO_TEST_CASE(swapped_blocks_fail_the_find) {
    const Der& big = large().payload;
    const std::uint64_t per_block = le64(big, 16) & 0xFFFFFFFF;
    Der p = big;
    const std::size_t a = header_size + 1 * per_block * slot_size, b = header_size + 3 * per_block * slot_size;
    std::swap_ranges(p.begin() + static_cast<long>(a), p.begin() + static_cast<long>(a + per_block * slot_size),
                     p.begin() + static_cast<long>(b));
    const auto v = view(p);
    const Der key(p.begin() + static_cast<long>(b + 1), p.begin() + static_cast<long>(b + 1 + p[b]));  // block 1's first key, now at block 3
    auto r = v.find(key);
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(is_corrupt(r.error()));
}

BOOST_AUTO_TEST_SUITE_END()
