// Signatures with card keys: RSA (PKCS#1 v1.5 and PSS) and ECDSA, on a digest
// (sign) or on data hashed here (digest_sign_*). The card signs with exactly
// the scheme asked for (Session::sign_digest with `force`): CKM_RSA_PKCS_PSS
// with sLen = hash length and MGF1 = the same hash, CKM_RSA_PKCS with our
// DigestInfo, CKM_ECDSA; CKM_RSA_X_509 with host-side padding only when the
// token offers nothing better. What the card cannot do (another salt length,
// another MGF1 hash, raw RSA without a digest, SHA-1) is refused, never
// silently changed. Verification is left to the native public key (the
// provider offers none: libssl never verifies with its own key).
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <cstring>
#include <optional>
#include <string>

#include "tls/provider/dispatch.hpp"

namespace cardgate::tls::prov {

namespace {

enum class Salt { digest, automatic, explicit_len };

struct SigCtx {
    ProvCtx* prov = nullptr;
    std::shared_ptr<CardKey> key;
    int pad = RSA_PKCS1_PADDING;
    std::optional<Hash> md, mgf1;
    Salt salt = Salt::digest;
    int salt_len = 0;  // Salt::explicit_len
    ossl::EvpMdCtxPtr mdctx;  // digest_sign_*
};

// PSS salt length as OpenSSL numbers it (rsa.h).
constexpr int kSaltDigest = -1, kSaltAuto = -2, kSaltMax = -3;

Result<Hash> hash_named(ProvCtx* prov, const char* name) {
    for (Hash h : {Hash::sha256, Hash::sha384, Hash::sha512})
        if (const EVP_MD* known = prov->md(h); known != nullptr && EVP_MD_is_a(known, name)) return h;
    // Anything else is refused; the fetch only tells "unknown" from "not offered".
    EVP_MD* md = EVP_MD_fetch(prov->native(), name, nullptr);
    if (md == nullptr) return Error(Code::p11_mechanism, std::string("unknown digest ") + name);
    const int nid = EVP_MD_get_type(md);
    EVP_MD_free(md);
    switch (nid) {
    case NID_sha256: return Hash::sha256;
    case NID_sha384: return Hash::sha384;
    case NID_sha512: return Hash::sha512;
    default: return Error(Code::p11_mechanism, std::string("digest ") + name + " is not offered (SHA-256/384/512 only)");
    }
}

Status set_pad(SigCtx& c, const OSSL_PARAM& p) {
    int pad = 0;
    if (p.data_type == OSSL_PARAM_UTF8_STRING) {
        const char* s = nullptr;
        if (OSSL_PARAM_get_utf8_string_ptr(&p, &s) != 1) return Error(Code::usage, "pad-mode: not a string");
        if (std::strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0) pad = RSA_PKCS1_PADDING;
        else if (std::strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0) pad = RSA_PKCS1_PSS_PADDING;
        else return Error(Code::p11_mechanism, std::string("pad-mode ") + s + " is not offered (pkcs1, pss)");
    } else if (OSSL_PARAM_get_int(&p, &pad) != 1) {
        return Error(Code::usage, "pad-mode: not a number");
    }
    if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING)
        return Error(Code::p11_mechanism, "RSA padding " + std::to_string(pad) + " is not offered (pkcs1, pss)");
    if (c.key && c.key->kind() == KeyKind::ec) return Error(Code::p11_mechanism, "pad-mode set for an EC key");
    if (c.key && c.key->kind() == KeyKind::rsa_pss && pad != RSA_PKCS1_PSS_PADDING)
        return Error(Code::p11_mechanism, "an RSA-PSS key signs with PSS only");
    c.pad = pad;
    return {};
}

Status set_salt(SigCtx& c, const OSSL_PARAM& p) {
    int n = 0;
    if (p.data_type == OSSL_PARAM_UTF8_STRING) {
        const char* s = nullptr;
        if (OSSL_PARAM_get_utf8_string_ptr(&p, &s) != 1) return Error(Code::usage, "saltlen: not a string");
        if (std::strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0) n = kSaltDigest;
        else if (std::strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0) n = kSaltAuto;
        else if (std::strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0) n = kSaltMax;
        else {
            char* end = nullptr;
            long v = std::strtol(s, &end, 10);
            if (end == s || *end != '\0' || v < 0 || v > 1024) return Error(Code::usage, std::string("saltlen ") + s);
            n = static_cast<int>(v);
        }
    } else if (OSSL_PARAM_get_int(&p, &n) != 1) {
        return Error(Code::usage, "saltlen: not a number");
    }
    // "auto" lets the verifier find the salt length, so the card's (the
    // digest length) satisfies it; "max" and other lengths the card cannot do.
    if (n == kSaltDigest) c.salt = Salt::digest;
    else if (n == kSaltAuto) c.salt = Salt::automatic;
    else if (n >= 0) {
        c.salt = Salt::explicit_len;
        c.salt_len = n;
    } else {
        return Error(Code::p11_mechanism, "PSS salt length " + std::to_string(n) +
                                              " (max) is not offered: the card's salt is the digest length");
    }
    return {};
}

Status set_params(SigCtx& c, const OSSL_PARAM params[]) {
    if (params == nullptr) return {};
    if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) {
        const char* s = nullptr;
        if (OSSL_PARAM_get_utf8_string_ptr(p, &s) != 1) return Error(Code::usage, "digest: not a string");
        c.md = CG_TRY(hash_named(c.prov, s));
    }
    if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE))
        CG_TRY_VOID(set_pad(c, *p));
    if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN))
        CG_TRY_VOID(set_salt(c, *p));
    if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) {
        const char* s = nullptr;
        if (OSSL_PARAM_get_utf8_string_ptr(p, &s) != 1) return Error(Code::usage, "mgf1-digest: not a string");
        c.mgf1 = CG_TRY(hash_named(c.prov, s));
    }
    return {};
}

