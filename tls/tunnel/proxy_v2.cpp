// PROXY protocol v2 encoding: see proxy_v2.hpp.
#include "tls/tunnel/proxy_v2.hpp"

#include <string_view>

namespace cardgate::tunnel {

namespace {

constexpr std::array<std::uint8_t, 12> signature{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

void put16(std::vector<std::uint8_t>& out, std::size_t v) {
    out.push_back(static_cast<std::uint8_t>((v >> 8) & 0xFF));
    out.push_back(static_cast<std::uint8_t>(v & 0xFF));
}

Status tlv(std::vector<std::uint8_t>& out, std::uint8_t type, std::string_view value) {
    if (value.size() > 0xFFFF) return Error(Code::internal, "PROXY v2 TLV too large");
    out.push_back(type);
    put16(out, value.size());
    out.insert(out.end(), value.begin(), value.end());
    return {};
}

// A list joined with "\n"; an item holding "\n" or NUL cannot be told apart
// from two items and is left out.
std::string join_lines(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& i : items) {
        if (i.empty() || i.find('\n') != std::string::npos || i.find('\0') != std::string::npos) continue;
        if (!s.empty()) s += '\n';
        s += i;
    }
    return s;
}

// IPv4-mapped IPv6 (RFC 4291 section 2.5.5.2).
std::array<std::uint8_t, 16> as_v6(const IpPort& a) {
    if (a.v6) return a.addr;
    std::array<std::uint8_t, 16> m{};
    m[10] = m[11] = 0xFF;
    for (int i = 0; i < 4; ++i) m[static_cast<std::size_t>(12 + i)] = a.addr[static_cast<std::size_t>(i)];
    return m;
}

}  // namespace

Result<std::vector<std::uint8_t>> encode_proxy_v2(const ProxyInfo& info) {
    std::vector<std::uint8_t> body;
    const bool v6 = info.source.v6 || info.destination.v6;
    if (v6) {
        const auto s = as_v6(info.source), d = as_v6(info.destination);
        body.insert(body.end(), s.begin(), s.end());
        body.insert(body.end(), d.begin(), d.end());
    } else {
        body.insert(body.end(), info.source.addr.begin(), info.source.addr.begin() + 4);
        body.insert(body.end(), info.destination.addr.begin(), info.destination.addr.begin() + 4);
    }
    put16(body, info.source.port);
    put16(body, info.destination.port);

    if (info.authority && !info.authority->empty()) CG_TRY_VOID(tlv(body, pp2::type_authority, *info.authority));

    std::vector<std::uint8_t> ssl;
    std::uint8_t client = pp2::client_ssl | pp2::client_cert_sess;
    if (!info.resumed) client |= pp2::client_cert_conn;
    ssl.push_back(client);
    for (int i = 0; i < 4; ++i) ssl.push_back(0);  // verify: 0 = the certificate was accepted
    CG_TRY_VOID(tlv(ssl, pp2::subtype_ssl_version, info.tls_version));
    if (!info.cert_cn.empty()) CG_TRY_VOID(tlv(ssl, pp2::subtype_ssl_cn, info.cert_cn));
    CG_TRY_VOID(tlv(ssl, pp2::subtype_ssl_cipher, info.cipher));
    CG_TRY_VOID(tlv(body, pp2::type_ssl, std::string_view(reinterpret_cast<const char*>(ssl.data()), ssl.size())));

    CG_TRY_VOID(tlv(body, pp2::type_user, info.user));
    CG_TRY_VOID(tlv(body, pp2::type_groups, join_lines(info.groups)));
    CG_TRY_VOID(tlv(body, pp2::type_cert_sha256, info.cert_sha256));
    CG_TRY_VOID(tlv(body, pp2::type_privileges, join_lines(info.privileges)));
    CG_TRY_VOID(tlv(body, pp2::type_session, info.resumed ? "resumed" : "full"));
    if (body.size() > 0xFFFF) return Error(Code::internal, "PROXY v2 header too large");

    std::vector<std::uint8_t> out(signature.begin(), signature.end());
    out.push_back(0x21);              // version 2, command PROXY
    out.push_back(v6 ? 0x21 : 0x11);  // AF_INET6 or AF_INET, STREAM
    put16(out, body.size());
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

}  // namespace cardgate::tunnel
