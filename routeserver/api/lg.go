package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/mrt"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/session"
	"github.com/fedrs/fedrs/rpki"
)

func (a *API) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.statusFor(viewerOf(r)))
}

// statusData is what GET /v1/status returns (and the overview page shows).
func (a *API) statusData() Status {
	srv := a.srv
	cfg := srv.Config()
	tot := srv.RIB().Totals()
	st := Status{
		Version: a.opts.Version, ASN: cfg.Server.ASN, RouterID: cfg.Server.RouterID.String(),
		Started: srv.Started(), UptimeSeconds: int64(time.Since(srv.Started()).Seconds()),
		ConfigFile: cfg.File, ConfigHash: cfg.Hash, Members: len(cfg.Members),
		PrefixesV4: tot.Prefixes[bgp.IPv4Unicast], PrefixesV6: tot.Prefixes[bgp.IPv6Unicast],
		Routes: tot.Routes, AttrSets: tot.AttrSets, PendingOut: tot.PendingOut, Maintenance: srv.InMaintenance(),
		MaintenancePhase: string(srv.MaintenanceStatus().Phase),
	}
	for _, n := range srv.Neighbors() {
		st.Neighbors++
		if n.Peer.State() == session.Established {
			st.SessionsUp++
		}
		s := srv.RIB().Stats(n.Source)
		for f := range s.Received {
			st.Accepted += s.Accepted[f]
			st.Filtered += s.Received[f] - s.Accepted[f]
		}
	}
	if m := a.opts.RPKI; m != nil && rpki.Configured(cfg) {
		rs := m.Status()
		st.RPKI = &RPKIStatus{Serial: rs.Serial, Updated: rs.Updated, VRPs: rs.VRPsV4 + rs.VRPsV6, ASPAs: rs.ASPAs, Sources: len(rs.Sources)}
	}
	if h := a.opts.History; h != nil {
		st.History = h.Stats()
	}
	if b := a.opts.BMP; b != nil {
		st.BMP = b.Status()
	}
	if m := a.opts.MRT; m != nil {
		ms := m.Status()
		st.MRT = &ms
	}
	return st
}

func (a *API) neighbors(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.neighborsFor(viewerOf(r)))
}

// neighborList is what GET /v1/neighbors returns.
func (a *API) neighborList() []Neighbor {
	out := []Neighbor{}
	cfg := a.srv.Config()
	for _, n := range a.srv.Neighbors() {
		out = append(out, a.neighbor(cfg, n))
	}
	return out
}

func (a *API) neighbor(cfg *conf.Config, n routeserver.Neighbor) Neighbor {
	info := n.Peer.Info()
	st := a.srv.RIB().Stats(n.Source)
	var m conf.Member
	if n.Member >= 0 && n.Member < len(cfg.Members) {
		m = cfg.Members[n.Member]
	}
	out := Neighbor{
		Member: m.Name, Description: m.Description, Neighbor: n.Source.Addr.String(), ASN: m.ASN,
		State: info.State.String(), Since: info.Since, AdminDown: info.AdminDown,
		Flaps: info.Flaps, MessagesIn: info.MsgIn, MessagesOut: info.MsgOut, UpdatesIn: info.UpdIn, UpdatesOut: info.UpdOut,
		LastError: info.LastError, Passive: n.Peer.Config().Passive,
		NotificationSent: MakeNotification(info.LastNotifySent), NotificationReceived: MakeNotification(info.LastNotifyRecvd),
	}
	if ev := info.LastNotifySent; ev != nil {
		out.LastSent = ev.String()
	}
	if ev := info.LastNotifyRecvd; ev != nil {
		out.LastReceived = ev.String()
	}
	if t := info.DownSince; !t.IsZero() {
		out.DownSince = &t
	}
	if t := info.LastUp; !t.IsZero() {
		out.LastUp = &t
	}
	if t := info.LastErrorAt; !t.IsZero() && info.LastError != "" {
		out.LastErrorAt = &t
	}
	if info.State == session.Established {
		out.UptimeSeconds = int64(time.Since(info.Since).Seconds())
	}
	if info.IdleUntil.After(time.Now()) {
		t := info.IdleUntil
		out.IdleUntil = &t
	}
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		out.Received += st.Received[f]
		out.Accepted += st.Accepted[f]
		out.Exported += st.Exported[f]
		out.Stale += st.Stale[f]
		out.PendingOut += st.PendingOut[f]
		if st.SendFamilies[f] || st.Received[f] > 0 {
			out.PerFamily = append(out.PerFamily, FamilyCnt{Family: familyName(f), Received: st.Received[f], Accepted: st.Accepted[f], Exported: st.Exported[f]})
		}
	}
	out.Filtered = out.Received - out.Accepted
	if ng := info.Negotiated; ng != nil {
		nj := &Negotiated{
			HoldTime: int(ng.HoldTime / time.Second), Keepalive: int(ng.Keepalive / time.Second), PeerID: ng.PeerID.String(),
			FourOctetAS: ng.FourOctetAS, RouteRefresh: ng.RouteRefresh, ExtendedMessage: ng.ExtendedMessage,
			Role: "none", GracefulRestart: ng.GracefulRestart,
			LocalAddress: ng.LocalAddr.String(), RemoteAddress: ng.RemoteAddr.String(),
		}
		if ng.HasRole {
			nj.Role = bgp.RoleName(ng.PeerRole)
		}
		for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
			if ng.Families[f] {
				nj.Families = append(nj.Families, f.String())
			}
			if ng.AddPathRx[f] {
				nj.AddPathReceive = append(nj.AddPathReceive, f.String())
			}
		}
		out.Negotiated = nj
	}
	return out
}

