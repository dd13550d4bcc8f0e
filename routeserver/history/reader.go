package history

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/policy"
)

// Reader answers questions from a history database. It opens the file
// read-only and works while a route server writes it (WAL readers see the
// last commit).
type Reader struct {
	db   *sql.DB
	path string
}

// OpenReader opens the history database at path read-only. Errors name
// the file and the problem: missing, unreadable, not SQLite, another
// application's database, a newer schema.
func OpenReader(path string) (*Reader, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%s: no such file (history is written where [server] history points, by a running fedrs)", path)
	case err != nil:
		return nil, fmt.Errorf("%s: cannot read: %w", path, err)
	case st.IsDir():
		return nil, fmt.Errorf("%s: is a directory, not a history database file", path)
	case st.Size() == 0:
		return nil, fmt.Errorf("%s: %w: the file is empty", path, ErrNotHistory)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read: %w", path, errors.Unwrap(err))
	}
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	f.Close()
	if !bytes.Equal(head[:n], []byte("SQLite format 3\x00")) {
		return nil, fmt.Errorf("%s: %w: the file is not a SQLite database (it starts with %q)", path, ErrNotHistory, printable(head[:n]))
	}
	db, err := sql.Open("sqlite", dsn(path, "ro", "busy_timeout(10000)", "query_only(1)"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ctx := context.Background()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, describeOpenError(path, err)
	}
	version, empty, err := checkIdentity(ctx, db, path)
	if err == nil && empty {
		err = fmt.Errorf("%s: %w: the SQLite database has no tables", path, ErrNotHistory)
	}
	if err == nil && version < SchemaVersion {
		err = fmt.Errorf("%s: schema version %d is older than this fedrs reads (%d): start fedrs run with it once to migrate it", path, version, SchemaVersion)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Reader{db: db, path: path}, nil
}

func printable(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			out = append(out, c)
		} else {
			out = append(out, '.')
		}
	}
	return string(out)
}

// Close closes the database.
func (r *Reader) Close() error { return r.db.Close() }

// Path returns the database file.
func (r *Reader) Path() string { return r.path }

// Version is one route version: a neighbour's route for a prefix with
// one set of attributes and one verdict, from From until To (zero: still
// held at the last commit).
type Version struct {
	ID        int64        `json:"id"`
	Prefix    netip.Prefix `json:"prefix"`
	Member    string       `json:"member"`
	Neighbor  string       `json:"neighbor"`
	PathID    uint32       `json:"path_id"`
	From      time.Time    `json:"from"`
	To        *time.Time   `json:"to"`
	Cause     string       `json:"cause"`
	EndCause  string       `json:"end_cause,omitempty"`
	Recovered bool         `json:"recovered,omitempty"`

	Accepted         bool     `json:"accepted"`
	Filtered         []string `json:"filtered,omitempty"`
	Tagged           []string `json:"tagged,omitempty"`
	ROV              string   `json:"rov"`
	ASPA             string   `json:"aspa"`
	Registry         string   `json:"registry"`
	Blackhole        bool     `json:"blackhole,omitempty"`
	GracefulShutdown bool     `json:"graceful_shutdown,omitempty"`

	Origin      string   `json:"origin"`
	ASPath      string   `json:"as_path"`
	NextHop     string   `json:"next_hop"`
	NextHopLL   string   `json:"next_hop_ll,omitempty"`
	MED         *uint32  `json:"med,omitempty"`
	Communities []string `json:"communities,omitempty"`
	Large       []string `json:"large_communities,omitempty"`
	OTC         *uint32  `json:"otc,omitempty"`

	// Exports are the exposure intervals of the version: to whom it was
	// exported, when.
	Exports []Export `json:"exported"`

	firstSet []string // routes.set_id's members; nil when the row has none
}

// Export is one exposure interval: the version was exposed to Members
// (sent to each on an established session and not yet withdrawn or
// replaced) from From to To (nil: still at the last commit).
type Export struct {
	From      time.Time  `json:"from"`
	To        *time.Time `json:"to"`
	Members   []string   `json:"members"`
	Recovered bool       `json:"recovered,omitempty"`
	// Transfers names the members whose exposure in this interval began
	// inside a session's initial transfer (the route was sent sometime
	// between the session's up and its End-of-RIB).
	Transfers []Transfer `json:"initial_transfer,omitempty"`
}

