// HTTP for revocation data (CRL downloads, OCSP requests), through libcurl.
//
// Deny by default: only http:// and https:// URLs (CURLOPT_PROTOCOLS_STR),
// no redirects followed (a 3xx is an error naming where it pointed), no
// proxy from the environment (CURLOPT_PROXY ""; the PAM helper's environment
// is the caller's), no cookies, no signals (CURLOPT_NOSIGNAL: threads), a
// connect timeout and a total timeout, a body larger than max_size aborted
// as soon as it crosses the limit (never buffered whole), only status 200
// accepted. https verifies the server with the system CA store.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "result.hpp"

namespace cardgate {

struct FetchLimits {
    std::chrono::milliseconds timeout{5000};  // connect and total, each
    std::size_t max_size = 1u << 20;          // bytes of body
};

// True for an absolute http:// or https:// URL with a host (and a port, if
// any, in 1..65535); false with userinfo ("user:pw@"), a backslash in the
// authority, or any whitespace, control or non-ASCII byte anywhere.
bool is_fetchable_url(std::string_view url);

// The body of a 200 response. Error Code::io, detail "GET <url>: <reason>"
// ("timed out after 5000 ms", "connection refused", "HTTP status 404",
// "redirect to <location> not followed", "body larger than N bytes",
// "reply is not HTTP", "connection closed before the whole body arrived",
// or libcurl's words). A URL is_fetchable_url refuses fails before any
// connection: "not an http:// or https:// URL with a host".
Result<std::string> http_get(const std::string& url, const FetchLimits& limits);
Result<std::string> http_post(const std::string& url, std::string_view content_type, std::string_view body,
                              const FetchLimits& limits);

}  // namespace cardgate
