package history_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/history"
	"github.com/fedrs/fedrs/routeserver/rib"
)

// TestEventsRecorded drives a route server with history and in-process
// members: accepted and filtered announcements, an administrative
// shutdown of one member's session (Cease with an RFC 9003 message) and
// its return, a configuration reload. The event list then holds exactly
// the filter decisions the RIB made (prefix, member, reasons), the
// session ups and downs with the NOTIFICATION the route server sent, and
// the loads of the configuration; its filters and counts agree.
func TestEventsRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	specs := []rstest.Member{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.51"},
		{Name: "nhs-b", ASN: 4200000002, Addr: "127.0.0.52"},
		{Name: "council-c", ASN: 4200000003, Addr: "127.0.0.53"},
	}
	start := time.Now()
	f := startFed(t, specs, path)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, c := f.Members["nhs-a"], f.Members["council-c"]
	pfx := netip.MustParsePrefix
	must(t, a.Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16")}))
	must(t, a.Announce(ctx, member.Route{Prefix: pfx("10.1.2.0/24"), NextHop: netip.MustParseAddr("127.0.0.99")})) // next hop not A's
	must(t, c.Announce(ctx, member.Route{Prefix: pfx("192.168.50.0/24")}))                                         // prefix not allowed
	must(t, c.Announce(ctx, member.Route{Prefix: pfx("10.3.0.0/16")}))
	rstest.Eventually(t, 15*time.Second, func() bool { return len(f.ribRoutes()) == 4 }, "four routes in the RIB")

	// nhs-b: shut down by the operator, then enabled (its router
	// reconnects).
	nb := f.Srv.Neighbors()[1]
	must(t, f.Srv.ShutdownMember("nhs-b", "maintenance window"))
	rstest.Eventually(t, 15*time.Second, func() bool { return !f.Srv.RIB().Stats(nb.Source).Up }, "nhs-b down at the route server")
	sent := nb.Peer.Info().LastNotifySent
	if sent == nil {
		t.Fatal("the route server records no NOTIFICATION sent to nhs-b")
	}
	must(t, f.Srv.EnableMember("nhs-b"))
	rstest.Eventually(t, 20*time.Second, func() bool { return f.Srv.RIB().Stats(nb.Source).Up }, "nhs-b up again")

	// A reload: a description changes.
	specs2 := slices.Clone(specs)
	specs2[2].Extra = `description = "Council C"`
	cfg, err := conf.Parse([]byte(rstest.Config(specs2, "")), "test.toml")
	must(t, err)
	if _, err := f.Srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	must(t, f.rec.Sync(ctx))

	rd, err := history.OpenReader(path)
	must(t, err)
	defer rd.Close()
	page, err := rd.Events(ctx, history.EventQuery{Limit: history.MaxEventLimit})
	must(t, err)
	if page.Truncated {
		t.Fatalf("%d events and more", len(page.Events))
	}
	byKind := map[string][]history.Event{}
	for _, e := range page.Events {
		byKind[e.Kind] = append(byKind[e.Kind], e)
		if e.Time.Before(start) || e.Time.After(time.Now()) {
			t.Errorf("event at %v outside the test's run: %s", e.Time, e.Text)
		}
	}

	// Filter decisions: the RIB's filtered routes, with their reasons.
	rs, _ := f.Srv.RIB().Routes(rib.Filter{Member: -1, Filtered: true}, 0, 0)
	var want, got []string
	for _, r := range rs {
		var reasons []string
		for _, x := range r.Verdict.Filtered.Reasons() {
			reasons = append(reasons, x.String()+"/"+itoa(x.Info().Code))
		}
		name, _, _ := strings.Cut(r.Source.Name, " ")
		want = append(want, r.Prefix.String()+" "+name+" "+strings.Join(reasons, ","))
	}
	for _, e := range byKind[history.EventFiltered] {
		var reasons []string
		for _, x := range e.Reasons {
			reasons = append(reasons, x.Name+"/"+itoa(x.Code))
		}
		got = append(got, e.Prefix+" "+e.Member+" "+strings.Join(reasons, ","))
		if e.Until != nil || e.Cause != "update" {
			t.Errorf("filter decision %s: until %v, cause %q; want still held, from an update", e.Text, e.Until, e.Cause)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) != 2 || !slices.Equal(got, want) {
		t.Errorf("filter decisions in the history:\n  %s\nfiltered in the RIB:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	// Sessions: three ups at the start, nhs-b down (with the route
	// server's NOTIFICATION) and up again.
	var sess []string
	for _, e := range byKind[history.EventSession] {
		sess = append(sess, e.Member+" "+e.State)
		if e.Member == "nhs-b" && e.State == "down" {
			if e.Sent == nil || e.Sent.Code != sent.Code || e.Sent.Subcode != sent.Subcode {
				t.Errorf("nhs-b down: NOTIFICATION sent %+v, the route server sent %v", e.Sent, sent.Notification)
			} else if msg, _ := sent.ShutdownMessage(); e.Sent.Message != msg || msg != "maintenance window" {
				t.Errorf("nhs-b down: message %q, sent %q", e.Sent.Message, msg)
			}
			if e.Notification != "sent "+history.NotifyText(e.Sent) || !strings.Contains(e.Text, `Cease/Administrative Shutdown: "maintenance window"`) {
				t.Errorf("nhs-b down: notification %q, text %q", e.Notification, e.Text)
			}
		}
		if e.Neighbor != specs[slices.IndexFunc(specs, func(m rstest.Member) bool { return m.Name == e.Member })].Addr {
			t.Errorf("session event of %s on neighbour %s", e.Member, e.Neighbor)
		}
	}
	if got := strings.Join(sess, ", "); got != "nhs-b up, nhs-b down" && !strings.HasPrefix(got, "nhs-b up, nhs-b down, ") {
		t.Errorf("session events, newest first: %s", got)
	}
	if n := len(sess); n != 5 {
		t.Errorf("%d session events (%v), want 5: three ups, nhs-b's down and up", n, sess)
	}
	// The two loads of the configuration, the reload naming its change.
	rl := byKind[history.EventReload]
	if len(rl) != 2 || rl[1].Changes != "" || !strings.Contains(rl[0].Changes, "council-c") || *rl[0].Members != 3 {
		t.Errorf("reload events: %+v", rl)
	}

	// Filters: nhs-b's events are its sessions and the loads.
	pb, err := rd.Events(ctx, history.EventQuery{Member: "nhs-b"})
	must(t, err)
	for _, e := range pb.Events {
		if e.Kind != history.EventSession && e.Kind != history.EventReload || e.Member != "" && e.Member != "nhs-b" {
			t.Errorf("member nhs-b: %s", e.Text)
		}
	}
	if len(pb.Events) != 3+2 {
		t.Errorf("member nhs-b: %d events, want 3 session events and 2 loads", len(pb.Events))
	}
	// 10.1.0.0/16 covers A's filtered /24; 10.1.2.0/24 and the reason
	// find it too; council-c's only by its own reason.
	for _, q := range []history.EventQuery{{Prefix: pfx("10.1.0.0/16")}, {Prefix: pfx("10.1.2.0/24")}, {Reason: "next_hop"}, {Reason: "1101:8", Member: "nhs-a"}} {
		p, err := rd.Events(ctx, q)
		must(t, err)
		if len(p.Events) != 1 || p.Events[0].Prefix != "10.1.2.0/24" {
			t.Errorf("%+v: %+v", q, p.Events)
		}
	}
	p, err := rd.Events(ctx, history.EventQuery{Kinds: []string{history.EventFiltered}, Member: "council-c"})
	must(t, err)
	if len(p.Events) != 1 || p.Events[0].Prefix != "192.168.50.0/24" || p.Events[0].Reasons[0].Code != 9 {
		t.Errorf("council-c's filter decisions: %+v", p.Events)
	}
	// Counts by reason over the run.
	rc, err := rd.FilteredByReason(ctx, "", start, time.Now())
	must(t, err)
	var counts []string
	for _, x := range rc {
		counts = append(counts, x.Reason+":"+itoa(uint32(x.Decisions))+":"+itoa(uint32(x.Routes)))
	}
	slices.Sort(counts)
	if strings.Join(counts, " ") != "next_hop:1:1 prefix_not_allowed:1:1" {
		t.Errorf("filtered by reason: %v", counts)
	}
	// The session list of the member page agrees with the events.
	ss, err := rd.Sessions(ctx, "nhs-b", start, time.Time{})
	must(t, err)
	if len(ss) != 2 || ss[0].Down == nil || ss[0].Sent == nil || ss[1].Down != nil {
		t.Errorf("sessions of nhs-b: %+v", ss)
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