// Query selects route versions.
type Query struct {
	// Prefix, when valid, selects that prefix; Covering adds the less
	// specific prefixes containing it, MoreSpecifics those inside it.
	Prefix                  netip.Prefix
	Covering, MoreSpecifics bool
	// Since and Until (zero: unbounded) keep the versions whose interval
	// overlaps [Since, Until).
	Since, Until time.Time
	// Member keeps one member's routes.
	Member string
	// FilteredOnly keeps filtered versions; Reason (a name like
	// "next_hop", or a code like "8" or "1101:8") those filtered for it.
	FilteredOnly bool
	Reason       string
	// Limit caps the number of versions (0: no cap).
	Limit int
}

const versionColumns = `r.id, r.family, r.pstart, r.plen, r.path_id, m.name, s.addr, r.valid_from, r.valid_to, fc.text, tc.text, r.recovered,
	v.accepted, v.filtered, v.tagged, v.rov, v.aspa, v.registry, v.blackhole, v.graceful_shutdown,
	a.origin, a.as_path, a.next_hop, a.next_hop_ll, a.med, a.communities, a.large, a.otc, ms0.members`

const versionJoins = ` CROSS JOIN sources s ON s.id = r.source_id CROSS JOIN members m ON m.id = s.member_id
	CROSS JOIN verdicts v ON v.id = r.verdict_id CROSS JOIN attr_sets a ON a.id = r.attrs_id
	CROSS JOIN causes fc ON fc.id = r.from_cause LEFT JOIN causes tc ON tc.id = r.to_cause
	LEFT JOIN member_sets ms0 ON ms0.id = r.set_id`

