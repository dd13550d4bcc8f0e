// Package instance keeps a second route server off a running one's
// resources. Before it opens anything else, fedrs run takes a lock file
// beside each resource that only one process may use (the control socket,
// the history database): PATH.lock, held with flock(2) for the life of the
// process and holding its pid. The kernel releases the lock when the
// process ends, however it ends, so a crash leaves nothing to clean up;
// a socket file left by a crash is known to be stale once its lock is
// taken, and is replaced.
package instance
