package history

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/session"
)

func (w *writer) sessionUp(ev *item) error {
	s := ev.x.other.(*sessionInfo)
	member, err := w.memberByName(s.member)
	if err != nil {
		return err
	}
	key := s.member + "\x00" + s.neighbor
	if row, ok := w.sessions[key]; ok {
		if _, err := w.tx.ExecContext(w.ctx, "UPDATE sessions SET down_at = MAX(COALESCE(up_at, 0), ?), down_reason = ? WHERE id = ?",
			ev.at, "superseded: a new session came up before the end of this one was recorded", row); err != nil {
			return err
		}
	}
	row := w.nextSession
	w.nextSession++
	n := s.neg
	var peerASN, hold any
	var peerID, local, remote, neg any
	fams := ""
	if n != nil {
		peerASN, hold = n.PeerASN, int64(n.HoldTime/time.Second)
		peerID, local, remote = n.PeerID.String(), n.LocalAddr.String(), n.RemoteAddr.String()
		b, _ := json.Marshal(negotiatedJSON(n))
		neg = string(b)
		// The route server sends a family on a session iff it was
		// negotiated there (routeserver: neighbor.Established).
		var fs []string
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if n.Families[f] {
				fs = append(fs, strconv.Itoa(familyNumber(f)))
			}
		}
		fams = strings.Join(fs, " ")
	}
	if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO sessions (id, member_id, neighbor, up_at, peer_asn, peer_id, local_addr, remote_addr, hold_time, negotiated, families) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		row, member, s.neighbor, ev.at, peerASN, peerID, local, remote, hold, neg, fams); err != nil {
		return fmt.Errorf("recording a session: %w", err)
	}
	w.sessions[key] = row
	return nil
}

func (w *writer) sessionDown(ev *item) error {
	s := ev.x.other.(*sessionInfo)
	member, err := w.memberByName(s.member)
	if err != nil {
		return err
	}
	d := s.down
	reason := d.Reason
	if d.Err != nil && !strings.Contains(reason, d.Err.Error()) {
		reason = strings.TrimSpace(reason + ": " + d.Err.Error())
	}
	var sc, ss, sm, rc, rs, rm any
	if n := d.Sent; n != nil {
		sc, ss = n.Code, n.Subcode
		if msg, ok := n.ShutdownMessage(); ok {
			sm = msg
		}
	}
	if n := d.Received; n != nil {
		rc, rs = n.Code, n.Subcode
		if msg, ok := n.ShutdownMessage(); ok {
			rm = msg
		}
	}
	gr := 0
	if d.GracefulRestart {
		gr = 1
	}
	key := s.member + "\x00" + s.neighbor
	row, ok := w.sessions[key]
	if !ok {
		row = w.nextSession
		w.nextSession++
		if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO sessions (id, member_id, neighbor) VALUES (?, ?, ?)", row, member, s.neighbor); err != nil {
			return err
		}
	}
	delete(w.sessions, key)
	_, err = w.tx.ExecContext(w.ctx, `UPDATE sessions SET down_at = MAX(COALESCE(up_at, 0), ?), down_reason = ?,
		sent_code = ?, sent_subcode = ?, sent_message = ?, recv_code = ?, recv_subcode = ?, recv_message = ?, graceful_restart = ? WHERE id = ?`,
		ev.at, reason, sc, ss, sm, rc, rs, rm, gr, row)
	return err
}

// synced records the end of a session's initial transfer of a family
// (End-of-RIB sent).
func (w *writer) synced(ev *item) error {
	s := ev.x.other.(*sessionInfo)
	row, ok := w.sessions[s.member+"\x00"+s.neighbor]
	if !ok {
		return nil // the session's up was not recorded (or it is already down)
	}
	_, err := w.tx.ExecContext(w.ctx, "INSERT OR IGNORE INTO session_syncs (session_id, family, synced_at) VALUES (?, ?, ?)",
		row, familyNumber(ev.fam), ev.at)
	return err
}

type negJSON struct {
	Families             []string `json:"families"`
	AddPathRx            []string `json:"add_path_rx,omitempty"`
	AddPathTx            []string `json:"add_path_tx,omitempty"`
	FourOctetAS          bool     `json:"four_octet_as"`
	RouteRefresh         bool     `json:"route_refresh"`
	EnhancedRouteRefresh bool     `json:"enhanced_route_refresh"`
	ExtendedMessage      bool     `json:"extended_message"`
	Role                 string   `json:"role,omitempty"`
	GracefulRestart      bool     `json:"graceful_restart"`
	RestartTime          int64    `json:"restart_time,omitempty"`
	Keepalive            int64    `json:"keepalive"`
	Capabilities         []uint8  `json:"peer_capabilities,omitempty"`
}