// Versions returns the route versions q selects, ordered by prefix,
// then time, with their exposure intervals.
func (r *Reader) Versions(ctx context.Context, q Query) ([]Version, error) {
	var where []string
	var args []any
	if q.Prefix.IsValid() {
		w, a := prefixWhere(q.Prefix, q.Covering, q.MoreSpecifics)
		where, args = append(where, w), append(args, a...)
	}
	if !q.Until.IsZero() {
		where, args = append(where, "r.valid_from < ?"), append(args, q.Until.UnixMicro())
	}
	if !q.Since.IsZero() {
		where, args = append(where, "(r.valid_to IS NULL OR r.valid_to > ?)"), append(args, q.Since.UnixMicro())
	}
	if q.Member != "" {
		id, err := r.memberID(ctx, q.Member)
		if err != nil {
			return nil, err
		}
		where, args = append(where, "r.source_id IN (SELECT id FROM sources WHERE member_id = ?)"), append(args, id)
	}
	if q.FilteredOnly || q.Reason != "" {
		where = append(where, "r.filtered = 1")
	}
	if q.Reason != "" {
		name, code, err := ParseReason(q.Reason)
		if err != nil {
			return nil, err
		}
		where = append(where, "r.verdict_id IN (SELECT verdict_id FROM verdict_reasons WHERE kind = 'filtered' AND (reason = ? OR code = ?))")
		args = append(args, name, code)
	}
	if len(where) == 0 {
		where = append(where, "1")
	}
	query := "SELECT " + versionColumns + " FROM routes r" + versionJoins + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY r.family, r.pstart, r.plen, r.valid_from, r.id" + limitClause(q.Limit)
	vs, err := r.scanVersions(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return vs, r.attachExports(ctx, vs, time.Time{})
}

// limitClause is a LIMIT clause for limit rows (none for 0).
func limitClause(limit int) string {
	if limit <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d", limit)
}

// prefixWhere selects p, and optionally its covering and more-specific
// prefixes.
func prefixWhere(p netip.Prefix, covering, more bool) (string, []any) {
	p = p.Masked()
	fam := 4
	if p.Addr().Is6() {
		fam = 6
	}
	start, end := prefixRange(p)
	var ors []string
	args := []any{fam}
	if covering {
		for bits := 0; bits <= p.Bits(); bits++ {
			q, _ := p.Addr().Prefix(bits)
			s, _ := prefixRange(q)
			ors = append(ors, "(r.pstart = ? AND r.plen = ?)")
			args = append(args, s, bits)
		}
	} else if !more {
		ors = append(ors, "(r.pstart = ? AND r.plen = ?)")
		args = append(args, start, p.Bits())
	}
	if more {
		ors = append(ors, "(r.pstart BETWEEN ? AND ? AND r.plen >= ?)")
		args = append(args, start, end, p.Bits())
	}
	return "r.family = ? AND (" + strings.Join(ors, " OR ") + ")", args
}

// At returns the RIB as it stood at t: every route version held then,
// accepted and filtered, optionally of one member, with the exposure in
// force at t.
func (r *Reader) At(ctx context.Context, t time.Time, member string) ([]Version, error) {
	return r.AtLimit(ctx, t, member, 0)
}

// AtLimit is At with at most limit versions (0: no cap), the first in
// prefix order.
func (r *Reader) AtLimit(ctx context.Context, t time.Time, member string, limit int) ([]Version, error) {
	where := "r.valid_from <= ?1 AND (r.valid_to IS NULL OR r.valid_to > ?1)"
	args := []any{t.UnixMicro()}
	if member != "" {
		id, err := r.memberID(ctx, member)
		if err != nil {
			return nil, err
		}
		where += " AND r.source_id IN (SELECT id FROM sources WHERE member_id = ?2)"
		args = append(args, id)
	}
	vs, err := r.scanVersions(ctx, "SELECT "+versionColumns+" FROM routes r"+versionJoins+" WHERE "+where+
		" ORDER BY r.family, r.pstart, r.plen, m.name, s.addr, r.path_id"+limitClause(limit), args...)
	if err != nil {
		return nil, err
	}
	return vs, r.attachExports(ctx, vs, t)
}

// ExportedTo returns what was exposed to member at t: per prefix, the
// route version sent to it on an established session and not withdrawn
// or replaced by then. up reports whether a session of the member was
// established at t; when none was, nothing was exposed to it.
func (r *Reader) ExportedTo(ctx context.Context, t time.Time, member string) (vs []Version, up bool, err error) {
	return r.ExportedToLimit(ctx, t, member, 0)
}

// ExportedToLimit is ExportedTo with at most limit versions (0: no cap),
// the first in prefix order.
func (r *Reader) ExportedToLimit(ctx context.Context, t time.Time, member string, limit int) (vs []Version, up bool, err error) {
	id, err := r.memberID(ctx, member)
	if err != nil {
		return nil, false, err
	}
	us := t.UnixMicro()
	ix, err := r.sessionIndex(ctx, us, us+1)
	if err != nil {
		return nil, false, err
	}
	var fams []string
	for fi, name := range []string{"4", "6"} {
		for _, sp := range ix.upAt(member, us) {
			if sp.fams[fi] {
				fams = append(fams, name)
				break
			}
		}
	}
	if len(ix.upAt(member, us)) == 0 {
		return nil, false, nil
	}
	if len(fams) == 0 {
		return nil, true, nil // up, but carrying no family
	}
	// The version's first set (routes.set_id) is in force at t when no
	// exposure row of it has started by then; otherwise the row in force.
	vs, err = r.scanVersions(ctx, "SELECT "+versionColumns+" FROM routes r"+versionJoins+`
		WHERE r.valid_from <= ?1 AND (r.valid_to IS NULL OR r.valid_to > ?1) AND (
			(r.set_id IN (SELECT set_id FROM member_set_members WHERE member_id = ?2)
				AND NOT EXISTS (SELECT 1 FROM exposures e0 WHERE e0.route_id = r.id AND e0.valid_from <= ?1))
			OR EXISTS (SELECT 1 FROM exposures e WHERE e.route_id = r.id
				AND e.valid_from <= ?1 AND (e.valid_to IS NULL OR e.valid_to > ?1)
				AND e.set_id IN (SELECT set_id FROM member_set_members WHERE member_id = ?2)))
			AND r.family IN (`+strings.Join(fams, ", ")+`)
		ORDER BY r.family, r.pstart, r.plen, m.name`+limitClause(limit), us, id)
	if err != nil {
		return nil, true, err
	}
	if err := r.attachExports(ctx, vs, t); err != nil {
		return nil, true, err
	}
	// The stored sets name the member; its sessions at t must also have
	// carried the route's family.
	kept := vs[:0]
	for _, v := range vs {
		if len(v.Exports) > 0 && slices.Contains(v.Exports[0].Members, member) {
			kept = append(kept, v)
		}
	}
	return kept, true, nil
}

func (r *Reader) scanVersions(ctx context.Context, query string, args ...any) ([]Version, error) {
	rows, err := r.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, r.wrap(err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		var fam, plen int
		var start []byte
		var from int64
		var to, med, otc sql.NullInt64
		var endCause, firstSet sql.NullString
		var filtered, tagged, comms, large string
		if err := rows.Scan(&v.ID, &fam, &start, &plen, &v.PathID, &v.Member, &v.Neighbor, &from, &to, &v.Cause, &endCause, &v.Recovered,
			&v.Accepted, &filtered, &tagged, &v.ROV, &v.ASPA, &v.Registry, &v.Blackhole, &v.GracefulShutdown,
			&v.Origin, &v.ASPath, &v.NextHop, &v.NextHopLL, &med, &comms, &large, &otc, &firstSet); err != nil {
			return nil, r.wrap(err)
		}
		addr, ok := netip.AddrFromSlice(start)
		if !ok {
			return nil, fmt.Errorf("%s: route version %d has a malformed prefix", r.path, v.ID)
		}
		v.Prefix = netip.PrefixFrom(addr, plen)
		v.From = time.UnixMicro(from)
		v.To = timePtr(to)
		v.EndCause = endCause.String
		v.Filtered, v.Tagged = strings.Fields(filtered), strings.Fields(tagged)
		v.Communities, v.Large = strings.Fields(comms), strings.Fields(large)
		if med.Valid {
			m := uint32(med.Int64)
			v.MED = &m
		}
		if otc.Valid {
			o := uint32(otc.Int64)
			v.OTC = &o
		}
		v.Exports = []Export{}
		if firstSet.Valid {
			v.firstSet = strings.Fields(firstSet.String)
			if v.firstSet == nil {
				v.firstSet = []string{}
			}
		}
		out = append(out, v)
	}
	return out, r.wrap(rows.Err())
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64)
	return &t
}

