// Fuzz target: the CRL index (src/crl_index.hpp).
//
// The first input octet selects what the rest is:
//
//   0  a whole CRL (DER or PEM), built against the fixed issuer. Few mutants
//      verify, so this mostly exercises the outer structure, the algorithm
//      identifiers and the issuer checks.
//   1  a tbsCertList: the target signs it with the fixed issuer's Ed25519 key
//      and wraps it in a CertificateList, so every mutant reaches the entries
//      and extensions behind the signature.
//   2  an index payload: CrlIndexView::open, then find() of serials taken
//      from the input and from the payload's own fences, which must fail
//      with Code::io or answer, never read out of bounds.
//
// Whatever build_crl_index accepts must hold together: open() of its payload
// succeeds, OpenSSL parses the same CRL (X509_CRL, the reference reader) and
// every serial it lists is found with its revocation time and reason, and
// the index holds no serial besides those.
//
// The issuer is fixed (Ed25519 key from a constant seed, subject
// "CN=Fuzz CRL CA,O=Example Corp"), so signatures are deterministic and the
// seeds in tests/fuzz/corpus/crl_index/ stay valid between runs.
//
// Run by hand: tests/fuzz/run-long crl_index; briefly by `make check` (tests/fuzz/crl_index.sh).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crl_index.hpp"
#include "ossl.hpp"

using namespace cardgate;

namespace {

[[noreturn]] void invariant_failed(int line, const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "%s:%d: invariant violated: %s\n  %s\n", __FILE__, line, what, detail.c_str());
    std::abort();
}
#define INVARIANT(cond, ...) \
    do {                     \
        if (!(cond)) invariant_failed(__LINE__, #cond __VA_OPT__(, ) __VA_ARGS__); \
    } while (0)

struct Issuer {
    ossl::EvpPkeyPtr key;
    ossl::X509Ptr cert;
    Issuer() {
        static const unsigned char seed[32] = {'c', 'a', 'r', 'd', 'g', 'a', 't', 'e', '-', 'f', 'u', 'z', 'z', '-', 'c', 'r',
                                               'l', '-', 'i', 's', 's', 'u', 'e', 'r', '-', 'k', 'e', 'y', '-', 'v', '1', '.'};
        key.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, sizeof seed));  // owned
        cert.reset(X509_new());
        if (!key || !cert) invariant_failed(__LINE__, "the fixed issuer can be made");
        X509* x = cert.get();
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        ASN1_TIME_set(X509_getm_notBefore(x), 1700000000);
        ASN1_TIME_set(X509_getm_notAfter(x), 2500000000);
        X509_NAME* n = X509_get_subject_name(x);  // borrowed from x
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Example Corp"), -1, -1, 0);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Fuzz CRL CA"), -1, -1, 0);
        X509_set_issuer_name(x, n);
        X509_set_pubkey(x, key.get());
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
        for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                                  std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"}}) {
            X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);  // owned: freed below
            if (!e || X509_add_ext(x, e, -1) != 1) invariant_failed(__LINE__, "the fixed issuer's extensions");
            X509_EXTENSION_free(e);
        }
        if (X509_sign(x, key.get(), nullptr) <= 0) invariant_failed(__LINE__, "the fixed issuer signs itself");
    }
};

const Issuer& issuer() {
    static const Issuer i;
    return i;
}

void append_tlv(std::vector<std::uint8_t>& out, std::uint8_t tag, std::span<const std::uint8_t> content) {
    out.push_back(tag);
    const std::size_t n = content.size();
    if (n < 0x80) {
        out.push_back(static_cast<std::uint8_t>(n));
    } else {
        std::vector<std::uint8_t> len;
        for (std::size_t v = n; v; v >>= 8) len.insert(len.begin(), static_cast<std::uint8_t>(v));
        out.push_back(static_cast<std::uint8_t>(0x80 | len.size()));
        out.insert(out.end(), len.begin(), len.end());
    }
    out.insert(out.end(), content.begin(), content.end());
}

// SEQUENCE { tbs, Ed25519 AlgorithmIdentifier, BIT STRING signature }.
std::vector<std::uint8_t> sign_tbs(std::span<const std::uint8_t> tbs) {
    ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    std::uint8_t sig[64];
    std::size_t n = sizeof sig;
    if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, issuer().key.get(), nullptr) != 1 ||
        EVP_DigestSign(ctx.get(), sig, &n, tbs.data(), tbs.size()) != 1)
        invariant_failed(__LINE__, "Ed25519 signs");
    std::vector<std::uint8_t> body(tbs.begin(), tbs.end());
    static const std::uint8_t alg[] = {0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70};
    body.insert(body.end(), alg, alg + sizeof alg);
    std::vector<std::uint8_t> bits{0x00};
    bits.insert(bits.end(), sig, sig + n);
    append_tlv(body, 0x03, bits);
    std::vector<std::uint8_t> out;
    append_tlv(out, 0x30, body);
    return out;
}

