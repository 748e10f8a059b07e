#include "pkcs11/token.hpp"

#include <cstring>
#include <functional>
#include <mutex>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "pkcs11/ckr.hpp"
#include "pkcs11/padding.hpp"
#include "src/ossl.hpp"

namespace cardgate::p11 {

struct Session::State {
    std::shared_ptr<Module> mod;
    CK_SLOT_ID slot = 0;
    CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
    // The token's mechanisms, read at the first signature of this session: a
    // token's mechanism list does not change while a session on it is open,
    // and reading it (C_GetMechanismList + one C_GetMechanismInfo each) costs
    // more than the signature on a fast token.
    std::mutex mechs_mu;
    std::shared_ptr<const std::vector<MechanismInfo>> mechs;

    CK_FUNCTION_LIST* fl() const noexcept { return mod->functions(); }

    ~State() {
        // A poisoned module may be stuck inside this very session; leave it be.
        if (handle == CK_INVALID_HANDLE || mod->poisoned()) return;
        (void)mod->run([m = mod, h = handle]() -> Status {
            return CG_P11_CALL(m->functions(), C_CloseSession, h);
        });
    }
};

namespace {

using State = Session::State;
using StatePtr = std::shared_ptr<State>;

constexpr CK_ULONG kMaxAttributeLength = 1 << 20;  // a certificate, a modulus: far less
constexpr CK_ULONG kMaxSignatureLength = 1 << 16;

// The token's slot no longer reports a token (or cannot be asked at all).
bool token_gone(const State& st) {
    CK_SLOT_INFO si{};
    CK_RV rv = CG_P11_INVOKE(st.fl(), C_GetSlotInfo, st.slot, &si);
    return rv != CKR_OK || !(si.flags & CKF_TOKEN_PRESENT);
}

// check() for calls on a session: an invalid or closed session on a slot whose
// token is gone means the badge was pulled, not that cardgate lost its handle.
Status checked(const State& st, const char* fn, CK_RV rv) {
    if (rv == CKR_OK) return {};
    if ((rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED) && token_gone(st))
        return Error(Code::p11_device_removed, std::string(fn) + ": " + ckr_name(rv) + " (token removed)");
    return ckr_error(fn, rv);
}

#define SESSION_CALL(st, fn, ...) checked((st), #fn, CG_P11_INVOKE((st).fl(), fn, __VA_ARGS__))

// One attribute's value; nullopt when the object has none or it is sensitive.
Result<std::optional<std::vector<std::uint8_t>>> get_attribute(const State& st, CK_OBJECT_HANDLE obj,
                                                                CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    CK_RV rv = CG_P11_INVOKE(st.fl(), C_GetAttributeValue, st.handle, obj, &a, 1);
    if (rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID) return std::optional<std::vector<std::uint8_t>>();
    CG_TRY_VOID(checked(st, "C_GetAttributeValue", rv));
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION) return std::optional<std::vector<std::uint8_t>>();
    if (a.ulValueLen > kMaxAttributeLength)
        return Error(Code::p11_function_failed, "C_GetAttributeValue: implausible length " + std::to_string(a.ulValueLen));
    std::vector<std::uint8_t> v(a.ulValueLen);
    a.pValue = v.data();
    rv = CG_P11_INVOKE(st.fl(), C_GetAttributeValue, st.handle, obj, &a, 1);
    if (rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID) return std::optional<std::vector<std::uint8_t>>();
    CG_TRY_VOID(checked(st, "C_GetAttributeValue", rv));
    if (a.ulValueLen > v.size()) return Error(Code::p11_function_failed, "C_GetAttributeValue: length grew");
    v.resize(a.ulValueLen);
    return std::optional<std::vector<std::uint8_t>>(std::move(v));
}

Result<std::optional<CK_ULONG>> get_ulong(const State& st, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type) {
    auto v = CG_TRY(get_attribute(st, obj, type));
    if (!v) return std::optional<CK_ULONG>();
    if (v->size() != sizeof(CK_ULONG))
        return Error(Code::p11_function_failed, "C_GetAttributeValue: attribute of " + std::to_string(v->size()) +
                                                    " bytes where a CK_ULONG was expected");
    CK_ULONG x;
    std::memcpy(&x, v->data(), sizeof x);
    return std::optional<CK_ULONG>(x);
}

unsigned bit_length(const std::vector<std::uint8_t>& n) {
    std::size_t i = 0;
    while (i < n.size() && n[i] == 0) ++i;
    if (i == n.size()) return 0;
    unsigned bits = static_cast<unsigned>((n.size() - i - 1) * 8);
    for (unsigned b = n[i]; b != 0; b >>= 1) ++bits;
    return bits;
}

void set_curve(ObjectInfo& o, int nid) {
    switch (nid) {
    case NID_X9_62_prime256v1: o.curve = "P-256"; o.bits = 256; break;
    case NID_secp384r1: o.curve = "P-384"; o.bits = 384; break;
    case NID_secp521r1: o.curve = "P-521"; o.bits = 521; break;
    default: break;
    }
}

// CKA_EC_PARAMS holds the DER OID of a named curve (X9.62 ECParameters).
void curve_from_params(ObjectInfo& o, const std::vector<std::uint8_t>& params) {
    const unsigned char* p = params.data();
    ossl::Asn1ObjectPtr oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(params.size())));
    if (oid) set_curve(o, OBJ_obj2nid(oid.get()));
}

