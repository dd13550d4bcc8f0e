package history

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
)

// The kinds of event the event list holds.
const (
	// EventFiltered: a filter decision, a route version the import policy
	// filtered (announced so, or re-evaluated so by a reload or RPKI).
	EventFiltered = "filtered"
	// EventSession: a BGP session came up or went down.
	EventSession = "session"
	// EventReload: the configuration was loaded (at start) or reloaded.
	EventReload = "reload"
	// EventRPKI: the RPKI data changed.
	EventRPKI = "rpki"
	// EventGap: events the history could not record.
	EventGap = "gap"
	// EventControl: a state-changing request on a control socket (or one
	// refused there), with its caller. Shown to the operator only: a
	// query for a member's events leaves them out.
	EventControl = "control"
)

// EventKinds are the kinds of event, in the order the page lists them.
var EventKinds = []string{EventFiltered, EventSession, EventReload, EventRPKI, EventGap, EventControl}

// Bounds of an event query's limit.
const (
	DefaultEventLimit = 100
	MaxEventLimit     = 1000
)

// ErrBadEventQuery is wrapped by the errors of an event query that is
// malformed (an unknown kind or reason, a malformed cursor, a limit out of
// range).
var ErrBadEventQuery = errors.New("bad event query")

// Event is one entry of the event list. Which fields are set depends on
// Kind; Text says it in one line.
type Event struct {
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	// ID is the event's place in the list, a cursor: the list continues
	// after it with EventQuery.After, before it with Before.
	ID   string `json:"id"`
	Text string `json:"text"`
	// Member and Neighbor: whose route or session (filtered, session).
	Member   string `json:"member,omitempty"`
	Neighbor string `json:"neighbor,omitempty"`

	// A filter decision: the route and why it was filtered. Cause is why
	// the version began ("update", "rpki", "policy"); Until when it ended
	// (nil: still held at the last commit).
	Prefix  string        `json:"prefix,omitempty"`
	PathID  uint32        `json:"path_id,omitempty"`
	ASPath  string        `json:"as_path,omitempty"`
	NextHop string        `json:"next_hop,omitempty"`
	Cause   string        `json:"cause,omitempty"`
	Until   *time.Time    `json:"until,omitempty"`
	Reasons []EventReason `json:"reasons,omitempty"`

	// A session event: State is "up" or "down"; a down has its reason and
	// the NOTIFICATION sent or received, Notification their text.
	State        string  `json:"state,omitempty"`
	PeerASN      *uint32 `json:"peer_asn,omitempty"`
	DownReason   string  `json:"down_reason,omitempty"`
	Sent         *Notify `json:"notification_sent,omitempty"`
	Received     *Notify `json:"notification_received,omitempty"`
	Notification string  `json:"notification,omitempty"`
	Recovered    bool    `json:"recovered,omitempty"`

	// A (re)load of the configuration: the file, its hash, how many
	// members, what changed ("" for the load at start).
	File    string `json:"file,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Members *int   `json:"members,omitempty"`
	Changes string `json:"changes,omitempty"`

	// An RPKI change: serial, table sizes, verdicts changed by it.
	Serial          *int64 `json:"serial,omitempty"`
	VRPs            *int64 `json:"vrps,omitempty"`
	ASPAs           *int64 `json:"aspas,omitempty"`
	VerdictsChanged *int64 `json:"verdicts_changed,omitempty"`

	// A gap: to when events were not recorded (from Time), how many.
	GapTo      *time.Time `json:"gap_to,omitempty"`
	LostEvents *int64     `json:"lost_events,omitempty"`
	GapReason  string     `json:"gap_reason,omitempty"`

	// A control request: the command, the caller's credentials (absent:
	// unknown), the HTTP status and "ok" or the error the caller was
	// given; read_only when it came to the read-only socket.
	Command  string `json:"command,omitempty"`
	UID      *int64 `json:"uid,omitempty"`
	GID      *int64 `json:"gid,omitempty"`
	PID      *int64 `json:"pid,omitempty"`
	Status   int    `json:"status,omitempty"`
	Result   string `json:"result,omitempty"`
	ReadOnly bool   `json:"read_only,omitempty"`
	stream   string
	row      int64
}

// EventReason is one reason of a filter decision: its name, Euro-IX (or
// fedrs) code, and text. Community is the large community that carries
// it, RSASN:1101:Code (set by the caller, who knows the route server's
// AS).
type EventReason struct {
	Name      string `json:"name"`
	Code      uint32 `json:"code"`
	Text      string `json:"text"`
	Community string `json:"community,omitempty"`
}

// EventQuery selects events. The list is newest first.
type EventQuery struct {
	// Kinds keeps these kinds (none: all).
	Kinds []string
	// Member keeps that member's events (its sessions, its routes'
	// filter decisions) and the events that concern every member
	// (reloads, RPKI changes, gaps).
	Member string
	// Prefix keeps the filter decisions for the prefix and its more
	// specifics; Reason (a name, or a code like "8" or "1101:8") those
	// filtered for it. Either keeps only filter decisions.
	Prefix netip.Prefix
	Reason string
	// Since and Until (zero: unbounded) keep events in [Since, Until).
	Since, Until time.Time
	// Limit is the page size (0: DefaultEventLimit; at most
	// MaxEventLimit).
	Limit int
	// After continues the list after that event (older ones); Before
	// lists the page before it (newer ones). At most one.
	After, Before string
}

// EventPage is one page of the event list.
type EventPage struct {
	Events []Event `json:"events"`
	// Truncated: the list goes on after this page (older events); Next
	// is the cursor for them (EventQuery.After).
	Truncated bool   `json:"truncated"`
	Next      string `json:"next,omitempty"`
	// Prev is the cursor of the page before (newer events,
	// EventQuery.Before); "" on the first page.
	Prev string `json:"prev,omitempty"`
}

// eventKey orders the list: time, then stream, then row.
type eventKey struct {
	at     int64
	stream string
	row    int64
}

func (k eventKey) String() string { return fmt.Sprintf("%d.%s.%d", k.at, k.stream, k.row) }

func compareKeys(a, b eventKey) int {
	if c := cmp.Compare(a.at, b.at); c != 0 {
		return c
	}
	if c := strings.Compare(a.stream, b.stream); c != 0 {
		return c
	}
	return cmp.Compare(a.row, b.row)
}

// The event streams: each reads one table in time order. A session gives
// two streams (its up and its down).
const (
	streamFiltered    = "filtered"
	streamSessionUp   = "session-up"
	streamSessionDown = "session-down"
	streamReload      = "reload"
	streamRPKI        = "rpki"
	streamGap         = "gap"
	streamControl     = "control"
)

func streamsOf(kind string) []string {
	if kind == EventSession {
		return []string{streamSessionUp, streamSessionDown}
	}
	return []string{kind}
}

// ParseEventCursor checks an event cursor (Event.ID, EventPage.Next).
func ParseEventCursor(s string) error {
	_, err := parseCursor(s)
	return err
}

func parseCursor(s string) (eventKey, error) {
	parts := strings.Split(s, ".")
	bad := fmt.Errorf("%w: cursor %q is malformed (use the id of an event, or the next or prev of a page)", ErrBadEventQuery, s)
	if len(parts) != 3 {
		return eventKey{}, bad
	}
	at, err1 := strconv.ParseInt(parts[0], 10, 64)
	row, err2 := strconv.ParseInt(parts[2], 10, 64)
	switch parts[1] {
	case streamFiltered, streamSessionUp, streamSessionDown, streamReload, streamRPKI, streamGap, streamControl:
	default:
		return eventKey{}, bad
	}
	if err1 != nil || err2 != nil {
		return eventKey{}, bad
	}
	return eventKey{at: at, stream: parts[1], row: row}, nil
}

// keysetWhere is the condition on a stream's (time column, row id) that
// keeps the rows after (desc) or before (!desc) the cursor c in the
// list's order.
func keysetWhere(col, idCol, stream string, c eventKey, desc bool) (string, []any) {
	s := strings.Compare(stream, c.stream)
	if !desc {
		s = -s
	}
	lt := "<"
	if !desc {
		lt = ">"
	}
	switch {
	case s < 0: // this stream sorts before the cursor's at equal time
		return col + " " + lt + "= ?", []any{c.at}
	case s > 0:
		return col + " " + lt + " ?", []any{c.at}
	}
	return fmt.Sprintf("(%s %s ? OR (%s = ? AND %s %s ?))", col, lt, col, idCol, lt), []any{c.at, c.at, c.row}
}

// eventStream is one stream's query.
type eventStream struct {
	name  string
	col   string // the time column
	id    string // the row id column
	sel   string // SELECT ... FROM ... (aliases as used in col and id)
	where []string
	args  []any
	scan  func(*sql.Rows) (Event, error)
}

// Events returns one page of the events q selects, newest first.
func (r *Reader) Events(ctx context.Context, q EventQuery) (EventPage, error) {
	page := EventPage{Events: []Event{}}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultEventLimit
	}
	if limit < 0 || limit > MaxEventLimit {
		return page, fmt.Errorf("%w: limit %d: want 1-%d", ErrBadEventQuery, q.Limit, MaxEventLimit)
	}
	if q.After != "" && q.Before != "" {
		return page, fmt.Errorf("%w: give after or before, not both", ErrBadEventQuery)
	}
	var cur *eventKey
	desc := true
	for _, c := range []string{q.After, q.Before} {
		if c != "" {
			k, err := parseCursor(c)
			if err != nil {
				return page, err
			}
			cur = &k
		}
	}
	if q.Before != "" {
		desc = false
	}
	kinds := q.Kinds
	if len(kinds) == 0 {
		kinds = EventKinds
	}
	want := map[string]bool{}
	for _, k := range kinds {
		if !slices.Contains(EventKinds, k) {
			return page, fmt.Errorf("%w: kind %q is not known; use %s", ErrBadEventQuery, k, strings.Join(EventKinds, ", "))
		}
		want[k] = true
	}
	if q.Prefix.IsValid() || q.Reason != "" {
		// Only filter decisions have a prefix and a reason.
		want = map[string]bool{EventFiltered: want[EventFiltered]}
	}
	var memberID int64
	if q.Member != "" {
		id, err := r.memberID(ctx, q.Member)
		if err != nil {
			return page, err
		}
		memberID = id
	}
	var reason string
	if q.Reason != "" {
		name, _, err := ParseReason(q.Reason)
		if err != nil {
			return page, fmt.Errorf("%w: %v", ErrBadEventQuery, err)
		}
		reason = name
	}
	if q.Member != "" {
		// A member's events: control requests concern no member and
		// name the operators' accounts.
		want[EventControl] = false
	}
	var all []Event
	for _, kind := range EventKinds {
		if !want[kind] {
			continue
		}
		for _, name := range streamsOf(kind) {
			st := r.eventStream(name, q, memberID, reason)
			evs, err := r.readStream(ctx, st, q, cur, desc, limit+1)
			if err != nil {
				return page, err
			}
			all = append(all, evs...)
		}
	}
	slices.SortFunc(all, func(a, b Event) int {
		c := compareKeys(eventKey{a.Time.UnixMicro(), a.stream, a.row}, eventKey{b.Time.UnixMicro(), b.stream, b.row})
		if desc {
			return -c
		}
		return c
	})
	more := len(all) > limit
	if more {
		all = all[:limit]
	}
	if !desc {
		slices.Reverse(all)
	}
	for i := range all {
		all[i].ID = eventKey{all[i].Time.UnixMicro(), all[i].stream, all[i].row}.String()
	}
	page.Events = all
	if len(all) == 0 {
		return page, nil
	}
	first, last := all[0].ID, all[len(all)-1].ID
	if desc {
		if more {
			page.Truncated, page.Next = true, last
		}
		if cur != nil {
			page.Prev = first
		}
	} else {
		// A page before a cursor: the cursor's event and what follows it
		// are older.
		page.Truncated, page.Next = true, last
		if more {
			page.Prev = first
		}
	}
	return page, nil
}

// readStream runs one stream's query: at most n rows in list order.
func (r *Reader) readStream(ctx context.Context, st eventStream, q EventQuery, cur *eventKey, desc bool, n int) ([]Event, error) {
	where, args := st.where, st.args
	if !q.Since.IsZero() {
		where, args = append(where, st.col+" >= ?"), append(args, q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		where, args = append(where, st.col+" < ?"), append(args, q.Until.UnixMicro())
	}
	if cur != nil {
		w, a := keysetWhere(st.col, st.id, st.name, *cur, desc)
		where, args = append(where, w), append(args, a...)
	}
	if len(where) == 0 {
		where = []string{"1"}
	}
	dir := " DESC"
	if !desc {
		dir = ""
	}
	query := st.sel + " WHERE " + strings.Join(where, " AND ") + " ORDER BY " + st.col + dir + ", " + st.id + dir + limitClause(n)
	rows, err := r.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, r.wrap(err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		ev, err := st.scan(rows)
		if err != nil {
			return nil, r.wrap(err)
		}
		ev.stream = st.name
		out = append(out, ev)
	}
	return out, r.wrap(rows.Err())
}

// eventQueries returns the SQL of each stream of q (for tests of the
// query plans): stream name → query and arguments.
func (r *Reader) eventQueries(q EventQuery, memberID int64, reason string, cur *eventKey) map[string]struct {
	Query string
	Args  []any
} {
	out := map[string]struct {
		Query string
		Args  []any
	}{}
	for _, kind := range EventKinds {
		for _, name := range streamsOf(kind) {
			st := r.eventStream(name, q, memberID, reason)
			where, args := st.where, st.args
			if !q.Since.IsZero() {
				where, args = append(where, st.col+" >= ?"), append(args, q.Since.UnixMicro())
			}
			if cur != nil {
				w, a := keysetWhere(st.col, st.id, st.name, *cur, true)
				where, args = append(where, w), append(args, a...)
			}
			if len(where) == 0 {
				where = []string{"1"}
			}
			out[name] = struct {
				Query string
				Args  []any
			}{st.sel + " WHERE " + strings.Join(where, " AND ") + " ORDER BY " + st.col + " DESC, " + st.id + " DESC LIMIT 101", args}
		}
	}
	return out
}

// eventStream builds stream name's query for q.
func (r *Reader) eventStream(name string, q EventQuery, memberID int64, reason string) eventStream {
	switch name {
	case streamFiltered:
		st := eventStream{name: name, col: "r.valid_from", id: "r.id",
			sel: `SELECT r.id, r.valid_from, r.valid_to, r.pstart, r.plen, r.path_id, m.name, s.addr, v.filtered, a.as_path, a.next_hop, fc.text, r.recovered
			FROM routes r`,
			where: []string{"r.filtered = 1"},
		}
		switch {
		case q.Prefix.IsValid():
			st.sel += " INDEXED BY routes_prefix"
			w, a := prefixWhere(q.Prefix, false, true)
			st.where, st.args = append(st.where, w), append(st.args, a...)
		case memberID != 0:
			st.sel += " INDEXED BY routes_filtered_source"
		case reason == "":
			st.sel += " INDEXED BY routes_filtered_at"
		}
		st.sel += ` CROSS JOIN sources s ON s.id = r.source_id CROSS JOIN members m ON m.id = s.member_id
			CROSS JOIN verdicts v ON v.id = r.verdict_id CROSS JOIN attr_sets a ON a.id = r.attrs_id
			CROSS JOIN causes fc ON fc.id = r.from_cause`
		if memberID != 0 {
			st.where, st.args = append(st.where, "r.source_id IN (SELECT id FROM sources WHERE member_id = ?)"), append(st.args, memberID)
		}
		if reason != "" {
			st.where = append(st.where, "r.verdict_id IN (SELECT verdict_id FROM verdict_reasons WHERE kind = 'filtered' AND reason = ?)")
			st.args = append(st.args, reason)
		}
		st.scan = scanFiltered
		return st
	case streamSessionUp, streamSessionDown:
		col, state := "x.up_at", "up"
		if name == streamSessionDown {
			col, state = "x.down_at", "down"
		}
		st := eventStream{name: name, col: col, id: "x.id",
			sel: `SELECT x.id, ` + col + `, m.name, x.neighbor, x.peer_asn, x.remote_addr, x.down_reason,
				x.sent_code, x.sent_subcode, x.sent_message, x.recv_code, x.recv_subcode, x.recv_message, x.recovered
				FROM sessions x CROSS JOIN members m ON m.id = x.member_id`,
			where: []string{col + " IS NOT NULL"},
		}
		if memberID != 0 {
			st.where, st.args = append(st.where, "x.member_id = ?"), append(st.args, memberID)
		}
		st.scan = func(rows *sql.Rows) (Event, error) { return scanSession(rows, state) }
		return st
	case streamReload:
		return eventStream{name: name, col: "c.at", id: "c.id",
			sel:  "SELECT c.id, c.at, c.file, c.sha256, c.members, c.changes FROM configs c",
			scan: scanReload}
	case streamRPKI:
		return eventStream{name: name, col: "k.at", id: "k.id",
			sel:  "SELECT k.id, k.at, k.serial, k.vrps, k.aspas, k.verdicts_changed FROM rpki_changes k",
			scan: scanRPKI}
	case streamControl:
		return eventStream{name: name, col: "q.at", id: "q.id",
			sel:  "SELECT q.id, q.at, q.command, q.uid, q.gid, q.pid, q.status, q.result, q.readonly FROM control_requests q",
			scan: scanControl}
	case streamGap:
		return eventStream{name: name, col: "g.first_at", id: "g.id",
			sel:  "SELECT g.id, g.first_at, g.last_at, g.route_events, g.exposure_events, g.other_events, g.reason FROM gaps g",
			scan: scanGap}
	}
	panic("history: unknown event stream " + name)
}

func scanFiltered(rows *sql.Rows) (Event, error) {
	ev := Event{Kind: EventFiltered}
	var from int64
	var to sql.NullInt64
	var start []byte
	var plen int
	var filtered string
	if err := rows.Scan(&ev.row, &from, &to, &start, &plen, &ev.PathID, &ev.Member, &ev.Neighbor, &filtered, &ev.ASPath, &ev.NextHop, &ev.Cause, &ev.Recovered); err != nil {
		return ev, err
	}
	ev.Time, ev.Until = time.UnixMicro(from), timePtr(to)
	if addr, ok := netip.AddrFromSlice(start); ok {
		ev.Prefix = netip.PrefixFrom(addr, plen).String()
	}
	var names []string
	for _, n := range strings.Fields(filtered) {
		er := EventReason{Name: n, Text: "unknown reason"}
		if x, ok := policy.ReasonByName(n); ok {
			info := x.Info()
			er.Code, er.Text = info.Code, info.Text
		}
		ev.Reasons = append(ev.Reasons, er)
		names = append(names, n)
	}
	ev.Text = fmt.Sprintf("%s from %s filtered: %s", ev.Prefix, ev.Member, strings.Join(names, ", "))
	return ev, nil
}

func scanSession(rows *sql.Rows, state string) (Event, error) {
	ev := Event{Kind: EventSession, State: state}
	var at int64
	var asn, sc, ss, rc, rs sql.NullInt64
	var remote, reason, sm, rm sql.NullString
	if err := rows.Scan(&ev.row, &at, &ev.Member, &ev.Neighbor, &asn, &remote, &reason, &sc, &ss, &sm, &rc, &rs, &rm, &ev.Recovered); err != nil {
		return ev, err
	}
	ev.Time = time.UnixMicro(at)
	if asn.Valid {
		a := uint32(asn.Int64)
		ev.PeerASN = &a
	}
	if state == "up" {
		ev.Text = fmt.Sprintf("session of %s (%s) up", ev.Member, ev.Neighbor)
		if ev.PeerASN != nil {
			ev.Text += fmt.Sprintf(", peer AS%d", *ev.PeerASN)
		}
		return ev, nil
	}
	ev.DownReason = reason.String
	var notes []string
	if sc.Valid {
		ev.Sent = &Notify{Code: uint8(sc.Int64), Subcode: uint8(ss.Int64), Message: sm.String}
		notes = append(notes, "sent "+NotifyText(ev.Sent))
	}
	if rc.Valid {
		ev.Received = &Notify{Code: uint8(rc.Int64), Subcode: uint8(rs.Int64), Message: rm.String}
		notes = append(notes, "received "+NotifyText(ev.Received))
	}
	ev.Notification = strings.Join(notes, "; ")
	ev.Text = fmt.Sprintf("session of %s (%s) down", ev.Member, ev.Neighbor)
	if ev.DownReason != "" {
		ev.Text += ": " + ev.DownReason
	}
	if ev.Notification != "" {
		ev.Text += "; NOTIFICATION " + ev.Notification
	}
	return ev, nil
}

// NotifyText says a recorded NOTIFICATION in words: "Cease/Administrative
// Shutdown: "maintenance"".
func NotifyText(n *Notify) string {
	s := bgp.CodeName(n.Code)
	if sub := bgp.SubcodeName(n.Code, n.Subcode); sub != "" {
		s += "/" + sub
	}
	if n.Message != "" {
		s += fmt.Sprintf(": %q", n.Message)
	}
	return s
}

func scanReload(rows *sql.Rows) (Event, error) {
	ev := Event{Kind: EventReload}
	var at int64
	var members int
	if err := rows.Scan(&ev.row, &at, &ev.File, &ev.SHA256, &members, &ev.Changes); err != nil {
		return ev, err
	}
	ev.Time, ev.Members = time.UnixMicro(at), &members
	if ev.Changes == "" {
		ev.Text = fmt.Sprintf("configuration loaded (%d members)", members)
	} else {
		ev.Text = fmt.Sprintf("configuration reloaded (%d members)", members)
	}
	return ev, nil
}

func scanRPKI(rows *sql.Rows) (Event, error) {
	ev := Event{Kind: EventRPKI}
	var at, serial, vrps, aspas, changed int64
	if err := rows.Scan(&ev.row, &at, &serial, &vrps, &aspas, &changed); err != nil {
		return ev, err
	}
	ev.Time = time.UnixMicro(at)
	ev.Serial, ev.VRPs, ev.ASPAs, ev.VerdictsChanged = &serial, &vrps, &aspas, &changed
	ev.Text = fmt.Sprintf("RPKI data changed: serial %d, %d VRPs, %d ASPAs, %d verdicts changed", serial, vrps, aspas, changed)
	return ev, nil
}

func scanControl(rows *sql.Rows) (Event, error) {
	ev := Event{Kind: EventControl}
	var at int64
	var uid, gid, pid sql.NullInt64
	if err := rows.Scan(&ev.row, &at, &ev.Command, &uid, &gid, &pid, &ev.Status, &ev.Result, &ev.ReadOnly); err != nil {
		return ev, err
	}
	ev.Time = time.UnixMicro(at)
	who := "an unknown caller"
	if uid.Valid {
		ev.UID, ev.GID, ev.PID = &uid.Int64, &gid.Int64, &pid.Int64
		who = fmt.Sprintf("uid %d (gid %d, pid %d)", uid.Int64, gid.Int64, pid.Int64)
	}
	switch {
	case ev.ReadOnly:
		ev.Text = fmt.Sprintf("control request %s by %s refused on the read-only socket", ev.Command, who)
	case ev.Status >= 400:
		ev.Text = fmt.Sprintf("control request %s by %s refused: %s", ev.Command, who, ev.Result)
	default:
		ev.Text = fmt.Sprintf("control request %s by %s done", ev.Command, who)
	}
	return ev, nil
}

func scanGap(rows *sql.Rows) (Event, error) {
	ev := Event{Kind: EventGap}
	var first, last, re, ee, oe int64
	if err := rows.Scan(&ev.row, &first, &last, &re, &ee, &oe, &ev.GapReason); err != nil {
		return ev, err
	}
	ev.Time = time.UnixMicro(first)
	to := time.UnixMicro(last)
	lost := re + ee + oe
	ev.GapTo, ev.LostEvents = &to, &lost
	ev.Text = fmt.Sprintf("history incomplete until %s: %d route, %d export and %d other events not recorded (%s)",
		to.UTC().Format(time.RFC3339), re, ee, oe, ev.GapReason)
	return ev, nil
}

// ReasonCount is how often one reason filtered routes in a period.
type ReasonCount struct {
	Reason string `json:"reason"`
	Code   uint32 `json:"code"`
	Text   string `json:"text"`
	// Community is the large community of the reason, RSASN:1101:Code
	// (set by the caller).
	Community string `json:"community,omitempty"`
	// Decisions counts the filter decisions (route versions filtered for
	// the reason that began in the period); Routes the distinct routes
	// (neighbour, prefix, path ID) among them.
	Decisions int64 `json:"decisions"`
	Routes    int64 `json:"routes"`
}

// FilteredByReason counts the filter decisions made in [since, until)
// by reason, of one member or all (""), most frequent first.
func (r *Reader) FilteredByReason(ctx context.Context, member string, since, until time.Time) ([]ReasonCount, error) {
	where := []string{"r.filtered = 1", "r.valid_from >= ?", "r.valid_from < ?"}
	args := []any{since.UnixMicro(), until.UnixMicro()}
	index := "routes_filtered_at"
	if member != "" {
		id, err := r.memberID(ctx, member)
		if err != nil {
			return nil, err
		}
		where, args = append(where, "r.source_id IN (SELECT id FROM sources WHERE member_id = ?)"), append(args, id)
		index = "routes_filtered_source"
	}
	rows, err := r.db.QueryContext(ctx, filteredByReasonQuery(index, where), args...)
	if err != nil {
		return nil, r.wrap(err)
	}
	defer rows.Close()
	out := []ReasonCount{}
	for rows.Next() {
		var c ReasonCount
		if err := rows.Scan(&c.Reason, &c.Code, &c.Decisions, &c.Routes); err != nil {
			return nil, r.wrap(err)
		}
		c.Text = "unknown reason"
		if x, ok := policy.ReasonByName(c.Reason); ok {
			c.Text = x.Info().Text
		}
		out = append(out, c)
	}
	return out, r.wrap(rows.Err())
}

func filteredByReasonQuery(index string, where []string) string {
	return `SELECT vr.reason, vr.code, COUNT(*), COUNT(DISTINCT r.source_id || ' ' || hex(r.pstart) || '/' || r.plen || ' ' || r.path_id)
		FROM routes r INDEXED BY ` + index + ` CROSS JOIN verdict_reasons vr ON vr.verdict_id = r.verdict_id AND vr.kind = 'filtered'
		WHERE ` + strings.Join(where, " AND ") + `
		GROUP BY vr.reason, vr.code ORDER BY COUNT(*) DESC, vr.code`
}
