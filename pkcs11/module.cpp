#include "pkcs11/module.hpp"

#include <algorithm>
#include <dlfcn.h>

#include <map>

#include "pkcs11/ckr.hpp"

namespace cardgate::p11 {

namespace {
constexpr CK_ULONG kMaxSlots = 4096;
}  // namespace


namespace detail {

// One dlopen()ed, initialised library, shared by every Module of the same file.
struct Library {
    void* handle = nullptr;
    CK_FUNCTION_LIST* fl = nullptr;
    bool owns_init = false;  // false when someone else in the process initialised it
    ModuleInfo info;
    mutable std::mutex mu;   // enumeration and login

    mutable std::mutex poison_mu;
    std::optional<std::string> poisoned;

    ~Library();
};

namespace {
// dlopen handle -> library. Guarded by registry_mu, which is also held while a
// library is initialised or finalised, so the two never interleave (recursive:
// a library that fails to initialise is destroyed while load() holds it).
std::recursive_mutex registry_mu;
std::map<void*, std::weak_ptr<Library>>& registry() {
    static auto* r = new std::map<void*, std::weak_ptr<Library>>;  // never destroyed: used from exit paths
    return *r;
}
}  // namespace

Library::~Library() {
    std::lock_guard<std::recursive_mutex> lock(registry_mu);
    auto it = registry().find(handle);
    if (it != registry().end() && it->second.expired()) registry().erase(it);
    // Last owner gone, so no operation is running inside the module any more
    // (an abandoned worker holds a reference until its call returns).
    if (owns_init && fl != nullptr) (void)CG_P11_INVOKE(fl, C_Finalize, nullptr);
    if (handle != nullptr) dlclose(handle);
}

Result<TokenInfo> read_token_info(CK_FUNCTION_LIST* fl, CK_SLOT_ID slot, const CK_SLOT_INFO* slot_info) {
    CK_SLOT_INFO si{};
    if (slot_info != nullptr) si = *slot_info;
    else CG_TRY_VOID(CG_P11_CALL(fl, C_GetSlotInfo, slot, &si));
    CK_TOKEN_INFO ti{};
    CG_TRY_VOID(CG_P11_CALL(fl, C_GetTokenInfo, slot, &ti));
    TokenInfo t;
    t.slot = slot;
    t.slot_description = padded_field(si.slotDescription, sizeof si.slotDescription);
    t.slot_manufacturer = padded_field(si.manufacturerID, sizeof si.manufacturerID);
    t.label = padded_field(ti.label, sizeof ti.label);
    t.manufacturer = padded_field(ti.manufacturerID, sizeof ti.manufacturerID);
    t.model = padded_field(ti.model, sizeof ti.model);
    t.serial = padded_field(ti.serialNumber, sizeof ti.serialNumber);
    t.flags = ti.flags;
    t.min_pin = ti.ulMinPinLen;
    t.max_pin = ti.ulMaxPinLen;
    return t;
}

}  // namespace detail

namespace {

Result<std::shared_ptr<detail::Library>> open_library(const std::string& path, std::chrono::milliseconds timeout) {
    // RTLD_LOCAL: the module's symbols must not satisfy anyone else's (several
    // modules export the same C_* names).
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = dlerror();
        return Error(Code::p11_load, path + ": " + (why ? why : "dlopen failed"));
    }
    auto& reg = detail::registry();
    if (auto it = reg.find(handle); it != reg.end()) {
        if (auto lib = it->second.lock()) {
            dlclose(handle);  // drop the extra reference; the library keeps its own
            return lib;
        }
    }
    auto lib = std::make_shared<detail::Library>();
    lib->handle = handle;  // from here on ~Library dlcloses
    lib->info.path = path;
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle, "C_GetFunctionList"));
    if (get_list == nullptr) return Error(Code::p11_load, path + ": no C_GetFunctionList");
    if (CK_RV rv = invoke("C_GetFunctionList", get_list, &lib->fl); rv != CKR_OK)
        return Error(Code::p11_load, path + ": C_GetFunctionList: " + ckr_name(rv));
    if (lib->fl == nullptr) return Error(Code::p11_load, path + ": C_GetFunctionList returned no list");

    CK_FUNCTION_LIST* fl = lib->fl;
    // C_Initialize may wait on a reader daemon, so it is bounded too. The
    // worker owns its arguments; on timeout the library is leaked, not unloaded.
    auto init = with_timeout(timeout, [fl, hold = lib]() -> Result<CK_RV> {
        CK_C_INITIALIZE_ARGS args{};
        args.flags = CKF_OS_LOCKING_OK;
        return CG_P11_INVOKE(fl, C_Initialize, &args);
    }, [&lib](const std::string&) { lib->handle = nullptr; lib->fl = nullptr; });
    if (!init.ok()) return std::move(init).error();
    if (*init == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        lib->owns_init = false;  // someone else in this process did; they finalise
    } else if (*init != CKR_OK) {
        Error e = ckr_error("C_Initialize", *init);
        return Error(Code::p11_init, path + ": " + e.detail());
    } else {
        lib->owns_init = true;
    }
    CK_INFO info{};
    CG_TRY_VOID(CG_P11_CALL(fl, C_GetInfo, &info));
    lib->info.manufacturer = padded_field(info.manufacturerID, sizeof info.manufacturerID);
    lib->info.description = padded_field(info.libraryDescription, sizeof info.libraryDescription);
    lib->info.cryptoki_major = info.cryptokiVersion.major;
    lib->info.cryptoki_minor = info.cryptokiVersion.minor;
    lib->info.library_major = info.libraryVersion.major;
    lib->info.library_minor = info.libraryVersion.minor;
    reg[handle] = lib;
    return lib;
}

}  // namespace

