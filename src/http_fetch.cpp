// HTTP GET and POST through libcurl, locked down: see http_fetch.hpp.
#include "http_fetch.hpp"

#include <curl/curl.h>
#include <dlfcn.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <type_traits>

#include "config.h"

namespace cardgate {

namespace {

// libcurl is loaded when the first request is made, not linked: it pulls in
// some thirty libraries (GnuTLS, Kerberos, LDAP, SSH, ...) and about 4 MiB
// of memory, which every login would pay even when nothing is fetched (CRL
// files and kept answers only). Only these functions are used.
struct Libcurl {
    decltype(&curl_global_init) global_init = nullptr;
    decltype(&curl_easy_init) easy_init = nullptr;
    decltype(&curl_easy_setopt) easy_setopt = nullptr;
    decltype(&curl_easy_perform) easy_perform = nullptr;
    decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
    decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
    decltype(&curl_easy_strerror) easy_strerror = nullptr;
    decltype(&curl_slist_append) slist_append = nullptr;
    decltype(&curl_slist_free_all) slist_free_all = nullptr;
    std::string problem;  // why it is not usable; empty when it is
};

// Loads libcurl and runs curl_global_init once (neither is thread-safe; the
// PAM helper and the daemons may fetch from several threads). The library
// stays loaded for the life of the process.
const Libcurl& libcurl() {
    static Libcurl lib;
    static std::once_flag once;
    std::call_once(once, [] {
        void* h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char* e = dlerror();
            lib.problem = std::string("libcurl cannot be loaded (libcurl.so.4): ") + (e ? e : "unknown error");
            return;
        }
        auto sym = [&](auto& fn, const char* name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
            if (!fn && lib.problem.empty()) lib.problem = std::string("libcurl.so.4 lacks ") + name;
        };
        sym(lib.global_init, "curl_global_init");
        sym(lib.easy_init, "curl_easy_init");
        sym(lib.easy_setopt, "curl_easy_setopt");
        sym(lib.easy_perform, "curl_easy_perform");
        sym(lib.easy_getinfo, "curl_easy_getinfo");
        sym(lib.easy_cleanup, "curl_easy_cleanup");
        sym(lib.easy_strerror, "curl_easy_strerror");
        sym(lib.slist_append, "curl_slist_append");
        sym(lib.slist_free_all, "curl_slist_free_all");
        if (lib.problem.empty() && lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            lib.problem = "curl_global_init failed";
    });
    return lib;
}

struct CurlDeleter {
    void operator()(CURL* c) const noexcept { libcurl().easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
    void operator()(curl_slist* l) const noexcept { libcurl().slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

bool is_control_or_space(unsigned char c) { return c <= 0x20 || c >= 0x7f; }

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), s.begin(), [](char lower, char c) {
               return (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == lower;
           });
}

// The port of an authority: 1 to 5 digits, 1..65535.
bool valid_port(std::string_view p) {
    if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    const long v = std::stol(std::string(p));
    return v >= 1 && v <= 65535;
}

// The body as it arrives, refused as soon as it would cross the limit, and
// not read at all when the status is not 200 (an error page is not wanted).
struct Sink {
    CURL* curl = nullptr;
    std::size_t max_size = 0;
    std::string body;
    bool too_large = false;
    bool bad_status = false;
};

std::size_t write_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* sink = static_cast<Sink*>(user);
    const std::size_t bytes = size * n;
    long status = 0;
    libcurl().easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        sink->bad_status = true;
        return 0;  // anything but `bytes` makes libcurl stop with CURLE_WRITE_ERROR
    }
    if (bytes > sink->max_size - sink->body.size()) {
        sink->too_large = true;
        return 0;
    }
    sink->body.append(data, bytes);
    return bytes;
}

struct Request {
    const char* method;  // "GET" or "POST", for error details
    const std::string& url;
    std::string_view content_type;  // POST only
    std::string_view body;          // POST only
    const FetchLimits& limits;
};

Error fetch_error(const Request& r, const std::string& reason) {
    return Error(Code::io, std::string(r.method) + " " + r.url + ": " + reason);
}

// Our words for the failures a person will meet; libcurl's for the rest.
std::string describe_failure(CURL* curl, CURLcode rc, const char* errbuf, const Request& r) {
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timed out after " + std::to_string(r.limits.timeout.count()) + " ms";
    case CURLE_COULDNT_CONNECT: {
        long os_errno = 0;
        libcurl().easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED) return "connection refused";
        if (os_errno != 0) return std::string("cannot connect: ") + std::strerror(static_cast<int>(os_errno));
        break;
    }
    case CURLE_FILESIZE_EXCEEDED:  // Content-Length above CURLOPT_MAXFILESIZE_LARGE
        return "body larger than " + std::to_string(r.limits.max_size) + " bytes";
    case CURLE_UNSUPPORTED_PROTOCOL:  // the scheme was checked: this is a reply without an HTTP status line
    case CURLE_WEIRD_SERVER_REPLY:
        return std::string("reply is not HTTP") + (errbuf[0] ? " (" + std::string(errbuf) + ")" : std::string());
    case CURLE_PARTIAL_FILE:
        return "connection closed before the whole body arrived";
    default:
        break;
    }
    std::string reason = libcurl().easy_strerror(rc);
    if (errbuf[0] != '\0') reason += " (" + std::string(errbuf) + ")";
    return reason;
}

