package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// What "exported to" means (README "What exported to means"): a route
// version R was exposed to member X at instant T if and only if R was
// sent to X on an Established session and not yet withdrawn or replaced
// at T. Exposure ends when the session goes down and starts again only
// when the route is sent again.
//
// The writer keeps that cheap: per route version, the set of members it
// is the best exportable route for, computed over every configured
// member whether its session is up or not (a set that changes rarely,
// not a row per route and member). The reader intersects each set with
// the member's sessions: X counts only while one of X's sessions that
// carries the route's family is established. After a session comes up
// the route server sends its whole table, which takes from milliseconds
// to seconds; the writer records when it sent End-of-RIB (the end of the
// initial transfer), and the reader says so for exposure that starts
// inside that transfer.

// forever stands for an interval still open.
const forever = math.MaxInt64

// sessionSpan is one established session of a member: [up, down), the
// families the route server sent on it and when each family's initial
// transfer ended.
type sessionSpan struct {
	up, down int64
	fams     [2]bool  // IPv4, IPv6
	tracked  bool     // the writer records End-of-RIB (schema 3 on)
	synced   [2]int64 // End-of-RIB sent, per family; 0: not recorded
}

func famIdx(fam int) int {
	if fam == 6 {
		return 1
	}
	return 0
}

// inTransfer reports whether instant at lies inside the span's initial
// transfer of fam, and when that transfer ended (nil: it did not
// complete). Sessions recorded before schema 3 have no transfer known.
func (s *sessionSpan) inTransfer(fam int, at int64) (in bool, synced *time.Time) {
	if !s.tracked {
		return false, nil
	}
	if st := s.synced[famIdx(fam)]; st != 0 {
		t := time.UnixMicro(st)
		return at < st, &t
	}
	return true, nil
}

// sessionIndex is the sessions of each member (by name), in order.
type sessionIndex map[string][]sessionSpan

