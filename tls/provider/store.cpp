// The OSSL_STORE loader for RFC 7512 pkcs11: URIs (scheme "pkcs11"): private
// keys (as card keys, handed to keymgmt.cpp by reference), certificates and
// public keys (as DER, decoded by OpenSSL in the caller's context).
//
// What a URI yields: its type= attribute; without one, what the caller
// expects (OSSL_STORE_expect); without either, the certificate.
//
// The PIN: pin-value, else pin-source=file:…, else (no PIN pad) the
// passphrase callback OpenSSL hands the loader, which is the application's
// UI method (`openssl s_client -key pkcs11:…` prompts). A PIN the card
// rejected is never retried; the PIN is never logged nor put in an error.
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>

#include <cstring>

#include "src/pin.hpp"
#include "tls/provider/dispatch.hpp"

namespace cardgate::tls::prov {

namespace {

struct LoaderCtx {
    ProvCtx* prov;
    p11::Uri uri;
    int expect = 0;  // OSSL_STORE_INFO_*; 0 = anything
    bool done = false;
    std::shared_ptr<CardKey> key;  // referenced by the object handed to the core
};

void* store_open(void* provctx, const char* uri) {
    auto* prov = static_cast<ProvCtx*>(provctx);
    auto parsed = p11::Uri::parse(uri != nullptr ? uri : "");
    if (!parsed.ok()) {
        prov->raise(parsed.error());
        return nullptr;
    }
    auto* c = new (std::nothrow) LoaderCtx{prov, std::move(*parsed), 0, false, nullptr};
    return c;
}

int store_set_ctx_params(void* loaderctx, const OSSL_PARAM params[]) {
    auto* c = static_cast<LoaderCtx*>(loaderctx);
    if (params == nullptr) return 1;
    if (const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT))
        if (OSSL_PARAM_get_int(p, &c->expect) != 1) return 0;
    return 1;  // subject/serial searches are not offered: the URI names the object
}

const OSSL_PARAM* store_settable_ctx_params(void* /*provctx*/) {
    static const OSSL_PARAM list[] = {OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, nullptr), OSSL_PARAM_END};
    return list;
}

std::optional<p11::ObjectClass> wanted(const LoaderCtx& c) {
    if (c.uri.type) return *c.uri.type;
    switch (c.expect) {
    case OSSL_STORE_INFO_PKEY: return p11::ObjectClass::private_key;
    case OSSL_STORE_INFO_PUBKEY: return p11::ObjectClass::public_key;
    case 0:
    case OSSL_STORE_INFO_CERT: return p11::ObjectClass::certificate;
    default: return std::nullopt;  // parameters, CRLs, names: nothing here
    }
}

// The application's passphrase callback as an AskPin.
AskPin asker(OSSL_PASSPHRASE_CALLBACK* pw_cb, void* pw_cbarg) {
    if (pw_cb == nullptr) return nullptr;
    return [pw_cb, pw_cbarg](const std::string& prompt) -> Result<std::optional<SecretBuffer>> {
        char buf[max_pin_length + 1];
        std::size_t len = 0;
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PASSPHRASE_PARAM_INFO, const_cast<char*>(prompt.c_str()), 0),
            OSSL_PARAM_construct_end()};
        const int ok = pw_cb(buf, sizeof buf, &len, params, pw_cbarg);
        std::optional<SecretBuffer> pin;
        if (ok == 1 && len > 0 && len <= max_pin_length)
            pin.emplace(reinterpret_cast<const unsigned char*>(buf), len);
        OPENSSL_cleanse(buf, sizeof buf);
        return pin;
    };
}

Status load_key(LoaderCtx& c, OSSL_CALLBACK* object_cb, void* object_cbarg, OSSL_PASSPHRASE_CALLBACK* pw_cb,
                void* pw_cbarg) {
    c.key = CG_TRY(CardKey::open(*c.prov, c.uri, asker(pw_cb, pw_cbarg)));
    int type = OSSL_OBJECT_PKEY;
    const std::shared_ptr<CardKey>* ref = &c.key;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type),
        OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, const_cast<char*>(kind_name(c.key->kind())), 0),
        OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &ref, sizeof ref),
        OSSL_PARAM_construct_end()};
    if (object_cb(params, object_cbarg) != 1)
        return Error(Code::crypto, "OpenSSL did not take the card key: " + ossl::last_error());
    return {};
}

