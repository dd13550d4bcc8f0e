package api

import (
	"net"
	"syscall"
)

// peerCred is the credentials of the process at the other end of a unix
// socket connection (SO_PEERCRED: as it was when it connected).
func peerCred(c *net.UnixConn) (Caller, bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return Caller{}, false
	}
	var cr *syscall.Ucred
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		cr, gerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || gerr != nil {
		return Caller{}, false
	}
	return Caller{Known: true, UID: int(cr.Uid), GID: int(cr.Gid), PID: int(cr.Pid)}, true
}