// Key type, size and curve of a certificate's subject key (for listing and to
// pick a hash); an unparsable certificate is left for validation to refuse.
void key_from_certificate(ObjectInfo& o) {
    const unsigned char* p = o.value.data();
    ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(o.value.size())));
    if (!x) return;
    EVP_PKEY* pk = X509_get0_pubkey(x.get());  // get0: borrowed from the certificate
    if (p == o.value.data() + o.value.size())  // nothing after it: what Certificate::from_der accepts
        o.parsed = std::shared_ptr<const x509_st>(x.release(), [](const x509_st* c) { X509_free(const_cast<X509*>(c)); });
    if (pk == nullptr) return;
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
        o.key_type = CKK_RSA;
        o.bits = static_cast<unsigned>(EVP_PKEY_get_bits(pk));
    } else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
        o.key_type = CKK_EC;
        char group[64] = {};
        if (EVP_PKEY_get_group_name(pk, group, sizeof group, nullptr) == 1) set_curve(o, OBJ_sn2nid(group));
    }
}

Result<ObjectInfo> describe_object(const State& st, CK_OBJECT_HANDLE h, const TokenInfo& token) {
    ObjectInfo o;
    o.handle = h;
    auto cls = CG_TRY(get_ulong(st, h, CKA_CLASS));
    o.cls = cls ? class_from_ck(*cls) : ObjectClass::other;
    if (auto id = CG_TRY(get_attribute(st, h, CKA_ID))) o.id = std::move(*id);
    if (auto label = CG_TRY(get_attribute(st, h, CKA_LABEL))) o.label.assign(label->begin(), label->end());
    if (o.cls == ObjectClass::private_key || o.cls == ObjectClass::public_key) {
        auto kt = CG_TRY(get_ulong(st, h, CKA_KEY_TYPE));
        o.key_type = kt ? *kt : kNoKeyType;
        if (o.key_type == CKK_RSA) {
            if (auto n = CG_TRY(get_attribute(st, h, CKA_MODULUS))) o.bits = bit_length(*n);
            if (o.bits == 0)
                if (auto mb = CG_TRY(get_ulong(st, h, CKA_MODULUS_BITS))) o.bits = static_cast<unsigned>(*mb);
        } else if (o.key_type == CKK_EC) {
            if (auto params = CG_TRY(get_attribute(st, h, CKA_EC_PARAMS))) curve_from_params(o, *params);
        }
    } else if (o.cls == ObjectClass::certificate) {
        if (auto v = CG_TRY(get_attribute(st, h, CKA_VALUE))) o.value = std::move(*v);
        key_from_certificate(o);
    }
    o.uri = object_uri(token, o);
    return o;
}

