package policy

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/bgp"
)

// ixpConfig is a small exchange with a 16-bit route server ASN, so that
// every standard action community form is usable:
//
//	0 a 65001 (announcer)   1 b 65002 (g1)   2 c 65003 (g1)
//	3 d 65004 (g2)          4 e 4200000005 (32-bit, g2, blackhole_receive)
func ixpConfig(t testing.TB) *conf.Config {
	t.Helper()
	mk := func(name string, asn uint32, last byte, groups ...string) conf.Member {
		return conf.Member{
			Name: name, ASN: asn,
			Neighbors: []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 2, last})},
			Groups:    groups,
			Prefixes:  []conf.PrefixRange{{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, last, 0, 0}), 16), LE: 24}},
		}
	}
	cfg := &conf.Config{
		Server: conf.Server{ASN: 65000, RouterID: netip.MustParseAddr("192.0.2.1")},
		Groups: []conf.Group{{Name: "g1", ID: 1}, {Name: "g2", ID: 2}},
		Members: []conf.Member{
			mk("a", 65001, 11),
			mk("b", 65002, 12, "g1"),
			mk("c", 65003, 13, "g1"),
			mk("d", 65004, 14, "g2"),
			mk("e", 4200000005, 15, "g2"),
		},
	}
	cfg.Members[4].BlackholeReceive = true
	cfg.ApplyDefaults()
	if err := conf.Validate(cfg); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	return cfg
}

func mustComms(t testing.TB, ss ...string) ([]uint32, []bgp.Large) {
	t.Helper()
	var std []uint32
	var large []bgp.Large
	for _, s := range ss {
		if strings.Count(s, ":") == 2 {
			l, err := parseLarge(s)
			if err != nil {
				t.Fatal(err)
			}
			large = append(large, l)
			continue
		}
		c, err := parseCommunity(s)
		if err != nil {
			t.Fatal(err)
		}
		std = append(std, c)
	}
	return std, large
}

// TestActionPrecedence checks the export decision from member a for
// combinations of action communities, standard and large.
func TestActionPrecedence(t *testing.T) {
	cfg := ixpConfig(t)
	e, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"a", "b", "c", "d", "e"}
	cases := []struct {
		name  string
		comms []string
		mods  Mods
		to    string         // allowed targets, e.g. "bcde"
		vars  map[string]int // target → prepends (only listed ones checked, others 0)
		noexp string         // targets with NO_EXPORT
		noadv string
	}{
		{name: "no action", to: "bcde"},
		{name: "large RS:0:peer", comms: []string{"65000:0:65002"}, to: "cde"},
		{name: "standard 0:peer", comms: []string{"0:65002"}, to: "cde"},
		{name: "large RS:0:peer for a 32-bit peer", comms: []string{"65000:0:4200000005"}, to: "bcd"},
		{name: "large RS:0:0", comms: []string{"65000:0:0"}, to: ""},
		{name: "standard 0:RS", comms: []string{"0:65000"}, to: ""},
		{name: "RS:0:0 + RS:1:peer", comms: []string{"65000:0:0", "65000:1:65003"}, to: "c"},
		{name: "0:RS + standard RS:peer", comms: []string{"0:65000", "65000:65003"}, to: "c"},
		{name: "0:RS + large RS:1:peer (forms mix)", comms: []string{"0:65000", "65000:1:4200000005"}, to: "e"},
		{name: "RS:1:peer alone is a no-op", comms: []string{"65000:1:65003"}, to: "bcde"},
		{name: "RS:0:peer beats RS:1:peer", comms: []string{"65000:0:65003", "65000:1:65003"}, to: "bde"},
		{name: "0:peer beats RS:peer (standard)", comms: []string{"0:65003", "65000:65003"}, to: "bde"},
		{name: "RS:0:0 + RS:0:peer + RS:1:peer", comms: []string{"65000:0:0", "65000:0:65003", "65000:1:65003"}, to: ""},
		{name: "RS:10:gid", comms: []string{"65000:10:1"}, to: "de"},
		{name: "RS:11:gid alone is a no-op", comms: []string{"65000:11:1"}, to: "bcde"},
		{name: "RS:0:0 + RS:11:gid", comms: []string{"65000:0:0", "65000:11:2"}, to: "de"},
		{name: "RS:10:gid + RS:11:gid (same group): deny wins", comms: []string{"65000:10:1", "65000:11:1"}, to: "de"},
		{name: "RS:10:gid + RS:1:peer: peer beats group", comms: []string{"65000:10:1", "65000:1:65002"}, to: "bde"},
		{name: "RS:11:gid + RS:0:peer: peer deny beats group allow", comms: []string{"65000:0:0", "65000:11:1", "65000:0:65002"}, to: "c"},
		{name: "RS:10:unknown group: no effect", comms: []string{"65000:10:99"}, to: "bcde"},
		{name: "RS:0:unknown peer: no effect", comms: []string{"65000:0:64999", "0:64999"}, to: "bcde"},
		{name: "prepend to peer (large)", comms: []string{"65000:102:65002"}, to: "bcde", vars: map[string]int{"b": 2}},
		{name: "prepend to peer (standard)", comms: []string{"65503:65004"}, to: "bcde", vars: map[string]int{"d": 3}},
		{name: "prepend to all (standard)", comms: []string{"65501:0"}, to: "bcde", vars: map[string]int{"b": 1, "c": 1, "d": 1, "e": 1}},
		{name: "per-peer prepend wins over all", comms: []string{"65000:103:0", "65000:101:65003"}, to: "bcde", vars: map[string]int{"b": 3, "c": 1, "d": 3, "e": 3}},
		{name: "two per-peer prepends: the larger", comms: []string{"65000:101:65003", "65502:65003"}, to: "bcde", vars: map[string]int{"c": 2}},
		{name: "NO_EXPORT toward peer (large and standard)", comms: []string{"65000:65281:65002", "65281:65003"}, to: "bcde", noexp: "bc"},
		{name: "NO_ADVERTISE toward peer", comms: []string{"65000:65282:4200000005", "65282:65004"}, to: "bcde", noadv: "de"},
		{name: "blackhole: only opted-in members", mods: ModBlackhole, to: "e"},
		{name: "blackhole + RS:0:peer for the opted-in member", comms: []string{"65000:0:4200000005"}, mods: ModBlackhole, to: ""},
		{name: "no variant for a denied target", comms: []string{"65000:0:65002", "65000:102:65002"}, to: "cde"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := &bgp.Attrs{ASPath: []uint32{65001}, PathLen: 1, NextHop: netip.MustParseAddr("192.0.2.11")}
			a.Communities, a.Large = mustComms(t, c.comms...)
			p := e.Profile(0, a, c.mods)
			got := ""
			for i, n := range names {
				if p.Allows(i) {
					got += n
				}
			}
			if got != c.to {
				t.Errorf("announced to %q, want %q", got, c.to)
			}
			for i, n := range names {
				v := p.VariantFor(i)
				if !p.Allows(i) {
					continue
				}
				if v.Prepends() != c.vars[n] {
					t.Errorf("%s: %d prepends, want %d", n, v.Prepends(), c.vars[n])
				}
				if (v&VariantNoExport != 0) != strings.Contains(c.noexp, n) {
					t.Errorf("%s: NO_EXPORT %v", n, v&VariantNoExport != 0)
				}
				if (v&VariantNoAdvertise != 0) != strings.Contains(c.noadv, n) {
					t.Errorf("%s: NO_ADVERTISE %v", n, v&VariantNoAdvertise != 0)
				}
				// Explain agrees.
				x := e.Explain(0, netip.MustParsePrefix("10.11.0.0/24"), a, i).Export
				if c.mods == 0 && (x == nil || !x.Allowed || x.Variant != v) {
					t.Errorf("%s: explain %+v disagrees with profile (variant %d)", n, x, v)
				}
			}
			if c.to == "" && !p.DenyAll {
				t.Errorf("nobody receives the route but DenyAll is false")
			}
		})
	}
}