std::int64_t to_epoch(const ASN1_TIME* t) {
    struct tm tm {};
    if (ASN1_TIME_to_tm(t, &tm) != 1) return INT64_MIN;
    return timegm(&tm);
}

// An accepted CRL must agree with OpenSSL's reading of it, entry for entry.
void check_accepted(std::span<const std::uint8_t> crl, const std::vector<std::uint8_t>& payload) {
    auto v = CrlIndexView::open(payload);
    INVARIANT(v.ok(), v.error().message());
    std::vector<std::uint8_t> der(crl.begin(), crl.end());
    if (crl.empty() || crl[0] != 0x30) {  // PEM: OpenSSL decodes it the same way
        ossl::BioPtr bio(BIO_new_mem_buf(crl.data(), static_cast<int>(crl.size())));
        ossl::X509CrlPtr x(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));  // owned
        INVARIANT(x != nullptr, "OpenSSL reads the PEM CRL that was accepted");
        unsigned char* d = nullptr;
        const int n = i2d_X509_CRL(x.get(), &d);  // allocates d: freed below
        der.assign(d, d + (n > 0 ? n : 0));
        OPENSSL_free(d);
    }
    const unsigned char* p = der.data();
    ossl::X509CrlPtr x(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));  // owned
    INVARIANT(x != nullptr, "OpenSSL parses the CRL that was accepted");
    INVARIANT(X509_CRL_verify(x.get(), X509_get0_pubkey(issuer().cert.get())) == 1, "OpenSSL verifies it too");
    INVARIANT(to_epoch(X509_CRL_get0_lastUpdate(x.get())) == v->facts().this_update);
    INVARIANT(to_epoch(X509_CRL_get0_nextUpdate(x.get())) == v->facts().next_update);
    std::map<std::vector<std::uint8_t>, std::int64_t> earliest;
    STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(x.get());  // borrowed from x
    for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
        const X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
        unsigned char* d = nullptr;
        const int n = i2d_ASN1_INTEGER(X509_REVOKED_get0_serialNumber(r), &d);  // allocates d: freed below
        INVARIANT(n > 2 && n < 128);
        std::vector<std::uint8_t> serial(d + 2, d + n);
        OPENSSL_free(d);
        const std::int64_t when = to_epoch(X509_REVOKED_get0_revocationDate(r));
        auto [it, fresh] = earliest.emplace(serial, when);
        if (!fresh && when < it->second) it->second = when;
        auto hit = v->find(serial);
        INVARIANT(hit.ok(), hit.error().message());
        INVARIANT(hit->has_value(), "a serial OpenSSL lists is in the index");
    }
    INVARIANT(v->facts().count == earliest.size(), "the index holds exactly the distinct serials");
    for (const auto& [serial, when] : earliest) INVARIANT((*v->find(serial))->revoked_at == when);
    ERR_clear_error();
}

void fuzz_payload(std::span<const std::uint8_t> data) {
    auto v = CrlIndexView::open(data);
    if (!v) {
        INVARIANT(v.code() == Code::io, v.error().message());
        return;
    }
    auto probe = [&](std::span<const std::uint8_t> serial) {
        auto r = v->find(serial);
        if (!r) INVARIANT(r.code() == Code::io && r.error().detail().rfind("CRL index corrupt: ", 0) == 0, r.error().message());
    };
    for (std::size_t n = 1; n <= 22 && n <= data.size(); n += 7) probe(data.last(n));
    // The fences of an opened payload are well-formed keys: look each one up.
    const std::size_t fences_at = 192 + v->facts().count * 32;
    for (std::size_t at = fences_at; at + 23 <= data.size() && at < fences_at + 23 * 64; at += 23)
        probe(data.subspan(at + 1, std::min<std::size_t>(data[at], 22)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::span<const std::uint8_t> in(data + 1, size - 1);
    switch (data[0] % 3) {
    case 0: {
        auto r = build_crl_index(in, issuer().cert.get());
        if (r) check_accepted(in, *r);
        else INVARIANT(r.code() == Code::cert_revocation_unknown, r.error().message());
        break;
    }
    case 1: {
        const std::vector<std::uint8_t> crl = sign_tbs(in);
        auto r = build_crl_index(crl, issuer().cert.get());
        if (r) check_accepted(crl, *r);
        else INVARIANT(r.code() == Code::cert_revocation_unknown, r.error().message());
        break;
    }
    default:
        fuzz_payload(in);
    }
    ERR_clear_error();
    return 0;
}
