package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

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
