package rpki

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/fedrs/fedrs/rpki/rtr"
)

// RTR timer defaults and bounds (RFC 8210 §6).
const (
	DefaultRefresh = 3600 * time.Second
	DefaultRetry   = 600 * time.Second
	DefaultExpire  = 7200 * time.Second
)

// responseTimeout bounds the wait for a cache's answer to a query.
const responseTimeout = 60 * time.Second

// Cache states shown in SourceStatus.State.
const (
	StateConnecting = "connecting" // no connection yet, or reconnecting
	StateSyncing    = "syncing"    // connected, waiting for the first End of Data
	StateSynced     = "synced"     // connected and up to date
	StateStale      = "stale"      // disconnected; data kept until it expires
	StateExpired    = "expired"    // disconnected and the data expired: none used
	StateStopped    = "stopped"
)

type usability uint8

const (
	usableNone usability = iota
	usableStale
	usableSynced
)

// rtrData is a cache's data set.
type rtrData struct {
	vrps  map[VRP]struct{}
	aspas map[uint32][]uint32
}

// RTRClient is an RPKI-to-Router client for one cache (RFC 8210 version 1,
// falling back to version 0 when the cache answers "Unsupported Protocol
// Version"). It keeps the cache's data until it expires. Managers create
// clients with AddCache.
type RTRClient struct {
	addr     string
	pref     int
	opts     Options
	log      *slog.Logger
	onChange func()

	mu        sync.Mutex
	version   uint8
	hasSess   bool
	sessionID uint16
	serial    uint32
	data      rtrData
	hasData   bool
	lastSync  time.Time
	refresh   time.Duration
	retry     time.Duration
	expire    time.Duration
	state     string
	synced    bool // connected and in sync
	expired   bool // the data expired and nothing replaced it yet
	selected  bool
	lastErr   string
	errTime   time.Time
}

func newRTRClient(addr string, pref int, opts Options, log *slog.Logger, onChange func()) *RTRClient {
	return &RTRClient{
		addr: addr, pref: pref, opts: opts, onChange: onChange,
		log:     log.With("cache", addr),
		version: opts.RTRVersion,
		refresh: DefaultRefresh, retry: DefaultRetry, expire: DefaultExpire,
		state: StateConnecting,
	}
}

// Address returns the cache's address.
func (c *RTRClient) Address() string { return c.addr }

func (c *RTRClient) usable() (usability, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !c.hasData:
		return usableNone, c.lastSync
	case c.synced:
		return usableSynced, c.lastSync
	case c.opts.Now().Before(c.lastSync.Add(c.expire)):
		return usableStale, c.lastSync
	}
	return usableNone, c.lastSync
}

func (c *RTRClient) setSelected(b bool) {
	c.mu.Lock()
	c.selected = b
	c.mu.Unlock()
}

// snapshotData returns the cache's current VRPs and ASPAs.
func (c *RTRClient) snapshotData() ([]VRP, []ASPA) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vrps := make([]VRP, 0, len(c.data.vrps))
	for v := range c.data.vrps {
		vrps = append(vrps, v)
	}
	aspas := make([]ASPA, 0, len(c.data.aspas))
	for cu, ps := range c.data.aspas {
		aspas = append(aspas, ASPA{Customer: cu, Providers: ps})
	}
	return vrps, aspas
}

// Status returns the client's status.
func (c *RTRClient) Status() SourceStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := SourceStatus{
		Kind: "rtr", Name: c.addr, Preference: c.pref, State: c.state, Selected: c.selected,
		Version: int(c.version), SessionID: c.sessionID, Serial: c.serial,
		VRPs: len(c.data.vrps), ASPAs: len(c.data.aspas),
		LastUpdate: c.lastSync, LastError: c.lastErr, LastErrorTime: c.errTime,
		Refresh: c.refresh, Retry: c.retry, Expire: c.expire,
	}
	if c.hasData {
		s.ExpiresAt = c.lastSync.Add(c.expire)
	}
	return s
}

func (c *RTRClient) setErr(err error) {
	c.mu.Lock()
	c.lastErr, c.errTime = err.Error(), c.opts.Now()
	c.mu.Unlock()
}

// errDowngrade asks Run to reconnect at once with a lower version.
var errDowngrade = errors.New("cache asked for a lower protocol version")

