// Result<T>: a value or an Error from the one catalogue (error.hpp).
//
// Shaped like C++23 std::expected so it can move to it later. Every fallible
// function returns one; [[nodiscard]] makes ignoring a failure a compile error
// under -Werror. CG_TRY keeps the happy path straight:
//
//     auto cert = CG_TRY(load_certificate(path));   // returns the error upward
//     CG_TRY_VOID(session.login(pin));
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "error.hpp"

namespace cardgate {

// An error: a catalogue code and a detail naming what was wrong and where
// (a file:line, a URI, a CKR_ name). Details never carry secrets.
class Error {
public:
    Error(Code code, std::string detail = {}) : code_(code), detail_(std::move(detail)) {
        assert(code != Code::ok);
    }
    Code code() const noexcept { return code_; }
    const std::string& detail() const noexcept { return detail_; }
    // "describe(code): detail", or just the description when there is no detail.
    std::string message() const;

private:
    Code code_;
    std::string detail_;
};

template <typename T>
class [[nodiscard]] Result {
public:
    using value_type = T;
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}
    Result(Code code, std::string detail = {}) : v_(std::in_place_index<1>, Error(code, std::move(detail))) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { assert(ok()); return std::get<0>(v_); }
    const T& value() const& { assert(ok()); return std::get<0>(v_); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
    Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }
    Code code() const noexcept { return ok() ? Code::ok : std::get<1>(v_).code(); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    using value_type = void;
    Result() = default;
    Result(Error error) : err_(std::move(error)), failed_(true) {}
    Result(Code code, std::string detail = {}) : err_(code, std::move(detail)), failed_(true) {}

    bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    void value() const { assert(ok()); }
    const Error& error() const& { assert(!ok()); return err_; }
    Error&& error() && { assert(!ok()); return std::move(err_); }
    Code code() const noexcept { return ok() ? Code::ok : err_.code(); }

private:
    Error err_{Code::internal};
    bool failed_ = false;
};

using Status = Result<void>;

}  // namespace cardgate

// Evaluate a Result; on failure return its Error from the enclosing function,
// else yield the value. Uses a GNU statement expression (g++ and clang).
#define CG_TRY(expr)                                            \
    ({                                                          \
        auto cg_try_r_ = (expr);                                \
        if (!cg_try_r_.ok()) return std::move(cg_try_r_).error(); \
        std::move(cg_try_r_).value();                           \
    })

#define CG_TRY_VOID(expr)                                       \
    do {                                                        \
        auto cg_try_r_ = (expr);                                \
        if (!cg_try_r_.ok()) return std::move(cg_try_r_).error(); \
    } while (0)
