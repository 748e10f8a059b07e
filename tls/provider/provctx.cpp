// Provider state: config lookup, the PKCS#11 module, the native library
// context and error reporting (provctx.hpp).
#include "tls/provider/provctx.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdarg>
#include <cstdlib>

#include "src/config.hpp"
#include "src/files.hpp"

namespace cardgate::tls::prov {

namespace {

thread_local std::optional<std::string> t_override;

// Set by an exit handler registered right after a PKCS#11 module is first
// loaded, so it runs before that module's own static destructors (handlers
// run in reverse order): OpenSSL tears providers down from its own exit
// handler, when a C_Finalize into a half-destroyed module (SoftHSM) crashes.
std::atomic<bool> g_exiting{false};
std::once_flag g_exit_handler;
void note_exit() { g_exiting = true; }

// Leaks an object on purpose: used in a forked child for what the parent
// owns (destroying a Module there would join a worker thread that exists only
// in the parent).
template <class T>
void abandon(T&& x) {
    new std::decay_t<T>(std::forward<T>(x));  // NOLINT: intentional leak
}

}  // namespace

void override_config(std::optional<std::string> path) { t_override = std::move(path); }

bool process_exiting() noexcept { return g_exiting.load(); }

ProvCtx::ProvCtx(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in) : handle_(handle), pid_(getpid()) {
    for (; in != nullptr && in->function_id != 0; ++in) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_GET_PARAMS: get_params_ = OSSL_FUNC_core_get_params(in); break;
        case OSSL_FUNC_CORE_NEW_ERROR: new_error_ = OSSL_FUNC_core_new_error(in); break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG: set_error_debug_ = OSSL_FUNC_core_set_error_debug(in); break;
        case OSSL_FUNC_CORE_VSET_ERROR: vset_error_ = OSSL_FUNC_core_vset_error(in); break;
        default: break;
        }
    }
    // A context of our own with only "default": no config file is read
    // (OSSL_LIB_CTX_new does not), so the cardgate provider is never in it.
    native_ = OSSL_LIB_CTX_new();
    if (native_ != nullptr) native_default_ = OSSL_PROVIDER_load(native_, "default");
    if (native_ != nullptr && native_default_ == nullptr) {
        OSSL_LIB_CTX_free(native_);
        native_ = nullptr;
    }
    if (native_ != nullptr)
        for (Hash h : {Hash::sha256, Hash::sha384, Hash::sha512})
            mds_[static_cast<int>(h)] = EVP_MD_fetch(native_, std::string(hash_name(h)).c_str(), nullptr);
}

ProvCtx::~ProvCtx() {
    if (getpid() != pid_ || process_exiting()) {
        abandon(std::move(module_));
        return;
    }
    module_.reset();
    for (EVP_MD* md : mds_) EVP_MD_free(md);
    // The reference OSSL_PROVIDER_load took must be given back, or the
    // provider outlives the context (OSSL_LIB_CTX_free does not drop it).
    if (native_default_ != nullptr) OSSL_PROVIDER_unload(native_default_);
    OSSL_LIB_CTX_free(native_);
}

void ProvCtx::resolve_config() {
    if (t_override && !t_override->empty()) {
        config_path_ = *t_override;
        return;
    }
    if (get_params_ != nullptr) {
        const char* from_cnf = nullptr;  // borrowed from the core
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_ptr("config", const_cast<char**>(&from_cnf), 0),
                               OSSL_PARAM_construct_end()};
        if (get_params_(handle_, params) == 1 && from_cnf != nullptr && *from_cnf != '\0') {
            config_path_ = from_cnf;
            return;
        }
    }
    // secure_getenv: in a set-uid or set-gid program (AT_SECURE) the caller's
    // environment is not the program's to trust; the caller could otherwise
    // name a config whose token.module is their own code, loaded with the
    // program's privileges. There the openssl.cnf parameter or the default
    // path decide.
    const char* env = secure_getenv("CARDGATE_CONF");
    config_path_ = env != nullptr && *env != '\0' ? env : default_config_path;
}

Result<std::shared_ptr<p11::Module>> ProvCtx::module() {
    std::lock_guard<std::mutex> lock(mu_);
    if (getpid() != pid_) {
        abandon(std::move(module_));
        module_ = nullptr;
        pid_ = getpid();
    }
    if (module_) return module_;
    // No derived index: the provider only needs [token], and must not write
    // into the cache directory of whatever application loaded it.
    auto cfg = Config::load(config_path_, std::nullopt);
    if (!cfg.ok()) return std::move(cfg).error();
    // The module is code run inside whatever application loaded the provider:
    // the same trusted-file check as the login path (src/login.cpp
    // open_module): owned by root or the effective user, nobody else can
    // write it or a directory above it.
    if (auto trusted = check_trusted_file(cfg->token.module); !trusted.ok())
        return Error(trusted.code(), "token.module: " + trusted.error().detail());
    auto m = p11::Module::load(cfg->token.module, cfg->token.timeout);
    if (!m.ok()) return std::move(m).error();
    module_ = *m;
    std::call_once(g_exit_handler, [] { (void)std::atexit(note_exit); });
    return module_;
}

namespace {
void vset(OSSL_FUNC_core_vset_error_fn* fn, const OSSL_CORE_HANDLE* h, int reason, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fn(h, reason, fmt, ap);
    va_end(ap);
}
}  // namespace

void ProvCtx::raise(const Error& e) const {
    const int reason = kReasonBase + static_cast<int>(e.code());
    const std::string text = "cardgate: " + e.message();
    if (new_error_ != nullptr && vset_error_ != nullptr) {
        new_error_(handle_);
        if (set_error_debug_ != nullptr) set_error_debug_(handle_, __FILE__, __LINE__, "cardgate");
        vset(vset_error_, handle_, reason, "%s", text.c_str());
        return;
    }
    ERR_raise_data(ERR_LIB_PROV, reason, "%s", text.c_str());
}

const OSSL_ITEM* reason_strings() {
    static const auto table = [] {
        constexpr int n = static_cast<int>(Code::io) + 1;
        std::array<OSSL_ITEM, n + 1> t{};
        for (int i = 1; i < n; ++i)
            t[static_cast<std::size_t>(i - 1)] = OSSL_ITEM{static_cast<unsigned int>(kReasonBase + i),
                                                           const_cast<char*>(name(static_cast<Code>(i)).data())};
        return t;
    }();
    return table.data();
}

}  // namespace cardgate::tls::prov
