// A hard bound on one card operation (SPEC [token] timeout).
//
// Why a thread: a PKCS#11 call cannot be cancelled. C_CancelFunction is a
// legacy stub, and a card that stops answering (a half-inserted badge, a
// wedged reader, pcscd waiting on a lock) leaves C_Sign blocked inside the
// module for as long as it likes. So the operation runs on a worker thread and
// the caller waits at most `limit`; when the limit passes the caller gets
// Code::p11_timeout and the worker is abandoned (detached). The worker owns
// everything it touches (the callable is moved into it and should capture
// shared_ptrs and copies only, never references to the caller's stack), so
// nothing dangles if the caller goes on and frees its own objects.
//
// An abandoned worker may hold the module's locks, so Module::run marks the
// module poisoned: later operations fail fast with p11_timeout instead of
// queueing behind the hung call. The thread itself cannot be killed; the PAM
// module will therefore run card operations in a killable helper process.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

#include <openssl/crypto.h>

#include "src/result.hpp"

namespace cardgate::p11 {

namespace detail {

// The "current PKCS#11 function" slot of the operation running on this thread
// (set by with_timeout's worker, written by invoke() in ckr.hpp).
inline thread_local std::atomic<const char*>* t_current_call = nullptr;

inline void note_call(const char* function) noexcept {
    if (t_current_call != nullptr) t_current_call->store(function, std::memory_order_relaxed);
}

// "10s", "300ms", "1m".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace detail

// Runs f() (returning some Result<T>) on a worker thread and waits at most
// `limit`. On timeout returns Error(p11_timeout, "C_Sign did not answer within
// 10s") after calling on_timeout(message) on the caller's thread.
template <class F, class OnTimeout>
auto with_timeout(std::chrono::milliseconds limit, F&& f, OnTimeout&& on_timeout) -> decltype(f()) {
    using R = decltype(f());
    struct Shared {
        std::mutex m;
        std::condition_variable cv;
        std::optional<R> result;
        std::atomic<const char*> current{nullptr};
    };
    auto shared = std::make_shared<Shared>();
    auto job = std::make_unique<std::decay_t<F>>(std::forward<F>(f));
    try {
        std::thread([shared, job = std::move(job)]() mutable {
            detail::t_current_call = &shared->current;
            std::optional<R> r;
            try {
                r.emplace((*job)());
            } catch (...) {
                r.emplace(Error(Code::internal, "exception during a card operation"));
            }
            // Drop the callable's captures (shared_ptrs to the module and session)
            // before the caller can see the result, so that when the call returns
            // in time the last owner of a Module is a caller thread. After a
            // timeout this thread may end up the last owner and run C_Finalize and
            // dlclose itself, whenever the hung call returns; a long-running
            // process must therefore keep poisoned modules alive (the CLI leaves
            // with _Exit instead).
            job.reset();
            detail::t_current_call = nullptr;
            // Free this thread's OpenSSL state (error queue, DRBG) now, before
            // the caller can exit: left to the thread-exit handler it races
            // process exit and shows up as a leak.
            OPENSSL_thread_stop();
            std::lock_guard<std::mutex> lock(shared->m);
            shared->result = std::move(r);
            shared->cv.notify_all();
        }).detach();
    } catch (const std::system_error& e) {
        return Error(Code::internal, std::string("cannot start a worker thread: ") + e.what());
    }
    std::unique_lock<std::mutex> lock(shared->m);
    if (!shared->cv.wait_for(lock, limit, [&] { return shared->result.has_value(); })) {
        const char* fn = shared->current.load(std::memory_order_relaxed);
        std::string msg = std::string(fn ? fn : "the card operation") + " did not answer within " +
                          detail::format_duration(limit);
        on_timeout(msg);
        return Error(Code::p11_timeout, std::move(msg));
    }
    return std::move(*shared->result);
}

template <class F>
auto with_timeout(std::chrono::milliseconds limit, F&& f) -> decltype(f()) {
    return with_timeout(limit, std::forward<F>(f), [](const std::string&) {});
}

}  // namespace cardgate::p11
