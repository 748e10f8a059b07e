#include "pkcs11/padding.hpp"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <iterator>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "src/ossl.hpp"

namespace cardgate::p11 {
namespace {

Result<std::vector<std::uint8_t>> hash_parts(Hash h, std::initializer_list<std::span<const std::uint8_t>> parts) {
    ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), evp_md(h), nullptr) != 1)
        return Error(Code::crypto, "EVP_DigestInit_ex: " + ossl::last_error());
    for (auto p : parts)
        if (EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1)
            return Error(Code::crypto, "EVP_DigestUpdate: " + ossl::last_error());
    std::vector<std::uint8_t> out(hash_size(h));
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size())
        return Error(Code::crypto, "EVP_DigestFinal_ex: " + ossl::last_error());
    return out;
}

}  // namespace

std::vector<std::uint8_t> digest_info(Hash h, std::span<const std::uint8_t> digest) {
    // AlgorithmIdentifier with NULL parameters, then OCTET STRING header.
    static constexpr std::uint8_t kSha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                               0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    static constexpr std::uint8_t kSha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                               0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
    static constexpr std::uint8_t kSha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                               0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};
    const std::uint8_t* prefix = kSha256;
    std::size_t prefix_len = sizeof kSha256;
    switch (h) {
    case Hash::sha256: break;
    case Hash::sha384: prefix = kSha384; prefix_len = sizeof kSha384; break;
    case Hash::sha512: prefix = kSha512; prefix_len = sizeof kSha512; break;
    }
    // (built with memcpy: g++ 12 misreads vector::insert of a span here as an overflow)
    std::vector<std::uint8_t> out(prefix_len + digest.size());
    std::memcpy(out.data(), prefix, prefix_len);
    if (!digest.empty()) std::memcpy(out.data() + prefix_len, digest.data(), digest.size());
    return out;
}

Result<std::vector<std::uint8_t>> emsa_pkcs1_v15(Hash h, std::span<const std::uint8_t> digest, std::size_t k) {
    auto t = digest_info(h, digest);
    if (k < t.size() + 11) return Error(Code::p11_mechanism, "RSA modulus too short for EMSA-PKCS1-v1_5");
    std::vector<std::uint8_t> em(k, 0xff);
    em[0] = 0x00;
    em[1] = 0x01;
    em[k - t.size() - 1] = 0x00;
    std::copy(t.begin(), t.end(), em.end() - static_cast<std::ptrdiff_t>(t.size()));
    return em;
}

Result<std::vector<std::uint8_t>> emsa_pss(Hash h, std::span<const std::uint8_t> digest, unsigned mod_bits) {
    const std::size_t hlen = hash_size(h), slen = hlen;
    if (mod_bits < 2 || digest.size() != hlen) return Error(Code::internal, "emsa_pss: bad arguments");
    const unsigned em_bits = mod_bits - 1;
    const std::size_t em_len = (em_bits + 7) / 8;
    if (em_len < hlen + slen + 2) return Error(Code::p11_mechanism, "RSA modulus too short for EMSA-PSS");
    std::vector<std::uint8_t> salt(slen);
    if (RAND_bytes(salt.data(), static_cast<int>(slen)) != 1) return Error(Code::random, "RAND_bytes for the PSS salt");
    static constexpr std::uint8_t kZeros[8] = {};
    auto hh = CG_TRY(hash_parts(h, {kZeros, digest, salt}));  // H = Hash(00×8 ‖ mHash ‖ salt)
    // DB = PS ‖ 01 ‖ salt, masked with MGF1(H)
    const std::size_t db_len = em_len - hlen - 1;
    std::vector<std::uint8_t> db(db_len, 0);
    db[db_len - slen - 1] = 0x01;
    std::copy(salt.begin(), salt.end(), db.end() - static_cast<std::ptrdiff_t>(slen));
    std::size_t done = 0;
    for (std::uint32_t counter = 0; done < db_len; ++counter) {
        const std::uint8_t c[4] = {static_cast<std::uint8_t>(counter >> 24), static_cast<std::uint8_t>(counter >> 16),
                                   static_cast<std::uint8_t>(counter >> 8), static_cast<std::uint8_t>(counter)};
        auto mask = CG_TRY(hash_parts(h, {hh, c}));
        for (std::size_t i = 0; i < mask.size() && done < db_len; ++i) db[done++] ^= mask[i];
    }
    db[0] &= static_cast<std::uint8_t>(0xff >> (8 * em_len - em_bits));
    std::vector<std::uint8_t> em;
    const std::size_t k = (mod_bits + 7) / 8;
    em.reserve(k);
    em.insert(em.end(), k - em_len, 0x00);  // emLen is k-1 when modBits ≡ 1 (mod 8)
    em.insert(em.end(), db.begin(), db.end());
    em.insert(em.end(), hh.begin(), hh.end());
    em.push_back(0xbc);
    return em;
}

Result<std::vector<std::uint8_t>> ecdsa_raw_to_der(std::span<const std::uint8_t> raw) {
    if (raw.empty() || raw.size() % 2 != 0 || raw.size() > 2 * 66)
        return Error(Code::p11_function_failed, "C_Sign: ECDSA output of " + std::to_string(raw.size()) + " bytes");
    const auto half = static_cast<int>(raw.size() / 2);
    ossl::BignumPtr r(BN_bin2bn(raw.data(), half, nullptr));
    ossl::BignumPtr s(BN_bin2bn(raw.data() + half, half, nullptr));
    ossl::EcdsaSigPtr sig(ECDSA_SIG_new());
    if (!r || !s || !sig) return Error(Code::crypto, "BN_bin2bn/ECDSA_SIG_new: " + ossl::last_error());
    if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return Error(Code::crypto, "ECDSA_SIG_set0");
    // set0: the signature now owns r and s
    (void)r.release();
    (void)s.release();
    int len = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (len <= 0) return Error(Code::crypto, "i2d_ECDSA_SIG: " + ossl::last_error());
    std::vector<std::uint8_t> der(static_cast<std::size_t>(len));
    unsigned char* p = der.data();
    if (i2d_ECDSA_SIG(sig.get(), &p) != len) return Error(Code::crypto, "i2d_ECDSA_SIG");
    return der;
}

}  // namespace cardgate::p11
