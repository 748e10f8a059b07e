// The identity header: see http_identity.hpp.
#include "tls/tunnel/http_identity.hpp"

#include <algorithm>

namespace cardgate::tunnel {

namespace {

bool tchar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

char fold(char c) {
    if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
    return c == '_' ? '-' : c;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

RequestHead refuse(RequestHead::Status s, std::string why) {
    RequestHead r;
    r.status = s;
    r.reason = std::move(why);
    return r;
}

// "METHOD SP request-target SP HTTP/1.x" (RFC 7230 section 3.1.1).
bool valid_request_line(std::string_view line) {
    const auto sp1 = line.find(' ');
    if (sp1 == 0 || sp1 == std::string_view::npos) return false;
    if (!std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(sp1), tchar)) return false;
    const auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
    for (std::size_t i = sp1 + 1; i < sp2; ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        if (c <= 0x20 || c >= 0x7F) return false;
    }
    const auto version = line.substr(sp2 + 1);
    return version == "HTTP/1.1" || version == "HTTP/1.0";
}

bool printable(std::string_view v) {
    return std::all_of(v.begin(), v.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u < 0x7F;
    });
}

}  // namespace

bool same_field_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (fold(a[i]) != fold(b[i])) return false;
    return true;
}

RequestHead rewrite_request_head(std::string_view input, std::string_view owned, std::string_view user) {
    using S = RequestHead::Status;
    const auto end = input.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (input.size() >= max_request_head) return refuse(S::too_large, "request head larger than 16 KiB");
        // Refuse early what can never become valid (a bare LF or NUL so far).
        for (std::size_t i = 0; i < input.size(); ++i) {
            if (input[i] == '\0') return refuse(S::bad, "NUL byte in the request head");
            if (input[i] == '\n' && (i == 0 || input[i - 1] != '\r')) return refuse(S::bad, "bare LF in the request head");
        }
        return {};
    }
    if (end + 4 > max_request_head) return refuse(S::too_large, "request head larger than 16 KiB");
    if (!printable(user) || user.empty()) return refuse(S::bad, "the account name cannot be sent in a header");

    RequestHead r;
    r.consumed = end + 4;
    const std::string_view head = input.substr(0, end + 2);  // every line with its CRLF
    bool first = true, have_length = false;
    std::size_t pos = 0;
    while (pos < head.size()) {
        const auto eol = head.find("\r\n", pos);
        const std::string_view line = head.substr(pos, eol - pos);
        pos = eol + 2;
        for (char c : line) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '\r' || c == '\n') return refuse(S::bad, "bare CR or LF in the request head");
            if (u == 0 || (u < 0x20 && c != '\t') || u == 0x7F) return refuse(S::bad, "control character in the request head");
        }
        if (first) {
            if (!valid_request_line(line)) return refuse(S::bad, "not an HTTP/1.0 or HTTP/1.1 request line");
            r.head.append(line).append("\r\n");
            first = false;
            continue;
        }
        if (line.empty()) return refuse(S::bad, "empty header line");
        // obs-fold (RFC 7230 section 3.2.4): a server may reject it, and must
        // here, or "X-A: b\r\n X-Cardgate-User: x" could become a header later.
        if (line.front() == ' ' || line.front() == '\t') return refuse(S::bad, "obsolete line folding");
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return refuse(S::bad, "header line without a field name");
        const std::string_view name = line.substr(0, colon);
        if (!std::all_of(name.begin(), name.end(), tchar))
            return refuse(S::bad, "invalid header field name (space before the colon?)");
        const std::string_view value = trim_ows(line.substr(colon + 1));
        if (same_field_name(name, owned)) {
            ++r.stripped;
            continue;
        }
        if (same_field_name(name, "Connection") || same_field_name(name, "Proxy-Connection") ||
            same_field_name(name, "Keep-Alive"))
            continue;
        if (same_field_name(name, "Transfer-Encoding"))
            return refuse(S::unsupported, "Transfer-Encoding is not supported through the identity header");
        if (same_field_name(name, "Content-Length")) {
            if (value.empty() || value.size() > 15 || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
                return refuse(S::bad, "invalid Content-Length");
            const std::uint64_t n = std::stoull(std::string(value));
            if (have_length && n != r.body_length) return refuse(S::bad, "conflicting Content-Length fields");
            have_length = true;
            r.body_length = n;
        }
        r.head.append(line).append("\r\n");
    }
    r.head.append(owned).append(": ").append(user).append("\r\n");
    r.head.append("Connection: close\r\n\r\n");
    r.status = S::ok;
    return r;
}

std::string refusal_response(RequestHead::Status s) {
    std::string_view status = "400 Bad Request";
    if (s == RequestHead::Status::too_large) status = "431 Request Header Fields Too Large";
    if (s == RequestHead::Status::unsupported) status = "501 Not Implemented";
    return "HTTP/1.1 " + std::string(status) + "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
}

}  // namespace cardgate::tunnel
