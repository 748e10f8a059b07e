// The provider's dispatch tables, one file per operation (keymgmt.cpp,
// signature.cpp, store.cpp), and the object the keymgmt hands around.
#pragma once

#include <openssl/core.h>

#include <memory>

#include "src/ossl.hpp"
#include "tls/provider/card_key.hpp"
#include "tls/provider/provctx.hpp"

namespace cardgate::tls::prov {

extern const OSSL_DISPATCH rsa_keymgmt_functions[];
extern const OSSL_DISPATCH rsa_pss_keymgmt_functions[];
extern const OSSL_DISPATCH ec_keymgmt_functions[];
extern const OSSL_DISPATCH signature_functions[];
extern const OSSL_DISPATCH store_functions[];

// The keymgmt's key object: a card key, or (imported, for comparisons only)
// a public key with no card behind it.
struct KeyData {
    ProvCtx* prov;
    KeyKind kind;
    std::shared_ptr<CardKey> card;
    ossl::EvpPkeyPtr imported;  // public part of an imported key; null for card keys
    EVP_PKEY* pub() const noexcept { return card ? card->pub() : imported.get(); }
};

}  // namespace cardgate::tls::prov
