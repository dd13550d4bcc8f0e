package api_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// startV4Only runs the route server with nhs-a (both families) and
// v4-only, configured for both families but whose router offers only
// IPv4, plus council-c, configured but never connecting.
func startV4Only(t *testing.T) (e *env, v4 *member.Router) {
	t.Helper()
	specs := []rstest.Member{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.11"},
		{Name: "v4-only", ASN: 4200000004, Addr: "127.0.0.14", Raw: true},
		{Name: "council-c", ASN: 4200000003, Addr: "127.0.0.13", Raw: true},
	}
	e = startWith(t, rstest.Config(specs, ""), specs)
	ctx := rstest.Ctx(t)
	v4, err := member.Start(ctx, member.Config{Name: "v4-only", ASN: 4200000004, LocalAddr: netip.MustParseAddr("127.0.0.14"),
		RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: e.fed.Port, RSASN: rstest.RSASN, Log: rstest.Log, IPv4: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v4.Stop)
	if err := v4.WaitEstablished(ctx); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 5*time.Second, func() bool {
		return neighborOf(t, e, "v4-only").State == "Established"
	}, "the route server to see v4-only established")
	if ng := neighborOf(t, e, "v4-only").Negotiated; ng == nil || !slices.Equal(ng.Families, []string{"ipv4-unicast"}) {
		t.Fatalf("v4-only negotiated %+v, want ipv4-unicast only", ng)
	}
	return e, v4
}