// sessionIndex loads the established sessions overlapping [lo, hi).
func (r *Reader) sessionIndex(ctx context.Context, lo, hi int64) (sessionIndex, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT m.name, x.up_at, x.down_at, x.negotiated, x.families,
		(SELECT synced_at FROM session_syncs y WHERE y.session_id = x.id AND y.family = 4),
		(SELECT synced_at FROM session_syncs y WHERE y.session_id = x.id AND y.family = 6)
		FROM sessions x JOIN members m ON m.id = x.member_id
		WHERE x.up_at IS NOT NULL AND x.up_at < ? AND (x.down_at IS NULL OR x.down_at > ?)
		ORDER BY x.up_at, x.id`, hi, lo)
	if err != nil {
		return nil, r.wrap(err)
	}
	defer rows.Close()
	ix := sessionIndex{}
	for rows.Next() {
		var name string
		var up int64
		var down, s4, s6 sql.NullInt64
		var neg, fams sql.NullString
		if err := rows.Scan(&name, &up, &down, &neg, &fams, &s4, &s6); err != nil {
			return nil, r.wrap(err)
		}
		s := sessionSpan{up: up, down: forever}
		if down.Valid {
			s.down = max(down.Int64, up)
		}
		switch {
		case fams.Valid:
			s.tracked = true
			for _, f := range strings.Fields(fams.String) {
				s.fams[famIdx(atoiOr(f, 4))] = true
			}
			s.synced = [2]int64{s4.Int64, s6.Int64}
		case neg.Valid:
			// Written before schema 3: the families negotiated.
			var n negJSON
			if json.Unmarshal([]byte(neg.String), &n) != nil {
				s.fams = [2]bool{true, true}
			}
			for _, f := range n.Families {
				if strings.HasPrefix(f, "ipv6") {
					s.fams[1] = true
				} else {
					s.fams[0] = true
				}
			}
		default:
			s.fams = [2]bool{true, true} // not recorded: every family
		}
		ix[name] = append(ix[name], s)
	}
	return ix, r.wrap(rows.Err())
}

func atoiOr(s string, def int) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return def
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// piece is a part of an interval during which a member was exposed,
// with the session it was exposed on.
type piece struct {
	from, to int64
	s        *sessionSpan
}

// exposed returns the parts of [from, to) during which one of member's
// sessions carrying fam was established.
func (ix sessionIndex) exposed(member string, fam int, from, to int64) []piece {
	var out []piece
	ss := ix[member]
	for i := range ss {
		s := &ss[i]
		if !s.fams[famIdx(fam)] {
			continue
		}
		f, t := max(from, s.up), min(to, s.down)
		if f < t {
			out = append(out, piece{f, t, s})
		}
	}
	return out
}

// upAt returns the sessions of member established at t.
func (ix sessionIndex) upAt(member string, t int64) []*sessionSpan {
	var out []*sessionSpan
	ss := ix[member]
	for i := range ss {
		if ss[i].up <= t && t < ss[i].down {
			out = append(out, &ss[i])
		}
	}
	return out
}

// refine turns a version's export segments (the stored member sets)
// into what was exposed: each member only while one of its sessions that
// carries fam was established, with a note where the exposure started
// inside a session's initial transfer.
func (ix sessionIndex) refine(segs []Export, fam int) []Export {
	var out []Export
	for _, seg := range segs {
		from, to := seg.From.UnixMicro(), int64(forever)
		if seg.To != nil {
			to = seg.To.UnixMicro()
		}
		bounds := []int64{from, to}
		per := make([][]piece, len(seg.Members))
		for i, m := range seg.Members {
			per[i] = ix.exposed(m, fam, from, to)
			for _, p := range per[i] {
				bounds = append(bounds, p.from, p.to)
			}
		}
		slices.Sort(bounds)
		bounds = slices.Compact(bounds)
		for k := 0; k+1 < len(bounds); k++ {
			lo, hi := bounds[k], bounds[k+1]
			e := Export{From: time.UnixMicro(lo), Recovered: seg.Recovered && hi == to}
			if hi != forever {
				t := time.UnixMicro(hi)
				e.To = &t
			}
			for i, m := range seg.Members {
				for _, p := range per[i] {
					if p.from <= lo && lo < p.to {
						e.Members = append(e.Members, m)
						if in, synced := p.s.inTransfer(fam, lo); in {
							e.Transfers = append(e.Transfers, Transfer{Member: m, Up: time.UnixMicro(p.s.up), Synced: synced, Down: downPtr(p.s.down)})
						}
						break
					}
				}
			}
			if len(e.Members) == 0 {
				continue
			}
			if n := len(out); n > 0 && len(e.Transfers) == 0 && len(out[n-1].Transfers) == 0 && !out[n-1].Recovered &&
				out[n-1].To != nil && out[n-1].To.Equal(e.From) && slices.Equal(out[n-1].Members, e.Members) {
				out[n-1].To, out[n-1].Recovered = e.To, e.Recovered
				continue
			}
			out = append(out, e)
		}
	}
	return out
}

func downPtr(d int64) *time.Time {
	if d == forever {
		return nil
	}
	t := time.UnixMicro(d)
	return &t
}

// Transfer says that a member's exposure started inside the initial
// transfer of one of its sessions: the route server sent the route
// between the session's Up and its End-of-RIB (Synced; nil when the
// transfer did not complete, before the session went Down or, for a
// session still up, by the last commit).
type Transfer struct {
	Member string     `json:"member"`
	Up     time.Time  `json:"up"`
	Synced *time.Time `json:"synced,omitempty"`
	Down   *time.Time `json:"down,omitempty"`
}

// Text is the transfer as a note.
func (t Transfer) Text() string {
	switch {
	case t.Synced != nil:
		return fmt.Sprintf("%s: sent during the initial transfer from %s to %s", t.Member, ShowTime(t.Up), ShowTime(*t.Synced))
	case t.Down != nil:
		return fmt.Sprintf("%s: sent during the initial transfer from %s, which did not complete before the session went down at %s (perhaps never sent)",
			t.Member, ShowTime(t.Up), ShowTime(*t.Down))
	}
	return fmt.Sprintf("%s: sent during the initial transfer from %s, not complete at the last commit (perhaps not sent yet)", t.Member, ShowTime(t.Up))
}

// TransferNotices returns, for an instant t, a notice per member (or for
// the one member) whose session was in its initial transfer then: what
// is listed as exported to it was sent between the session's up and its
// End-of-RIB, not necessarily before t.
func (r *Reader) TransferNotices(ctx context.Context, t time.Time, member string) ([]Notice, error) {
	us := t.UnixMicro()
	ix, err := r.sessionIndex(ctx, us, us+1)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ix))
	for n := range ix {
		if member == "" || n == member {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []Notice
	for _, n := range names {
		for _, s := range ix.upAt(n, us) {
			for _, fam := range []int{4, 6} {
				if !s.fams[famIdx(fam)] {
					continue
				}
				in, synced := s.inTransfer(fam, us)
				if !in {
					continue
				}
				tr := Transfer{Member: n, Up: time.UnixMicro(s.up), Synced: synced, Down: downPtr(s.down)}
				to := t
				if synced != nil {
					to = *synced
				} else if tr.Down != nil {
					to = *tr.Down
				}
				out = append(out, Notice{From: tr.Up, To: to, Text: fmt.Sprintf("IPv%d routes exported to %s", fam, tr.Text())})
			}
		}
	}
	return out, nil
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
