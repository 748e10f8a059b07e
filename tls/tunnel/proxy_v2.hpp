// The PROXY protocol version 2 header the tunnel sends to a backend first
// (identity = "proxy-v2"): who connected, over which TLS, and who the badge
// says they are.
//
// Layout (haproxy doc/proxy-protocol.txt, section 2.2): the 12-byte
// signature, 0x21 (version 2, PROXY), the family (0x11 TCP/IPv4, 0x21
// TCP/IPv6; a mix of families is sent as IPv6 with IPv4-mapped addresses),
// the length of what follows (big-endian), source and destination addresses
// and ports, then TLVs (type, 16-bit big-endian length, value):
//
//   0x02  PP2_TYPE_AUTHORITY   the SNI host name the client sent, when it sent one
//   0x20  PP2_TYPE_SSL         client = PP2_CLIENT_SSL | PP2_CLIENT_CERT_SESS, and
//                              PP2_CLIENT_CERT_CONN on a full handshake (on a
//                              resumed session the certificate was sent on an
//                              earlier connection); verify = 0 (the trust core
//                              accepted it); sub-TLVs 0x21 VERSION ("TLSv1.3"),
//                              0x22 CN (the certificate subject's CN), 0x23 CIPHER
//   0xE0  cardgate user        the mapped account name
//   0xE1  cardgate groups      the account's groups, separated by "\n"
//   0xE2  cardgate cert hash   SHA-256 of the client certificate (DER), 64 lower-case hex
//   0xE3  cardgate privileges  "group:NAME", "ou:NAME", "policy:OID", separated by "\n"
//   0xE4  cardgate session     "full" or "resumed"
//
// 0xE0-0xEF is the range the specification leaves to applications
// (PP2_TYPE_MIN_CUSTOM .. PP2_TYPE_MAX_CUSTOM).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/result.hpp"

namespace cardgate::tunnel {

struct IpPort {
    bool v6 = false;
    std::array<std::uint8_t, 16> addr{};  // IPv4 in the first 4 bytes
    std::uint16_t port = 0;
};

namespace pp2 {
inline constexpr std::uint8_t type_authority = 0x02;
inline constexpr std::uint8_t type_ssl = 0x20;
inline constexpr std::uint8_t subtype_ssl_version = 0x21;
inline constexpr std::uint8_t subtype_ssl_cn = 0x22;
inline constexpr std::uint8_t subtype_ssl_cipher = 0x23;
inline constexpr std::uint8_t client_ssl = 0x01;
inline constexpr std::uint8_t client_cert_conn = 0x02;
inline constexpr std::uint8_t client_cert_sess = 0x04;
inline constexpr std::uint8_t type_user = 0xE0;
inline constexpr std::uint8_t type_groups = 0xE1;
inline constexpr std::uint8_t type_cert_sha256 = 0xE2;
inline constexpr std::uint8_t type_privileges = 0xE3;
inline constexpr std::uint8_t type_session = 0xE4;
}  // namespace pp2

struct ProxyInfo {
    IpPort source, destination;
    std::optional<std::string> authority;  // SNI
    std::string tls_version, cipher, cert_cn;
    bool resumed = false;
    std::string user;
    std::vector<std::string> groups, privileges;
    std::string cert_sha256;  // hex
};

// The header's bytes. Error (internal) only when a value does not fit a TLV
// (65535 bytes) or the whole header would exceed 65535 bytes.
Result<std::vector<std::uint8_t>> encode_proxy_v2(const ProxyInfo& info);

}  // namespace cardgate::tunnel