Status set_options(CURL* curl, const Request& r, Sink& sink, curl_slist* headers, char* errbuf) {
    // CURLOPT_TIMEOUT_MS 0 means "never": a fetch must always end.
    const long timeout_ms = static_cast<long>(std::max<std::int64_t>(r.limits.timeout.count(), 1));
    bool ok = libcurl().easy_setopt(curl, CURLOPT_URL, r.url.c_str()) == CURLE_OK &&
              libcurl().easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
              libcurl().easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              // The environment's http_proxy/no_proxy are the PAM caller's to set.
              libcurl().easy_setopt(curl, CURLOPT_PROXY, "") == CURLE_OK &&
              libcurl().easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              libcurl().easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) == CURLE_OK &&
              libcurl().easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
              libcurl().easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.limits.max_size)) ==
                  CURLE_OK &&
              libcurl().easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
              libcurl().easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
              libcurl().easy_setopt(curl, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION) == CURLE_OK &&
              libcurl().easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
              libcurl().easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body) == CURLE_OK &&
              libcurl().easy_setopt(curl, CURLOPT_WRITEDATA, &sink) == CURLE_OK;
    // No CURLOPT_ACCEPT_ENCODING: a compressed body would be inflated past
    // max_size before the write callback could count it.
    // POSTFIELDS is borrowed, not copied: r.body outlives curl_easy_perform.
    if (ok && headers)
        ok = libcurl().easy_setopt(curl, CURLOPT_HTTPHEADER, headers) == CURLE_OK &&
             libcurl().easy_setopt(curl, CURLOPT_POST, 1L) == CURLE_OK &&
             libcurl().easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size())) == CURLE_OK &&
             libcurl().easy_setopt(curl, CURLOPT_POSTFIELDS, r.body.empty() ? "" : r.body.data()) == CURLE_OK;
    if (!ok) return fetch_error(r, "cannot set up libcurl");
    return {};
}

Result<std::string> perform(const Request& r) {
    // Refused before libcurl sees it: file://, ftp://, user:password@, ...
    if (!is_fetchable_url(r.url)) return fetch_error(r, "not an http:// or https:// URL with a host");
    if (const auto& lib = libcurl(); !lib.problem.empty()) return fetch_error(r, lib.problem);
    CurlPtr curl(libcurl().easy_init());
    if (!curl) return fetch_error(r, "curl_easy_init failed");

    SlistPtr headers;
    if (std::string_view(r.method) == "POST") {
        const std::string type = "Content-Type: " + std::string(r.content_type);
        headers.reset(libcurl().slist_append(nullptr, type.c_str()));
        // No "Expect: 100-continue" round trip: the body is small and sent at once.
        curl_slist* more = headers ? libcurl().slist_append(headers.get(), "Expect:") : nullptr;
        if (!more) return fetch_error(r, "out of memory");
    }

    Sink sink;
    sink.curl = curl.get();
    sink.max_size = r.limits.max_size;
    char errbuf[CURL_ERROR_SIZE] = {};
    CG_TRY_VOID(set_options(curl.get(), r, sink, headers.get(), errbuf));

    const CURLcode rc = libcurl().easy_perform(curl.get());
    long status = 0;
    libcurl().easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);

    // A status line arrived: judge it before any transfer error, which may
    // only be our write callback refusing the body of an error page.
    if (status != 0 && status != 200 && (rc == CURLE_OK || sink.bad_status)) {
        if (status >= 300 && status < 400) {
            char* location = nullptr;  // borrowed from the handle
            libcurl().easy_getinfo(curl.get(), CURLINFO_REDIRECT_URL, &location);
            return fetch_error(r, "redirect to " + std::string(location ? location : "(no Location)") + " not followed");
        }
        return fetch_error(r, "HTTP status " + std::to_string(status));
    }
    if (sink.too_large) return fetch_error(r, "body larger than " + std::to_string(r.limits.max_size) + " bytes");
    if (rc != CURLE_OK) return fetch_error(r, describe_failure(curl.get(), rc, errbuf, r));
    if (status != 200) return fetch_error(r, "HTTP status " + std::to_string(status));
    return std::move(sink.body);
}

}  // namespace

bool is_fetchable_url(std::string_view url) {
    // Whitespace, control and non-ASCII bytes anywhere: libcurl and the
    // server might each read such a URL differently.
    if (std::any_of(url.begin(), url.end(), [](char c) { return is_control_or_space(static_cast<unsigned char>(c)); }))
        return false;
    std::string_view rest;
    if (starts_with_nocase(url, "http://"))  // RFC 3986 3.1: the scheme is case-insensitive
        rest = url.substr(7);
    else if (starts_with_nocase(url, "https://"))
        rest = url.substr(8);
    else
        return false;
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    // Userinfo is refused: credentials do not belong in a configured URL, and
    // "http://good@evil/" is a classic way to make a URL read as another.
    if (authority.find_first_of("@\\") != std::string_view::npos) return false;
    // host [":" port]; an IPv6 literal is bracketed (RFC 3986 3.2.2).
    std::size_t host_end = authority.find(':');
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return false;
        host_end = close + 1;
        if (host_end < authority.size() && authority[host_end] != ':') return false;
    }
    const std::string_view host = authority.substr(0, host_end);
    if (host.empty() || host == "[]") return false;
    return host_end >= authority.size() || valid_port(authority.substr(host_end + 1));
}

Result<std::string> http_get(const std::string& url, const FetchLimits& limits) {
    return perform(Request{"GET", url, {}, {}, limits});
}

Result<std::string> http_post(const std::string& url, std::string_view content_type, std::string_view body,
                              const FetchLimits& limits) {
    return perform(Request{"POST", url, content_type, body, limits});
}

}  // namespace cardgate
