// LibContext (provider.hpp): a private OSSL_LIB_CTX with "default" and the
// built-in "cardgate", keys and certificates loaded through OSSL_STORE, the
// PIN asked through a UI method that calls ProviderOptions::ask_pin.
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/ui.h>

#include <cstring>
#include <mutex>

#include "src/config.hpp"
#include "tls/provider/provctx.hpp"
#include "tls/provider/provider.hpp"

namespace cardgate::tls {

struct LibContext::State {
    OSSL_LIB_CTX* ctx = nullptr;
    OSSL_PROVIDER* deflt = nullptr;
    OSSL_PROVIDER* card = nullptr;
    UI_METHOD* ui = nullptr;
    ProviderOptions options;

    State() = default;
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State() {
        if (card != nullptr) OSSL_PROVIDER_unload(card);
        if (deflt != nullptr) OSSL_PROVIDER_unload(deflt);
        OSSL_LIB_CTX_free(ctx);
        if (ui != nullptr) UI_destroy_method(ui);
    }
};

namespace {

// What happened at the PIN prompt during one load (the UI method's user data).
struct PinPrompt {
    const ProviderOptions* options;
    bool no_callback = false;
    std::optional<Error> error;
};

int ui_read(UI* ui, UI_STRING* uis) {
    if (UI_get_string_type(uis) != UIT_PROMPT && UI_get_string_type(uis) != UIT_VERIFY) return 1;
    auto* prompt = static_cast<PinPrompt*>(UI_get0_user_data(ui));
    if (prompt == nullptr || !prompt->options->ask_pin) {
        if (prompt != nullptr) prompt->no_callback = true;
        return -1;
    }
    const char* text = UI_get0_output_string(uis);
    auto answer = prompt->options->ask_pin(text != nullptr ? text : "PIN");
    if (!answer.ok()) {
        prompt->error = answer.error();
        return -1;
    }
    if (!*answer) return -1;  // cancelled
    const auto& pin = **answer;
    // UI_set_result_ex copies into the UI's own buffer, which UI_free cleanses.
    if (UI_set_result_ex(ui, uis, reinterpret_cast<const char*>(pin.data()), static_cast<int>(pin.size())) < 0)
        return -1;
    return 1;
}

// The first cardgate error on the queue (the provider raised it, see
// ProvCtx::raise), else `fallback` with OpenSSL's own text. Clears the queue.
Error queue_error(Code fallback, const std::string& what) {
    std::optional<Error> ours;
    std::string others;
    const char* data = nullptr;
    int flags = 0;
    unsigned long e = 0;
    while ((e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
        const int reason = ERR_GET_REASON(e);
        const bool text = data != nullptr && (flags & ERR_TXT_STRING) != 0;
        if (!ours && text && std::strncmp(data, "cardgate: ", 10) == 0 && reason > prov::kReasonBase &&
            reason <= prov::kReasonBase + static_cast<int>(Code::io)) {
            const auto code = static_cast<Code>(reason - prov::kReasonBase);
            std::string detail = data + 10;
            const std::string prefix = std::string(describe(code)) + ": ";
            if (detail.rfind(prefix, 0) == 0) detail.erase(0, prefix.size());
            ours.emplace(code, detail);
            continue;
        }
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        others += (others.empty() ? "" : "; ") + std::string(buf);
        if (text && *data != '\0') others += std::string(" (") + data + ")";
    }
    if (ours) return *ours;
    return Error(fallback, what + (others.empty() ? "" : ": " + others));
}

std::mutex g_load_mu;  // override_config is handed over across OSSL_PROVIDER_load

}  // namespace

LibContext::LibContext(std::unique_ptr<State> st) : st_(std::move(st)) {}
LibContext::LibContext(LibContext&&) noexcept = default;
LibContext& LibContext::operator=(LibContext&&) noexcept = default;
LibContext::~LibContext() = default;

OSSL_LIB_CTX* LibContext::get() const noexcept { return st_->ctx; }

Result<LibContext> LibContext::create(ProviderOptions options) {
    auto st = std::make_unique<State>();
    st->options = std::move(options);
    // A broken config is reported now rather than at the first badge use.
    if (!st->options.config_path.empty()) {
        auto cfg = Config::load(st->options.config_path, std::nullopt);
        if (!cfg.ok()) return std::move(cfg).error();
    }
    ERR_clear_error();
    st->ctx = OSSL_LIB_CTX_new();
    if (st->ctx == nullptr) return Error(Code::crypto, "OSSL_LIB_CTX_new: " + ossl::last_error());
    if (OSSL_PROVIDER_add_builtin(st->ctx, "cardgate", cardgate_provider_init) != 1)
        return queue_error(Code::crypto, "OSSL_PROVIDER_add_builtin(cardgate)");
    st->deflt = OSSL_PROVIDER_load(st->ctx, "default");
    if (st->deflt == nullptr) return queue_error(Code::crypto, "loading OpenSSL's default provider");
    {
        std::lock_guard<std::mutex> lock(g_load_mu);
        prov::override_config(st->options.config_path);
        st->card = OSSL_PROVIDER_load(st->ctx, "cardgate");
        prov::override_config(std::nullopt);
    }
    if (st->card == nullptr) return queue_error(Code::crypto, "loading the cardgate provider");
    // Ordinary work (ECDHE shares, hashing, verification) stays with
    // "default"; card keys reach cardgate's operations through their keymgmt.
    if (EVP_set_default_properties(st->ctx, "?provider!=cardgate") != 1)
        return queue_error(Code::crypto, "EVP_set_default_properties");
    st->ui = UI_create_method("cardgate PIN");
    if (st->ui == nullptr || UI_method_set_reader(st->ui, ui_read) != 0)
        return Error(Code::crypto, "UI_create_method: " + ossl::last_error());
    return LibContext(std::move(st));
}

namespace {

// The first object of type `expect` the URI yields.
Result<OSSL_STORE_INFO*> load_one(const LibContext::State& st, OSSL_LIB_CTX* ctx, UI_METHOD* ui,
                                  const std::string& uri, int expect, const char* what) {
    ERR_clear_error();
    PinPrompt prompt{&st.options, false, std::nullopt};
    OSSL_STORE_CTX* sc = OSSL_STORE_open_ex(uri.c_str(), ctx, nullptr, ui, &prompt, nullptr, nullptr, nullptr);
    if (sc == nullptr) return queue_error(Code::uri_syntax, std::string("cannot open ") + what + " URI");
    (void)OSSL_STORE_expect(sc, expect);
    OSSL_STORE_INFO* found = nullptr;
    while (found == nullptr && OSSL_STORE_eof(sc) == 0) {
        OSSL_STORE_INFO* info = OSSL_STORE_load(sc);
        if (info == nullptr) {
            if (OSSL_STORE_error(sc) != 0) break;
            continue;
        }
        if (OSSL_STORE_INFO_get_type(info) == expect) found = info;
        else OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(sc);
    if (found != nullptr) {
        ERR_clear_error();
        return found;
    }
    if (prompt.error) {
        ERR_clear_error();
        return *prompt.error;
    }
    Error e = queue_error(Code::p11_no_object, std::string("no ") + what + " loaded");
    // Without ask_pin the prompt could not happen: the PIN was required.
    if (prompt.no_callback && e.code() == Code::login_cancelled)
        return Error(Code::p11_pin_required, "no pin-value, no pin-source and no PIN prompt (ask_pin unset)");
    return e;
}

}  // namespace

Result<ossl::EvpPkeyPtr> LibContext::load_key(const std::string& uri) const {
    auto* info = CG_TRY(load_one(*st_, st_->ctx, st_->ui, uri, OSSL_STORE_INFO_PKEY, "private key"));
    ossl::EvpPkeyPtr key(OSSL_STORE_INFO_get1_PKEY(info));  // get1: owned
    OSSL_STORE_INFO_free(info);
    if (!key) return Error(Code::crypto, "OSSL_STORE_INFO_get1_PKEY");
    return key;
}

Result<ossl::X509Ptr> LibContext::load_certificate(const std::string& uri) const {
    auto* info = CG_TRY(load_one(*st_, st_->ctx, st_->ui, uri, OSSL_STORE_INFO_CERT, "certificate"));
    ossl::X509Ptr cert(OSSL_STORE_INFO_get1_CERT(info));  // get1: owned
    OSSL_STORE_INFO_free(info);
    if (!cert) return Error(Code::crypto, "OSSL_STORE_INFO_get1_CERT");
    return cert;
}

}  // namespace cardgate::tls
