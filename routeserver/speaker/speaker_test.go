package speaker_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/speaker"
)

// start starts a speaker for member m of f.
func start(t *testing.T, f *rstest.Fed, m rstest.Member) *speaker.Speaker {
	t.Helper()
	s, err := speaker.Start(speaker.Config{
		Name: m.Name, ASN: m.ASN, LocalAddr: netip.MustParseAddr(m.Addr),
		RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: f.Port, RSASN: rstest.RSASN, Log: rstest.StrictLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.WaitEstablished(ctx); err != nil {
		t.Fatalf("%s: %v", m.Name, err)
	}
	return s
}

func find(rs []speaker.Route, p netip.Prefix) (speaker.Route, bool) {
	i := slices.IndexFunc(rs, func(r speaker.Route) bool { return r.Prefix == p })
	if i < 0 {
		return speaker.Route{}, false
	}
	return rs[i], true
}

// TestAnnounceReceiveWithdraw: two speakers and a gobgp member at a route
// server that requires the BGP Role. What a speaker announces reaches the
// others with its attributes (its AS prepended), what the gobgp member
// announces reaches the speaker, a withdrawal and a stopped speaker take
// the routes away.
func TestAnnounceReceiveWithdraw(t *testing.T) {
	specs := rstest.Three()
	specs[0].Raw, specs[0].Extra = true, "role_strict = true\nnext_hops = [\"127.0.0.11\", \"2001:db8:ffff::11\"]"
	specs[1].Raw, specs[1].Extra = true, "role_strict = true"
	f := rstest.Start(t, specs, "", routeserver.Options{})
	a, b := start(t, f, specs[0]), start(t, f, specs[1])
	c := f.Members[specs[2].Name]

	v4, v6 := netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("2001:db8:1::/48")
	med := uint32(50)
	if err := a.Announce(speaker.Route{Prefix: v4, ASPath: []uint32{65001}, MED: &med,
		Communities: []string{"65001:7"}, Large: []string{"65001:1:2"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Announce(speaker.Route{Prefix: v6, NextHop: netip.MustParseAddr("2001:db8:ffff::11")}); err != nil {
		t.Fatal(err)
	}
	check := func(who string, r speaker.Route) {
		t.Helper()
		if !slices.Equal(r.ASPath, []uint32{specs[0].ASN, 65001}) || r.MED == nil || *r.MED != med ||
			r.NextHop != netip.MustParseAddr("127.0.0.11") || !slices.Contains(r.Communities, "65001:7") ||
			!slices.Contains(r.Large, "65001:1:2") {
			t.Errorf("%s received %+v (MED %v)", who, r, r.MED)
		}
	}
	var got []speaker.Route
	rstest.Eventually(t, 10*time.Second, func() bool {
		got = b.Received()
		return len(got) == 2
	}, "b to receive both of a's routes")

	r, _ := find(got, v4)
	check("b", r)
	if r6, _ := find(got, v6); r6.NextHop != netip.MustParseAddr("2001:db8:ffff::11") ||
		!slices.Equal(r6.ASPath, []uint32{specs[0].ASN}) {
		t.Errorf("b received %+v", r6)
	}
	rs, err := c.WaitFor(rstest.Ctx(t), "a's IPv4 route", rstest.Has(v4))
	if err != nil {
		t.Fatal(err)
	}
	mr, _ := member.Find(rs, v4)
	check("gobgp member c", speaker.Route{Prefix: mr.Prefix, NextHop: mr.NextHop, ASPath: mr.ASPath, MED: mr.MED,
		Communities: mr.Communities, Large: mr.Large})

	// From gobgp to a speaker.
	cp := netip.MustParsePrefix("10.3.0.0/16")
	if err := c.Announce(rstest.Ctx(t), member.Route{Prefix: cp, Communities: []string{"65003:3"}}); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 10*time.Second, func() bool {
		r, ok := find(a.Received(), cp)
		return ok && slices.Equal(r.ASPath, []uint32{specs[2].ASN}) && slices.Contains(r.Communities, "65003:3")
	}, "a to receive c's route")

	// Withdraw, replace, stop.
	a.Withdraw(v6)
	rstest.Eventually(t, 10*time.Second, func() bool {
		_, ok := find(b.Received(), v6)
		return !ok
	}, "b to lose the withdrawn route")

	if err := a.Announce(speaker.Route{Prefix: v4}); err != nil {
		t.Fatal(err)
	}
	rstest.Eventually(t, 10*time.Second, func() bool {
		r, ok := find(b.Received(), v4)
		return ok && r.MED == nil && len(r.ASPath) == 1
	}, "b to receive the replaced route")

	a.Stop()
	rstest.Eventually(t, 10*time.Second, func() bool {
		_, ok := find(b.Received(), v4)
		return !ok
	}, "b to lose a's routes when a stops")

	if got := a.Received(); len(got) != 0 {
		t.Errorf("a stopped and still holds %v", got)
	}
}

// TestAnnounceRefusesBadRoutes: routes a speaker cannot encode are
// refused at Announce.
func TestAnnounceRefusesBadRoutes(t *testing.T) {
	s, err := speaker.Start(speaker.Config{Name: "x", ASN: 65001, LocalAddr: netip.MustParseAddr("127.0.0.99"),
		RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: 9, RSASN: 65000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	for _, rt := range []speaker.Route{
		{Prefix: netip.MustParsePrefix("2001:db8::/32")}, // IPv4 local address as next hop
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), NextHop: netip.MustParseAddr("2001:db8::1")},
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Communities: []string{"70000:1"}},
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Large: []string{"1:2"}},
	} {
		if err := s.Announce(rt); err == nil {
			t.Errorf("Announce(%+v) accepted", rt)
		}
	}
	if _, err := speaker.Start(speaker.Config{Name: "y", LocalAddr: netip.MustParseAddr("::1")}); err == nil {
		t.Error("Start without a router ID on an IPv6 address succeeded")
	}
}