// The scheme and hash a signature over `digest_len` bytes will use, or why
// the card cannot make it.
Result<std::pair<SigScheme, Hash>> plan(const SigCtx& c, std::size_t digest_len) {
    if (!c.key) return Error(Code::internal, "signature operation without a key");
    std::optional<Hash> h = c.md;
    if (!h && c.key->kind() == KeyKind::ec) {
        // ECDSA signs the bare digest: its length says which hash made it.
        for (Hash cand : {Hash::sha256, Hash::sha384, Hash::sha512})
            if (hash_size(cand) == digest_len) h = cand;
    }
    if (!h) return Error(Code::p11_mechanism, "no digest set: the card signs SHA-256/384/512 digests only");
    if (hash_size(*h) != digest_len)
        return Error(Code::usage, std::to_string(digest_len) + " bytes to sign with " + std::string(hash_name(*h)));
    if (c.key->kind() == KeyKind::ec) return std::pair{SigScheme::ecdsa, *h};
    if (c.pad == RSA_PKCS1_PADDING) return std::pair{SigScheme::rsa_pkcs1, *h};
    if (c.mgf1 && *c.mgf1 != *h)
        return Error(Code::p11_mechanism, "PSS with MGF1 " + std::string(hash_name(*c.mgf1)) + " and digest " +
                                              std::string(hash_name(*h)) + ": the card uses one hash for both");
    if (c.salt == Salt::explicit_len && static_cast<std::size_t>(c.salt_len) != hash_size(*h))
        return Error(Code::p11_mechanism, "PSS salt length " + std::to_string(c.salt_len) +
                                              ": the card's salt is the digest length (" +
                                              std::to_string(hash_size(*h)) + ")");
    return std::pair{SigScheme::rsa_pss, *h};
}

std::size_t max_size(const SigCtx& c) { return static_cast<std::size_t>(EVP_PKEY_get_size(c.key->pub())); }

