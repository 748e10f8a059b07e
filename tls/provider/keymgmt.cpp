// Key management for card keys (RSA, RSA-PSS, EC): a key is a CardKey, made by
// the store loader (store.cpp) and handed over by reference (load). Public
// questions (sizes, group, default digest) are answered by the native public
// key; import accepts public keys only,
// which is what EVP_PKEY_eq / X509_check_private_key need to compare a card
// key with a certificate's key (match compares the public halves).
// Export of the public part only, and only when the private part is not asked
// for (else the core would move the operation to another provider).
//
// The keymgmt names are OpenSSL's own ("RSA", "EC", ...), so EVP_PKEY_is_a and
// libssl's certificate-type checks see an ordinary RSA or EC key.
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>

#include <cstring>

#include "tls/provider/dispatch.hpp"

namespace cardgate::tls::prov {

namespace {

// OpenSSL's own keymgmt for the kind, in the native context: its parameter
// lists are static tables of the default provider, valid for as long as the
// native context lives.
const OSSL_PARAM* native_list(ProvCtx* prov, KeyKind kind, const OSSL_PARAM* (*what)(const EVP_KEYMGMT*, int),
                              int selection) {
    EVP_KEYMGMT* km = EVP_KEYMGMT_fetch(prov->native(), kind_name(kind), nullptr);
    if (km == nullptr) return nullptr;
    const OSSL_PARAM* list = what(km, selection);
    EVP_KEYMGMT_free(km);
    return list;
}
const OSSL_PARAM* gettable_of(const EVP_KEYMGMT* km, int) { return EVP_KEYMGMT_gettable_params(km); }

template <KeyKind K>
void* km_new(void* provctx) {
    return new (std::nothrow) KeyData{static_cast<ProvCtx*>(provctx), K, nullptr, nullptr};
}

void km_free(void* keydata) { delete static_cast<KeyData*>(keydata); }

// The store hands over a pointer to its std::shared_ptr<CardKey> (store.cpp);
// only this provider's loader can reach this function with a reference.
template <KeyKind K>
void* km_load(const void* reference, size_t reference_sz) {
    if (reference == nullptr || reference_sz != sizeof(const std::shared_ptr<CardKey>*)) return nullptr;
    const std::shared_ptr<CardKey>* ref = nullptr;
    std::memcpy(&ref, reference, sizeof ref);
    if (ref == nullptr || !*ref || (*ref)->kind() != K) return nullptr;
    return new (std::nothrow) KeyData{&(*ref)->prov(), K, *ref, nullptr};
}

int km_has(const void* keydata, int selection) {
    const auto* kd = static_cast<const KeyData*>(keydata);
    if (kd == nullptr) return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_ALL) == 0) return 1;
    if (kd->pub() == nullptr) return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && !kd->card) return 0;
    return 1;
}

int km_match(const void* a, const void* b, int selection) {
    const auto* ka = static_cast<const KeyData*>(a);
    const auto* kb = static_cast<const KeyData*>(b);
    if (ka->pub() == nullptr || kb->pub() == nullptr) return 0;
    // A private key on a card cannot be read: two key pairs are the same when
    // their public halves are (this is how a card key meets its certificate).
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0) return EVP_PKEY_eq(ka->pub(), kb->pub()) == 1;
    if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) != 0)
        return EVP_PKEY_parameters_eq(ka->pub(), kb->pub()) == 1;
    return 1;
}

int km_get_params(void* keydata, OSSL_PARAM params[]) {
    const auto* kd = static_cast<const KeyData*>(keydata);
    if (kd->pub() == nullptr) return 0;
    return EVP_PKEY_get_params(kd->pub(), params);
}

template <KeyKind K>
const OSSL_PARAM* km_gettable_params(void* provctx) {
    return native_list(static_cast<ProvCtx*>(provctx), K, gettable_of, 0);
}

// A private part is never imported: this provider's keys are on cards.
bool carries_private(const OSSL_PARAM params[]) {
    return OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_D) != nullptr ||
           OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY) != nullptr;
}

