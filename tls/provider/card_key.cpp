// Opening a card key: PIN, login, the private key object and its public half
// (card_key.hpp).
#include "tls/provider/card_key.hpp"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <unistd.h>

#include "src/pin.hpp"

namespace cardgate::tls::prov {

const char* kind_name(KeyKind k) noexcept {
    switch (k) {
    case KeyKind::rsa: return "RSA";
    case KeyKind::rsa_pss: return "RSA-PSS";
    case KeyKind::ec: return "EC";
    }
    return "RSA";
}

struct CardKey::Login {
    p11::Session session;
    p11::ObjectInfo key;
};

namespace {

using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ossl::Deleter<OSSL_PARAM_BLD_free>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, ossl::Deleter<OSSL_PARAM_free>>;

Result<ossl::EvpPkeyPtr> from_params(OSSL_LIB_CTX* native, const char* type, OSSL_PARAM_BLD* bld) {
    ParamsPtr params(OSSL_PARAM_BLD_to_param(bld));
    ossl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(native, type, nullptr));
    EVP_PKEY* pk = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pk, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
        return Error(Code::crypto, std::string("public ") + type + " key from the token: " + ossl::last_error());
    return ossl::EvpPkeyPtr(pk);
}

Result<ossl::EvpPkeyPtr> rsa_public(OSSL_LIB_CTX* native, const p11::PublicKeyParts& parts) {
    ossl::BignumPtr n(BN_bin2bn(parts.modulus.data(), static_cast<int>(parts.modulus.size()), nullptr));
    ossl::BignumPtr e(BN_bin2bn(parts.exponent.data(), static_cast<int>(parts.exponent.size()), nullptr));
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!n || !e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1)
        return Error(Code::crypto, "RSA public key parameters: " + ossl::last_error());
    return from_params(native, "RSA", bld.get());
}

// CKA_EC_POINT is a DER OCTET STRING (PKCS#11 §2.3.3); some modules store the
// bare point. An uncompressed point starts with 04 too, so the DER reading is
// taken only when its length covers the value exactly.
std::vector<std::uint8_t> unwrap_point(const std::vector<std::uint8_t>& v) {
    const unsigned char* p = v.data();
    ASN1_OCTET_STRING* os = d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(v.size()));
    if (os != nullptr && p == v.data() + v.size()) {
        std::vector<std::uint8_t> out(ASN1_STRING_get0_data(os), ASN1_STRING_get0_data(os) + ASN1_STRING_length(os));
        ASN1_OCTET_STRING_free(os);
        return out;
    }
    ASN1_OCTET_STRING_free(os);
    return v;
}

Result<ossl::EvpPkeyPtr> ec_public(OSSL_LIB_CTX* native, const p11::PublicKeyParts& parts) {
    const unsigned char* p = parts.ec_params.data();
    ossl::Asn1ObjectPtr oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(parts.ec_params.size())));
    const int nid = oid ? OBJ_obj2nid(oid.get()) : NID_undef;
    if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1 && nid != NID_secp521r1)
        return Error(Code::p11_mechanism, "EC key on a curve other than P-256, P-384, P-521");
    auto point = unwrap_point(parts.ec_point);
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
        return Error(Code::crypto, "EC public key parameters: " + ossl::last_error());
    return from_params(native, "EC", bld.get());
}

// The certificate with the key's CKA_ID on the key's token: the public key of
// an EC key whose token has no public key object.
Result<p11::ObjectInfo> certificate_for(p11::Session& session, const p11::ObjectInfo& key) {
    auto certs = CG_TRY(session.objects(p11::ObjectClass::certificate));
    std::vector<p11::ObjectInfo> hits;
    for (auto& c : certs)
        if (!key.id.empty() && c.id == key.id) hits.push_back(std::move(c));
    if (hits.empty()) return Error(Code::p11_no_object, "no public key and no certificate with id " + key.id_hex());
    if (hits.size() > 1) return Error(Code::p11_ambiguous, "several certificates with id " + key.id_hex());
    return std::move(hits.front());
}

Result<ossl::EvpPkeyPtr> public_half(OSSL_LIB_CTX* native, p11::Session& session, const p11::ObjectInfo& key) {
    auto parts = session.public_key(key);
    if (parts.ok()) return key.key_type == CKK_RSA ? rsa_public(native, *parts) : ec_public(native, *parts);
    if (parts.code() != Code::p11_no_object || key.key_type != CKK_EC) return std::move(parts).error();
    auto cert = CG_TRY(certificate_for(session, key));
    return native_public_key(native, cert);
}