Result<std::shared_ptr<Module>> Module::load(const std::string& path, std::chrono::milliseconds timeout) {
    std::lock_guard<std::recursive_mutex> lock(detail::registry_mu);
    auto lib = CG_TRY(open_library(path, timeout));
    return std::shared_ptr<Module>(new Module(std::move(lib), timeout));
}

Module::Module(std::shared_ptr<detail::Library> lib, std::chrono::milliseconds timeout)
    : lib_(std::move(lib)), timeout_(timeout) {}

Module::~Module() = default;

const ModuleInfo& Module::info() const noexcept { return lib_->info; }
CK_FUNCTION_LIST* Module::functions() const noexcept { return lib_->fl; }
std::mutex& Module::mutex() const noexcept { return lib_->mu; }

bool Module::poisoned() const { return poison_reason().has_value(); }

std::optional<std::string> Module::poison_reason() const {
    std::lock_guard<std::mutex> lock(lib_->poison_mu);
    return lib_->poisoned;
}

void Module::poison(const std::string& why) {
    std::lock_guard<std::mutex> lock(lib_->poison_mu);
    if (!lib_->poisoned) lib_->poisoned = why;
}

Result<std::vector<SlotInfo>> Module::slots(bool token_present_only) {
    return run([self = shared_from_this(), token_present_only]() -> Result<std::vector<SlotInfo>> {
        CK_FUNCTION_LIST* fl = self->functions();
        std::lock_guard<std::mutex> lock(self->mutex());
        std::vector<CK_SLOT_ID> ids;
        CK_BBOOL present = token_present_only ? CK_TRUE : CK_FALSE;
        for (int attempt = 0;; ++attempt) {  // the list may grow between the two calls (hotplug)
            CK_ULONG n = 0;
            CG_TRY_VOID(CG_P11_CALL(fl, C_GetSlotList, present, nullptr, &n));
            // A hostile or broken module must not make us allocate without bound.
            if (n > kMaxSlots) return Error(Code::p11_device_error, "C_GetSlotList: " + std::to_string(n) + " slots");
            ids.resize(n);
            CK_RV rv = CG_P11_INVOKE(fl, C_GetSlotList, present, ids.data(), &n);
            if (rv == CKR_BUFFER_TOO_SMALL && attempt < 3) continue;
            CG_TRY_VOID(check("C_GetSlotList", rv));
            ids.resize(std::min<CK_ULONG>(n, ids.size()));  // never grow: no phantom slot 0 entries
            break;
        }
        std::vector<SlotInfo> out;
        for (CK_SLOT_ID id : ids) {
            CK_SLOT_INFO si{};
            CG_TRY_VOID(CG_P11_CALL(fl, C_GetSlotInfo, id, &si));
            SlotInfo s;
            s.id = id;
            s.description = padded_field(si.slotDescription, sizeof si.slotDescription);
            s.manufacturer = padded_field(si.manufacturerID, sizeof si.manufacturerID);
            s.flags = si.flags;
            s.token_present = si.flags & CKF_TOKEN_PRESENT;
            if (s.token_present) {
                auto t = detail::read_token_info(fl, id, &si);  // the slot was just read
                if (t.ok())
                    s.token = std::move(*t);
                else if (t.code() != Code::p11_device_removed)  // pulled between the two calls: just absent
                    return std::move(t).error();
                s.token_present = s.token.has_value();
            }
            if (token_present_only && !s.token_present) continue;
            out.push_back(std::move(s));
        }
        return out;
    });
}

}  // namespace cardgate::p11
