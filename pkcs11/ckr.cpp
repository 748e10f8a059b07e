#include "pkcs11/ckr.hpp"

#include <cstdio>
#include <iterator>

namespace cardgate::p11 {
namespace {

struct Named {
    unsigned long value;
    std::string_view name;
};

#define CG_CKR_ENTRY(n) {n, #n},
constexpr Named kReturnValues[] = {
#include "pkcs11/ckr_names.inc"
};
#undef CG_CKR_ENTRY

#define CG_CKM_ENTRY(n) {n, #n},
constexpr Named kMechanisms[] = {
#include "pkcs11/ckm_names.inc"
};
#undef CG_CKM_ENTRY

template <std::size_t N>
std::string_view lookup(const Named (&table)[N], unsigned long v) noexcept {
    for (const auto& e : table)
        if (e.value == v) return e.name;
    return {};
}

std::string hex_name(const char* prefix, unsigned long v) {
    char buf[48];
    if (v >= CKR_VENDOR_DEFINED)
        std::snprintf(buf, sizeof buf, "%sVENDOR_DEFINED+0x%lx", prefix, v - CKR_VENDOR_DEFINED);
    else
        std::snprintf(buf, sizeof buf, "%s0x%08lx", prefix, v);
    return buf;
}

}  // namespace

std::string ckr_name(CK_RV rv) {
    auto n = lookup(kReturnValues, rv);
    return n.empty() ? hex_name("CKR_", rv) : std::string(n);
}

Code code_for(CK_RV rv) noexcept {
    switch (rv) {
    case CKR_OK: return Code::ok;
    case CKR_PIN_INCORRECT: return Code::p11_pin_incorrect;
    case CKR_PIN_LOCKED: return Code::p11_pin_locked;
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_INVALID: return Code::p11_pin_invalid;
    case CKR_PIN_EXPIRED: return Code::p11_pin_expired;
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT: return Code::p11_device_removed;
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY: return Code::p11_device_error;
    case CKR_MECHANISM_INVALID: return Code::p11_mechanism;
    default: return Code::p11_function_failed;  // CK_RV is open-ended: a default is needed here
    }
}

Error ckr_error(std::string_view function, CK_RV rv) {
    std::string detail(function);
    detail += ": ";
    detail += ckr_name(rv);
    Code c = code_for(rv);
    return Error(c == Code::ok ? Code::internal : c, std::move(detail));
}

Status check(std::string_view function, CK_RV rv) {
    if (rv == CKR_OK) return {};
    return ckr_error(function, rv);
}

std::string_view mechanism_name(CK_MECHANISM_TYPE m) noexcept { return lookup(kMechanisms, m); }

std::string mechanism_label(CK_MECHANISM_TYPE m) {
    auto n = mechanism_name(m);
    return n.empty() ? hex_name("CKM_", m) : std::string(n);
}

}  // namespace cardgate::p11