// paging reads offset and limit (default 1000, at most 100000).
func paging(r *http.Request) (int, int, error) {
	offset, limit := 0, 1000
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, fmt.Errorf("offset %q: want a number ≥ 0", v)
		}
		offset = n
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return 0, 0, fmt.Errorf("limit %q: want 1-100000", v)
		}
		limit = n
	}
	return offset, limit, nil
}

func (a *API) toRoutes(rs []rib.Route) []Route {
	out := make([]Route, 0, len(rs))
	for _, r := range rs {
		out = append(out, MakeRoute(r, a.srv.MemberName(r.Source.Member)))
	}
	return out
}

func (a *API) routes(w http.ResponseWriter, r *http.Request) {
	mi, err := a.srv.MemberIndex(r.PathValue("member"))
	if err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	v := viewerOf(r)
	if !v.is(mi) {
		writeErr(w, http.StatusForbidden, notYours(v, r.PathValue("member")))
		return
	}
	offset, limit, err := paging(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	flt := rib.Filter{Member: mi}
	switch f := r.URL.Query().Get("family"); f {
	case "":
	case "ipv4":
		flt.HasFamily, flt.Family = true, bgp.IPv4Unicast
	case "ipv6":
		flt.HasFamily, flt.Family = true, bgp.IPv6Unicast
	default:
		writeErr(w, http.StatusBadRequest, fmt.Errorf("family %q: want ipv4 or ipv6", f))
		return
	}
	out, status, err := a.memberRoutes(mi, r.URL.Query().Get("view"), flt, offset, limit)
	if err != nil {
		writeErr(w, status, err)
		return
	}
	out.Routes = v.narrowRoutes(out.Routes)
	writeJSON(w, http.StatusOK, out)
}

// memberRoutes is a page of member mi's routes in view (received,
// accepted, filtered or exported; "" is received): what GET
// /v1/members/{member}/routes returns and the member page shows. On error
// it also returns the HTTP status.
func (a *API) memberRoutes(mi int, view string, flt rib.Filter, offset, limit int) (RouteList, int, error) {
	var (
		rs    []rib.Route
		total int
	)
	switch view {
	case "", "received":
		rs, total = a.srv.RIB().Routes(flt, offset, limit)
	case "accepted":
		flt.Accepted = true
		rs, total = a.srv.RIB().Routes(flt, offset, limit)
	case "filtered":
		flt.Filtered = true
		rs, total = a.srv.RIB().Routes(flt, offset, limit)
	case "exported":
		out, err := a.exported(mi, rib.HeldFilter{Family: flt.Family, HasFamily: flt.HasFamily}, offset, limit)
		if err != nil {
			return RouteList{}, http.StatusInternalServerError, err
		}
		return out, http.StatusOK, nil
	default:
		return RouteList{}, http.StatusBadRequest, fmt.Errorf("view %q: want received, accepted, filtered or exported", view)
	}
	return RouteList{Total: total, Offset: offset, Limit: limit, Routes: a.toRoutes(rs)}, http.StatusOK, nil
}

// exported is what member mi holds from the route server, with the
// attributes exactly as they were sent (the UPDATE decoded as the member
// decodes it).
func (a *API) exported(mi int, flt rib.HeldFilter, offset, limit int) (RouteList, error) {
	hs, total, pending := a.srv.RIB().Held(mi, flt, offset, limit)
	out := RouteList{Total: total, Offset: offset, Limit: limit, Pending: pending, Routes: make([]Route, 0, len(hs))}
	for i := range hs {
		x, err := a.sentRoute(mi, &hs[i])
		if err != nil {
			return RouteList{}, err
		}
		out.Routes = append(out.Routes, x)
	}
	if why := a.srv.NoSession(mi, flt); why != "" {
		out.Note = why
	}
	return out, nil
}

// parsePrefix accepts a prefix or an address (as a host prefix).
func parsePrefix(s string) (netip.Prefix, bool, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p != p.Masked() {
			return p, false, fmt.Errorf("prefix %q has host bits set; did you mean %s?", s, p.Masked())
		}
		return p, false, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true, nil
	}
	return netip.Prefix{}, false, fmt.Errorf("%q is not a prefix or an address; e.g. 10.40.0.0/16, 2001:db8:400::/40 or 10.40.1.7", s)
}