Result<std::vector<CK_OBJECT_HANDLE>> find_handles(const State& st, std::optional<ObjectClass> cls) {
    CK_OBJECT_CLASS ck_class = 0;
    CK_ATTRIBUTE templ{CKA_CLASS, &ck_class, sizeof ck_class};
    CK_ULONG count = 0;
    if (cls) {
        if (auto c = class_to_ck(*cls)) {
            ck_class = *c;
            count = 1;
        }
    }
    CG_TRY_VOID(SESSION_CALL(st, C_FindObjectsInit, st.handle, count ? &templ : nullptr, count));
    std::vector<CK_OBJECT_HANDLE> out;
    Status failed;
    while (true) {
        CK_OBJECT_HANDLE batch[32];
        CK_ULONG n = 0;
        failed = SESSION_CALL(st, C_FindObjects, st.handle, batch, 32, &n);
        if (!failed.ok() || n == 0) break;
        out.insert(out.end(), batch, batch + std::min<CK_ULONG>(n, 32));
        if (out.size() > 100000) {
            failed = Error(Code::p11_function_failed, "C_FindObjects: more than 100000 objects");
            break;
        }
    }
    // Always end the search, even after a failure; the first error wins.
    Status fin = SESSION_CALL(st, C_FindObjectsFinal, st.handle);
    if (!failed.ok()) return std::move(failed).error();
    if (!fin.ok()) return std::move(fin).error();
    return out;
}

Result<std::vector<ObjectInfo>> list_objects(const State& st, std::optional<ObjectClass> cls) {
    auto token = CG_TRY(detail::read_token_info(st.fl(), st.slot));
    auto handles = CG_TRY(find_handles(st, cls));
    std::vector<ObjectInfo> out;
    for (auto h : handles) {
        auto o = CG_TRY(describe_object(st, h, token));
        if (cls && o.cls != *cls) continue;  // `other`, or a module that ignored the template
        out.push_back(std::move(o));
    }
    return out;
}

Result<std::vector<MechanismInfo>> list_mechanisms(const State& st) {
    CK_ULONG n = 0;
    CG_TRY_VOID(CG_P11_CALL(st.fl(), C_GetMechanismList, st.slot, nullptr, &n));
    if (n > 4096) return Error(Code::p11_function_failed, "C_GetMechanismList: implausible count");
    std::vector<CK_MECHANISM_TYPE> types(n);
    CG_TRY_VOID(CG_P11_CALL(st.fl(), C_GetMechanismList, st.slot, types.data(), &n));
    types.resize(std::min<std::size_t>(n, types.size()));
    std::vector<MechanismInfo> out;
    for (auto t : types) {
        CK_MECHANISM_INFO mi{};
        CG_TRY_VOID(CG_P11_CALL(st.fl(), C_GetMechanismInfo, st.slot, t, &mi));
        out.push_back(MechanismInfo{t, mechanism_label(t), mi.ulMinKeySize, mi.ulMaxKeySize, mi.flags});
    }
    return out;
}

// --- signing ---

struct Plan {
    CK_MECHANISM_TYPE mechanism;
    SigScheme scheme;
};

CK_MECHANISM_TYPE pkcs11_hash(Hash h) {
    switch (h) {
    case Hash::sha256: return CKM_SHA256;
    case Hash::sha384: return CKM_SHA384;
    case Hash::sha512: return CKM_SHA512;
    }
    return CKM_SHA256;
}

CK_RSA_PKCS_MGF_TYPE pkcs11_mgf(Hash h) {
    switch (h) {
    case Hash::sha256: return CKG_MGF1_SHA256;
    case Hash::sha384: return CKG_MGF1_SHA384;
    case Hash::sha512: return CKG_MGF1_SHA512;
    }
    return CKG_MGF1_SHA256;
}

Result<Plan> choose_mechanism(const ObjectInfo& key, const std::vector<MechanismInfo>& mechs,
                              std::optional<SigScheme> force) {
    auto offered = [&](CK_MECHANISM_TYPE m) {
        for (const auto& mi : mechs)
            if (mi.type == m && mi.can_sign()) return true;
        return false;
    };
    std::vector<Plan> preference;
    if (key.key_type == CKK_EC) {
        if (force && *force != SigScheme::ecdsa)
            return Error(Code::p11_mechanism, std::string(scheme_name(*force)) + " requested for an EC key");
        preference = {{CKM_ECDSA, SigScheme::ecdsa}};
    } else if (key.key_type == CKK_RSA) {
        if (force == SigScheme::ecdsa) return Error(Code::p11_mechanism, "ECDSA requested for an RSA key");
        if (force == SigScheme::rsa_pkcs1)
            preference = {{CKM_RSA_PKCS, SigScheme::rsa_pkcs1}, {CKM_RSA_X_509, SigScheme::rsa_pkcs1}};
        else if (force == SigScheme::rsa_pss)
            preference = {{CKM_RSA_PKCS_PSS, SigScheme::rsa_pss}, {CKM_RSA_X_509, SigScheme::rsa_pss}};
        else
            preference = {{CKM_RSA_PKCS_PSS, SigScheme::rsa_pss},
                          {CKM_RSA_PKCS, SigScheme::rsa_pkcs1},
                          {CKM_RSA_X_509, SigScheme::rsa_pkcs1}};
    } else {
        return Error(Code::p11_mechanism, "key '" + key.label + "' is neither RSA nor EC");
    }
    for (const auto& p : preference)
        if (offered(p.mechanism)) return p;
    std::string wanted;
    for (const auto& p : preference) wanted += (wanted.empty() ? "" : ", ") + std::string(mechanism_name(p.mechanism));
    return Error(Code::p11_mechanism, "token offers none of " + wanted + " for signing");
}

