//go:build linux

package session

import (
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// setMD5 installs (or, with key "", removes) the RFC 2385 TCP-MD5 key for
// peer on the socket fd. On a listening socket it applies to connections
// from that peer.
func setMD5(fd uintptr, peer netip.Addr, key string) error {
	if len(key) > unix.TCP_MD5SIG_MAXKEYLEN {
		return fmt.Errorf("TCP-MD5 key for %s is %d octets; Linux allows at most %d", peer, len(key), unix.TCP_MD5SIG_MAXKEYLEN)
	}
	sig := unix.TCPMD5Sig{Keylen: uint16(len(key))}
	copy(sig.Key[:], key)
	peer = peer.Unmap()
	if peer.Is4() {
		sa := (*unix.RawSockaddrInet4)(unsafePointer(&sig.Addr))
		sa.Family = unix.AF_INET
		sa.Addr = peer.As4()
	} else {
		sa := (*unix.RawSockaddrInet6)(unsafePointer(&sig.Addr))
		sa.Family = unix.AF_INET6
		sa.Addr = peer.As16()
	}
	if err := unix.SetsockoptTCPMD5Sig(int(fd), unix.IPPROTO_TCP, unix.TCP_MD5SIG, &sig); err != nil {
		return fmt.Errorf("setting TCP-MD5 key for %s: %w", peer, err)
	}
	return nil
}

// setGTSM makes the socket send with TTL (hop limit) 255 and drop segments
// whose TTL is below 256-hops (RFC 5082). v6 selects the IPv6 options.
func setGTSM(fd uintptr, v6 bool, hops int) error {
	min := 256 - hops
	var err error
	if v6 {
		if err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 255); err == nil {
			err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MINHOPCOUNT, min)
		}
	} else {
		if err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, 255); err == nil {
			err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MINTTL, min)
		}
	}
	if err != nil {
		return fmt.Errorf("setting GTSM (minimum TTL %d): %w", min, err)
	}
	return nil
}

// setSendTTL255 makes the socket send with TTL (hop limit) 255.
func setSendTTL255(fd uintptr, v6 bool) error {
	var err error
	if v6 {
		err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 255)
	} else {
		err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, 255)
	}
	if err != nil {
		return fmt.Errorf("setting TTL 255 on the listening socket: %w", err)
	}
	return nil
}

// control runs f on the raw socket of c.
func control(c syscall.RawConn, f func(fd uintptr) error) error {
	var ferr error
	if err := c.Control(func(fd uintptr) { ferr = f(fd) }); err != nil {
		return err
	}
	return ferr
}
