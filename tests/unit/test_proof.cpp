// Proof of possession: challenge construction and signature verification, with
// keys made in memory (the card side is covered by the token tests).
#define BOOST_TEST_MODULE proof
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "src/ossl.hpp"
#include "src/proof.hpp"

using namespace cardgate;

namespace {

struct KeyAndCert {
    ossl::EvpPkeyPtr key;
    ossl::X509Ptr cert;
};

KeyAndCert make(const char* alg, const char* param) {
    KeyAndCert kc;
    if (std::string(alg) == "EC")
        kc.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param));
    else
        kc.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(std::stoul(param))));
    BOOST_REQUIRE(kc.key);
    kc.cert.reset(X509_new());
    X509_set_version(kc.cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(kc.cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(kc.cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(kc.cert.get()), 3600);
    X509_NAME* n = X509_get_subject_name(kc.cert.get());  // get0-style: owned by the cert
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("t"), -1, -1, 0);
    X509_set_issuer_name(kc.cert.get(), n);
    X509_set_pubkey(kc.cert.get(), kc.key.get());
    BOOST_REQUIRE(X509_sign(kc.cert.get(), kc.key.get(), EVP_sha256()) > 0);
    return kc;
}

Signature sign(EVP_PKEY* key, const Challenge& ch, SigScheme scheme, Hash hash) {
    auto digest = ch.digest(hash);
    BOOST_REQUIRE(digest.ok());
    ossl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    BOOST_REQUIRE(EVP_PKEY_sign_init(ctx.get()) == 1);
    const EVP_MD* md = hash == Hash::sha256 ? EVP_sha256() : hash == Hash::sha384 ? EVP_sha384() : EVP_sha512();
    BOOST_REQUIRE(EVP_PKEY_CTX_set_signature_md(ctx.get(), md) == 1);
    if (scheme == SigScheme::rsa_pss) {
        BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) == 1);
        BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) == 1);
    } else if (scheme == SigScheme::rsa_pkcs1) {
        BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1);
    }
    size_t len = 0;
    BOOST_REQUIRE(EVP_PKEY_sign(ctx.get(), nullptr, &len, digest->data(), digest->size()) == 1);
    Signature s{scheme, hash, 0, "test", std::vector<std::uint8_t>(len)};
    BOOST_REQUIRE(EVP_PKEY_sign(ctx.get(), s.bytes.data(), &len, digest->data(), digest->size()) == 1);
    s.bytes.resize(len);
    return s;
}

Challenge challenge(Purpose p = Purpose::login, const char* host = "ws1", const char* service = "login",
                    std::time_t at = 1'800'000'000) {
    FixedClock clock(at);
    auto c = Challenge::create(p, host, service, clock);
    BOOST_REQUIRE(c.ok());
    return std::move(c).value();
}

bool code_is(const Status& s, Code c) { return s.code() == c; }

}  // namespace

BOOST_AUTO_TEST_CASE(ecdsa_p256_and_p384_signatures_verify) {
    for (const char* curve : {"P-256", "P-384"}) {
        auto kc = make("EC", curve);
        auto ch = challenge();
        auto h = preferred_hash(kc.cert.get());
        BOOST_REQUIRE(h.ok());
        BOOST_TEST((std::string(curve) == "P-384" ? *h == Hash::sha384 : *h == Hash::sha256));
        BOOST_TEST(verify_proof(kc.cert.get(), ch, sign(kc.key.get(), ch, SigScheme::ecdsa, *h)).ok());
    }
}

BOOST_AUTO_TEST_CASE(rsa_pss_and_pkcs1_signatures_verify) {
    auto kc = make("RSA", "2048");
    auto ch = challenge();
    BOOST_TEST(verify_proof(kc.cert.get(), ch, sign(kc.key.get(), ch, SigScheme::rsa_pss, Hash::sha256)).ok());
    BOOST_TEST(verify_proof(kc.cert.get(), ch, sign(kc.key.get(), ch, SigScheme::rsa_pkcs1, Hash::sha256)).ok());
}

BOOST_AUTO_TEST_CASE(flipped_signature_byte_is_refused) {
    auto kc = make("EC", "P-256");
    auto ch = challenge();
    auto s = sign(kc.key.get(), ch, SigScheme::ecdsa, Hash::sha256);
    s.bytes[s.bytes.size() - 1] ^= 0x01;
    BOOST_TEST(code_is(verify_proof(kc.cert.get(), ch, s), Code::proof_bad_signature));
}

BOOST_AUTO_TEST_CASE(truncated_and_empty_signatures_are_refused) {
    auto kc = make("RSA", "2048");
    auto ch = challenge();
    auto s = sign(kc.key.get(), ch, SigScheme::rsa_pss, Hash::sha256);
    s.bytes.resize(s.bytes.size() - 1);
    BOOST_TEST(code_is(verify_proof(kc.cert.get(), ch, s), Code::proof_bad_signature));
    s.bytes.clear();
    BOOST_TEST(code_is(verify_proof(kc.cert.get(), ch, s), Code::proof_bad_signature));
}