func (a *API) lookup(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, isAddr, err := parsePrefix(q.Get("prefix"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	mode := rib.Exact
	if isAddr {
		mode = rib.LongestMatch
	}
	switch m := q.Get("mode"); m {
	case "":
	case "exact":
		mode = rib.Exact
	case "longest":
		mode = rib.LongestMatch
	case "covering":
		mode = rib.Covering
	case "more-specifics":
		mode = rib.MoreSpecifics
	default:
		writeErr(w, http.StatusBadRequest, fmt.Errorf("mode %q: want exact, longest, covering or more-specifics", m))
		return
	}
	out, err := a.lookupFor(viewerOf(r), a.srv.RIB().Lookup(p, mode))
	if err != nil {
		writeErr(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, RouteList{Total: len(out), Limit: len(out), Routes: out})
}

func (a *API) route(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _, err := parsePrefix(q.Get("prefix"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	mi, err := a.srv.MemberIndex(q.Get("member"))
	if err != nil {
		writeErr(w, errStatus(err), err)
		return
	}
	pathID, err := optPathID(q.Get("path_id"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	if v := viewerOf(r); !v.is(mi) {
		out, ok, err := a.heldFrom(v, mi, p, pathID)
		switch {
		case err != nil:
			writeErr(w, http.StatusInternalServerError, err)
		case !ok:
			writeErr(w, http.StatusForbidden, fmt.Errorf("%w (the route server does not export its route for %s to you)", notYours(v, q.Get("member")), p))
		default:
			writeJSON(w, http.StatusOK, out)
		}
		return
	}
	for _, x := range a.srv.RIB().Lookup(p, rib.Exact) {
		if x.Source.Member == mi && (pathID == nil || *pathID == x.PathID) {
			out := MakeRoute(x, a.srv.MemberName(mi))
			out.ExportedTo, out.PendingTo = a.srv.Receivers(x)
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	writeErr(w, http.StatusNotFound, fmt.Errorf("%s has no route for %s", q.Get("member"), p))
}

func optPathID(s string) (*uint32, error) {
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("path_id %q: want a number", s)
	}
	id := uint32(v)
	return &id, nil
}

func (a *API) explain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, _, err := parsePrefix(q.Get("prefix"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	pathID, err := optPathID(q.Get("path_id"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	tr, err := a.explainFor(viewerOf(r), q.Get("member"), p, pathID, q.Get("to"))
	if err != nil {
		writeErr(w, statusOf(err), err)
		return
	}
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, tr.String())
		return
	}
	writeJSON(w, http.StatusOK, tr)
}

// MRTStatsTrailer is the HTTP trailer of GET /v1/mrt: the dump's
// mrt.Stats as JSON, sent once the dump is complete.
const MRTStatsTrailer = "Fedrs-Mrt-Stats"

// mrtDump streams an MRT TABLE_DUMP_V2 dump of the RIB.
func (a *API) mrtDump(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", mrt.FileName(now)))
	w.Header().Set("Trailer", MRTStatsTrailer)
	st, err := mrt.Dump(w, a.srv, now)
	if err != nil {
		// Mid-stream: the status is sent; break the response so the
		// client sees a failed transfer, not a short dump.
		a.opts.Log.Warn("MRT dump over the control API failed", "err", err)
		panic(http.ErrAbortHandler)
	}
	b, _ := json.Marshal(st)
	w.Header().Set(MRTStatsTrailer, string(b))
}
