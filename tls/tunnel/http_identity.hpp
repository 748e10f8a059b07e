// identity = "header": the tunnel owns one HTTP request header (e.g.
// X-Cardgate-User) and is the only one who may set it.
//
// One request per connection: the tunnel reads the request head, refuses it
// unless it is well-formed HTTP/1.0 or 1.1 (RFC 7230 section 3: CRLF line
// ends, no obs-fold, token field names with no space before the colon, no
// NUL or bare CR/LF), removes every field whose name equals the owned one
// ignoring ASCII case and treating '-' and '_' alike (CGI/WSGI backends
// turn both into '_', so "X_Cardgate_User" would arrive as the same
// variable), removes Connection, Proxy-Connection and Keep-Alive (a
// Connection option naming the owned header would let an intermediary drop
// it), adds "<Owned>: <user>" and "Connection: close", and forwards the
// body: Content-Length bytes (every Content-Length field must agree), or
// none. Transfer-Encoding is refused (501): where a chunked body ends is a
// parse the backend might do differently, and what follows it would be a
// second, unchecked request. Anything the client sends after the body is
// dropped; the backend's response ends the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cardgate::tunnel {

inline constexpr std::size_t max_request_head = 16 * 1024;

struct RequestHead {
    enum class Status {
        incomplete,    // no blank line yet: read more (at most max_request_head)
        ok,            // `head` is the rewritten head, `consumed` bytes of input were the head
        bad,           // malformed: answer 400
        too_large,     // no end of head within max_request_head: answer 431
        unsupported,   // Transfer-Encoding: answer 501
    };
    Status status = Status::incomplete;
    std::string head;              // rewritten, ends with CRLF CRLF
    std::size_t consumed = 0;      // length of the original head in the input
    std::uint64_t body_length = 0; // bytes of body that follow the head
    std::string reason;            // why it was refused (for the log)
    std::size_t stripped = 0;      // owned-header fields the client sent
};

// `input`: the bytes received so far. `owned`: the header name from the
// config; `user`: its value (refused as bad when not printable ASCII).
RequestHead rewrite_request_head(std::string_view input, std::string_view owned, std::string_view user);

// Whether two field names are the same for the purpose of stripping.
bool same_field_name(std::string_view a, std::string_view b);

// A complete response for a refused head ("HTTP/1.1 400 Bad Request", ...).
std::string refusal_response(RequestHead::Status s);

}  // namespace cardgate::tunnel