// attachExports loads the exposure intervals of vs (only the one in force
// at `at` when it is not zero). A version's stored intervals are its
// first export set (routes.set_id) from its start, then its exposure rows
// in order; each lasts until the next one starts, its own end, or the
// version's end, and rows of the empty set only end the previous one.
// Each is then intersected with the members' sessions (sessionIndex.refine).
func (r *Reader) attachExports(ctx context.Context, vs []Version, at time.Time) error {
	if len(vs) == 0 {
		return nil
	}
	idx := make(map[int64]int, len(vs))
	rows := make([][]expRowOut, len(vs))
	lo, hi := int64(forever), int64(0)
	for i := range vs {
		idx[vs[i].ID] = i
		lo = min(lo, vs[i].From.UnixMicro())
		if vs[i].To == nil {
			hi = forever
		} else {
			hi = max(hi, vs[i].To.UnixMicro())
		}
	}
	if !at.IsZero() {
		lo, hi = at.UnixMicro(), at.UnixMicro()+1
	}
	ix, err := r.sessionIndex(ctx, lo, hi)
	if err != nil {
		return err
	}
	const chunk = 500
	for lo := 0; lo < len(vs); lo += chunk {
		hi := min(lo+chunk, len(vs))
		var ph []string
		var args []any
		for _, v := range vs[lo:hi] {
			ph = append(ph, "?")
			args = append(args, v.ID)
		}
		q := "SELECT e.route_id, e.valid_from, e.valid_to, e.recovered, e.set_id, COALESCE(ms.members, '') FROM exposures e LEFT JOIN member_sets ms ON ms.id = e.set_id WHERE e.route_id IN (" +
			strings.Join(ph, ",") + ") ORDER BY e.route_id, e.valid_from"
		res, err := r.db.QueryContext(ctx, q, args...)
		if err != nil {
			return r.wrap(err)
		}
		for res.Next() {
			var id int64
			var e expRowOut
			if err := res.Scan(&id, &e.from, &e.to, &e.recovered, &e.set, &e.members); err != nil {
				res.Close()
				return r.wrap(err)
			}
			rows[idx[id]] = append(rows[idx[id]], e)
		}
		res.Close()
		if err := res.Err(); err != nil {
			return r.wrap(err)
		}
	}
	for i := range vs {
		v := &vs[i]
		var segs []Export
		end := func(t time.Time) { // ends the last interval at t if still open
			if n := len(segs); n > 0 && segs[n-1].To == nil {
				segs[n-1].To = &t
			}
		}
		if v.firstSet != nil && len(v.firstSet) > 0 {
			segs = append(segs, Export{From: v.From, Members: v.firstSet})
		}
		for _, e := range rows[i] {
			from := time.UnixMicro(e.from)
			end(from)
			if e.set == 0 {
				continue
			}
			segs = append(segs, Export{From: from, To: timePtr(e.to), Members: strings.Fields(e.members), Recovered: e.recovered})
		}
		if n := len(segs); n > 0 && segs[n-1].To == nil && v.To != nil {
			segs[n-1].To, segs[n-1].Recovered = v.To, segs[n-1].Recovered || v.Recovered
		}
		fam := 4
		if v.Prefix.Addr().Is6() {
			fam = 6
		}
		segs = ix.refine(segs, fam)
		for _, s := range segs {
			if !at.IsZero() && (s.From.After(at) || (s.To != nil && !s.To.After(at))) {
				continue
			}
			v.Exports = append(v.Exports, s)
		}
	}
	return nil
}