func negotiatedJSON(n *session.Negotiated) negJSON {
	fams := func(b [bgp.NumFamilies]bool) []string {
		var out []string
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if b[f] {
				out = append(out, f.String())
			}
		}
		return out
	}
	j := negJSON{Families: fams(n.Families), AddPathRx: fams(n.AddPathRx), AddPathTx: fams(n.AddPathTx),
		FourOctetAS: n.FourOctetAS, RouteRefresh: n.RouteRefresh, EnhancedRouteRefresh: n.EnhancedRouteRefresh,
		ExtendedMessage: n.ExtendedMessage, GracefulRestart: n.GracefulRestart,
		RestartTime: int64(n.GRRestartTime / time.Second), Keepalive: int64(n.Keepalive / time.Second),
		Capabilities: n.PeerCapabilities}
	if n.HasRole {
		j.Role = roleName(n.PeerRole)
	}
	return j
}

func roleName(r uint8) string {
	switch r {
	case 0:
		return "provider"
	case 1:
		return "rs"
	case 2:
		return "rs-client"
	case 3:
		return "customer"
	case 4:
		return "peer"
	}
	return "role-" + strconv.Itoa(int(r))
}

func (w *writer) rpki(ev *item) error {
	c := ev.x.other.(*rpkiInfo)
	_, err := w.tx.ExecContext(w.ctx, "INSERT INTO rpki_changes (at, serial, vrps, aspas, verdicts_changed) VALUES (?, ?, ?, ?, ?)",
		ev.at, c.serial, c.vrps, c.aspas, c.changed)
	return err
}

func (w *writer) control(ev *item) error {
	c := ev.x.other.(*ControlRequest)
	_, err := w.tx.ExecContext(w.ctx, "INSERT INTO control_requests (at, run_id, command, uid, gid, pid, status, result, readonly) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		ev.at, w.runID, c.Command, c.UID, c.GID, c.PID, c.Status, c.Result, c.ReadOnly)
	return err
}

func (w *writer) config(ev *item) error {
	c := ev.x.other.(*configInfo)
	members := make([]memberRef, 0, len(c.members))
	for _, m := range c.members {
		var id int64
		if err := w.tx.QueryRowContext(w.ctx, "INSERT INTO members (name, asn) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET asn = excluded.asn RETURNING id",
			m.name, m.asn).Scan(&id); err != nil {
			return fmt.Errorf("recording member %s: %w", m.name, err)
		}
		members = append(members, memberRef{id: id, name: m.name, asn: m.asn})
		w.byName[m.name] = id
	}
	w.members = members
	// Member indices may mean other members now.
	clear(w.sources)
	clear(w.sets)
	if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO configs (at, run_id, file, sha256, members, changes) VALUES (?, ?, ?, ?, ?, ?)",
		ev.at, w.runID, c.file, c.hash, len(c.members), c.changes); err != nil {
		return err
	}
	w.retain = c.retain
	if w.exports && !c.exports {
		r := rec{op: recExportsOff, at: ev.at}
		if w.journaling {
			w.jbuf.add(&r)
		} else if err := w.applyRec(&r); err != nil {
			return err
		}
	}
	w.exports = c.exports
	return nil
}

// stop closes every open interval at the stop time and records the clean
// stop.
func (w *writer) stop(ev *item) error {
	if w.jrows > 0 {
		// The journal could not be applied: closing the versions now
		// would put its earlier events after their end. The run stays
		// open, as after a crash: the next start applies the journal,
		// then closes the run at its last_seen, with a notice.
		w.r.log.Error("history: stopping with route events journaled that could not be applied; the next start applies them and recovers this run",
			"db", w.r.path, "events", w.jevents)
		return nil
	}
	cause, err := w.cause("stopped: route server shut down")
	if err != nil {
		return err
	}
	// The open route versions are the ones the writer holds (their open
	// exposures end with them).
	for _, list := range w.open {
		for _, o := range list {
			w.closeRoute(o.row, ev.at, cause)
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	for _, q := range []struct {
		q    string
		args []any
	}{
		{"UPDATE sessions SET down_at = MAX(COALESCE(up_at, 0), ?), down_reason = 'route server stopped' WHERE down_at IS NULL", []any{ev.at}},
		{"UPDATE runs SET stopped_at = ?, last_seen = MAX(last_seen, ?), clean = 1 WHERE id = ?", []any{ev.at, ev.at, w.runID}},
	} {
		if _, err := w.tx.ExecContext(w.ctx, q.q, q.args...); err != nil {
			return err
		}
	}
	clear(w.open)
	clear(w.sessions)
	return nil
}