// What goes into C_Sign for the plan.
Result<std::vector<std::uint8_t>> sign_input(const Plan& plan, const ObjectInfo& key, Hash h,
                                             const std::vector<std::uint8_t>& digest) {
    switch (plan.mechanism) {
    case CKM_ECDSA:
    case CKM_RSA_PKCS_PSS: return digest;
    case CKM_RSA_PKCS: return digest_info(h, digest);
    case CKM_RSA_X_509:
        if (key.bits == 0) return Error(Code::p11_mechanism, "CKM_RSA_X_509 needs the modulus size, which the key does not reveal");
        if (plan.scheme == SigScheme::rsa_pss) return emsa_pss(h, digest, key.bits);
        return emsa_pkcs1_v15(h, digest, (key.bits + 7) / 8);
    default: return Error(Code::internal, "no input rule for " + mechanism_label(plan.mechanism));
    }
}

Result<std::vector<std::uint8_t>> card_sign(const State& st, const ObjectInfo& key, const Plan& plan, Hash h,
                                            std::vector<std::uint8_t> input) {
    CK_RSA_PKCS_PSS_PARAMS pss{pkcs11_hash(h), pkcs11_mgf(h), hash_size(h)};
    CK_MECHANISM mech{plan.mechanism, nullptr, 0};
    if (plan.mechanism == CKM_RSA_PKCS_PSS) {
        mech.pParameter = &pss;
        mech.ulParameterLen = sizeof pss;
    }
    CG_TRY_VOID(SESSION_CALL(st, C_SignInit, st.handle, &mech, key.handle));
    std::vector<std::uint8_t> sig(1024);  // up to RSA-8192; else the card says how much
    CK_ULONG len = sig.size();
    CK_RV rv = CG_P11_INVOKE(st.fl(), C_Sign, st.handle, input.data(), input.size(), sig.data(), &len);
    if (rv == CKR_BUFFER_TOO_SMALL && len > sig.size() && len <= kMaxSignatureLength) {
        // The operation stays active after CKR_BUFFER_TOO_SMALL (PKCS#11 §5.2).
        sig.resize(len);
        rv = CG_P11_INVOKE(st.fl(), C_Sign, st.handle, input.data(), input.size(), sig.data(), &len);
    }
    OPENSSL_cleanse(input.data(), input.size());
    CG_TRY_VOID(checked(st, "C_Sign", rv));
    if (len > sig.size()) return Error(Code::p11_function_failed, "C_Sign: reported length exceeds the buffer");
    sig.resize(len);
    if (plan.scheme == SigScheme::ecdsa) return ecdsa_raw_to_der(sig);
    std::size_t k = (key.bits + 7) / 8;
    if (key.bits != 0 && sig.size() < k) sig.insert(sig.begin(), k - sig.size(), 0);  // some tokens strip leading zeros
    return sig;
}

}  // namespace

// --- Session ---

namespace {
Result<Session> open_session(std::shared_ptr<Module> module, CK_SLOT_ID slot, CK_FLAGS flags,
                             const std::function<Session(std::shared_ptr<Session::State>)>& make);
}

Result<Session> Session::open(std::shared_ptr<Module> module, CK_SLOT_ID slot) {
    return open_session(std::move(module), slot, CKF_SERIAL_SESSION,
                        [](std::shared_ptr<State> st) { return Session(std::move(st)); });
}

Result<Session> Session::open_rw(std::shared_ptr<Module> module, CK_SLOT_ID slot) {
    return open_session(std::move(module), slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                        [](std::shared_ptr<State> st) { return Session(std::move(st)); });
}

