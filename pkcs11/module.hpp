// A loaded PKCS#11 module: dlopen + C_GetFunctionList + C_Initialize, undone
// (C_Finalize + dlclose) when the last owner lets go. Modules are held by
// std::shared_ptr; every Session and every in-flight card operation holds one,
// so the function list cannot be unloaded under them.
//
// Loading the same file twice in one process yields two Modules sharing one
// initialised library (PKCS#11 allows one C_Initialize per process; the second
// would get CKR_CRYPTOKI_ALREADY_INITIALIZED and the first owner's C_Finalize
// would pull the library from under the second).
//
// Thread safety: enumeration (slots, objects) and login are serialised by one
// mutex per library (libp11's session-pool hang, #525, came from concurrent
// enumeration). A Session is used by one thread at a time.
#pragma once

#include <p11-kit/pkcs11.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pkcs11/info.hpp"
#include "pkcs11/timeout.hpp"
#include "src/result.hpp"

namespace cardgate::p11 {

namespace detail {
struct Library;
}

class Module : public std::enable_shared_from_this<Module> {
public:
    // Loads and initialises (CKF_OS_LOCKING_OK) the module at `path`. Every card
    // operation of this Module and its Sessions is bounded by `timeout`.
    // p11_load: cannot dlopen / no C_GetFunctionList; p11_init: C_Initialize failed;
    // p11_timeout: C_Initialize did not answer.
    static Result<std::shared_ptr<Module>> load(const std::string& path, std::chrono::milliseconds timeout);

    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;
    ~Module();

    const ModuleInfo& info() const noexcept;
    std::chrono::milliseconds timeout() const noexcept { return timeout_; }

    // Slots (only those with a token when token_present_only), each with its
    // token's information when one is present.
    Result<std::vector<SlotInfo>> slots(bool token_present_only);

    // Set once a card operation timed out: the abandoned call may hold the
    // module's locks, so every later operation fails fast with p11_timeout.
    bool poisoned() const;

    // --- for the token layer (token.cpp) ---
    CK_FUNCTION_LIST* functions() const noexcept;
    std::mutex& mutex() const noexcept;  // guards enumeration and login
    // Runs a card operation under this module's timeout (see timeout.hpp);
    // fails fast when poisoned, poisons on timeout.
    template <class F>
    auto run(F&& f) -> decltype(f()) {
        if (auto why = poison_reason()) return Error(Code::p11_timeout, "module unusable since " + *why);
        return worker_->run(timeout_, std::forward<F>(f), [this](const std::string& why) { poison(why); });
    }

private:
    Module(std::shared_ptr<detail::Library> lib, std::chrono::milliseconds timeout);
    std::optional<std::string> poison_reason() const;
    void poison(const std::string& why);

    const std::shared_ptr<detail::Library> lib_;
    const std::chrono::milliseconds timeout_;
    // Declared last: destroyed (stopped and joined) first, before the library.
    const std::unique_ptr<Worker> worker_ = std::make_unique<Worker>();
};

namespace detail {
// C_GetSlotInfo + C_GetTokenInfo of one slot (caller holds the module mutex
// where needed, and runs this inside Module::run).
// `slot_info`, when given, is the slot's C_GetSlotInfo answer the caller
// already has (it is not asked again).
Result<TokenInfo> read_token_info(CK_FUNCTION_LIST* fl, CK_SLOT_ID slot, const CK_SLOT_INFO* slot_info = nullptr);
}  // namespace detail

}  // namespace cardgate::p11
