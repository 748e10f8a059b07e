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
#include <deque>
#include <functional>
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

namespace detail {

// Waits up to `spin` for `flag` without sleeping: a fast token (an HSM,
// SoftHSM) answers in tens to hundreds of microseconds, and sleeping on a
// condition variable adds two thread wake-ups (~40 us here) to every card
// operation (measured: the provider signed P-256 at 0.42x and RSA-2048 at
// 0.82x libp11's rate without this, 0.9x and 0.95x with it). Yields the CPU
// at every turn, so runnable threads (or a single core) lose little; a slow
// card (a real badge: 50 ms and more) costs at most `spin` of yielding.
inline constexpr std::chrono::microseconds kAwaitSpin{1000};  // a caller, for its result
inline constexpr std::chrono::microseconds kIdleSpin{150};    // the worker, for the next job of a burst
inline void spin_until(const std::atomic<bool>& flag, std::chrono::microseconds spin) noexcept {
    const auto until = std::chrono::steady_clock::now() + spin;
    while (!flag.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < until)
        std::this_thread::yield();
}

// Runs f() through `launch` (which starts a std::function<void()> on some
// other thread and returns false when it cannot) and waits at most `limit`.
// `thread_ends`: the job's thread ends after this job (with_timeout): its
// OpenSSL state (error queue, DRBG) is freed before the result is published,
// since the caller may return and the process exit at once after that.
template <class Launch, class F, class OnTimeout>
auto await_on(Launch&& launch, std::chrono::milliseconds limit, F&& f, OnTimeout&& on_timeout,
              bool thread_ends = false) -> decltype(f()) {
    using R = decltype(f());
    struct Shared {
        std::mutex m;
        std::condition_variable cv;
        std::optional<R> result;
        std::atomic<const char*> current{nullptr};
        std::atomic<bool> done{false};
        std::unique_ptr<std::decay_t<F>> job;
    };
    auto shared = std::make_shared<Shared>();
    shared->job = std::make_unique<std::decay_t<F>>(std::forward<F>(f));
    const bool started = launch([shared, thread_ends]() {
        t_current_call = &shared->current;
        std::optional<R> r;
        try {
            r.emplace((*shared->job)());
        } catch (...) {
            r.emplace(Error(Code::internal, "exception during a card operation"));
        }
        // Drop the callable's captures (shared_ptrs to the module and session)
        // before the caller can see the result, so that when the call returns
        // in time the last owner of a Module is a caller thread. After a
        // timeout the worker may end up the last owner and run C_Finalize and
        // dlclose itself, whenever the hung call returns; a long-running
        // process must therefore keep poisoned modules alive (the CLI leaves
        // with _Exit instead).
        shared->job.reset();
        t_current_call = nullptr;
        if (thread_ends) OPENSSL_thread_stop();
        std::lock_guard<std::mutex> lock(shared->m);
        shared->result = std::move(r);
        shared->done.store(true, std::memory_order_release);
        shared->cv.notify_all();
    });
    if (!started) return Error(Code::internal, "cannot start a worker thread");
    spin_until(shared->done, kAwaitSpin);
    std::unique_lock<std::mutex> lock(shared->m);
    if (!shared->cv.wait_for(lock, limit, [&] { return shared->result.has_value(); })) {
        const char* fn = shared->current.load(std::memory_order_relaxed);
        std::string msg = std::string(fn ? fn : "the card operation") + " did not answer within " +
                          format_duration(limit);
        on_timeout(msg);
        return Error(Code::p11_timeout, std::move(msg));
    }
    return std::move(*shared->result);
}

}  // namespace detail

// One thread that runs card operations one after another. A Module keeps one,
// so a command pays for one thread rather than one per PKCS#11 call (thread
// start-up was a measurable part of a login). The thread starts on first use,
// is stopped and joined on destruction, and is left to itself (detached) once
// abandoned after a timeout, since its current job may never return.
class Worker {
public:
    Worker() = default;
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    template <class F, class OnTimeout>
    auto run(std::chrono::milliseconds limit, F&& f, OnTimeout&& on_timeout) -> decltype(f()) {
        return detail::await_on([this](std::function<void()> job) { return post(std::move(job)); }, limit,
                                std::forward<F>(f), [&](const std::string& why) {
                                    abandon();
                                    on_timeout(why);
                                });
    }

    struct Queue;  // shared with the thread, which may outlive the Worker

private:
    bool post(std::function<void()> job);
    void abandon() noexcept;

    std::mutex m_;
    std::shared_ptr<Queue> q_;
    std::thread t_;
    bool abandoned_ = false;
};

// Runs f() (returning some Result<T>) on a new thread of its own and waits at
// most `limit`. On timeout returns Error(p11_timeout, "C_Sign did not answer
// within 10s") after calling on_timeout(message) on the caller's thread.
template <class F, class OnTimeout>
auto with_timeout(std::chrono::milliseconds limit, F&& f, OnTimeout&& on_timeout) -> decltype(f()) {
    auto launch = [](std::function<void()> job) {
        try {
            // The job frees this thread's OpenSSL state before it publishes
            // its result (await_on's thread_ends): left to the thread-exit
            // handler, or done after the caller was woken, it races process
            // exit and shows up as a leak (seen under ASan once the caller
            // stopped sleeping on the result: detail::spin_until).
            std::thread(std::move(job)).detach();
            return true;
        } catch (const std::system_error&) {
            return false;
        }
    };
    return detail::await_on(launch, limit, std::forward<F>(f), std::forward<OnTimeout>(on_timeout),
                            /*thread_ends=*/true);
}

template <class F>
auto with_timeout(std::chrono::milliseconds limit, F&& f) -> decltype(f()) {
    return with_timeout(limit, std::forward<F>(f), [](const std::string&) {});
}

}  // namespace cardgate::p11