namespace {
Result<Session> open_session(std::shared_ptr<Module> module, CK_SLOT_ID slot, CK_FLAGS flags,
                             const std::function<Session(std::shared_ptr<Session::State>)>& make) {
    if (!module) return Error(Code::internal, "Session::open without a module");
    auto st = std::make_shared<Session::State>();
    st->mod = module;
    st->slot = slot;
    auto opened = module->run([st, flags]() -> Result<CK_SESSION_HANDLE> {
        CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
        CG_TRY_VOID(CG_P11_CALL(st->fl(), C_OpenSession, st->slot, flags, nullptr, nullptr, &h));
        return h;
    });
    // On timeout the session, if it ever opens, is leaked: the module is poisoned anyway.
    if (!opened.ok()) return std::move(opened).error();
    st->handle = *opened;
    return make(std::move(st));
}
}  // namespace

CK_SLOT_ID Session::slot() const noexcept { return st_->slot; }
const std::shared_ptr<Module>& Session::module() const noexcept { return st_->mod; }

Result<TokenInfo> Session::token_info() {
    return st_->mod->run([st = st_]() { return detail::read_token_info(st->fl(), st->slot); });
}

Result<std::vector<ObjectInfo>> Session::objects(std::optional<ObjectClass> cls) {
    return st_->mod->run([st = st_, cls]() -> Result<std::vector<ObjectInfo>> {
        std::lock_guard<std::mutex> lock(st->mod->mutex());
        return list_objects(*st, cls);
    });
}

Result<std::vector<MechanismInfo>> Session::mechanisms() {
    return st_->mod->run([st = st_]() { return list_mechanisms(*st); });
}

Status Session::login(const SecretBuffer* pin) {
    // The worker owns its copy of the PIN: after a timeout the caller's buffer
    // may be gone while the call is still running.
    std::shared_ptr<const SecretBuffer> own_pin;
    if (pin != nullptr) own_pin = std::make_shared<const SecretBuffer>(pin->data(), pin->size());
    return st_->mod->run([st = st_, own_pin]() -> Status {
        std::lock_guard<std::mutex> lock(st->mod->mutex());
        auto before = CG_TRY(detail::read_token_info(st->fl(), st->slot));
        const std::string who = "token '" + before.label + "'";
        if (!before.login_required()) return {};
        // Protect the counter (pkcs11-provider src/session.c): never spend a try
        // the card would refuse anyway.
        if (before.pin_locked())
            return Error(Code::p11_pin_locked, who + " reports CKF_USER_PIN_LOCKED; the card was not asked");
        if (own_pin == nullptr && !before.protected_auth_path())
            return Error(Code::p11_pin_required, who + " has no PIN pad and no PIN was given");
        if (own_pin != nullptr && (own_pin->empty() || own_pin->size() < before.min_pin ||
                                   (before.max_pin != 0 && own_pin->size() > before.max_pin)))
            return Error(Code::p11_pin_invalid, "PIN length outside " + std::to_string(before.min_pin) + ".." +
                                                    std::to_string(before.max_pin) + "; the card was not asked");
        // NULL PIN on the protected authentication path: the reader's PIN pad asks.
        auto* data = own_pin ? const_cast<CK_UTF8CHAR*>(own_pin->data()) : nullptr;
        CK_ULONG len = own_pin ? own_pin->size() : 0;
        CK_RV rv = CG_P11_INVOKE(st->fl(), C_Login, st->handle, CKU_USER, data, len);
        if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) return {};
        if (rv != CKR_PIN_INCORRECT) return checked(*st, "C_Login", rv);
        // Tell the person where the counter stands now; never retry.
        auto after = detail::read_token_info(st->fl(), st->slot);
        if (after.ok() && after->pin_locked())
            return Error(Code::p11_pin_locked, "incorrect PIN; the PIN is now locked");
        std::string detail = "incorrect PIN";
        if (after.ok() && after->pin_final_try()) detail += "; last try before the PIN locks";
        else if (after.ok() && after->pin_count_low()) detail += "; PIN count low";
        return Error(Code::p11_pin_incorrect, std::move(detail));
    });
}