// The card's signature; the RSA ones are checked with the public key before
// they leave (a fault in an RSA-CRT signer would otherwise leak the key, and a
// wrong one would only show up as a failed handshake at the peer).
Result<Signature> card_sign(SigCtx& c, const unsigned char* tbs, std::size_t tbslen) {
    auto [scheme, hash] = CG_TRY(plan(c, tbslen));
    auto sig = CG_TRY(c.key->sign_digest(hash, std::span(tbs, tbslen), scheme));
    if (scheme == SigScheme::ecdsa) return sig;
    ossl::EvpPkeyCtxPtr v(EVP_PKEY_CTX_new_from_pkey(c.prov->native(), c.key->pub(), nullptr));
    const int pad = scheme == SigScheme::rsa_pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
    if (!v || EVP_PKEY_verify_init(v.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(v.get(), pad) != 1 ||
        EVP_PKEY_CTX_set_signature_md(v.get(), evp_md(hash)) != 1 ||
        (pad == RSA_PKCS1_PSS_PADDING && EVP_PKEY_CTX_set_rsa_pss_saltlen(v.get(), kSaltDigest) != 1) ||
        EVP_PKEY_verify(v.get(), sig.bytes.data(), sig.bytes.size(), tbs, tbslen) != 1)
        return Error(Code::proof_bad_signature, "the card's " + std::string(sig.mechanism_name) +
                                                    " signature does not verify with the key's public half");
    return sig;
}

int fail(const SigCtx* c, const Error& e) {
    if (c != nullptr) c->prov->raise(e);
    return 0;
}

void* sig_newctx(void* provctx, const char* /*propq*/) {
    auto* c = new (std::nothrow) SigCtx;
    if (c != nullptr) c->prov = static_cast<ProvCtx*>(provctx);
    return c;
}

void sig_freectx(void* ctx) { delete static_cast<SigCtx*>(ctx); }

void* sig_dupctx(void* ctx) {
    const auto* c = static_cast<const SigCtx*>(ctx);
    auto* d = new (std::nothrow) SigCtx;
    if (d == nullptr) return nullptr;
    d->prov = c->prov;
    d->key = c->key;
    d->pad = c->pad;
    d->md = c->md;
    d->mgf1 = c->mgf1;
    d->salt = c->salt;
    d->salt_len = c->salt_len;
    if (c->mdctx) {
        d->mdctx.reset(EVP_MD_CTX_new());
        if (!d->mdctx || EVP_MD_CTX_copy_ex(d->mdctx.get(), c->mdctx.get()) != 1) {
            delete d;
            return nullptr;
        }
    }
    return d;
}

Status init(SigCtx& c, void* provkey, const OSSL_PARAM params[]) {
    auto* kd = static_cast<KeyData*>(provkey);
    if (kd == nullptr || !kd->card)
        return Error(Code::proof_no_key, "the cardgate provider signs with card keys only");
    c.key = kd->card;
    c.pad = kd->kind == KeyKind::rsa_pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
    c.md.reset();
    c.mgf1.reset();
    c.salt = Salt::digest;
    return set_params(c, params);
}

int sig_sign_init(void* ctx, void* provkey, const OSSL_PARAM params[]) {
    auto* c = static_cast<SigCtx*>(ctx);
    auto r = init(*c, provkey, params);
    return r.ok() ? 1 : fail(c, r.error());
}

int sig_sign(void* ctx, unsigned char* sig, size_t* siglen, size_t sigsize, const unsigned char* tbs, size_t tbslen) {
    auto* c = static_cast<SigCtx*>(ctx);
    if (!c->key) return fail(c, Error(Code::internal, "sign before sign_init"));
    if (sig == nullptr) {
        *siglen = max_size(*c);
        return 1;
    }
    auto r = card_sign(*c, tbs, tbslen);
    if (!r.ok()) return fail(c, r.error());
    if (r->bytes.size() > sigsize) return fail(c, Error(Code::internal, "signature buffer too small"));
    std::memcpy(sig, r->bytes.data(), r->bytes.size());
    *siglen = r->bytes.size();
    return 1;
}

// The digest when the caller names none: the curve's strength for EC
// (SHA-384 for P-384, SHA-512 for P-521), SHA-256 otherwise; never SHA-1.
const char* default_digest(const CardKey& key) {
    if (key.kind() != KeyKind::ec) return "SHA256";
    const int bits = EVP_PKEY_get_bits(key.pub());
    if (bits > 384) return "SHA512";
    if (bits > 256) return "SHA384";
    return "SHA256";
}

int sig_digest_sign_init(void* ctx, const char* mdname, void* provkey, const OSSL_PARAM params[]) {
    auto* c = static_cast<SigCtx*>(ctx);
    auto r = init(*c, provkey, params);
    if (!r.ok()) return fail(c, r.error());
    if (mdname == nullptr || *mdname == '\0') mdname = default_digest(*c->key);
    auto h = hash_named(c->prov, mdname);
    if (!h.ok()) return fail(c, h.error());
    c->md = *h;
    c->mdctx.reset(EVP_MD_CTX_new());
    const EVP_MD* md = c->prov->md(*h);
    const int ok = c->mdctx && md != nullptr && EVP_DigestInit_ex2(c->mdctx.get(), md, nullptr) == 1;
    return ok ? 1 : fail(c, Error(Code::crypto, "digest " + std::string(mdname) + ": " + ossl::last_error()));
}

int sig_digest_sign_update(void* ctx, const unsigned char* data, size_t datalen) {
    auto* c = static_cast<SigCtx*>(ctx);
    if (!c->mdctx) return fail(c, Error(Code::internal, "digest_sign_update before digest_sign_init"));
    return EVP_DigestUpdate(c->mdctx.get(), data, datalen);
}

int sig_digest_sign_final(void* ctx, unsigned char* sig, size_t* siglen, size_t sigsize) {
    auto* c = static_cast<SigCtx*>(ctx);
    if (!c->mdctx) return fail(c, Error(Code::internal, "digest_sign_final before digest_sign_init"));
    if (sig == nullptr) {
        *siglen = max_size(*c);
        return 1;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_DigestFinal_ex(c->mdctx.get(), digest, &dlen) != 1)
        return fail(c, Error(Code::crypto, "digest: " + ossl::last_error()));
    return sig_sign(ctx, sig, siglen, sigsize, digest, dlen);
}

int sig_get_ctx_params(void* ctx, OSSL_PARAM params[]) {
    const auto* c = static_cast<const SigCtx*>(ctx);
    if (params == nullptr) return 1;
    if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST); p != nullptr && c->md) {
        const std::string n(hash_name(*c->md));
        if (OSSL_PARAM_set_utf8_string(p, n.c_str()) != 1) return 0;
    }
    if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE); p != nullptr) {
        if (p->data_type == OSSL_PARAM_INTEGER ? OSSL_PARAM_set_int(p, c->pad) != 1
                                               : OSSL_PARAM_set_utf8_string(p, c->pad == RSA_PKCS1_PSS_PADDING
                                                                                   ? OSSL_PKEY_RSA_PAD_MODE_PSS
                                                                                   : OSSL_PKEY_RSA_PAD_MODE_PKCSV15) != 1)
            return 0;
    }
    if (OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN); p != nullptr) {
        const int n = c->salt == Salt::explicit_len ? c->salt_len : c->salt == Salt::automatic ? kSaltAuto : kSaltDigest;
        if (p->data_type == OSSL_PARAM_INTEGER ? OSSL_PARAM_set_int(p, n) != 1
                                               : OSSL_PARAM_set_utf8_string(p, std::to_string(n).c_str()) != 1)
            return 0;
    }
    return 1;
}

