// RAII owners for OpenSSL objects: one deleter per type.
//
// Ownership rule used throughout cardgate: a function named get0_* / *_get0_*
// returns a borrowed pointer (never wrapped); get1_* / *_get1_* and every
// *_new / d2i_* / PEM_read_* return an owned pointer that goes straight into
// one of these. set0_* transfers ownership into OpenSSL: call .release() on
// the owner at that point, with a comment.
#pragma once

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace cardgate::ossl {

template <auto Fn>
struct Deleter {
    template <typename T>
    void operator()(T* p) const noexcept { Fn(p); }
};

using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using ExtKeyUsagePtr = std::unique_ptr<EXTENDED_KEY_USAGE, Deleter<EXTENDED_KEY_USAGE_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT_free>>;
using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, Deleter<OCSP_REQUEST_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, Deleter<OCSP_RESPONSE_free>>;
using OcspBasicRespPtr = std::unique_ptr<OCSP_BASICRESP, Deleter<OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, Deleter<OCSP_CERTID_free>>;

struct X509StackDeleter {
    void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

// X509_get1_ocsp / X509_get1_email lists: freed with X509_email_free.
struct OpensslStringStackDeleter {
    void operator()(STACK_OF(OPENSSL_STRING) * s) const noexcept { X509_email_free(s); }
};
using OpensslStringStackPtr = std::unique_ptr<STACK_OF(OPENSSL_STRING), OpensslStringStackDeleter>;

struct OpensslStringDeleter {
    void operator()(char* p) const noexcept { OPENSSL_free(p); }
};
using OsslString = std::unique_ptr<char, OpensslStringDeleter>;

// The most recent OpenSSL error queue entries as one line (and clears the queue),
// for error details. Empty when the queue is empty.
std::string last_error();

}  // namespace cardgate::ossl
