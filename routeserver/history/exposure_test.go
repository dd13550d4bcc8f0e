package history_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/history"
)

// TestExposureFollowsSessions: what the history says was exported to a
// member is what the member's own speaker held, at every instant taken:
// a member whose session went down holds nothing and is exported nothing
// from then on, one that never came up nothing at all, one that
// negotiated IPv4 only no IPv6 route, and one that comes back is exported
// its routes again from its new session (marked as sent during the
// initial transfer). Every listing agrees: at --exported-to, at (the
// export set of each route) and the exposure intervals of prefix.
func TestExposureFollowsSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	specs := []rstest.Member{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.61", Extra: `next_hops = ["2001:db8:ffff::1"]`},
		{Name: "nhs-b", ASN: 4200000002, Addr: "127.0.0.62"},                // goes down, comes back
		{Name: "council-c", ASN: 4200000003, Addr: "127.0.0.63", Raw: true}, // IPv4 only, started below
		{Name: "council-d", ASN: 4200000004, Addr: "127.0.0.64", Raw: true}, // never comes up
		{Name: "nhs-e", ASN: 4200000005, Addr: "127.0.0.65"},                // goes down for good
	}
	rec, err := history.Open(path, history.Options{Exports: true, CommitDelay: 5 * time.Millisecond, Log: testLog})
	if err != nil {
		t.Fatal(err)
	}
	f := rstest.Start(t, specs, "", routeserver.Options{History: rec})
	t.Cleanup(func() { f.Stop(); rec.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := member.Start(ctx, member.Config{Name: "council-c", ASN: 4200000003, LocalAddr: netip.MustParseAddr("127.0.0.63"),
		RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: f.Port, RSASN: rsASN, IPv4: true, Log: testLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	must(t, c.WaitEstablished(ctx))
	f.Members["council-c"] = c

	x := &exposureCheck{t: t, f: f, rec: rec, specs: specs, stopped: map[string]bool{}}
	a, b, e := f.Members["nhs-a"], f.Members["nhs-b"], f.Members["nhs-e"]
	pfx := netip.MustParsePrefix
	v6 := pfx("2001:db8:1::/48")
	must(t, a.Announce(ctx, member.Route{Prefix: pfx("10.1.0.0/16")}))
	must(t, a.Announce(ctx, member.Route{Prefix: v6, NextHop: netip.MustParseAddr("2001:db8:ffff::1")}))
	must(t, b.Announce(ctx, member.Route{Prefix: pfx("10.2.0.0/16")}))
	must(t, e.Announce(ctx, member.Route{Prefix: pfx("10.5.0.0/16")}))
	x.waitHolds(ctx, "nhs-b", "10.1.0.0/16", "2001:db8:1::/48", "10.5.0.0/16")
	x.waitHolds(ctx, "council-c", "10.1.0.0/16", "10.2.0.0/16", "10.5.0.0/16")
	x.waitHolds(ctx, "nhs-e", "10.1.0.0/16", "2001:db8:1::/48", "10.2.0.0/16")
	x.take(ctx, "all up but council-d")

	// B shuts its session down, E stops; A announces a route B does not
	// get while it is down.
	must(t, b.Shutdown(ctx, "maintenance"))
	e.Stop()
	x.stopped["nhs-e"] = true
	x.waitDown("nhs-b")
	x.waitDown("nhs-e")
	must(t, a.Announce(ctx, member.Route{Prefix: pfx("10.3.0.0/16")}))
	x.waitHolds(ctx, "council-c", "10.1.0.0/16", "10.3.0.0/16")
	rstest.Eventually(t, 15*time.Second, func() bool {
		rs, _ := c.Received(ctx)
		_, b2 := member.Find(rs, pfx("10.2.0.0/16"))
		_, e5 := member.Find(rs, pfx("10.5.0.0/16"))
		return !b2 && !e5
	}, "council-c without B's and E's routes")
	x.take(ctx, "nhs-b and nhs-e down")

	// B comes back: the route server sends it its table again.
	must(t, b.Enable(ctx))
	must(t, b.WaitEstablished(ctx))
	x.waitHolds(ctx, "nhs-b", "10.1.0.0/16", "2001:db8:1::/48", "10.3.0.0/16")
	x.waitHolds(ctx, "council-c", "10.2.0.0/16")
	x.take(ctx, "nhs-b back")

	rd, err := history.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for _, s := range x.snaps {
		x.compare(ctx, rd, s)
	}

	// B's second session: 10.3.0.0/16 was first exported to B by it,
	// during its initial transfer, whose end was recorded.
	ss, err := rd.Sessions(ctx, "nhs-b", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || ss[0].Down == nil || ss[1].Up == nil || ss[1].Down != nil {
		t.Fatalf("sessions of nhs-b: %+v; want one ended, one up", ss)
	}
	up2 := *ss[1].Up
	synced, ok := ss[1].Synced["ipv4-unicast"]
	if !ok || synced.Before(up2) {
		t.Fatalf("nhs-b's second session: synced %v (up %s); want End-of-RIB recorded after the session came up", ss[1].Synced, up2)
	}
	vs, err := rd.Versions(ctx, history.Query{Prefix: pfx("10.3.0.0/16")})
	if err != nil || len(vs) != 1 {
		t.Fatalf("10.3.0.0/16: %v %+v", err, vs)
	}
	var toB *history.Export
	for i := range vs[0].Exports {
		if slices.Contains(vs[0].Exports[i].Members, "nhs-b") {
			toB = &vs[0].Exports[i]
			break
		}
	}
	if toB == nil || !toB.From.Equal(up2) {
		t.Fatalf("10.3.0.0/16 exports %+v; want nhs-b from its new session's up (%s)", vs[0].Exports, up2)
	}
	if i := slices.IndexFunc(toB.Transfers, func(tr history.Transfer) bool { return tr.Member == "nhs-b" }); i < 0 ||
		toB.Transfers[i].Synced == nil || !toB.Transfers[i].Synced.Equal(synced) {
		t.Errorf("10.3.0.0/16 to nhs-b from %s: transfers %+v; want sent during the initial transfer up to %s", toB.From, toB.Transfers, synced)
	}
	// 10.1.0.0/16 was exported to B twice, with the time B was down
	// between (C all along).
	vs, err = rd.Versions(ctx, history.Query{Prefix: pfx("10.1.0.0/16")})
	if err != nil || len(vs) != 1 {
		t.Fatalf("10.1.0.0/16: %v %+v", err, vs)
	}
	var withB []history.Export // B's exposure, contiguous intervals merged
	for _, ex := range vs[0].Exports {
		if slices.Contains(ex.Members, "nhs-b") {
			if n := len(withB); n > 0 && withB[n-1].To != nil && withB[n-1].To.Equal(ex.From) {
				withB[n-1].To = ex.To
			} else {
				withB = append(withB, ex)
			}
		}
		if slices.Contains(ex.Members, "council-d") {
			t.Errorf("10.1.0.0/16 exported to council-d, which never came up: %+v", ex)
		}
	}
	if len(withB) != 2 || withB[0].To == nil || !withB[0].To.Equal(*ss[0].Down) || !withB[1].From.Equal(up2) {
		t.Errorf("10.1.0.0/16 to nhs-b: %+v; want until %s and again from %s", withB, ss[0].Down, up2)
	}
	// An instant inside the initial transfer gets a notice.
	if synced.After(up2) {
		ns, err := rd.TransferNotices(ctx, up2, "nhs-b")
		if err != nil || len(ns) == 0 || !strings.Contains(ns[0].Text, "initial transfer") {
			t.Errorf("notices at nhs-b's up: %v %+v; want the initial transfer named", err, ns)
		}
	}
	if ns, _ := rd.TransferNotices(ctx, x.snaps[2].at, ""); len(ns) != 0 {
		t.Errorf("notices after every transfer ended: %+v", ns)
	}
	// council-c negotiated IPv4 only.
	cs, err := rd.Sessions(ctx, "council-c", time.Time{}, time.Time{})
	if err != nil || len(cs) != 1 || !slices.Equal(cs[0].Families, []string{"ipv4-unicast"}) {
		t.Errorf("council-c's sessions: %v %+v; want one, IPv4 only", err, cs)
	}
}

// exposureCheck takes the members' own tables at instants and compares
// the history with them.
type exposureCheck struct {
	t       *testing.T
	f       *rstest.Fed
	rec     *history.Recorder
	specs   []rstest.Member
	stopped map[string]bool
	snaps   []memberTables
}

// memberTables is what each member's speaker held at one instant, as
// "prefix|from member|AS_PATH|next hop".
type memberTables struct {
	what string
	at   time.Time
	held map[string][]string
}

func (x *exposureCheck) waitHolds(ctx context.Context, name string, prefixes ...string) {
	x.t.Helper()
	_, err := x.f.Members[name].WaitFor(ctx, strings.Join(prefixes, " "), func(rs []member.Route) bool {
		for _, p := range prefixes {
			if _, ok := member.Find(rs, netip.MustParsePrefix(p)); !ok {
				return false
			}
		}
		return true
	})
	if err != nil {
		x.t.Fatal(err)
	}
}

func (x *exposureCheck) waitDown(name string) {
	x.t.Helper()
	rstest.Eventually(x.t, 15*time.Second, func() bool {
		for _, n := range x.f.Srv.Neighbors() {
			if x.specs[n.Member].Name == name {
				return !x.f.Srv.RIB().Stats(n.Source).Up
			}
		}
		return false
	}, name+"'s session down at the route server")
}

// tables reads every member's speaker (nothing for one stopped or never
// started).
func (x *exposureCheck) tables(ctx context.Context) map[string][]string {
	byASN := map[uint32]string{}
	for _, s := range x.specs {
		byASN[s.ASN] = s.Name
	}
	out := map[string][]string{}
	for _, s := range x.specs {
		r, ok := x.f.Members[s.Name]
		if !ok || x.stopped[s.Name] {
			out[s.Name] = nil
			continue
		}
		rs, err := r.Received(ctx)
		if err != nil {
			x.t.Fatalf("%s's table: %v", s.Name, err)
		}
		var held []string
		for _, rt := range rs {
			from := "?"
			if len(rt.ASPath) > 0 {
				from = byASN[rt.ASPath[0]]
			}
			var path []string
			for _, as := range rt.ASPath {
				path = append(path, strconv.FormatUint(uint64(as), 10))
			}
			held = append(held, fmt.Sprintf("%s|%s|%s|%s", rt.Prefix, from, strings.Join(path, " "), rt.NextHop))
		}
		slices.Sort(held)
		out[s.Name] = held
	}
	return out
}

// take records the members' tables at an instant: the same before and
// after it, with every event before it committed.
func (x *exposureCheck) take(ctx context.Context, what string) {
	x.t.Helper()
	var snap memberTables
	err := rstest.Until(20*time.Second, func() bool {
		before := x.tables(ctx)
		must(x.t, x.rec.Sync(ctx))
		at := time.Now()
		must(x.t, x.rec.Sync(ctx))
		after := x.tables(ctx)
		snap = memberTables{what: what, at: at, held: after}
		return fmt.Sprint(before) == fmt.Sprint(after) && at.Before(time.Now())
	})
	if err != nil {
		x.t.Fatalf("%s: the members' tables did not settle", what)
	}
	x.snaps = append(x.snaps, snap)
}

func versionKey(v history.Version) string {
	return fmt.Sprintf("%s|%s|%s|%s", v.Prefix, v.Member, v.ASPath, v.NextHop)
}

// compare checks every listing of the history against the members' tables
// at s.at.
func (x *exposureCheck) compare(ctx context.Context, rd *history.Reader, s memberTables) {
	x.t.Helper()
	at, err := rd.At(ctx, s.at, "")
	if err != nil {
		x.t.Fatal(err)
	}
	all, err := rd.Versions(ctx, history.Query{})
	if err != nil {
		x.t.Fatal(err)
	}
	for _, m := range x.specs {
		want := s.held[m.Name]
		ex, _, err := rd.ExportedTo(ctx, s.at, m.Name)
		if err != nil {
			x.t.Fatal(err)
		}
		var fromExportedTo, fromAt, fromPrefix []string
		for _, v := range ex {
			fromExportedTo = append(fromExportedTo, versionKey(v))
		}
		for _, v := range at {
			if len(v.Exports) > 0 && slices.Contains(v.Exports[0].Members, m.Name) {
				fromAt = append(fromAt, versionKey(v))
			}
		}
		for _, v := range all {
			for _, e := range v.Exports {
				if !e.From.After(s.at) && (e.To == nil || e.To.After(s.at)) && slices.Contains(e.Members, m.Name) {
					fromPrefix = append(fromPrefix, versionKey(v))
				}
			}
		}
		for _, l := range []struct {
			name string
			got  []string
		}{{"at --exported-to", fromExportedTo}, {"at (export sets)", fromAt}, {"prefix (exposure intervals)", fromPrefix}} {
			slices.Sort(l.got)
			if !slices.Equal(l.got, want) {
				x.t.Errorf("%s, %s: history %s says\n  %s\nthe member's speaker held\n  %s", s.what, m.Name, l.name,
					strings.Join(l.got, "\n  "), strings.Join(want, "\n  "))
			}
		}
	}
}