const OSSL_PARAM* sig_gettable_ctx_params(void* /*ctx*/, void* /*provctx*/) {
    static const OSSL_PARAM list[] = {OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
                                      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr, 0),
                                      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr, 0),
                                      OSSL_PARAM_END};
    return list;
}

int sig_set_ctx_params(void* ctx, const OSSL_PARAM params[]) {
    auto* c = static_cast<SigCtx*>(ctx);
    // The digest is fixed once data is being hashed.
    if (c->mdctx && OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST) != nullptr)
        return fail(c, Error(Code::usage, "digest cannot change during digest_sign"));
    auto r = set_params(*c, params);
    return r.ok() ? 1 : fail(c, r.error());
}

const OSSL_PARAM* sig_settable_ctx_params(void* /*ctx*/, void* /*provctx*/) {
    static const OSSL_PARAM list[] = {OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
                                      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, nullptr, 0),
                                      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr, 0),
                                      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr, 0),
                                      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, nullptr, 0),
                                      OSSL_PARAM_END};
    return list;
}

#define FN(id, f) {id, reinterpret_cast<void (*)()>(f)}

}  // namespace

const OSSL_DISPATCH signature_functions[] = {
    FN(OSSL_FUNC_SIGNATURE_NEWCTX, sig_newctx),
    FN(OSSL_FUNC_SIGNATURE_FREECTX, sig_freectx),
    FN(OSSL_FUNC_SIGNATURE_DUPCTX, sig_dupctx),
    FN(OSSL_FUNC_SIGNATURE_SIGN_INIT, sig_sign_init),
    FN(OSSL_FUNC_SIGNATURE_SIGN, sig_sign),
    FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, sig_digest_sign_init),
    FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, sig_digest_sign_update),
    FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, sig_digest_sign_final),
    FN(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, sig_get_ctx_params),
    FN(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, sig_gettable_ctx_params),
    FN(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, sig_set_ctx_params),
    FN(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, sig_settable_ctx_params),
    {0, nullptr}};

}  // namespace cardgate::tls::prov