// The PIN for a login, in the documented order. `use` is set to the PIN to
// use, or left null for the PIN pad (or when no login is needed).
Status find_pin(const std::shared_ptr<p11::Module>& module, const p11::Uri& uri, const AskPin* ask,
                std::optional<SecretBuffer>& held, const SecretBuffer*& use) {
    use = nullptr;
    if (uri.has_pin_value()) {
        use = uri.pin_value.get();
        return {};
    }
    if (uri.pin_source) {
        held = CG_TRY(read_pin_source(*uri.pin_source));
        use = &*held;
        return {};
    }
    auto slots = CG_TRY(module->slots(true));
    std::vector<p11::TokenInfo> tokens;
    for (auto& s : slots)
        if (s.token && s.token->initialized() && uri.matches(*s.token)) tokens.push_back(*s.token);
    // None or several: locate_private_key names the problem before any PIN.
    if (tokens.size() != 1) return {};
    const auto& t = tokens.front();
    if (!t.login_required() || t.protected_auth_path() || t.pin_locked()) return {};
    if (ask == nullptr || !*ask)
        return Error(Code::p11_pin_required, "token '" + t.label + "': no pin-value, no pin-source and no PIN prompt");
    std::string prompt = "PIN of badge '" + t.label + "'";
    if (auto state = t.pin_state(); !state.empty()) prompt += " (" + state + ")";
    auto answer = CG_TRY((*ask)(prompt));
    if (!answer) return Error(Code::login_cancelled, "PIN entry for token '" + t.label + "' cancelled");
    held = std::move(*answer);
    use = &*held;
    return {};
}

Result<KeyKind> kind_of(EVP_PKEY* pub) {
    if (EVP_PKEY_is_a(pub, "RSA")) return KeyKind::rsa;
    if (EVP_PKEY_is_a(pub, "RSA-PSS")) return KeyKind::rsa_pss;
    if (EVP_PKEY_is_a(pub, "EC")) return KeyKind::ec;
    return Error(Code::p11_mechanism, "key is neither RSA nor EC");
}

}  // namespace

Result<ossl::EvpPkeyPtr> native_public_key(OSSL_LIB_CTX* native, const p11::ObjectInfo& cert) {
    const unsigned char* p = cert.value.data();
    ossl::X509Ptr x(X509_new_ex(native, nullptr));
    if (!x || d2i_X509(reinterpret_cast<X509**>(&x), &p, static_cast<long>(cert.value.size())) == nullptr)
        return Error(Code::cert_parse, "certificate '" + cert.label + "' on the token: " + ossl::last_error());
    EVP_PKEY* pk = X509_get_pubkey(x.get());  // get1: owned
    if (pk == nullptr) return Error(Code::cert_parse, "certificate '" + cert.label + "': unusable public key");
    return ossl::EvpPkeyPtr(pk);
}

CardKey::CardKey(ProvCtx& prov, p11::Uri uri, Login login, ossl::EvpPkeyPtr pub, KeyKind kind)
    : prov_(prov),
      uri_(std::move(uri)),
      uri_text_(uri_.to_string()),
      pid_(getpid()),
      session_(std::move(login.session)),
      key_(std::move(login.key)),
      pub_(std::move(pub)),
      kind_(kind) {}

CardKey::~CardKey() {
    // In a forked child the session belongs to the parent's module, whose
    // worker thread does not exist here; at exit the module may be half
    // destroyed: leave it alone.
    if ((getpid() != pid_ || process_exiting()) && session_) new p11::Session(std::move(*session_));  // intentional leak
}

Result<std::shared_ptr<CardKey>> CardKey::open(ProvCtx& prov, const p11::Uri& uri, const AskPin& ask_pin) {
    if (prov.native() == nullptr) return Error(Code::crypto, "the provider has no default provider context");
    auto module = CG_TRY(prov.module());
    std::optional<SecretBuffer> held;
    const SecretBuffer* pin = nullptr;
    CG_TRY_VOID(find_pin(module, uri, &ask_pin, held, pin));
    auto located = CG_TRY(p11::locate_private_key(module, uri, pin));
    auto pub = CG_TRY(public_half(prov.native(), located.session, located.object));
    auto kind = CG_TRY(kind_of(pub.get()));
    Login login{std::move(located.session), std::move(located.object)};
    return std::shared_ptr<CardKey>(new CardKey(prov, uri, std::move(login), std::move(pub), kind));
}

Status CardKey::relogin_after_fork() {
    if (session_) new p11::Session(std::move(*session_));  // the parent's: intentional leak
    session_.reset();
    pid_ = getpid();
    if (!uri_.has_pin_value() && !uri_.pin_source)
        return Error(Code::p11_pin_required, "key " + uri_text_ +
                                                 " was loaded before fork() with a PIN typed by a person; "
                                                 "load it again in the child (or use pin-source)");
    auto module = CG_TRY(prov_.module());
    std::optional<SecretBuffer> held;
    const SecretBuffer* pin = nullptr;
    CG_TRY_VOID(find_pin(module, uri_, nullptr, held, pin));
    auto located = CG_TRY(p11::locate_private_key(module, uri_, pin));
    auto pub = CG_TRY(public_half(prov_.native(), located.session, located.object));
    if (EVP_PKEY_eq(pub.get(), pub_.get()) != 1)
        return Error(Code::proof_key_mismatch, "after fork() " + uri_text_ + " names another key");
    session_.emplace(std::move(located.session));
    key_ = std::move(located.object);
    return {};
}

Result<Signature> CardKey::sign_digest(Hash hash, std::span<const std::uint8_t> digest, SigScheme scheme) {
    std::lock_guard<std::mutex> lock(mu_);
    if (getpid() != pid_ || !session_) CG_TRY_VOID(relogin_after_fork());
    return session_->sign_digest(key_, hash, digest, scheme);
}

}  // namespace cardgate::tls::prov
