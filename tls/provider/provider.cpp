// The provider's entry point: what it offers (keymgmt RSA/RSA-PSS/EC,
// signature RSA/ECDSA, store "pkcs11"), its parameters, and its teardown.
//
// Every algorithm carries the property provider=cardgate. An application that
// loads cardgate next to "default" and wants its ordinary keys (ECDHE shares,
// file keys) never handled here sets the default query
// "?provider!=cardgate" (cardgate-provider(7)); LibContext does.
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "config.h"
#include "tls/provider/dispatch.hpp"
#include "tls/provider/provider.hpp"

namespace cardgate::tls::prov {

namespace {

constexpr const char* kProps = "provider=cardgate";

const OSSL_ALGORITHM keymgmt_algorithms[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", kProps, rsa_keymgmt_functions, "cardgate RSA key on a card"},
    {"RSA-PSS:RSASSA-PSS:1.2.840.113549.1.1.10", kProps, rsa_pss_keymgmt_functions, "cardgate RSA-PSS key on a card"},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", kProps, ec_keymgmt_functions, "cardgate EC key on a card"},
    {nullptr, nullptr, nullptr, nullptr}};

const OSSL_ALGORITHM signature_algorithms[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", kProps, signature_functions, "cardgate RSA signature on a card"},
    {"ECDSA", kProps, signature_functions, "cardgate ECDSA on a card"},
    {nullptr, nullptr, nullptr, nullptr}};

const OSSL_ALGORITHM store_algorithms[] = {
    {"pkcs11", kProps, store_functions, "cardgate loader for RFC 7512 pkcs11: URIs"},
    {nullptr, nullptr, nullptr, nullptr}};

const OSSL_ALGORITHM* query_operation(void* /*provctx*/, int operation_id, int* no_cache) {
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT: return keymgmt_algorithms;
    case OSSL_OP_SIGNATURE: return signature_algorithms;
    case OSSL_OP_STORE: return store_algorithms;
    default: return nullptr;
    }
}

const OSSL_PARAM* gettable_params(void* /*provctx*/) {
    static const OSSL_PARAM list[] = {OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, nullptr, 0),
                                      OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, nullptr, 0),
                                      OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, nullptr, 0),
                                      OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, nullptr, 0),
                                      OSSL_PARAM_END};
    return list;
}

int get_params(void* /*provctx*/, OSSL_PARAM params[]) {
    OSSL_PARAM* p = nullptr;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) && !OSSL_PARAM_set_utf8_ptr(p, "cardgate badge keys"))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) && !OSSL_PARAM_set_utf8_ptr(p, PACKAGE_VERSION))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) && !OSSL_PARAM_set_utf8_ptr(p, PACKAGE_STRING))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) && !OSSL_PARAM_set_int(p, 1)) return 0;
    return 1;
}

const OSSL_ITEM* get_reason_strings(void* /*provctx*/) { return reason_strings(); }

void teardown(void* provctx) { delete static_cast<ProvCtx*>(provctx); }

#define FN(id, f) {id, reinterpret_cast<void (*)()>(f)}
const OSSL_DISPATCH provider_functions[] = {FN(OSSL_FUNC_PROVIDER_TEARDOWN, teardown),
                                            FN(OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, gettable_params),
                                            FN(OSSL_FUNC_PROVIDER_GET_PARAMS, get_params),
                                            FN(OSSL_FUNC_PROVIDER_QUERY_OPERATION, query_operation),
                                            FN(OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, get_reason_strings),
                                            {0, nullptr}};

}  // namespace

}  // namespace cardgate::tls::prov

extern "C" int cardgate_provider_init(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in,
                                      const OSSL_DISPATCH** out, void** provctx) {
    using cardgate::tls::prov::ProvCtx;
    auto* ctx = new (std::nothrow) ProvCtx(handle, in);
    if (ctx == nullptr) return 0;
    if (ctx->native() == nullptr) {
        delete ctx;
        return 0;
    }
    // The config is only located here; it is read when a card is first used,
    // so an application that loads the provider but no badge key is not
    // affected by a missing or broken config.
    ctx->resolve_config();
    *provctx = ctx;
    *out = cardgate::tls::prov::provider_functions;
    return 1;
}