// expRowOut is one exposures row as attachExports reads it.
type expRowOut struct {
	from      int64
	to        sql.NullInt64
	recovered bool
	set       int64
	members   string
}

func (r *Reader) wrap(err error) error {
	if err == nil {
		return nil
	}
	return describeOpenError(r.path, err)
}

// Members lists the member names the database knows.
func (r *Reader) Members(ctx context.Context) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, "SELECT name FROM members ORDER BY name")
	if err != nil {
		return nil, r.wrap(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, r.wrap(err)
		}
		out = append(out, n)
	}
	return out, r.wrap(rows.Err())
}

func (r *Reader) memberID(ctx context.Context, name string) (int64, error) {
	var id int64
	err := r.db.QueryRowContext(ctx, "SELECT id FROM members WHERE name = ?", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		names, _ := r.Members(ctx)
		if len(names) > 12 {
			names = append(names[:12:12], "...")
		}
		return 0, fmt.Errorf("%w: %q (members recorded: %s)", ErrUnknownMember, name, strings.Join(names, ", "))
	}
	return id, r.wrap(err)
}

// ParseReason resolves a filter reason given by name ("next_hop") or code
// ("8", "1101:8") to its name and code.
func ParseReason(s string) (name string, code uint32, err error) {
	if r, ok := policy.ReasonByName(strings.TrimSpace(s)); ok {
		return r.String(), r.Info().Code, nil
	}
	var names []string
	for _, r := range policy.AllReasons() {
		names = append(names, fmt.Sprintf("%s (%d)", r, r.Info().Code))
	}
	return "", 0, fmt.Errorf("reason %q is not known; use a name or code: %s", s, strings.Join(names, ", "))
}

// Session is one BGP session of a member.
type Session struct {
	Member     string     `json:"member"`
	Neighbor   string     `json:"neighbor"`
	Up         *time.Time `json:"up"`
	Down       *time.Time `json:"down"`
	PeerASN    *uint32    `json:"peer_asn,omitempty"`
	PeerID     string     `json:"peer_id,omitempty"`
	LocalAddr  string     `json:"local_addr,omitempty"`
	RemoteAddr string     `json:"remote_addr,omitempty"`
	HoldTime   *int64     `json:"hold_time,omitempty"`
	// Negotiated is what the session negotiated (families,
	// capabilities, role, graceful restart), a JSON object.
	Negotiated json.RawMessage `json:"negotiated,omitempty"`
	// Families are the families the route server sent on the session
	// ("ipv4-unicast", "ipv6-unicast"); Synced, per family, when it sent
	// End-of-RIB: the end of the initial transfer of its table (absent:
	// not completed, or recorded before schema version 3).
	Families    []string             `json:"families,omitempty"`
	Synced      map[string]time.Time `json:"synced,omitempty"`
	DownReason  string               `json:"down_reason,omitempty"`
	Sent        *Notify              `json:"notification_sent,omitempty"`
	Received    *Notify              `json:"notification_received,omitempty"`
	GracefulRst bool                 `json:"graceful_restart,omitempty"`
	Recovered   bool                 `json:"recovered,omitempty"`
}

