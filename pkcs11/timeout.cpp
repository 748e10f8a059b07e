#include "pkcs11/timeout.hpp"

#include <openssl/crypto.h>

namespace cardgate::p11::detail {

std::string format_duration(std::chrono::milliseconds d) {
    auto ms = d.count();
    if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
    if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace cardgate::p11::detail

namespace cardgate::p11 {

struct Worker::Queue {
    std::mutex m;
    std::condition_variable cv;
    std::deque<std::function<void()>> jobs;
    bool stop = false;
    std::atomic<bool> pending{false};  // jobs is not empty (or stop): read without the lock while spinning
};

namespace {

void serve(std::shared_ptr<Worker::Queue> q) {
    for (;;) {
        std::function<void()> job;
        // The next card operation of a burst (a TLS server's signatures, a
        // benchmark) usually follows within microseconds: wait for it
        // awake a little before sleeping (detail::spin_until).
        detail::spin_until(q->pending, detail::kIdleSpin);
        {
            std::unique_lock<std::mutex> lock(q->m);
            q->cv.wait(lock, [&] { return q->stop || !q->jobs.empty(); });
            if (q->jobs.empty()) break;  // stopped and drained
            job = std::move(q->jobs.front());
            q->jobs.pop_front();
            q->pending.store(!q->jobs.empty(), std::memory_order_release);
        }
        job();
    }
    // Free this thread's OpenSSL state now rather than in the thread-exit
    // handler, which races process exit (and LeakSanitizer).
    OPENSSL_thread_stop();
}

}  // namespace

bool Worker::post(std::function<void()> job) {
    std::lock_guard<std::mutex> lock(m_);
    if (!q_) {
        auto q = std::make_shared<Queue>();
        try {
            t_ = std::thread(serve, q);
        } catch (const std::system_error&) {
            return false;
        }
        q_ = std::move(q);
    }
    {
        std::lock_guard<std::mutex> ql(q_->m);
        q_->jobs.push_back(std::move(job));
        q_->pending.store(true, std::memory_order_release);
    }
    q_->cv.notify_one();
    return true;
}

void Worker::abandon() noexcept {
    std::lock_guard<std::mutex> lock(m_);
    abandoned_ = true;
}

Worker::~Worker() {
    std::lock_guard<std::mutex> lock(m_);
    if (!q_) return;
    {
        std::lock_guard<std::mutex> ql(q_->m);
        q_->stop = true;
        q_->pending.store(true, std::memory_order_release);
    }
    q_->cv.notify_all();
    // A hung job may never return, and a Worker destroyed by its own thread
    // (the last owner let go inside a job) cannot join itself.
    if (abandoned_ || t_.get_id() == std::this_thread::get_id()) t_.detach();
    else t_.join();
}

}  // namespace cardgate::p11