namespace {
// The length limits of the token, checked before the card sees a PIN.
Status pin_fits(const TokenInfo& t, const SecretBuffer& pin, std::string_view what) {
    if (pin.empty() || pin.size() < t.min_pin || (t.max_pin != 0 && pin.size() > t.max_pin))
        return Error(Code::p11_pin_invalid, std::string(what) + " length outside " + std::to_string(t.min_pin) + ".." +
                                                std::to_string(t.max_pin) + "; the card was not asked");
    return {};
}

Error rejected(const Session::State& st, std::string_view what) {
    auto after = detail::read_token_info(st.fl(), st.slot);
    if (after.ok() && after->pin_locked()) return Error(Code::p11_pin_locked, std::string(what) + " incorrect; the PIN is now locked");
    std::string detail = std::string(what) + " incorrect";
    if (after.ok() && after->pin_final_try()) detail += "; last try before the PIN locks";
    else if (after.ok() && after->pin_count_low()) detail += "; PIN count low";
    return Error(Code::p11_pin_incorrect, std::move(detail));
}
}  // namespace

Status Session::change_pin(const SecretBuffer& old_pin, const SecretBuffer& new_pin) {
    auto o = std::make_shared<const SecretBuffer>(old_pin.data(), old_pin.size());
    auto n = std::make_shared<const SecretBuffer>(new_pin.data(), new_pin.size());
    return st_->mod->run([st = st_, o, n]() -> Status {
        std::lock_guard<std::mutex> lock(st->mod->mutex());
        auto before = CG_TRY(detail::read_token_info(st->fl(), st->slot));
        if (before.pin_locked())
            return Error(Code::p11_pin_locked, "token '" + before.label + "' reports CKF_USER_PIN_LOCKED; the card was not asked");
        CG_TRY_VOID(pin_fits(before, *o, "current PIN"));
        CG_TRY_VOID(pin_fits(before, *n, "new PIN"));
        CK_RV rv = CG_P11_INVOKE(st->fl(), C_SetPIN, st->handle, const_cast<CK_UTF8CHAR*>(o->data()), o->size(),
                                 const_cast<CK_UTF8CHAR*>(n->data()), n->size());
        if (rv == CKR_OK) return {};
        if (rv == CKR_PIN_INCORRECT) return rejected(*st, "current PIN");
        if (rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID)
            return Error(Code::p11_pin_invalid, "the card refused the new PIN (length or characters)");
        return checked(*st, "C_SetPIN", rv);
    });
}

Status Session::unblock_pin(const SecretBuffer& puk, const SecretBuffer& new_pin) {
    auto p = std::make_shared<const SecretBuffer>(puk.data(), puk.size());
    auto n = std::make_shared<const SecretBuffer>(new_pin.data(), new_pin.size());
    return st_->mod->run([st = st_, p, n]() -> Status {
        std::lock_guard<std::mutex> lock(st->mod->mutex());
        auto before = CG_TRY(detail::read_token_info(st->fl(), st->slot));
        if (before.flags & CKF_SO_PIN_LOCKED)
            return Error(Code::p11_pin_locked, "the PUK is locked too; the badge must be replaced or re-issued");
        if (p->empty()) return Error(Code::p11_pin_invalid, "empty PUK; the card was not asked");
        CG_TRY_VOID(pin_fits(before, *n, "new PIN"));
        CK_RV rv = CG_P11_INVOKE(st->fl(), C_Login, st->handle, CKU_SO, const_cast<CK_UTF8CHAR*>(p->data()), p->size());
        if (rv == CKR_PIN_INCORRECT) {
            auto after = detail::read_token_info(st->fl(), st->slot);
            if (after.ok() && (after->flags & CKF_SO_PIN_LOCKED))
                return Error(Code::p11_pin_locked, "PUK incorrect; the PUK is now locked");
            return Error(Code::p11_pin_incorrect, "PUK incorrect");
        }
        if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) return checked(*st, "C_Login(SO)", rv);
        rv = CG_P11_INVOKE(st->fl(), C_InitPIN, st->handle, const_cast<CK_UTF8CHAR*>(n->data()), n->size());
        (void)CG_P11_INVOKE(st->fl(), C_Logout, st->handle);
        if (rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID)
            return Error(Code::p11_pin_invalid, "the card refused the new PIN (length or characters)");
        return checked(*st, "C_InitPIN", rv);
    });
}

Status Session::logout() {
    return st_->mod->run([st = st_]() -> Status {
        std::lock_guard<std::mutex> lock(st->mod->mutex());
        CK_RV rv = CG_P11_INVOKE(st->fl(), C_Logout, st->handle);
        if (rv == CKR_USER_NOT_LOGGED_IN) return {};
        return checked(*st, "C_Logout", rv);
    });
}