// TestStandardForms checks which standard communities the route server
// interprets (and strips) and which it leaves alone, for a 16-bit and a
// 32-bit route server ASN.
func TestStandardForms(t *testing.T) {
	cfg := ixpConfig(t)
	e16, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg32 := ixpConfig(t)
	cfg32.Server.ASN = 4200065000
	e32, err := New(cfg32, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		comm         string
		strip16, s32 bool // stripped with RS 65000 / RS 4200065000
	}{
		{"0:65002", true, true},       // do not announce to member b
		{"0:65000", true, false},      // 0:RS (not expressible with a 32-bit RS)
		{"0:12345", false, false},     // not a member: foreign
		{"65000:65002", true, false},  // RS:peer
		{"65000:65000", true, false},  // RS:RS: the RS's own namespace
		{"65000:7", true, false},      // RS:x: the RS's own namespace
		{"65501:0", true, true},       // prepend once to all
		{"65503:65004", true, true},   // prepend thrice to d
		{"65502:12345", false, false}, // not a member
		{"65281:65002", true, true},   // NO_EXPORT toward b
		{"65282:65003", true, true},   // NO_ADVERTISE toward c
		{"65281:0", false, false},     // not a form the RS accepts
		{"65535:666", false, false},   // BLACKHOLE
		{"65535:0", false, false},     // GRACEFUL_SHUTDOWN
		{"65535:65281", false, false}, // NO_EXPORT
		{"64512:1", false, false},     // someone else's
	}
	for _, c := range cases {
		v, _ := mustComms(t, c.comm)
		a := &bgp.Attrs{ASPath: []uint32{65001}, PathLen: 1, Communities: v}
		for _, x := range []struct {
			e     *Engine
			strip bool
			rs    string
		}{{e16, c.strip16, "RS 65000"}, {e32, c.s32, "RS 4200065000"}} {
			rw := x.e.Rewrite(0, a, 0, 0)
			kept := slices.Contains(rw.Communities, v[0])
			if kept == x.strip {
				t.Errorf("%s with %s: stripped = %v, want %v", c.comm, x.rs, !kept, x.strip)
			}
		}
	}
}