int km_import(void* keydata, int selection, const OSSL_PARAM params[]) {
    auto* kd = static_cast<KeyData*>(keydata);
    if (kd == nullptr || kd->card || carries_private(params)) {
        if (kd != nullptr) kd->prov->raise(Error(Code::usage, "the cardgate provider imports public keys only"));
        return 0;
    }
    int what = 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0) what = EVP_PKEY_PUBLIC_KEY;
    else if ((selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS) != 0) what = EVP_PKEY_KEY_PARAMETERS;
    else return 0;
    ossl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(kd->prov->native(), kind_name(kd->kind), nullptr));
    EVP_PKEY* pk = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pk, what, const_cast<OSSL_PARAM*>(params)) != 1)
        return 0;
    kd->imported.reset(pk);
    return 1;
}

template <KeyKind K>
const OSSL_PARAM* km_import_types(int selection) {
    // No provctx here; the lists are the same in every default provider.
    static const OSSL_PARAM rsa[] = {OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0),
                                     OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0), OSSL_PARAM_END};
    static const OSSL_PARAM ec[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, nullptr, 0),
        OSSL_PARAM_END};
    if ((selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)) == 0) return nullptr;
    return K == KeyKind::ec ? ec : rsa;
}

int km_export(void* keydata, int selection, OSSL_CALLBACK* cb, void* cbarg) {
    const auto* kd = static_cast<const KeyData*>(keydata);
    // Asked with the private key included, the core wants a copy of the key
    // to operate on elsewhere (another provider's signature): refusing makes
    // it use this provider's operations. Without it (EVP_PKEY_eq, encoders of
    // the public key) the public half is given.
    if (kd->pub() == nullptr || (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 ||
        (selection & OSSL_KEYMGMT_SELECT_ALL) == 0)
        return 0;
    return EVP_PKEY_export(kd->pub(), selection, cb, cbarg);
}

template <KeyKind K>
const OSSL_PARAM* km_export_types(int selection) {
    return km_import_types<K>(selection);
}

template <KeyKind K>
const char* km_operation_name(int operation_id) {
    if (operation_id != OSSL_OP_SIGNATURE) return nullptr;
    return K == KeyKind::ec ? "ECDSA" : "RSA";
}

void* km_dup(const void* from, int selection) {
    const auto* kd = static_cast<const KeyData*>(from);
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && !kd->card) return nullptr;
    auto* copy = new (std::nothrow) KeyData{kd->prov, kd->kind, kd->card, nullptr};
    if (copy != nullptr && kd->imported && EVP_PKEY_up_ref(kd->imported.get()) == 1)
        copy->imported.reset(kd->imported.get());  // the reference just taken
    return copy;
}

#define FN(id, f) {id, reinterpret_cast<void (*)()>(f)}
#define KEYMGMT_TABLE(K)                                                              \
    {FN(OSSL_FUNC_KEYMGMT_NEW, km_new<K>),                                            \
     FN(OSSL_FUNC_KEYMGMT_FREE, km_free),                                             \
     FN(OSSL_FUNC_KEYMGMT_LOAD, km_load<K>),                                          \
     FN(OSSL_FUNC_KEYMGMT_HAS, km_has),                                               \
     FN(OSSL_FUNC_KEYMGMT_MATCH, km_match),                                           \
     FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, km_get_params),                                 \
     FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, km_gettable_params<K>),                    \
     FN(OSSL_FUNC_KEYMGMT_IMPORT, km_import),                                         \
     FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, km_import_types<K>),                          \
     FN(OSSL_FUNC_KEYMGMT_EXPORT, km_export),                                         \
     FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, km_export_types<K>),                          \
     FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, km_operation_name<K>),                \
     FN(OSSL_FUNC_KEYMGMT_DUP, km_dup),                                               \
     {0, nullptr}}

}  // namespace

const OSSL_DISPATCH rsa_keymgmt_functions[] = KEYMGMT_TABLE(KeyKind::rsa);
const OSSL_DISPATCH rsa_pss_keymgmt_functions[] = KEYMGMT_TABLE(KeyKind::rsa_pss);
const OSSL_DISPATCH ec_keymgmt_functions[] = KEYMGMT_TABLE(KeyKind::ec);

}  // namespace cardgate::tls::prov