Result<ObjectInfo> Session::find_private_key_for(const ObjectInfo& cert) {
    if (cert.id.empty()) return Error(Code::p11_no_object, "certificate '" + cert.label + "' has no CKA_ID");
    auto keys = CG_TRY(objects(ObjectClass::private_key));
    std::vector<ObjectInfo> hits;
    for (auto& k : keys)
        if (k.id == cert.id) hits.push_back(std::move(k));
    if (hits.empty()) return Error(Code::p11_no_object, "no private key with id " + cert.id_hex());
    if (hits.size() > 1)
        return Error(Code::p11_ambiguous, std::to_string(hits.size()) + " private keys with id " + cert.id_hex());
    return std::move(hits.front());
}

Result<Signature> Session::sign_digest(const ObjectInfo& key, Hash hash, std::span<const std::uint8_t> digest,
                                       std::optional<SigScheme> force) {
    if (key.cls != ObjectClass::private_key)
        return Error(Code::p11_no_object, "object '" + key.label + "' is not a private key");
    if (digest.size() != hash_size(hash))
        return Error(Code::internal, "digest of " + std::to_string(digest.size()) + " bytes for " +
                                         std::string(hash_name(hash)));
    // Copies, not references: after a timeout the caller's buffers may be gone.
    return st_->mod->run([st = st_, key, hash, force,
                          d = std::vector<std::uint8_t>(digest.begin(), digest.end())]() -> Result<Signature> {
        std::shared_ptr<const std::vector<MechanismInfo>> mechs;
        {
            std::lock_guard<std::mutex> lock(st->mechs_mu);
            if (!st->mechs) st->mechs = std::make_shared<const std::vector<MechanismInfo>>(CG_TRY(list_mechanisms(*st)));
            mechs = st->mechs;
        }
        auto plan = CG_TRY(choose_mechanism(key, *mechs, force));
        auto input = CG_TRY(sign_input(plan, key, hash, d));
        auto bytes = CG_TRY(card_sign(*st, key, plan, hash, std::move(input)));
        return Signature{plan.scheme, hash, plan.mechanism, mechanism_name(plan.mechanism), std::move(bytes)};
    });
}

Result<Signature> Session::sign(const ObjectInfo& key, std::span<const std::uint8_t> data, std::optional<Hash> hash,
                                std::optional<SigScheme> force) {
    Hash h = hash.value_or(default_hash(key));
    const EVP_MD* md = h == Hash::sha256 ? EVP_sha256() : h == Hash::sha384 ? EVP_sha384() : EVP_sha512();
    std::vector<std::uint8_t> digest(hash_size(h));
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &len, md, nullptr) != 1 || len != digest.size())
        return Error(Code::crypto, "EVP_Digest: " + ossl::last_error());
    return sign_digest(key, h, digest, force);
}

Result<PublicKeyParts> Session::public_key(const ObjectInfo& key) {
    return st_->mod->run([st = st_, key]() -> Result<PublicKeyParts> {
        PublicKeyParts out;
        out.key_type = key.key_type;
        if (key.key_type == CKK_RSA) {
            auto n = CG_TRY(get_attribute(*st, key.handle, CKA_MODULUS));
            auto e = CG_TRY(get_attribute(*st, key.handle, CKA_PUBLIC_EXPONENT));
            if (!n || !e || n->empty() || e->empty())
                return Error(Code::p11_no_object, "RSA key '" + key.label + "' reveals no modulus or exponent");
            out.modulus = std::move(*n);
            out.exponent = std::move(*e);
            return out;
        }
        if (key.key_type != CKK_EC) return Error(Code::p11_mechanism, "key '" + key.label + "' is neither RSA nor EC");
        std::lock_guard<std::mutex> lock(st->mod->mutex());
        auto handles = CG_TRY(find_handles(*st, ObjectClass::public_key));
        for (auto h : handles) {
            auto id = CG_TRY(get_attribute(*st, h, CKA_ID));
            if (!id || key.id.empty() || *id != key.id) continue;
            auto params = CG_TRY(get_attribute(*st, h, CKA_EC_PARAMS));
            auto point = CG_TRY(get_attribute(*st, h, CKA_EC_POINT));
            if (!params || !point) continue;
            out.ec_params = std::move(*params);
            out.ec_point = std::move(*point);
            return out;
        }
        return Error(Code::p11_no_object, "no EC public key object with id " + key.id_hex());
    });
}

