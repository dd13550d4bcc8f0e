package history

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/fedrs/fedrs/policy"
)

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
