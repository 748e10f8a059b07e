// Signatures per second on one key, three ways, for bench/tls/sign (the
// provider's overhead over libp11):
//   provider  the cardgate provider in a private OSSL_LIB_CTX (LibContext),
//             EVP_DigestSign on the key loaded from its pkcs11: URI
//   libp11    libp11 0.4.12's direct API (PKCS11_get_private_key), the
//             same EVP_DigestSign in the default context
//   file      a file key of the same type (pki/server-*.key): no card
// usage: sign_rate provider|libp11|file SCHEME N ARG...
//   provider SCHEME N CONFIG URI
//   libp11   SCHEME N MODULE TOKEN-LABEL PIN
//   file     SCHEME N KEYFILE
// SCHEME: pkcs1 | pss | ecdsa (SHA-256). Prints "signs=N seconds=S per_second=R".
#include <libp11.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tls/provider/provider.hpp"

namespace {

int sign_loop(EVP_PKEY* key, OSSL_LIB_CTX* ctx, const std::string& scheme, long n) {
    unsigned char data[64];
    std::memset(data, 0x5a, sizeof data);
    std::vector<unsigned char> sig(1024);
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        data[0] = static_cast<unsigned char>(i);
        EVP_MD_CTX* md = EVP_MD_CTX_new();
        EVP_PKEY_CTX* pctx = nullptr;
        if (EVP_DigestSignInit_ex(md, &pctx, "SHA256", ctx, nullptr, key, nullptr) != 1) return std::fprintf(stderr, "init failed\n"), 1;
        if (scheme == "pss" && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
            return std::fprintf(stderr, "pss parameters refused\n"), 1;
        std::size_t len = sig.size();
        if (EVP_DigestSign(md, sig.data(), &len, data, sizeof data) != 1) return std::fprintf(stderr, "sign failed\n"), 1;
        EVP_MD_CTX_free(md);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("signs=%ld seconds=%.3f per_second=%.1f\n", n, secs, n / secs);
    return 0;
}

int provider(const std::string& scheme, long n, const char* config, const char* uri) {
    auto ctx = cardgate::tls::LibContext::create({config, nullptr});
    if (!ctx) return std::fprintf(stderr, "provider: %s\n", ctx.error().message().c_str()), 1;
    auto key = ctx->load_key(uri);
    if (!key) return std::fprintf(stderr, "provider key: %s\n", key.error().message().c_str()), 1;
    return sign_loop(key->get(), ctx->get(), scheme, n);
}

int libp11(const std::string& scheme, long n, const char* module, const char* label, const char* pin) {
    PKCS11_CTX* p11 = PKCS11_CTX_new();
    PKCS11_SLOT* slots = nullptr;
    unsigned int nslots = 0, ncerts = 0;
    if (PKCS11_CTX_load(p11, module) != 0 || PKCS11_enumerate_slots(p11, &slots, &nslots) != 0) return 1;
    PKCS11_SLOT* slot = nullptr;
    for (unsigned i = 0; i < nslots; ++i)
        if (slots[i].token && std::strcmp(slots[i].token->label, label) == 0) slot = &slots[i];
    PKCS11_CERT* certs = nullptr;
    // libp11 #525: a session before the login.
    if (!slot || PKCS11_open_session(slot, 0) != 0 || PKCS11_login(slot, 0, pin) != 0 ||
        PKCS11_enumerate_certs(slot->token, &certs, &ncerts) != 0 || ncerts == 0)
        return std::fprintf(stderr, "libp11: token, login or certificate\n"), 1;
    PKCS11_KEY* key = PKCS11_find_key(&certs[0]);
    EVP_PKEY* pkey = key ? PKCS11_get_private_key(key) : nullptr;
    if (!pkey) return std::fprintf(stderr, "libp11: no key\n"), 1;
    int rc = sign_loop(pkey, nullptr, scheme, n);
    EVP_PKEY_free(pkey);
    PKCS11_release_all_slots(p11, slots, nslots);
    PKCS11_CTX_unload(p11);
    PKCS11_CTX_free(p11);
    return rc;
}

int file(const std::string& scheme, long n, const char* path) {
    FILE* f = std::fopen(path, "r");
    EVP_PKEY* key = f ? PEM_read_PrivateKey(f, nullptr, nullptr, nullptr) : nullptr;
    if (f) std::fclose(f);
    if (!key) return std::fprintf(stderr, "file: cannot read %s\n", path), 1;
    int rc = sign_loop(key, nullptr, scheme, n);
    EVP_PKEY_free(key);
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) return std::fprintf(stderr, "usage: sign_rate provider|libp11|file SCHEME N ARG...\n"), 2;
    const std::string way = argv[1], scheme = argv[2];
    const long n = std::atol(argv[3]);
    if (way == "provider" && argc == 6) return provider(scheme, n, argv[4], argv[5]);
    if (way == "libp11" && argc == 7) return libp11(scheme, n, argv[4], argv[5], argv[6]);
    if (way == "file" && argc == 5) return file(scheme, n, argv[4]);
    return std::fprintf(stderr, "sign_rate: bad arguments\n"), 2;
}