// Notify is a NOTIFICATION as recorded.
type Notify struct {
	Code    uint8  `json:"code"`
	Subcode uint8  `json:"subcode"`
	Message string `json:"message,omitempty"` // RFC 9003 shutdown communication
}

// Sessions lists sessions overlapping [since, until), of one member or
// all.
func (r *Reader) Sessions(ctx context.Context, member string, since, until time.Time) ([]Session, error) {
	return r.SessionsLimit(ctx, member, since, until, 0)
}

// SessionsLimit is Sessions with at most limit sessions (0: no cap), the
// first in time order.
func (r *Reader) SessionsLimit(ctx context.Context, member string, since, until time.Time, limit int) ([]Session, error) {
	where := []string{"1"}
	var args []any
	if member != "" {
		id, err := r.memberID(ctx, member)
		if err != nil {
			return nil, err
		}
		where, args = append(where, "x.member_id = ?"), append(args, id)
	}
	if !until.IsZero() {
		where, args = append(where, "COALESCE(x.up_at, x.down_at) < ?"), append(args, until.UnixMicro())
	}
	if !since.IsZero() {
		where, args = append(where, "(x.down_at IS NULL OR x.down_at > ?)"), append(args, since.UnixMicro())
	}
	rows, err := r.db.QueryContext(ctx, `SELECT m.name, x.neighbor, x.up_at, x.down_at, x.peer_asn, x.peer_id, x.local_addr, x.remote_addr, x.hold_time,
		x.negotiated, x.down_reason, x.sent_code, x.sent_subcode, x.sent_message, x.recv_code, x.recv_subcode, x.recv_message, x.graceful_restart, x.recovered,
		x.families, (SELECT group_concat(family || ':' || synced_at, ' ') FROM session_syncs y WHERE y.session_id = x.id)
		FROM sessions x JOIN members m ON m.id = x.member_id WHERE `+strings.Join(where, " AND ")+` ORDER BY COALESCE(x.up_at, x.down_at), x.id`+limitClause(limit), args...)
	if err != nil {
		return nil, r.wrap(err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var s Session
		var up, down, asn, hold, sc, ss, rc, rs, gr sql.NullInt64
		var peerID, local, remote, neg, reason, sm, rm, fams, synced sql.NullString
		if err := rows.Scan(&s.Member, &s.Neighbor, &up, &down, &asn, &peerID, &local, &remote, &hold, &neg, &reason,
			&sc, &ss, &sm, &rc, &rs, &rm, &gr, &s.Recovered, &fams, &synced); err != nil {
			return nil, r.wrap(err)
		}
		if neg.Valid && json.Valid([]byte(neg.String)) {
			s.Negotiated = json.RawMessage(neg.String)
		}
		for _, f := range strings.Fields(fams.String) {
			s.Families = append(s.Families, familyName(f))
		}
		for _, fs := range strings.Fields(synced.String) {
			f, at, _ := strings.Cut(fs, ":")
			if us, err := strconv.ParseInt(at, 10, 64); err == nil {
				if s.Synced == nil {
					s.Synced = map[string]time.Time{}
				}
				s.Synced[familyName(f)] = time.UnixMicro(us)
			}
		}
		s.Up, s.Down = timePtr(up), timePtr(down)
		if asn.Valid {
			a := uint32(asn.Int64)
			s.PeerASN = &a
		}
		if hold.Valid {
			s.HoldTime = &hold.Int64
		}
		s.PeerID, s.LocalAddr, s.RemoteAddr, s.DownReason = peerID.String, local.String, remote.String, reason.String
		if sc.Valid {
			s.Sent = &Notify{Code: uint8(sc.Int64), Subcode: uint8(ss.Int64), Message: sm.String}
		}
		if rc.Valid {
			s.Received = &Notify{Code: uint8(rc.Int64), Subcode: uint8(rs.Int64), Message: rm.String}
		}
		s.GracefulRst = gr.Int64 != 0
		out = append(out, s)
	}
	return out, r.wrap(rows.Err())
}

// familyName names a family as stored ("4", "6").
func familyName(f string) string {
	if f == "6" {
		return "ipv6-unicast"
	}
	return "ipv4-unicast"
}

// Notice is a period in which the history is incomplete: events dropped
// (a gap), a crash (between the last heartbeat and the next start), or no
// writer running.
type Notice struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Text string    `json:"text"`
}

