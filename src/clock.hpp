// Injected time (s2n's wall-clock callback): validation and challenges ask a
// Clock, so tests of expiry and staleness need no faketime.
#pragma once

#include <ctime>

namespace cardgate {

class Clock {
public:
    virtual ~Clock() = default;
    virtual std::time_t now() const = 0;
};

class SystemClock final : public Clock {
public:
    std::time_t now() const override { return std::time(nullptr); }
};

class FixedClock final : public Clock {
public:
    explicit FixedClock(std::time_t t) : t_(t) {}
    std::time_t now() const override { return t_; }

private:
    std::time_t t_;
};

}  // namespace cardgate