Hash default_hash(const ObjectInfo& key) noexcept {
    if (key.key_type == CKK_EC && key.curve == "P-384") return Hash::sha384;
    if (key.key_type == CKK_EC && key.curve == "P-521") return Hash::sha512;
    return Hash::sha256;  // RSA, P-256; never SHA-1
}

// --- locating by URI ---

namespace {

Result<std::vector<TokenInfo>> matching_tokens(const std::shared_ptr<Module>& module, const Uri& uri) {
    if (!uri.matches(module->info()))
        return Error(Code::p11_no_token, "module " + module->info().path + " does not match " + uri.to_string());
    auto slots = CG_TRY(module->slots(true));
    std::vector<TokenInfo> out;
    for (auto& s : slots)
        if (s.token && s.token->initialized() && uri.matches(*s.token)) out.push_back(std::move(*s.token));
    if (out.empty()) return Error(Code::p11_no_token, "no token matches " + uri.to_string());
    return out;
}

// The URI as it applies to objects of class `want`: a key URI and a
// certificate URI name the same credential (same id, same label).
Result<Uri> for_class(const Uri& uri, ObjectClass want) {
    Uri u = uri;
    if (u.type && *u.type != ObjectClass::certificate && *u.type != ObjectClass::private_key &&
        *u.type != ObjectClass::public_key)
        return Error(Code::p11_no_object, "URI names objects of type " + std::string(class_name(*u.type)));
    u.type = want;
    return u;
}

// p11_no_object / p11_ambiguous (listing the candidates) unless exactly one.
Status exactly_one(const std::vector<ObjectInfo>& hits, const Uri& uri, std::string_view what) {
    if (hits.empty()) return Error(Code::p11_no_object, "no " + std::string(what) + " matches " + uri.to_string());
    if (hits.size() > 1) {
        std::string list;
        for (const auto& o : hits) list += (list.empty() ? "" : ", ") + o.uri;
        return Error(Code::p11_ambiguous, std::to_string(hits.size()) + " " + std::string(what) + "s match " +
                                              uri.to_string() + ": " + list);
    }
    return {};
}

}  // namespace

Result<Located> locate_certificate(const std::shared_ptr<Module>& module, const Uri& uri) {
    auto u = CG_TRY(for_class(uri, ObjectClass::certificate));
    auto tokens = CG_TRY(matching_tokens(module, u));
    std::vector<ObjectInfo> hits;
    std::optional<Located> winner;
    for (auto& t : tokens) {
        auto session = CG_TRY(Session::open(module, t.slot));
        auto certs = CG_TRY(session.objects(ObjectClass::certificate));
        bool here = false;
        for (auto& c : certs) {
            if (!u.matches(c)) continue;
            hits.push_back(c);
            here = true;
        }
        if (here && !winner) winner.emplace(Located{std::move(session), t, hits.back()});
    }
    CG_TRY_VOID(exactly_one(hits, uri, "certificate"));
    return std::move(*winner);
}

Result<Located> locate_private_key(const std::shared_ptr<Module>& module, const Uri& uri, const SecretBuffer* pin) {
    auto u = CG_TRY(for_class(uri, ObjectClass::private_key));
    auto tokens = CG_TRY(matching_tokens(module, u));
    // Logging in to several cards with one PIN would spend tries on the wrong ones.
    if (tokens.size() > 1) {
        std::string list;
        for (const auto& t : tokens) list += (list.empty() ? "" : ", ") + t.uri();
        return Error(Code::p11_ambiguous, std::to_string(tokens.size()) + " tokens match " + uri.to_string() +
                                              "; name one before a PIN is used: " + list);
    }
    auto& t = tokens.front();
    auto session = CG_TRY(Session::open(module, t.slot));
    const SecretBuffer* use = pin != nullptr ? pin : uri.pin_value.get();
    CG_TRY_VOID(session.login(use));
    auto keys = CG_TRY(session.objects(ObjectClass::private_key));
    std::vector<ObjectInfo> hits;
    for (auto& k : keys)
        if (u.matches(k)) hits.push_back(std::move(k));
    CG_TRY_VOID(exactly_one(hits, uri, "private key"));
    return Located{std::move(session), t, std::move(hits.front())};
}

}  // namespace cardgate::p11
