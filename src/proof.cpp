#include "proof.hpp"

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "ossl.hpp"

namespace cardgate {

namespace {

void put_field(std::vector<std::uint8_t>& out, std::string_view s) {
    // 2-byte big-endian length prefix: the encoding is injective, so no two
    // contexts serialise to the same bytes.
    const auto n = static_cast<std::uint16_t>(s.size());
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(n & 0xff));
    out.insert(out.end(), s.begin(), s.end());
}

// Names of the curves we accept, as OpenSSL reports them.
bool acceptable_curve(std::string_view group) {
    return group == "prime256v1" || group == "P-256" || group == "secp384r1" || group == "P-384" ||
           group == "secp521r1" || group == "P-521";
}

}  // namespace

Result<Challenge> Challenge::create(Purpose purpose, std::string_view host, std::string_view service,
                                    const Clock& clock) {
    if (host.size() > 255 || service.size() > 255)
        return Error(Code::internal, "challenge context field longer than 255 bytes");
    std::uint8_t nonce[nonce_size];
    if (RAND_priv_bytes(nonce, sizeof nonce) != 1)
        return Error(Code::random, "RAND_priv_bytes: " + ossl::last_error());

    const std::time_t at = clock.now();
    std::vector<std::uint8_t> m;
    m.reserve(label.size() + 1 + 3 * 257 + 8 + nonce_size);
    m.insert(m.end(), label.begin(), label.end());
    m.push_back(0);
    put_field(m, purpose_name(purpose));
    put_field(m, host);
    put_field(m, service);
    const auto t = static_cast<std::uint64_t>(at);
    for (int shift = 56; shift >= 0; shift -= 8) m.push_back(static_cast<std::uint8_t>(t >> shift));
    m.insert(m.end(), nonce, nonce + nonce_size);
    OPENSSL_cleanse(nonce, sizeof nonce);
    return Challenge(purpose, at, std::move(m));
}

Challenge::~Challenge() {
    if (!message_.empty()) OPENSSL_cleanse(message_.data(), message_.size());
}

Result<std::vector<std::uint8_t>> Challenge::digest(Hash hash) const {
    std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    if (EVP_Digest(message_.data(), message_.size(), out.data(), &len, evp_md(hash), nullptr) != 1)
        return Error(Code::crypto, "EVP_Digest: " + ossl::last_error());
    out.resize(len);
    return out;
}

Result<Hash> preferred_hash(X509* cert) {
    EVP_PKEY* pkey = X509_get0_pubkey(cert);  // get0: borrowed from cert
    if (!pkey) return Error(Code::cert_parse, "certificate has no usable public key");
    if (EVP_PKEY_is_a(pkey, "EC") && EVP_PKEY_get_bits(pkey) > 256) return Hash::sha384;
    return Hash::sha256;
}

Status verify_proof(X509* cert, const Challenge& challenge, const Signature& sig) {
    EVP_PKEY* pkey = X509_get0_pubkey(cert);  // get0: borrowed from cert
    if (!pkey) return Error(Code::cert_parse, "certificate has no usable public key");

    const bool is_ec = EVP_PKEY_is_a(pkey, "EC");
    const bool is_rsa = EVP_PKEY_is_a(pkey, "RSA");
    if (is_ec) {
        char group[64] = {0};
        size_t glen = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen) != 1 ||
            !acceptable_curve(group))
            return Error(Code::cert_weak_algorithm, std::string("EC curve not accepted: ") + group);
        if (sig.scheme != SigScheme::ecdsa)
            return Error(Code::proof_key_mismatch,
                         std::string(scheme_name(sig.scheme)) + " signature for an EC certificate key");
    } else if (is_rsa) {
        if (EVP_PKEY_get_bits(pkey) < 2048)
            return Error(Code::cert_weak_algorithm,
                         "RSA key of " + std::to_string(EVP_PKEY_get_bits(pkey)) + " bits (at least 2048 required)");
        if (sig.scheme == SigScheme::ecdsa)
            return Error(Code::proof_key_mismatch, "ECDSA signature for an RSA certificate key");
    } else {
        return Error(Code::cert_weak_algorithm, "certificate key is neither RSA nor EC");
    }

    auto digest = CG_TRY(challenge.digest(sig.hash));
    ossl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1)
        return Error(Code::crypto, "EVP_PKEY_verify_init: " + ossl::last_error());
    const EVP_MD* md = evp_md(sig.hash);
    if (EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1)
        return Error(Code::crypto, "EVP_PKEY_CTX_set_signature_md: " + ossl::last_error());
    if (sig.scheme == SigScheme::rsa_pss) {
        // RFC 8017 / TLS 1.3 convention: MGF1 with the same hash, salt = hash length.
        if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1)
            return Error(Code::crypto, "RSA-PSS parameters: " + ossl::last_error());
    } else if (sig.scheme == SigScheme::rsa_pkcs1) {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)
            return Error(Code::crypto, "RSA padding: " + ossl::last_error());
    }
    const int rc = EVP_PKEY_verify(ctx.get(), sig.bytes.data(), sig.bytes.size(), digest.data(), digest.size());
    ossl::last_error();  // a failed verification leaves entries on the queue: drop them
    if (rc != 1)
        return Error(Code::proof_bad_signature, std::string(scheme_name(sig.scheme)) + " " +
                                                    std::string(hash_name(sig.hash)) + " signature made with " +
                                                    std::string(sig.mechanism_name) +
                                                    " does not verify with the certificate's public key");
    return {};
}

}  // namespace cardgate
