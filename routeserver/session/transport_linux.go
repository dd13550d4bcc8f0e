//go:build linux

package session

import (
	"errors"
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

// setSaveSYN makes the listening socket keep the SYN of each connection
// (TCP_SAVE_SYN), so that synTTL can read its TTL once it is accepted.
func setSaveSYN(fd uintptr) error {
	if err := unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_SAVE_SYN, 1); err != nil {
		return fmt.Errorf("setting TCP_SAVE_SYN on the listening socket: %w", err)
	}
	return nil
}

// errNoSavedSYN: the kernel kept no SYN for the connection (it was
// accepted with a SYN cookie, or the listener does not save SYNs).
var errNoSavedSYN = errors.New("no saved SYN")

// synTTL returns the TTL (IPv4) or hop limit (IPv6) of the SYN that
// opened the accepted connection fd, from the IP header the kernel kept
// (TCP_SAVED_SYN; reading it frees it).
func synTTL(fd uintptr) (int, error) {
	var buf [512]byte
	l := uint32(len(buf))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.IPPROTO_TCP, unix.TCP_SAVED_SYN,
		uintptr(unsafePointer(&buf[0])), uintptr(unsafePointer(&l)), 0)
	if e == unix.ENOENT {
		return 0, errNoSavedSYN
	}
	if e != 0 {
		return 0, fmt.Errorf("reading the saved SYN: %w", e)
	}
	b := buf[:min(int(l), len(buf))]
	switch {
	case len(b) == 0:
		return 0, errNoSavedSYN
	case b[0]>>4 == 4 && len(b) >= 20:
		return int(b[8]), nil
	case b[0]>>4 == 6 && len(b) >= 40:
		return int(b[7]), nil
	}
	return 0, fmt.Errorf("saved SYN: not an IP header (% x)", b[:min(len(b), 8)])
}