BOOST_AUTO_TEST_CASE(signature_by_another_key_is_refused) {
    auto alice = make("EC", "P-256");
    auto mallory = make("EC", "P-256");
    auto ch = challenge();
    BOOST_TEST(code_is(verify_proof(alice.cert.get(), ch, sign(mallory.key.get(), ch, SigScheme::ecdsa, Hash::sha256)),
                       Code::proof_bad_signature));
}

BOOST_AUTO_TEST_CASE(signature_for_one_purpose_is_useless_for_another) {
    auto kc = make("EC", "P-256");
    auto login = challenge(Purpose::login);
    auto s = sign(kc.key.get(), login, SigScheme::ecdsa, Hash::sha256);
    // Same nonce cannot be forced, but even the same context with a new nonce,
    // another purpose, host or service must fail.
    BOOST_TEST(code_is(verify_proof(kc.cert.get(), challenge(Purpose::door), s), Code::proof_bad_signature));
    BOOST_TEST(code_is(verify_proof(kc.cert.get(), challenge(Purpose::login, "ws2"), s), Code::proof_bad_signature));
    BOOST_TEST(code_is(verify_proof(kc.cert.get(), challenge(Purpose::login), s), Code::proof_bad_signature));
}

BOOST_AUTO_TEST_CASE(context_encoding_is_unambiguous) {
    // host "ab" + service "c" must not serialise like host "a" + service "bc".
    auto a = challenge(Purpose::login, "ab", "c");
    auto b = challenge(Purpose::login, "a", "bc");
    auto ma = a.message(), mb = b.message();
    const std::size_t ctx = ma.size() - Challenge::nonce_size;
    BOOST_TEST(!std::equal(ma.begin(), ma.begin() + ctx, mb.begin(), mb.begin() + ctx));
}

BOOST_AUTO_TEST_CASE(nonces_are_fresh) {
    auto a = challenge(), b = challenge();
    BOOST_TEST(a.message().size() == b.message().size());
    BOOST_TEST(!std::equal(a.message().begin(), a.message().end(), b.message().begin()));
}

BOOST_AUTO_TEST_CASE(scheme_that_does_not_fit_the_key_is_refused) {
    auto rsa = make("RSA", "2048");
    auto ec = make("EC", "P-256");
    auto ch = challenge();
    auto ec_sig = sign(ec.key.get(), ch, SigScheme::ecdsa, Hash::sha256);
    BOOST_TEST(code_is(verify_proof(rsa.cert.get(), ch, ec_sig), Code::proof_key_mismatch));
    auto rsa_sig = sign(rsa.key.get(), ch, SigScheme::rsa_pss, Hash::sha256);
    BOOST_TEST(code_is(verify_proof(ec.cert.get(), ch, rsa_sig), Code::proof_key_mismatch));
}

BOOST_AUTO_TEST_CASE(pss_signature_claimed_as_pkcs1_is_refused) {
    auto kc = make("RSA", "2048");
    auto ch = challenge();
    auto s = sign(kc.key.get(), ch, SigScheme::rsa_pss, Hash::sha256);
    s.scheme = SigScheme::rsa_pkcs1;
    BOOST_TEST(code_is(verify_proof(kc.cert.get(), ch, s), Code::proof_bad_signature));
}

BOOST_AUTO_TEST_CASE(hash_claimed_differently_is_refused) {
    auto kc = make("EC", "P-384");
    auto ch = challenge();
    auto s = sign(kc.key.get(), ch, SigScheme::ecdsa, Hash::sha384);
    s.hash = Hash::sha256;
    BOOST_TEST(code_is(verify_proof(kc.cert.get(), ch, s), Code::proof_bad_signature));
}

BOOST_AUTO_TEST_CASE(small_rsa_key_is_refused) {
    auto kc = make("RSA", "1024");
    auto ch = challenge();
    auto s = sign(kc.key.get(), ch, SigScheme::rsa_pss, Hash::sha256);
    BOOST_TEST(code_is(verify_proof(kc.cert.get(), ch, s), Code::cert_weak_algorithm));
}

BOOST_AUTO_TEST_CASE(unaccepted_curve_is_refused) {
    auto kc = make("EC", "secp256k1");
    auto ch = challenge();
    auto s = sign(kc.key.get(), ch, SigScheme::ecdsa, Hash::sha256);
    BOOST_TEST(code_is(verify_proof(kc.cert.get(), ch, s), Code::cert_weak_algorithm));
}

BOOST_AUTO_TEST_CASE(overlong_context_is_refused) {
    FixedClock clock(0);
    BOOST_TEST(!Challenge::create(Purpose::door, std::string(300, 'h'), "svc", clock).ok());
}
