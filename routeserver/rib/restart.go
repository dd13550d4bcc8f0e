package rib

// Deferral after a planned restart (RFC 4724 §4.1): "the Restarting
// Speaker ... MUST defer route selection for an address family until it
// either (a) receives the End-of-RIB marker from all its peers ... or (b)
// the Selection_Deferral_Timer ... has expired". The RIB goes on taking
// the members' routes and choosing per target as they arrive; what is
// deferred is sending: no target's writer gets an UPDATE (nor its
// End-of-RIB) from Fill until Release. The members meanwhile keep the
// route server's routes from before the restart as stale, and the first
// thing they receive is the complete table, then End-of-RIB: routes
// that did not change replace their stale copies without a withdrawal.

// Defer holds every target's exports until Release.
func (r *RIB) Defer() {
	r.mu.Lock()
	r.deferred = true
	r.mu.Unlock()
}

// Deferred reports whether exports are held (Defer without Release yet).
func (r *RIB) Deferred() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.deferred
}

// Release ends the deferral: every established target's writer is woken
// to send what it has, then its End-of-RIBs. It reports whether exports
// were held.
func (r *RIB) Release() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.deferred {
		return false
	}
	r.deferred = false
	for _, s := range r.targets {
		if s.out != nil {
			s.out.kickPending = false
		}
		if s.kick != nil {
			s.kick()
		}
	}
	return true
}
