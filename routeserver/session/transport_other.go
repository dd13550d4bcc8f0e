//go:build !linux

package session

import (
	"errors"
	"net/netip"
	"syscall"
)

func setMD5(fd uintptr, peer netip.Addr, key string) error {
	return errors.New("TCP-MD5 is only supported on Linux")
}

func setGTSM(fd uintptr, v6 bool, hops int) error {
	return errors.New("GTSM is only supported on Linux")
}

func setSendTTL255(fd uintptr, v6 bool) error { return nil }

func control(c syscall.RawConn, f func(fd uintptr) error) error {
	var ferr error
	if err := c.Control(func(fd uintptr) { ferr = f(fd) }); err != nil {
		return err
	}
	return ferr
}

func setSaveSYN(fd uintptr) error { return nil }

var errNoSavedSYN = errors.New("no saved SYN")

func synTTL(fd uintptr) (int, error) { return 0, errNoSavedSYN }