// Run keeps a session with the cache until ctx is done.
func (c *RTRClient) Run(ctx context.Context) {
	for ctx.Err() == nil {
		err := c.session(ctx)
		if ctx.Err() != nil {
			break
		}
		c.mu.Lock()
		wasSynced := c.synced
		c.synced = false
		switch {
		case c.hasData:
			c.state = StateStale
		case c.expired:
			c.state = StateExpired
		default:
			c.state = StateConnecting
		}
		wait := c.retry
		if c.opts.RTRRetry > 0 {
			wait = c.opts.RTRRetry
		}
		c.mu.Unlock()
		if wasSynced {
			c.onChange()
		}
		if errors.Is(err, errDowngrade) {
			wait = 0
		} else if err != nil {
			c.setErr(err)
			c.log.Warn("RTR session ended", "err", err, "retry_in", wait)
		}
		c.sleep(ctx, wait)
	}
	c.mu.Lock()
	c.state, c.synced = StateStopped, false
	c.mu.Unlock()
}

// sleep waits d (or until ctx is done), expiring the data when its expire
// interval passes meanwhile.
func (c *RTRClient) sleep(ctx context.Context, d time.Duration) {
	end := time.Now().Add(d)
	for {
		c.checkExpiry()
		left := time.Until(end)
		if left <= 0 || ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		if c.hasData {
			if u := c.lastSync.Add(c.expire).Sub(c.opts.Now()); u < left {
				left = max(u, time.Millisecond)
			}
		}
		c.mu.Unlock()
		t := time.NewTimer(left)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// checkExpiry drops the data once the expire interval has passed since the
// last successful synchronisation.
func (c *RTRClient) checkExpiry() {
	c.mu.Lock()
	if !c.hasData || c.opts.Now().Before(c.lastSync.Add(c.expire)) {
		c.mu.Unlock()
		return
	}
	c.data = rtrData{}
	c.hasData, c.hasSess, c.synced, c.expired = false, false, false, true
	if c.state != StateSyncing {
		c.state = StateExpired
	}
	c.mu.Unlock()
	c.log.Warn("RTR cache data expired: no longer used", "expire", c.expire)
	c.onChange()
}

// txState is an open Cache Response: the changes are collected here and
// applied only at End of Data, so an error in the middle leaves the
// previous data in force.
type txState struct {
	reset   bool
	session uint16
	vrps    map[VRP]bool // reset: the new set (true); incremental: true announce, false withdraw
	aspas   map[uint32][]uint32
	aspaDel map[uint32]bool
}

func (c *RTRClient) session(ctx context.Context) (err error) {
	d := net.Dialer{Timeout: c.opts.RTRDialTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("connect to RTR cache %s: %w", c.addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c.mu.Lock()
	ver := c.version
	c.state = StateSyncing
	c.mu.Unlock()
	c.log.Info("RTR connected", "version", ver)

	w := bufio.NewWriter(conn)
	send := func(p rtr.PDU) error {
		p.Version = ver
		if _, err := w.Write(p.Append(nil)); err != nil {
			return err
		}
		return w.Flush()
	}
	// fail sends an Error Report for a protocol error and returns err.
	fail := func(err error) error {
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		send(rtr.NewErrorReport(ver, err))
		return err
	}
	query := func() (bool, error) {
		c.mu.Lock()
		hs, sid, ser := c.hasSess, c.sessionID, c.serial
		c.mu.Unlock()
		if hs {
			return false, send(rtr.PDU{Type: rtr.SerialQuery, SessionID: sid, Serial: ser})
		}
		return true, send(rtr.PDU{Type: rtr.ResetQuery})
	}
	lastWasReset, err := query()
	if err != nil {
		return err
	}
	awaiting, first := true, true
	var nextRefresh time.Time
	var tx *txState
	r := bufio.NewReaderSize(conn, 64<<10)
	buf := make([]byte, 0, 256)
	for {
		c.mu.Lock()
		refresh := c.refresh
		c.mu.Unlock()
		deadline := nextRefresh
		if awaiting || tx != nil {
			deadline = time.Now().Add(responseTimeout)
		}
		conn.SetReadDeadline(deadline)
		p, raw, err := rtr.ReadPDU(r, buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if awaiting || tx != nil {
					return fmt.Errorf("RTR cache %s sent nothing for %s while a response was due", c.addr, responseTimeout)
				}
				c.checkExpiry()
				if lastWasReset, err = query(); err != nil {
					return err
				}
				awaiting = true
				continue
			}
			var re *rtr.Error
			if errors.As(err, &re) {
				if len(raw) >= 2 && rtr.Type(raw[1]) == rtr.ErrorReport {
					return fmt.Errorf("undecodable Error Report from cache: %w", err)
				}
				return fail(err)
			}
			if errors.Is(err, rtr.ErrTruncated) {
				return fail(&rtr.Error{Code: rtr.CorruptData, Msg: err.Error(), PDU: raw})
			}
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read from RTR cache %s: %w", c.addr, err)
		}
		if p.Version != ver {
			switch {
			case p.Type == rtr.ErrorReport && p.Code == rtr.UnsupportedProtocolVersion && first:
				// handled below
			case first && p.Version < ver && p.Type == rtr.CacheResponse:
				ver = p.Version
				c.mu.Lock()
				c.version = ver
				c.mu.Unlock()
			default:
				return fail(&rtr.Error{Code: rtr.UnexpectedProtocolVersion, PDU: raw,
					Msg: fmt.Sprintf("%s has version %d in a version %d session", p.Type, p.Version, ver)})
			}
		}
		switch p.Type {
		case rtr.ErrorReport:
			if p.Code == rtr.UnsupportedProtocolVersion && first && ver > 0 {
				nv := ver - 1
				if p.Version < ver {
					nv = p.Version
				}
				c.mu.Lock()
				c.version = nv
				c.mu.Unlock()
				c.log.Info("RTR cache does not support the protocol version; downgrading", "from", ver, "to", nv)
				return errDowngrade
			}
			return fmt.Errorf("RTR cache %s sent Error Report %s: %q", c.addr, p.Code, p.Text)
		case rtr.CacheResponse:
			if tx != nil {
				return fail(&rtr.Error{Code: rtr.CorruptData, PDU: raw, Msg: "Cache Response inside a Cache Response"})
			}
			c.mu.Lock()
			sid := c.sessionID
			c.mu.Unlock()
			if !lastWasReset && p.SessionID != sid {
				// The cache restarted with a new session: start over.
				c.log.Info("RTR cache session ID changed; resetting", "old", sid, "new", p.SessionID)
				c.mu.Lock()
				c.hasSess = false
				c.mu.Unlock()
				if lastWasReset, err = query(); err != nil {
					return err
				}
				continue
			}
			tx = &txState{reset: lastWasReset, session: p.SessionID, vrps: map[VRP]bool{}, aspas: map[uint32][]uint32{}, aspaDel: map[uint32]bool{}}
			first = false
		case rtr.IPv4Prefix, rtr.IPv6Prefix:
			if tx == nil {
				return fail(&rtr.Error{Code: rtr.CorruptData, PDU: raw, Msg: p.Type.String() + " outside a Cache Response"})
			}
			v := VRP{Prefix: p.Prefix, MaxLen: p.MaxLen, ASN: p.ASN}
			if err := c.txPrefix(tx, v, p.Announce(), raw); err != nil {
				return fail(err)
			}
		case rtr.ASPA:
			if tx == nil {
				return fail(&rtr.Error{Code: rtr.CorruptData, PDU: raw, Msg: "ASPA outside a Cache Response"})
			}
			if p.Announce() {
				ps := slices.Clone(p.Providers)
				slices.Sort(ps)
				tx.aspas[p.Customer] = ps
				delete(tx.aspaDel, p.Customer)
			} else {
				delete(tx.aspas, p.Customer)
				tx.aspaDel[p.Customer] = true
			}
		case rtr.RouterKey:
			// fedrs does not do BGPsec; router keys are ignored.
		case rtr.EndOfData:
			if tx == nil {
				return fail(&rtr.Error{Code: rtr.CorruptData, PDU: raw, Msg: "End of Data outside a Cache Response"})
			}
			if p.SessionID != tx.session {
				return fail(&rtr.Error{Code: rtr.CorruptData, PDU: raw, Msg: fmt.Sprintf("End of Data session %d, Cache Response said %d", p.SessionID, tx.session)})
			}
			n := c.commit(tx, p)
			c.log.Info("RTR data synchronised", "serial", p.Serial, "session", p.SessionID, "reset", tx.reset, "changes", n)
			tx, awaiting = nil, false
			c.mu.Lock()
			refresh = c.refresh
			c.mu.Unlock()
			nextRefresh = time.Now().Add(refresh)
			c.onChange()
		case rtr.CacheReset:
			if tx != nil {
				return fail(&rtr.Error{Code: rtr.CorruptData, PDU: raw, Msg: "Cache Reset inside a Cache Response"})
			}
			c.mu.Lock()
			c.hasSess = false
			c.mu.Unlock()
			if lastWasReset, err = query(); err != nil {
				return err
			}
			awaiting = true
		case rtr.SerialNotify:
			if tx == nil && !awaiting {
				if lastWasReset, err = query(); err != nil {
					return err
				}
				awaiting = true
			}
		default:
			return fail(&rtr.Error{Code: rtr.InvalidRequest, PDU: raw, Msg: p.Type.String() + " is not sent by a cache"})
		}
	}
}

// txPrefix records a prefix PDU in the open transaction, checking it
// against the current data (RFC 8210 §5.6: duplicate announcements and
// withdrawals of unknown records are errors).
func (c *RTRClient) txPrefix(tx *txState, v VRP, announce bool, raw []byte) error {
	if tx.reset {
		if !announce {
			return &rtr.Error{Code: rtr.WithdrawalOfUnknownRecord, PDU: raw, Msg: fmt.Sprintf("withdrawal of %s in a reset response", v)}
		}
		if tx.vrps[v] {
			return &rtr.Error{Code: rtr.DuplicateAnnouncement, PDU: raw, Msg: fmt.Sprintf("duplicate announcement of %s", v)}
		}
		tx.vrps[v] = true
		return nil
	}
	present, seen := tx.vrps[v]
	if !seen {
		c.mu.Lock()
		_, present = c.data.vrps[v]
		c.mu.Unlock()
	}
	switch {
	case announce && present:
		return &rtr.Error{Code: rtr.DuplicateAnnouncement, PDU: raw, Msg: fmt.Sprintf("duplicate announcement of %s", v)}
	case !announce && !present:
		return &rtr.Error{Code: rtr.WithdrawalOfUnknownRecord, PDU: raw, Msg: fmt.Sprintf("withdrawal of unknown %s", v)}
	}
	tx.vrps[v] = announce
	return nil
}

func clampDur(v uint32, lo, hi uint32) time.Duration {
	v = max(lo, min(hi, v))
	return time.Duration(v) * time.Second
}

// commit applies a finished transaction and returns the number of changes.
func (c *RTRClient) commit(tx *txState, eod rtr.PDU) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(tx.vrps) + len(tx.aspas) + len(tx.aspaDel)
	if tx.reset {
		d := rtrData{vrps: make(map[VRP]struct{}, len(tx.vrps)), aspas: tx.aspas}
		for v := range tx.vrps {
			d.vrps[v] = struct{}{}
		}
		c.data = d
	} else {
		if c.data.vrps == nil {
			c.data.vrps = map[VRP]struct{}{}
		}
		if c.data.aspas == nil {
			c.data.aspas = map[uint32][]uint32{}
		}
		for v, ann := range tx.vrps {
			if ann {
				c.data.vrps[v] = struct{}{}
			} else {
				delete(c.data.vrps, v)
			}
		}
		for cu := range tx.aspaDel {
			delete(c.data.aspas, cu)
		}
		for cu, ps := range tx.aspas {
			c.data.aspas[cu] = ps
		}
	}
	c.hasData, c.hasSess = true, true
	c.sessionID, c.serial = eod.SessionID, eod.Serial
	if eod.Version > 0 {
		// RFC 8210 §6 bounds.
		c.refresh = clampDur(eod.Refresh, 1, 86400)
		c.retry = clampDur(eod.Retry, 1, 7200)
		c.expire = clampDur(eod.Expire, 600, 172800)
	}
	c.lastSync = c.opts.Now()
	c.synced, c.expired = true, false
	c.state = StateSynced
	c.lastErr = ""
	return n
}
