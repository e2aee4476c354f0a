//! Which IP addresses are public, i.e. safe to connect to on behalf of remote input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// False for loopback, private, link-local, CGNAT, unspecified, multicast, broadcast,
/// documentation and other reserved ranges, including IPv6 forms that carry an IPv4 address
/// (mapped, compatible, NAT64, 6to4, Teredo) when the carried address is not public.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation() // 192.0.2/24, 198.51.100/24, 203.0.113/24
        || a == 0 // "this network" 0/8: 0.0.0.0 reaches the local host on Linux
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0/24
        || (a == 192 && b == 88 && c == 99) // deprecated 6to4 relay anycast
        || (a == 198 && (18..20).contains(&b)) // benchmarking 198.18/15
        || a >= 240) // reserved 240/4 and broadcast
}

/// The IPv4 address an IPv6 address carries by a translation or tunnelling scheme whose
/// gateway would connect to it on our behalf.
fn embedded_v4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s[0] {
        // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052): the last 32 bits.
        0x0064 if s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] => vec![v4(s[6], s[7])],
        // 6to4 2002::/16 (RFC 3056): bits 16..48.
        0x2002 => vec![v4(s[1], s[2])],
        // Teredo 2001::/32 (RFC 4380): the server in bits 32..64, the client obfuscated
        // (inverted) in the last 32 bits.
        0x2001 if s[1] == 0 => vec![v4(s[2], s[3]), v4(!s[6], !s[7])],
        _ => Vec::new(),
    }
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded = embedded_v4(ip);
    if !embedded.is_empty() {
        return embedded.into_iter().all(is_public_v4);
    }
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast() // ff00::/8
        // IPv4-compatible ::a.b.c.d (deprecated); the IPv4-mapped ::ffff:a.b.c.d were made
        // IPv4 by `to_canonical` above, SIIT ::ffff:0:a.b.c.d falls outside 2000::/3 below.
        || s[..6] == [0, 0, 0, 0, 0, 0]
        || (s[0] == 0x0064 && s[1] == 0xff9b) // local-use NAT64 64:ff9b:1::/48 and the rest
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
        || (s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0) // benchmarking 2001:2::/48
        || (s[0] == 0x2001 && (0x0010..0x0030).contains(&s[1])) // ORCHID 2001:10::/28, 2001:20::/28
        // Everything outside global unicast 2000::/3 is unallocated or special-purpose; the
        // NAT64 prefix, the only public exception, was handled above.
        || (s[0] & 0xe000) != 0x2000;
    !refused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public_ip(s.parse().expect("ip"))
    }

    #[test]
    fn private_and_reserved_ipv4_ranges_are_not_public() {
        for ip in [
            "127.0.0.1",
            "127.255.255.254",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "192.0.0.8",
            "192.88.99.1",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "250.1.2.3",
        ] {
            assert!(!public(ip), "{ip} must not be public");
        }
    }

    #[test]
    fn private_and_reserved_ipv6_ranges_are_not_public() {
        for ip in [
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "feff::1",
            "ff02::1",
            "ff0e::1",
            "100::1",
            "2001:db8::1",
            "3fff::1",
            "3fff:fff::1",
            "2001:2::1",
            "2001:10::1",
            "2001:20::1",
            "64:ff9b:1::1",
            // IPv4-mapped
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:0.0.0.0",
            "::ffff:169.254.169.254",
            // IPv4-compatible, even of a public address (deprecated, never legitimate)
            "::127.0.0.1",
            "::10.0.0.1",
            "::93.184.216.34",
            // SIIT ::ffff:0:a.b.c.d
            "::ffff:0:7f00:1",
            // NAT64 of private addresses
            "64:ff9b::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            // 6to4 of private addresses (2002:AABB:CCDD::)
            "2002:7f00:1::1",
            "2002:a00:1::1",
            "2002:c0a8:101::1",
            // Teredo whose server or (inverted) client is private
            "2001:0:7f00:1::ffff:ffff",
            "2001:0:5db8:d822::80ff:fffe", // client 127.0.0.1
            "2001:0:5db8:d822::f5ff:fffe", // client 10.0.0.1
            // outside 2000::/3
            "4000::1",
            "1::1",
        ] {
            assert!(!public(ip), "{ip} must not be public");
        }
    }

    #[test]
    fn ordinary_addresses_are_public() {
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "198.20.0.1",
            "223.255.255.254",
            "2606:4700:4700::1111",
            "2a01:4f8::1",
            "3fff:1000::1",
            "::ffff:93.184.216.34",
            // NAT64 (DNS64 networks), 6to4 and Teredo of public addresses
            "64:ff9b::93.184.216.34",
            "2002:5db8:d822::1",
            "2001:0:5db8:d822::a2ff:fefe", // server 93.184.216.34, client 93.0.1.1
        ] {
            assert!(public(ip), "{ip} is public");
        }
    }
}