// TestClearNegotiatedFamilies: a soft clear works on the families a
// session negotiated, not the configured ones. `clear --in` on a member
// that negotiated only IPv4 (configured for both) sends it one
// ROUTE-REFRESH, which its router answers by sending its routes again;
// `--out` resends the member its routes; a member with no session gets a
// clear refusal naming why.
func TestClearNegotiatedFamilies(t *testing.T) {
	e, v4 := startV4Only(t)
	ctx := rstest.Ctx(t)
	p := pfx("10.20.0.0/16")
	if err := v4.Announce(ctx, member.Route{Prefix: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fed.Members["nhs-a"].WaitFor(ctx, "v4-only's route", rstest.Has(p)); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 5*time.Second, func() bool {
		return neighborOf(t, e, "v4-only").Received == 1
	}, "the route server to count v4-only's UPDATE")

	// --in
	updIn := neighborOf(t, e, "v4-only").UpdatesIn
	_, recvd, err := v4.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var res api.ClearResult
	if err := e.cl.Post(ctx, "/v1/members/v4-only/clear", url.Values{"direction": {"in"}}, nil, &res); err != nil {
		t.Fatalf("clear --in of a member that negotiated fewer families than configured: %v", err)
	}
	if len(res.Sessions) != 1 || !slices.Equal(res.Sessions[0].Families, []string{"ipv4-unicast"}) ||
		!slices.ContainsFunc(res.Sessions[0].Notes, func(s string) bool { return strings.Contains(s, "ipv6-unicast not negotiated") }) ||
		!strings.Contains(res.Result, "ROUTE-REFRESH sent on 1 of 1 sessions") {
		t.Errorf("clear --in result %+v", res)
	}
	rstest.EventuallyErr(t, 5*time.Second, func() error {
		_, now, err := v4.Messages(ctx)
		if err == nil && now.Refresh != recvd.Refresh+1 {
			err = fmt.Errorf("it received %d ROUTE-REFRESH messages, %d before the clear", now.Refresh, recvd.Refresh)
		}
		return err
	}, "v4-only's router to receive one ROUTE-REFRESH")
	rstest.Eventually(t, 5*time.Second, func() bool {
		return neighborOf(t, e, "v4-only").UpdatesIn > updIn
	}, "v4-only to send its routes again (UPDATEs received by the route server)")

	// --out
	q := pfx("10.21.0.0/16")
	if err := e.fed.Members["nhs-a"].Announce(ctx, member.Route{Prefix: q}); err != nil {
		t.Fatal(err)
	}
	if _, err := v4.WaitFor(ctx, "nhs-a's route", rstest.Has(q)); err != nil {
		t.Fatal(err)
	}
	updOut := neighborOf(t, e, "v4-only").UpdatesOut
	_, recvd, err = v4.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cl.Post(ctx, "/v1/members/v4-only/clear", url.Values{"direction": {"out"}}, nil, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Sessions) != 1 || !slices.Equal(res.Sessions[0].Families, []string{"ipv4-unicast"}) {
		t.Errorf("clear --out result %+v", res)
	}
	rstest.EventuallyErr(t, 5*time.Second, func() error {
		_, now, err := v4.Messages(ctx)
		if err == nil && (now.Update <= recvd.Update || neighborOf(t, e, "v4-only").UpdatesOut <= updOut) {
			err = fmt.Errorf("it received %d UPDATEs, %d before the clear", now.Update, recvd.Update)
		}
		return err
	}, "v4-only's router to receive its routes again")
	if rs, err := v4.Received(ctx); err != nil || len(rs) != 1 || rs[0].Prefix != q {
		t.Errorf("v4-only holds %v (%v) after clear --out, want %s only", rs, err, q)
	}

	// No established session: refused, saying why.
	err = e.cl.Post(ctx, "/v1/members/council-c/clear", url.Values{"direction": {"in"}}, nil, &res)
	if err == nil || !strings.Contains(err.Error(), "council-c: nothing cleared: 127.0.0.13: session not established") {
		t.Errorf("clear of a member without a session: %v", err)
	}
}

// hasGS reports whether the member holds p with GRACEFUL_SHUTDOWN.
func hasGS(rs []member.Route, p netip.Prefix) (held, gs bool) {
	r, ok := member.Find(rs, p)
	return ok, ok && slices.Contains(r.Communities, "65535:0")
}

// maintenanceStatus is GET /v1/maintenance.
func maintenanceStatus(t *testing.T, e *env) api.Maintenance {
	t.Helper()
	var m api.Maintenance
	if err := e.cl.Get(rstest.Ctx(t), "/v1/maintenance", nil, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMaintenanceStopDuringWait: while maintenance waits, every member
// receives every route with GRACEFUL_SHUTDOWN; a second start is refused;
// stopping it resends the routes without the tag the route server added,
// keeping the 65535:0 a member put on its own route, and no session is
// reset.
func TestMaintenanceStopDuringWait(t *testing.T) {
	e := start(t)
	ctx := rstest.Ctx(t)
	a, b, c := e.fed.Members["nhs-a"], e.fed.Members["nhs-b"], e.fed.Members["council-c"]
	plain, tagged, fromC := pfx("10.6.0.0/16"), pfx("10.6.1.0/24"), pfx("10.8.0.0/16")
	a.Announce(ctx, member.Route{Prefix: plain})
	a.Announce(ctx, member.Route{Prefix: tagged, Communities: []string{"65535:0"}}) // the member's own
	c.Announce(ctx, member.Route{Prefix: fromC})
	want := map[*member.Router][]netip.Prefix{a: {fromC}, b: {plain, tagged, fromC}, c: {plain, tagged}}
	for m, ps := range want {
		if _, err := m.WaitFor(ctx, "its routes", func(rs []member.Route) bool { return len(rs) == len(ps) }); err != nil {
			t.Fatal(err)
		}
	}
	if rs, _ := b.Received(ctx); func() bool { _, gs := hasGS(rs, plain); return gs }() {
		t.Fatalf("GRACEFUL_SHUTDOWN before maintenance: %v", rs)
	}
	if st := maintenanceStatus(t, e); st.Phase != "off" || st.Since != nil {
		t.Errorf("status before maintenance %+v", st)
	}
	upSince := map[*member.Router]time.Time{}
	for m := range want {
		upSince[m], _ = m.Uptime(ctx)
	}

	var res api.Maintenance
	if err := e.cl.Post(ctx, "/v1/maintenance/start", nil, map[string]string{"message": "rs1 maintenance", "wait": "1h"}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Phase != "draining" || len(res.Sessions) != 3 || res.ClosesAt == nil || time.Until(*res.ClosesAt) < 59*time.Minute {
		t.Errorf("start answer %+v", res)
	}
	for m, ps := range want {
		if _, err := m.WaitFor(ctx, "GRACEFUL_SHUTDOWN on every route", func(rs []member.Route) bool {
			for _, p := range ps {
				if _, gs := hasGS(rs, p); !gs {
					return false
				}
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
	}
	st := maintenanceStatus(t, e)
	if st.Phase != "draining" || st.Message != "rs1 maintenance" || st.WaitSeconds != 3600 || st.SecondsLeft < 3500 || st.SecondsLeft > 3600 ||
		!slices.Equal(st.Sessions, []string{"council-c 127.0.0.13", "nhs-a 127.0.0.11", "nhs-b 127.0.0.12"}) {
		t.Errorf("status while draining %+v", st)
	}
	var status api.Status
	if err := e.cl.Get(ctx, "/v1/status", nil, &status); err != nil || !status.Maintenance || status.MaintenancePhase != "draining" {
		t.Errorf("/v1/status while draining: %v %+v", err, status)
	}
	// A second start while one runs is refused; the first one goes on.
	err := e.cl.Post(ctx, "/v1/maintenance/start", nil, map[string]string{"wait": "1s"}, &res)
	if err == nil || !strings.Contains(err.Error(), "maintenance is already running (draining since") || !strings.Contains(err.Error(), "stop it first") {
		t.Errorf("second start: %v", err)
	}
	if st2 := maintenanceStatus(t, e); st2.Phase != "draining" || *st2.ClosesAt != *st.ClosesAt {
		t.Errorf("after a refused second start: %+v, was %+v", st2, st)
	}

	if err := e.cl.Post(ctx, "/v1/maintenance/stop", nil, nil, &res); err != nil {
		t.Fatal(err)
	}
	if res.Phase != "off" || !strings.Contains(res.Result, "routes resent without the GRACEFUL_SHUTDOWN the route server added, to 3 sessions") {
		t.Errorf("stop answer %+v", res)
	}
	for m, ps := range want {
		if _, err := m.WaitFor(ctx, "GRACEFUL_SHUTDOWN gone except on the member's own tagged route", func(rs []member.Route) bool {
			for _, p := range ps {
				if held, gs := hasGS(rs, p); !held || gs != (p == tagged) {
					return false
				}
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
	}
	for m, since := range upSince {
		if now, _ := m.Uptime(ctx); !now.Equal(since) {
			t.Errorf("%s: session reset by maintenance (up since %v, was %v)", m.Name(), now, since)
		}
	}
	if st := maintenanceStatus(t, e); st.Phase != "off" || st.Since == nil || st.Message != "rs1 maintenance" {
		t.Errorf("status after stop %+v", st)
	}
	if err := e.cl.Post(ctx, "/v1/maintenance/stop", nil, nil, &res); err == nil || !strings.Contains(err.Error(), "maintenance is off") {
		t.Errorf("stop when off: %v", err)
	}
}

// TestMaintenanceStopAfterClose: when the wait ends the sessions close
// with the message; stop brings back the sessions maintenance closed
// (not one an operator had shut down), and they receive their routes
// again without GRACEFUL_SHUTDOWN.
func TestMaintenanceStopAfterClose(t *testing.T) {
	e := start(t)
	ctx := rstest.Ctx(t)
	a, b, c := e.fed.Members["nhs-a"], e.fed.Members["nhs-b"], e.fed.Members["council-c"]
	p := pfx("10.6.0.0/16")
	a.Announce(ctx, member.Route{Prefix: p})
	if _, err := b.WaitFor(ctx, "route", rstest.Has(p)); err != nil {
		t.Fatal(err)
	}
	var ok map[string]string
	if err := e.cl.Post(ctx, "/v1/members/council-c/shutdown", nil, map[string]string{"message": "cable"}, &ok); err != nil {
		t.Fatal(err)
	}
	var res api.Maintenance
	if err := e.cl.Post(ctx, "/v1/maintenance/start", nil, map[string]string{"message": "rs1 maintenance", "wait": "1s"}, &res); err != nil {
		t.Fatal(err)
	}
	rstest.EventuallyErr(t, 10*time.Second, func() error {
		if st := maintenanceStatus(t, e); st.Phase != "closed" {
			return fmt.Errorf("phase %s", st.Phase)
		}
		return nil
	}, "maintenance to close the sessions")
	waitState(t, a, false)
	waitState(t, b, false)
	st := maintenanceStatus(t, e)
	if !slices.Equal(st.Sessions, []string{"nhs-a 127.0.0.11", "nhs-b 127.0.0.12"}) || st.Since == nil || st.ClosesAt != nil {
		t.Errorf("status once closed %+v", st)
	}
	for _, name := range []string{"nhs-a", "nhs-b"} {
		if n := neighborOf(t, e, name); n.State == "Established" || n.NotificationSent == nil || n.NotificationSent.ShutdownMessage != "rs1 maintenance" {
			t.Errorf("%s after the close: %+v", name, n)
		}
	}

	// An operator brings nhs-b back by hand: maintenance no longer counts
	// it among the sessions it closed.
	if err := e.cl.Post(ctx, "/v1/members/nhs-b/enable", nil, nil, &ok); err != nil {
		t.Fatal(err)
	}
	waitState(t, b, true)
	if st := maintenanceStatus(t, e); !slices.Equal(st.Sessions, []string{"nhs-a 127.0.0.11"}) {
		t.Errorf("status after nhs-b was enabled by hand: sessions %v, want nhs-a's only", st.Sessions)
	}

	if err := e.cl.Post(ctx, "/v1/maintenance/stop", nil, nil, &res); err != nil {
		t.Fatal(err)
	}
	if res.Phase != "off" || !strings.Contains(res.Result, "1 sessions it closed enabled again") {
		t.Errorf("stop answer %+v", res)
	}
	for _, m := range []*member.Router{a, b} {
		waitState(t, m, true)
	}
	if _, err := b.WaitFor(ctx, "the route again, without GRACEFUL_SHUTDOWN", func(rs []member.Route) bool {
		held, gs := hasGS(rs, p)
		return held && !gs
	}); err != nil {
		t.Fatal(err)
	}
	// The session an operator shut down stays down.
	if n := neighborOf(t, e, "council-c"); n.State == "Established" || !n.AdminDown {
		t.Errorf("council-c after maintenance stop: %+v", n)
	}
	if st, _ := c.State(ctx); st == "ESTABLISHED" {
		t.Error("council-c's router re-established after maintenance stop")
	}
}

// TestNeighborsNotUp: for sessions that are not established, the looking
// glass shows state, since when, the last error and the last
// NOTIFICATIONs sent and received, decoded, exactly as the member's
// router received or sent them: a member the route server shut down, a
// member whose router closed with a shutdown message, one that never
// connected (passive) and one the route server cannot reach.
func TestNeighborsNotUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.13:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	specs := []rstest.Member{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.11"},
		{Name: "nhs-b", ASN: 4200000002, Addr: "127.0.0.12"},
		{Name: "council-c", ASN: 4200000003, Addr: "127.0.0.13", Raw: true},
		{Name: "council-d", ASN: 4200000004, Addr: "127.0.0.14", Raw: true},
	}
	// council-c: the route server connects out to a port nobody listens on.
	text := strings.Replace(rstest.Config(specs, ""), "neighbors = [\"127.0.0.13\"]\npassive = true\n",
		fmt.Sprintf("neighbors = [\"127.0.0.13\"]\npassive = false\nport = %d\n", closedPort), 1)
	e := startWith(t, text, specs)
	ctx := rstest.Ctx(t)
	a, b := e.fed.Members["nhs-a"], e.fed.Members["nhs-b"]
	started := time.Now()

	// The route server shuts nhs-a down.
	const msgA = "changing the patch cable — back at 14:00"
	if err := e.cl.Post(ctx, "/v1/members/nhs-a/shutdown", nil, map[string]string{"message": msgA}, nil); err != nil {
		t.Fatal(err)
	}
	// nhs-b's router closes its session with a message.
	const msgB = "router reload, ticket 4711"
	if err := b.Shutdown(ctx, msgB); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, false)
	rstest.Eventually(t, 5*time.Second, func() bool {
		return neighborOf(t, e, "nhs-b").State != "Established"
	}, "the route server to see nhs-b down")
	rstest.Eventually(t, 10*time.Second, func() bool {
		return neighborOf(t, e, "council-c").LastError != ""
	}, "a failed connection attempt to council-c")

	// last returns the last NOTIFICATION a router logged, once it has one.
	last := func(r *member.Router, sent bool) member.Notification {
		t.Helper()
		var n member.Notification
		rstest.Eventually(t, 5*time.Second, func() bool {
			s, rc := r.Notifications()
			if sent {
				rc = s
			}
			if len(rc) == 0 {
				return false
			}
			n = rc[len(rc)-1]
			return true
		}, r.Name()+"'s router to report the NOTIFICATION")
		return n
	}
	same := func(who string, lg *api.Notification, sp member.Notification) {
		t.Helper()
		if lg == nil || lg.Code != sp.Code || lg.Subcode != sp.Subcode || lg.ShutdownMessage != sp.Communication {
			t.Errorf("%s: looking glass shows %+v, the member's router has %+v", who, lg, sp)
		}
	}

	na := neighborOf(t, e, "nhs-a")
	got := last(a, false)
	same("nhs-a, NOTIFICATION sent by the route server", na.NotificationSent, got)
	if got.Communication != msgA || na.State == "Established" || !na.AdminDown || na.Flaps != 1 || na.LastUp == nil ||
		na.DownSince == nil || na.DownSince.Before(started) || na.NotificationReceived != nil ||
		na.NotificationSent.CodeName != "Cease" || na.NotificationSent.SubcodeName != "Administrative Shutdown" {
		t.Errorf("nhs-a (shut down by the route server): %+v, sent %+v; its router got %+v", na, na.NotificationSent, got)
	}

	// A new connection from nhs-a is refused with the shutdown's own
	// NOTIFICATION, which the looking glass then shows (gobgp does not
	// read it, so the test connects as nhs-a itself).
	refusal := dialAndReadNotification(t, "127.0.0.11", e.fed.Port)
	na = neighborOf(t, e, "nhs-a")
	if refusal.Communication != msgA || refusal.Code != 6 || refusal.Subcode != 2 {
		t.Errorf("a new connection of nhs-a was refused with %+v, want Cease/Administrative Shutdown with %q", refusal, msgA)
	}
	same("nhs-a, NOTIFICATION refusing a new connection", na.NotificationSent, refusal)
	if !na.NotificationSent.At.After(got.At) {
		t.Errorf("the refusal is not the last NOTIFICATION sent: %+v, shutdown at %v", na.NotificationSent, got.At)
	}

	nb := neighborOf(t, e, "nhs-b")
	got = last(b, true)
	same("nhs-b, NOTIFICATION received from the member", nb.NotificationReceived, got)
	if got.Communication != msgB || nb.AdminDown || nb.Flaps != 1 || nb.DownSince == nil || nb.NotificationSent != nil ||
		!strings.Contains(nb.LastError, "NOTIFICATION received") || nb.NotificationReceived.SubcodeName != "Administrative Shutdown" {
		t.Errorf("nhs-b (closed by its router): %+v, received %+v; its router sent %+v", nb, nb.NotificationReceived, got)
	}

	nc := neighborOf(t, e, "council-c")
	if nc.State == "Established" || nc.Passive || nc.LastUp != nil || nc.Flaps != 0 || nc.DownSince == nil ||
		!strings.Contains(nc.LastError, fmt.Sprintf("127.0.0.13:%d", closedPort)) || !strings.Contains(nc.LastError, "connection refused") ||
		nc.NotificationSent != nil || nc.NotificationReceived != nil {
		t.Errorf("council-c (unreachable): %+v", nc)
	}
	nd := neighborOf(t, e, "council-d")
	if nd.State != "Active" || !nd.Passive || nd.LastUp != nil || nd.Flaps != 0 || nd.LastError != "" ||
		nd.DownSince == nil || nd.NotificationSent != nil || nd.NotificationReceived != nil {
		t.Errorf("council-d (never connected): %+v", nd)
	}
}

// dialAndReadNotification connects to the route server from local and
// returns the NOTIFICATION it answers with, as a member's router would
// read it.
func dialAndReadNotification(t *testing.T, local string, port int) member.Notification {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		h := make([]byte, bgp.BGP_HEADER_LENGTH)
		if _, err := io.ReadFull(nc, h); err != nil {
			t.Fatalf("reading from the route server: %v", err)
		}
		body := make([]byte, int(binary.BigEndian.Uint16(h[16:18]))-bgp.BGP_HEADER_LENGTH)
		if _, err := io.ReadFull(nc, body); err != nil {
			t.Fatal(err)
		}
		if h[18] != bgp.BGP_MSG_NOTIFICATION {
			continue
		}
		m, err := bgp.ParseBGPBody(&bgp.BGPHeader{Type: h[18], Len: uint16(len(h) + len(body))}, body)
		if err != nil {
			t.Fatal(err)
		}
		n := m.Body.(*bgp.BGPNotification)
		out := member.Notification{At: time.Now(), Code: n.ErrorCode, Subcode: n.ErrorSubcode}
		if len(n.Data) > 0 && int(n.Data[0]) <= len(n.Data)-1 {
			out.Communication = string(n.Data[1 : 1+int(n.Data[0])])
		}
		return out
	}
}

// exportedMetric reads fedrs_exported_prefixes of a member per family.
func exportedMetric(t *testing.T, e *env, name string) map[string]int {
	t.Helper()
	var body string
	if err := e.cl.Get(context.Background(), "/metrics", nil, &body); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range fams["fedrs_exported_prefixes"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["member"] == name {
			out[labels["family"]] += int(m.GetGauge().GetValue())
		}
	}
	return out
}

// heldByFamily counts a member router's routes from the route server.
func heldByFamily(ctx context.Context, r *member.Router) (map[string]int, error) {
	rs, err := r.Received(ctx)
	out := map[string]int{"ipv4": 0, "ipv6": 0}
	for _, x := range rs {
		if x.Prefix.Addr().Is4() {
			out["ipv4"]++
		} else {
			out["ipv6"]++
		}
	}
	return out, err
}

// TestExportedPrefixesMetric: fedrs_exported_prefixes counts what each
// member's router actually holds from the route server, per family, and
// 0 for a member whose session is down.
func TestExportedPrefixesMetric(t *testing.T) {
	e := start(t)
	ctx := rstest.Ctx(t)
	a, c := e.fed.Members["nhs-a"], e.fed.Members["council-c"]
	for _, p := range []string{"10.1.0.0/16", "10.2.0.0/16", "2001:db8:1::/48"} {
		if err := a.Announce(ctx, member.Route{Prefix: pfx(p)}); err != nil {
			t.Fatal(err)
		}
	}
	a.Announce(ctx, member.Route{Prefix: pfx("10.3.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")}) // filtered
	c.Announce(ctx, member.Route{Prefix: pfx("10.4.0.0/16")})
	agree := func(what string, want map[string]map[string]int) {
		t.Helper()
		rstest.EventuallyErr(t, 10*time.Second, func() error {
			for name, r := range e.fed.Members {
				held, err := heldByFamily(ctx, r)
				if err != nil {
					return err
				}
				if w, ok := want[name]; ok && (held["ipv4"] != w["ipv4"] || held["ipv6"] != w["ipv6"]) {
					return fmt.Errorf("%s's router holds %v, want %v", name, held, w)
				}
				if st, _ := r.State(ctx); st != "ESTABLISHED" {
					held = map[string]int{"ipv4": 0, "ipv6": 0} // a router keeps nothing from a session that is down
				}
				if m := exportedMetric(t, e, name); m["ipv4"] != held["ipv4"] || m["ipv6"] != held["ipv6"] {
					return fmt.Errorf("fedrs_exported_prefixes of %s is %v, its router holds %v", name, m, held)
				}
			}
			return nil
		}, what)
	}
	agree("the metric to agree with the members' routers", map[string]map[string]int{
		"nhs-a":     {"ipv4": 1},
		"nhs-b":     {"ipv4": 3, "ipv6": 1},
		"council-c": {"ipv4": 2, "ipv6": 1},
	})
	if err := e.cl.Post(ctx, "/v1/members/council-c/shutdown", nil, map[string]string{"message": "metrics"}, nil); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, false)
	agree("the metric to agree once council-c is down", map[string]map[string]int{
		"nhs-a":     {},
		"nhs-b":     {"ipv4": 2, "ipv6": 1},
		"council-c": {},
	})
	if m := exportedMetric(t, e, "council-c"); m["ipv4"] != 0 || m["ipv6"] != 0 {
		t.Errorf("fedrs_exported_prefixes of council-c, whose session is down: %v", m)
	}
}

// TestMaintenanceReadOnlyTCP: the read-only listener shows maintenance
// status but cannot start or stop it.
func TestMaintenanceReadOnlyTCP(t *testing.T) {
	e := start(t)
	do := func(method, path string) int {
		req, _ := http.NewRequest(method, "http://"+e.tcp+path, strings.NewReader(`{"wait": "1h"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := do("GET", "/v1/maintenance"); st != 200 {
		t.Errorf("GET /v1/maintenance on the read-only listener: %d, want 200", st)
	}
	for _, p := range []string{"/v1/maintenance", "/v1/maintenance/start", "/v1/maintenance/stop"} {
		if st := do("POST", p); st != 403 {
			t.Errorf("POST %s on the read-only listener: %d, want 403", p, st)
		}
	}
	if st := maintenanceStatus(t, e); st.Phase != "off" {
		t.Errorf("maintenance %+v after refused requests", st)
	}
}
