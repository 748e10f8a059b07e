// PKCS#11 return values and mechanisms: their names, their place in the error
// catalogue, and the one checked wrapper every PKCS#11 call goes through.
//
// invoke() is the only place in cardgate that calls a PKCS#11 function pointer
// (it also records which function a worker thread is in, so a timeout can name
// the call that hung, see timeout.hpp); check() is the only place a CK_RV becomes
// a Code. CG_P11_CALL combines the two:
//
//     CG_TRY_VOID(CG_P11_CALL(fl, C_SignInit, h, &mech, key));
//
// (lesson from pkcs11-provider src/interface.pre: one choke point that checks
// the return value, maps it and can log the call).
#pragma once

#include <p11-kit/pkcs11.h>

#include <string>
#include <string_view>

#include "src/result.hpp"
#include "pkcs11/timeout.hpp"

namespace cardgate::p11 {

// "CKR_PIN_INCORRECT"; unknown values as "CKR_0x000000a5" / "CKR_VENDOR_DEFINED+0x1".
std::string ckr_name(CK_RV rv);

// The catalogue code for a return value:
//   CKR_PIN_INCORRECT → p11_pin_incorrect, CKR_PIN_LOCKED → p11_pin_locked,
//   CKR_PIN_LEN_RANGE / CKR_PIN_INVALID → p11_pin_invalid, CKR_PIN_EXPIRED → p11_pin_expired,
//   CKR_DEVICE_REMOVED / CKR_TOKEN_NOT_PRESENT → p11_device_removed,
//   CKR_DEVICE_ERROR / CKR_DEVICE_MEMORY → p11_device_error,
//   CKR_MECHANISM_INVALID → p11_mechanism, anything else → p11_function_failed.
// (CKR_SESSION_HANDLE_INVALID means removal only when the token is gone; the
// session layer decides that, see token.cpp.) CKR_OK maps to Code::ok.
Code code_for(CK_RV rv) noexcept;

// Error(code_for(rv), "C_Sign: CKR_GENERAL_ERROR"). rv must not be CKR_OK.
Error ckr_error(std::string_view function, CK_RV rv);

// CKR_OK → success, else ckr_error(function, rv).
Status check(std::string_view function, CK_RV rv);

// "CKM_RSA_PKCS_PSS"; empty for a value not in the table. Static storage.
std::string_view mechanism_name(CK_MECHANISM_TYPE m) noexcept;
// mechanism_name(), or "CKM_0x80000001" for values not in the table.
std::string mechanism_label(CK_MECHANISM_TYPE m);

// Calls a PKCS#11 function pointer. A module that leaves an entry of its
// function list NULL gets CKR_FUNCTION_NOT_SUPPORTED instead of a crash.
template <typename Fn, typename... Args>
CK_RV invoke(const char* function, Fn fn, Args... args) noexcept {
    detail::note_call(function);
    if (fn == nullptr) return CKR_FUNCTION_NOT_SUPPORTED;
    return fn(args...);
}

template <typename Fn, typename... Args>
[[nodiscard]] Status call(const char* function, Fn fn, Args... args) {
    return check(function, invoke(function, fn, args...));
}

}  // namespace cardgate::p11

// CG_P11_CALL(function_list, C_Name, args...) -> Status
#define CG_P11_CALL(fl, fn, ...) ::cardgate::p11::call(#fn, (fl)->fn, __VA_ARGS__)
// CG_P11_INVOKE(function_list, C_Name, args...) -> CK_RV, for the few callers that
// treat a non-OK value as an answer (CKR_USER_ALREADY_LOGGED_IN, CKR_BUFFER_TOO_SMALL);
// they hand anything else to check().
#define CG_P11_INVOKE(fl, fn, ...) ::cardgate::p11::invoke(#fn, (fl)->fn, __VA_ARGS__)
