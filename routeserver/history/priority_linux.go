package history

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// lowerPriority pins the calling goroutine to its OS thread and gives the
// thread the nice value nice, so that when the CPUs are busy the kernel
// runs the route server's other threads (sessions, RIB) first. The thread
// keeps its priority for the goroutine's life (it is not reused).
func lowerPriority(nice int) error {
	if nice <= 0 {
		return nil
	}
	runtime.LockOSThread()
	return unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice)
}
