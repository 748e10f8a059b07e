#include "pkcs11/info.hpp"

#include "pkcs11/uri.hpp"

namespace cardgate::p11 {

std::string_view class_name(ObjectClass c) noexcept {
    switch (c) {
    case ObjectClass::certificate: return "cert";
    case ObjectClass::private_key: return "private";
    case ObjectClass::public_key: return "public";
    case ObjectClass::secret_key: return "secret-key";
    case ObjectClass::data: return "data";
    case ObjectClass::other: return "other";
    }
    return "other";
}

ObjectClass class_from_ck(CK_OBJECT_CLASS c) noexcept {
    switch (c) {
    case CKO_CERTIFICATE: return ObjectClass::certificate;
    case CKO_PRIVATE_KEY: return ObjectClass::private_key;
    case CKO_PUBLIC_KEY: return ObjectClass::public_key;
    case CKO_SECRET_KEY: return ObjectClass::secret_key;
    case CKO_DATA: return ObjectClass::data;
    default: return ObjectClass::other;  // CK_OBJECT_CLASS is open-ended
    }
}

std::optional<CK_OBJECT_CLASS> class_to_ck(ObjectClass c) noexcept {
    switch (c) {
    case ObjectClass::certificate: return CKO_CERTIFICATE;
    case ObjectClass::private_key: return CKO_PRIVATE_KEY;
    case ObjectClass::public_key: return CKO_PUBLIC_KEY;
    case ObjectClass::secret_key: return CKO_SECRET_KEY;
    case ObjectClass::data: return CKO_DATA;
    case ObjectClass::other: return std::nullopt;
    }
    return std::nullopt;
}

std::string ModuleInfo::library_version() const {
    return std::to_string(library_major) + "." + std::to_string(library_minor);
}

std::string TokenInfo::pin_state() const {
    if (pin_locked()) return "PIN locked";
    if (pin_final_try()) return "last try before the PIN locks";
    if (pin_count_low()) return "PIN count low";
    if (pin_to_be_changed()) return "PIN must be changed";
    return {};
}

std::string TokenInfo::uri() const {
    Uri u;
    u.token = label;
    u.manufacturer = manufacturer;
    u.model = model;
    u.serial = serial;
    return u.to_string();
}

std::string ObjectInfo::id_hex() const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (auto b : id) {
        s.push_back(kHex[b >> 4]);
        s.push_back(kHex[b & 15]);
    }
    return s;
}

std::string padded_field(const unsigned char* p, std::size_t n) {
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\0')) --n;
    return std::string(reinterpret_cast<const char*>(p), n);
}

}  // namespace cardgate::p11