Status load_certificate(LoaderCtx& c, OSSL_CALLBACK* object_cb, void* object_cbarg, bool public_only) {
    auto module = CG_TRY(c.prov->module());
    auto located = CG_TRY(p11::locate_certificate(module, c.uri));
    std::vector<std::uint8_t> der = located.object.value;
    int type = OSSL_OBJECT_CERT;
    const char* structure = "Certificate";
    if (public_only) {
        // The public key of the certificate, as SubjectPublicKeyInfo.
        auto pub = CG_TRY(native_public_key(c.prov->native(), located.object));
        unsigned char* out = nullptr;
        const int n = i2d_PUBKEY(pub.get(), &out);
        if (n <= 0) return Error(Code::crypto, "public key encoding: " + ossl::last_error());
        der.assign(out, out + n);
        OPENSSL_free(out);
        type = OSSL_OBJECT_PKEY;
        structure = "SubjectPublicKeyInfo";
    }
    OSSL_PARAM params[] = {OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type),
                           OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE,
                                                            const_cast<char*>(structure), 0),
                           OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der.data(), der.size()),
                           OSSL_PARAM_construct_end()};
    if (object_cb(params, object_cbarg) != 1)
        return Error(Code::crypto, "OpenSSL did not take the object: " + ossl::last_error());
    return {};
}

int store_load(void* loaderctx, OSSL_CALLBACK* object_cb, void* object_cbarg, OSSL_PASSPHRASE_CALLBACK* pw_cb,
               void* pw_cbarg) {
    auto* c = static_cast<LoaderCtx*>(loaderctx);
    if (c->done) return 0;
    c->done = true;
    auto want = wanted(*c);
    if (!want) return 1;  // nothing of that kind under a pkcs11: URI; eof follows
    Status r;
    switch (*want) {
    case p11::ObjectClass::private_key: r = load_key(*c, object_cb, object_cbarg, pw_cb, pw_cbarg); break;
    case p11::ObjectClass::certificate: r = load_certificate(*c, object_cb, object_cbarg, false); break;
    case p11::ObjectClass::public_key: r = load_certificate(*c, object_cb, object_cbarg, true); break;
    case p11::ObjectClass::secret_key:
    case p11::ObjectClass::data:
    case p11::ObjectClass::other:
        r = Error(Code::p11_no_object, "pkcs11: URIs of type " + std::string(p11::class_name(*want)) +
                                           " are not offered (cert, private, public)");
        break;
    }
    if (r.ok()) return 1;
    c->prov->raise(r.error());
    return 0;
}

int store_eof(void* loaderctx) { return static_cast<LoaderCtx*>(loaderctx)->done ? 1 : 0; }

int store_close(void* loaderctx) {
    delete static_cast<LoaderCtx*>(loaderctx);
    return 1;
}

// Asked when OpenSSL picked another provider's keymgmt for the key type: a
// card key cannot be exported, so refusing makes the core fall back to this
// provider's keymgmt.
int store_export_object(void* /*loaderctx*/, const void* /*reference*/, size_t /*reference_sz*/,
                        OSSL_CALLBACK* /*export_cb*/, void* /*export_cbarg*/) {
    return 0;
}

#define FN(id, f) {id, reinterpret_cast<void (*)()>(f)}

}  // namespace

const OSSL_DISPATCH store_functions[] = {
    FN(OSSL_FUNC_STORE_OPEN, store_open),
    FN(OSSL_FUNC_STORE_SET_CTX_PARAMS, store_set_ctx_params),
    FN(OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, store_settable_ctx_params),
    FN(OSSL_FUNC_STORE_LOAD, store_load),
    FN(OSSL_FUNC_STORE_EOF, store_eof),
    FN(OSSL_FUNC_STORE_CLOSE, store_close),
    FN(OSSL_FUNC_STORE_EXPORT_OBJECT, store_export_object),
    {0, nullptr}};

}  // namespace cardgate::tls::prov