func TestRewriteLargeStripping(t *testing.T) {
	e, err := New(ixpConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, large := mustComms(t, "65000:0:65002", "65000:1101:9", "65000:1000:1", "65001:0:65002", "64512:65000:1")
	a := &bgp.Attrs{ASPath: []uint32{65001}, PathLen: 1, Large: large, HasOTC: true, OTC: 64777}
	mods := Mods(0).WithROV(ROVNotFound).WithRegistry(RegistryOwned)
	rw := e.Rewrite(0, a, mods, VariantNoExport|2)
	var got []string
	for _, l := range rw.Large {
		got = append(got, l.String())
	}
	want := []string{"65000:1000:2", "65000:1010:3", "65000:1011:1", "65001:0:65002", "64512:65000:1"}
	slices.SortFunc(want, func(x, y string) int {
		a, _ := parseLarge(x)
		b, _ := parseLarge(y)
		return compareLarge(a, b)
	})
	if !slices.Equal(got, want) {
		t.Errorf("large = %v, want %v", got, want)
	}
	if rw.SetOTC {
		t.Errorf("OTC present: must not be changed")
	}
	if rw.PrependN != 2 || rw.PrependAS != 65001 {
		t.Errorf("prepend %d×%d", rw.PrependN, rw.PrependAS)
	}
	if !slices.Equal(rw.Communities, []uint32{bgp.CommNoExport}) {
		t.Errorf("communities %v", rw.Communities)
	}
}

func TestProfileInterning(t *testing.T) {
	e, err := New(ixpConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	base := &bgp.Attrs{ASPath: []uint32{65001}, PathLen: 1}
	p1 := e.Profile(0, base, 0)
	p2 := e.Profile(0, &bgp.Attrs{ASPath: []uint32{65001, 64777}, PathLen: 2, Communities: []uint32{64512<<16 | 1}}, ModGracefulShutdown)
	if p1 != p2 {
		t.Errorf("equal profiles are not interned")
	}
	// Different communities, same outcome: still one profile.
	_, l1 := mustComms(t, "65000:0:65002")
	std, _ := mustComms(t, "0:65002")
	q1 := e.Profile(0, &bgp.Attrs{ASPath: []uint32{65001}, PathLen: 1, Large: l1}, 0)
	q2 := e.Profile(0, &bgp.Attrs{ASPath: []uint32{65001}, PathLen: 1, Communities: std}, 0)
	if q1 != q2 || q1 == p1 {
		t.Errorf("interning: %p %p %p", q1, q2, p1)
	}
	if p1.Variants != nil || len(p1.Deny) != 1 {
		t.Errorf("default profile not compact: %+v", p1)
	}
}

func TestNewErrors(t *testing.T) {
	cfg := ixpConfig(t)
	cfg.Members[1].ASN = cfg.Members[0].ASN
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "share AS65001") {
		t.Errorf("duplicate ASN: %v", err)
	}
	cfg = ixpConfig(t)
	cfg.Members[0].TransitFor = []string{"nobody"}
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("unknown transit_for: %v", err)
	}
	if _, err := New(nil, nil); err == nil {
		t.Errorf("nil config accepted")
	}
}

// TestNilRPKI: without an RPKI source, ROV and ASPA are not checked and
// never filter.
func TestNilRPKI(t *testing.T) {
	cfg, _, _ := loadGolden(t)
	e, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &bgp.Attrs{ASPath: []uint32{4200002002}, PathLen: 1, NextHop: netip.MustParseAddr("192.0.2.22")}
	v := e.Import(memberIndex(cfg, "council-hillside"), netip.MustParsePrefix("10.41.1.0/24"), a)
	if !v.Accepted() || v.Mods.ROV() != ROVNotChecked || v.Mods.ASPA() != ASPANotChecked || v.Tagged != 0 {
		t.Errorf("verdict %+v", v)
	}
	rw := e.Rewrite(memberIndex(cfg, "council-hillside"), a, v.Mods, 0)
	for _, l := range rw.Large {
		if (l.Local1 == InfoROV || l.Local1 == InfoASPA) && l.Local2 != InfoNotChecked {
			t.Errorf("unchecked state exported as %s", l)
		}
	}
}

// TestConcurrent runs Import, Profile, Rewrite and Explain from many
// goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	cfg, rp, cases := loadGolden(t)
	e, err := New(cfg, rp)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, c := range cases {
				p, a, err := c.attrs()
				if err != nil {
					t.Error(err)
					return
				}
				mi := memberIndex(cfg, c.Member)
				v := e.Import(mi, p, a)
				if v.Accepted() {
					pr := e.Profile(mi, a, v.Mods)
					e.Rewrite(mi, a, v.Mods, pr.VariantFor(g%len(cfg.Members)))
				}
				if tr := e.Explain(mi, p, a, g%len(cfg.Members)); tr.Verdict != v {
					t.Errorf("%s: explain disagrees under concurrency", c.Name)
				}
			}
		}()
	}
	wg.Wait()
}