// Notices returns the periods overlapping [since, until) in which the
// history is incomplete (zero times: unbounded).
func (r *Reader) Notices(ctx context.Context, since, until time.Time) ([]Notice, error) {
	lo, hi := int64(0), int64(1<<62)
	if !since.IsZero() {
		lo = since.UnixMicro()
	}
	if !until.IsZero() {
		hi = until.UnixMicro()
	}
	var out []Notice
	rows, err := r.db.QueryContext(ctx, `SELECT first_at, last_at, route_events, exposure_events, other_events, reason FROM gaps
		WHERE last_at >= ? AND first_at < ? ORDER BY first_at`, lo, hi)
	if err != nil {
		return nil, r.wrap(err)
	}
	for rows.Next() {
		var first, last, re, ee, oe int64
		var reason string
		if err := rows.Scan(&first, &last, &re, &ee, &oe, &reason); err != nil {
			rows.Close()
			return nil, r.wrap(err)
		}
		out = append(out, Notice{From: time.UnixMicro(first), To: time.UnixMicro(last),
			Text: fmt.Sprintf("history incomplete: %d route, %d export and %d other events not recorded (%s)", re, ee, oe, reason)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, r.wrap(err)
	}
	// Runs: a crash window (last heartbeat to the next start) and the
	// time no writer ran.
	rows, err = r.db.QueryContext(ctx, "SELECT started_at, COALESCE(stopped_at, last_seen), clean, stopped_at IS NULL FROM runs ORDER BY started_at")
	if err != nil {
		return nil, r.wrap(err)
	}
	type run struct {
		start, end  int64
		clean, open bool
	}
	var runs []run
	for rows.Next() {
		var x run
		if err := rows.Scan(&x.start, &x.end, &x.clean, &x.open); err != nil {
			rows.Close()
			return nil, r.wrap(err)
		}
		runs = append(runs, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, r.wrap(err)
	}
	for i := 0; i+1 < len(runs); i++ {
		a, b := runs[i].end, runs[i+1].start
		if b <= lo || a >= hi || b <= a {
			continue
		}
		text := "no route server was recording (stopped cleanly, then started again)"
		if !runs[i].clean {
			text = "the route server stopped without a clean shutdown (crash or kill): intervals open then were closed at its last heartbeat and marked recovered; nothing is known until the next start"
		}
		out = append(out, Notice{From: time.UnixMicro(a), To: time.UnixMicro(b), Text: text})
	}
	if n := len(runs); n > 0 && !runs[n-1].open && runs[n-1].end < hi {
		out = append(out, Notice{From: time.UnixMicro(runs[n-1].end), To: time.UnixMicro(max(hi, runs[n-1].end)),
			Text: "no route server has recorded since this time"})
	}
	slices.SortFunc(out, func(a, b Notice) int { return a.From.Compare(b.From) })
	return out, nil
}

// Info summarises the database.
type Info struct {
	Path          string    `json:"path"`
	SchemaVersion int       `json:"schema_version"`
	Routes        int64     `json:"route_versions"`
	Open          int64     `json:"open_route_versions"`
	Members       int64     `json:"members"`
	Sessions      int64     `json:"sessions"`
	Runs          int64     `json:"runs"`
	LastSeen      time.Time `json:"last_seen"`
}

// Info returns counts and the last time the writer was seen.
func (r *Reader) Info(ctx context.Context) (Info, error) {
	in := Info{Path: r.path}
	var last sql.NullInt64
	err := r.db.QueryRowContext(ctx, `SELECT (SELECT MAX(version) FROM schema_version), (SELECT COUNT(*) FROM routes),
		(SELECT COUNT(*) FROM routes WHERE valid_to IS NULL), (SELECT COUNT(*) FROM members), (SELECT COUNT(*) FROM sessions),
		(SELECT COUNT(*) FROM runs), (SELECT MAX(last_seen) FROM runs)`).Scan(&in.SchemaVersion, &in.Routes, &in.Open, &in.Members, &in.Sessions, &in.Runs, &last)
	if last.Valid {
		in.LastSeen = time.UnixMicro(last.Int64)
	}
	return in, r.wrap(err)
}
