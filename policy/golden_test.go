package policy

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/bgp"
)

// fakeRPKI implements RFC 6811 ROV over a VRP list and upstream ASPA
// verification over an ASPA map, by brute force.
type fakeRPKI struct {
	vrps []fakeVRP
	aspa map[uint32][]uint32
}

type fakeVRP struct {
	p      netip.Prefix
	maxLen int
	asn    uint32
}

func (f *fakeRPKI) ROV(p netip.Prefix, origin uint32, originKnown bool) ROVState {
	covered := false
	for _, v := range f.vrps {
		if v.p.Addr().Is4() != p.Addr().Is4() || v.p.Bits() > p.Bits() || !v.p.Contains(p.Addr()) {
			continue
		}
		covered = true
		if originKnown && v.asn != 0 && v.asn == origin && p.Bits() <= v.maxLen {
			return ROVValid
		}
	}
	if covered {
		return ROVInvalid
	}
	return ROVNotFound
}

func (f *fakeRPKI) ASPA(path []uint32, hasSet bool, neighbor uint32) ASPAState {
	if len(path) == 0 || path[0] != neighbor || hasSet {
		return ASPAInvalid
	}
	var c []uint32
	for i, asn := range path {
		if i == 0 || asn != path[i-1] {
			c = append(c, asn)
		}
	}
	unknown := false
	for i := len(c) - 1; i > 0; i-- {
		provs, ok := f.aspa[c[i]]
		if !ok {
			unknown = true
			continue
		}
		if !slices.Contains(provs, c[i-1]) {
			return ASPAInvalid
		}
	}
	if unknown {
		return ASPAUnknown
	}
	return ASPAValid
}

type goldenFile struct {
	VRP []struct {
		Prefix string `toml:"prefix"`
		MaxLen int    `toml:"maxlen"`
		ASN    uint32 `toml:"asn"`
	} `toml:"vrp"`
	ASPA []struct {
		Customer  uint32   `toml:"customer"`
		Providers []uint32 `toml:"providers"`
	} `toml:"aspa"`
	Cases []goldenCase `toml:"case"`
}

type goldenCase struct {
	Name        string   `toml:"name"`
	Member      string   `toml:"member"`
	Prefix      string   `toml:"prefix"`
	Path        string   `toml:"path"`
	NextHop     string   `toml:"next_hop"`
	NextHopLL   string   `toml:"next_hop_ll"`
	Communities []string `toml:"communities"`
	Large       []string `toml:"large"`
	Ext         int      `toml:"ext"`
	OTC         uint32   `toml:"otc"`

	Filtered []string `toml:"filtered"`
	Tagged   []string `toml:"tagged"`
	Marks    []string `toml:"marks"`
	ROV      string   `toml:"rov"`
	ASPA     string   `toml:"aspa"`
	Registry string   `toml:"registry"`

	ExportTo *[]string   `toml:"export_to"`
	NotTo    *[]string   `toml:"not_to"`
	Targets  []goldenTgt `toml:"target"`
	Explain  []string    `toml:"explain_contains"`
}

type goldenTgt struct {
	Name        string    `toml:"name"`
	Allowed     bool      `toml:"allowed"`
	Prepends    int       `toml:"prepends"`
	NoExport    bool      `toml:"no_export"`
	NoAdvertise bool      `toml:"no_advertise"`
	Communities *[]string `toml:"communities"`
	Large       *[]string `toml:"large"`
	NextHop     *string   `toml:"next_hop"`
	OTC         *uint32   `toml:"otc"`
	Explain     []string  `toml:"explain_contains"`
}

// parsePath reads "a b {c d} (e) [f]": plain numbers form AS_SEQUENCEs,
// {..} an AS_SET, (..) an AS_CONFED_SEQUENCE, [..] an AS_CONFED_SET.
func parsePath(s string) (*bgp.Attrs, error) {
	a := &bgp.Attrs{}
	for _, r := range []string{"{", "}", "(", ")", "[", "]"} {
		s = strings.ReplaceAll(s, r, " "+r+" ")
	}
	var segs []bgp.Segment
	cur := uint8(bgp.SegSequence)
	start := 0
	flush := func() {
		if len(a.ASPath) > start {
			if n := len(segs); n > 0 && cur == bgp.SegSequence && segs[n-1].Type == bgp.SegSequence {
				segs[n-1].End = len(a.ASPath)
			} else {
				segs = append(segs, bgp.Segment{Type: cur, Start: start, End: len(a.ASPath)})
			}
		}
		start = len(a.ASPath)
	}
	for _, f := range strings.Fields(s) {
		switch f {
		case "{", "(", "[":
			flush()
			cur = map[string]uint8{"{": bgp.SegSet, "(": bgp.SegConfedSeq, "[": bgp.SegConfedSet}[f]
		case "}", ")", "]":
			flush()
			cur = bgp.SegSequence
		default:
			n, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("path %q: %w", s, err)
			}
			a.ASPath = append(a.ASPath, uint32(n))
		}
	}
	flush()
	for _, sg := range segs {
		switch sg.Type {
		case bgp.SegSequence:
			a.PathLen += sg.End - sg.Start
		case bgp.SegSet:
			a.PathLen++
			a.HasASSet = true
		}
	}
	if !(len(segs) == 0 || len(segs) == 1 && segs[0].Type == bgp.SegSequence) {
		a.Segments = segs
	}
	return a, nil
}

func parseCommunity(s string) (uint32, error) {
	hi, lo, ok := strings.Cut(s, ":")
	h, err1 := strconv.ParseUint(hi, 10, 16)
	l, err2 := strconv.ParseUint(lo, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad community %q", s)
	}
	return uint32(h)<<16 | uint32(l), nil
}

func parseLarge(s string) (bgp.Large, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return bgp.Large{}, fmt.Errorf("bad large community %q", s)
	}
	var v [3]uint32
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return bgp.Large{}, fmt.Errorf("bad large community %q", s)
		}
		v[i] = uint32(n)
	}
	return bgp.Large{Global: v[0], Local1: v[1], Local2: v[2]}, nil
}

func (c *goldenCase) attrs() (netip.Prefix, *bgp.Attrs, error) {
	p, err := netip.ParsePrefix(c.Prefix)
	if err != nil {
		return p, nil, err
	}
	a, err := parsePath(c.Path)
	if err != nil {
		return p, nil, err
	}
	if c.NextHop != "" {
		if a.NextHop, err = netip.ParseAddr(c.NextHop); err != nil {
			return p, nil, err
		}
	}
	if c.NextHopLL != "" {
		if a.NextHopLL, err = netip.ParseAddr(c.NextHopLL); err != nil {
			return p, nil, err
		}
	}
	for _, s := range c.Communities {
		v, err := parseCommunity(s)
		if err != nil {
			return p, nil, err
		}
		a.Communities = append(a.Communities, v)
	}
	for _, s := range c.Large {
		v, err := parseLarge(s)
		if err != nil {
			return p, nil, err
		}
		a.Large = append(a.Large, v)
	}
	a.ExtCount = c.Ext
	if c.OTC != 0 {
		a.OTC, a.HasOTC = c.OTC, true
	}
	return p, a, nil
}

func loadGolden(t testing.TB) (*conf.Config, *fakeRPKI, []goldenCase) {
	t.Helper()
	cfg, err := conf.Load("testdata/federation.toml")
	if err != nil {
		t.Fatalf("load test configuration: %v", err)
	}
	var g goldenFile
	md, err := toml.DecodeFile("testdata/golden.toml", &g)
	if err != nil {
		t.Fatalf("golden table: %v", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Fatalf("golden table: unknown keys %v", und)
	}
	f := &fakeRPKI{aspa: map[uint32][]uint32{}}
	for _, v := range g.VRP {
		f.vrps = append(f.vrps, fakeVRP{netip.MustParsePrefix(v.Prefix), v.MaxLen, v.ASN})
	}
	for _, a := range g.ASPA {
		f.aspa[a.Customer] = append(f.aspa[a.Customer], a.Providers...)
	}
	return cfg, f, g.Cases
}

func memberIndex(cfg *conf.Config, name string) int {
	for i, m := range cfg.Members {
		if m.Name == name {
			return i
		}
	}
	return -1
}

func reasonNames(s ReasonSet) []string {
	out := []string{}
	for _, r := range s.Reasons() {
		out = append(out, r.String())
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}

func marksOf(m Mods) []string {
	out := []string{}
	if m&ModBlackhole != 0 {
		out = append(out, "blackhole")
	}
	if m&ModGracefulShutdown != 0 {
		out = append(out, "graceful_shutdown")
	}
	return out
}

func TestGolden(t *testing.T) {
	cfg, rp, cases := loadGolden(t)
	e, err := New(cfg, rp)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 60 {
		t.Errorf("golden table has %d cases; want at least 60", len(cases))
	}
	covered := map[Reason]bool{}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			mi := memberIndex(cfg, c.Member)
			if mi < 0 {
				t.Fatalf("no member %q", c.Member)
			}
			p, a, err := c.attrs()
			if err != nil {
				t.Fatal(err)
			}
			v := e.Import(mi, p, a)
			for _, r := range v.Filtered.Reasons() {
				covered[r] = true
			}
			for _, r := range v.Tagged.Reasons() {
				covered[r] = true
			}
			tr := e.Explain(mi, p, a, -1)
			if tr.Verdict != v {
				t.Errorf("Explain verdict %+v != Import verdict %+v", tr.Verdict, v)
			}
			if got, want := reasonNames(v.Filtered), sorted(c.Filtered); !slices.Equal(got, want) {
				t.Errorf("filtered = %v, want %v\n%s", got, want, tr)
			}
			if got, want := reasonNames(v.Tagged), sorted(c.Tagged); !slices.Equal(got, want) {
				t.Errorf("tagged = %v, want %v\n%s", got, want, tr)
			}
			if got, want := marksOf(v.Mods), sorted(c.Marks); !slices.Equal(got, want) {
				t.Errorf("marks = %v, want %v", got, want)
			}
			if got := v.Mods.ROV().String(); got != c.ROV {
				t.Errorf("rov = %s, want %s", got, c.ROV)
			}
			if got := v.Mods.ASPA().String(); got != c.ASPA {
				t.Errorf("aspa = %s, want %s", got, c.ASPA)
			}
			if got := v.Mods.Registry().String(); got != c.Registry {
				t.Errorf("registry = %s, want %s", got, c.Registry)
			}
			if len(tr.Import) != numChecks {
				t.Errorf("trace has %d import steps, want %d", len(tr.Import), numChecks)
			}
			text := tr.String()
			for _, want := range c.Explain {
				if !strings.Contains(text, want) {
					t.Errorf("explain trace lacks %q:\n%s", want, text)
				}
			}
			if _, err := json.Marshal(tr); err != nil {
				t.Errorf("trace does not marshal: %v", err)
			}

			if !v.Accepted() {
				if c.ExportTo != nil || c.NotTo != nil {
					t.Errorf("filtered route with an export expectation")
				}
				for ti := range cfg.Members {
					if x := e.Explain(mi, p, a, ti).Export; x == nil || x.Allowed {
						t.Errorf("filtered route: explain export to %d = %+v", ti, x)
					}
				}
				return
			}
			prof := e.Profile(mi, a, v.Mods)
			var got []string
			for ti, m := range cfg.Members {
				if prof.Allows(ti) {
					got = append(got, m.Name)
				}
				// Explain agrees with Profile for every target.
				x := e.Explain(mi, p, a, ti).Export
				if x == nil || x.Allowed != prof.Allows(ti) || x.Allowed && x.Variant != prof.VariantFor(ti) {
					t.Errorf("explain export to %s = %+v; profile allows %v variant %d", m.Name, x, prof.Allows(ti), prof.VariantFor(ti))
				}
				if ti == mi && prof.Allows(ti) {
					t.Errorf("profile allows the announcing member")
				}
			}
			var want []string
			switch {
			case c.ExportTo != nil && c.NotTo != nil:
				t.Fatal("both export_to and not_to")
			case c.ExportTo != nil:
				want = *c.ExportTo
			case c.NotTo != nil:
				for ti, m := range cfg.Members {
					if ti != mi && !slices.Contains(*c.NotTo, m.Name) {
						want = append(want, m.Name)
					}
				}
			default:
				t.Fatal("accepted route without export_to or not_to")
			}
			if !slices.Equal(sorted(got), sorted(want)) {
				t.Errorf("exported to %v, want %v", got, want)
			}
			for _, tg := range c.Targets {
				ti := memberIndex(cfg, tg.Name)
				if ti < 0 {
					t.Fatalf("no member %q", tg.Name)
				}
				if prof.Allows(ti) != tg.Allowed {
					t.Errorf("%s: allowed = %v, want %v", tg.Name, prof.Allows(ti), tg.Allowed)
					continue
				}
				x := e.Explain(mi, p, a, ti)
				for _, w := range tg.Explain {
					if s := x.String(); !strings.Contains(s, w) {
						t.Errorf("%s: explain trace lacks %q:\n%s", tg.Name, w, s)
					}
				}
				if !tg.Allowed {
					continue
				}
				vr := prof.VariantFor(ti)
				if vr.Prepends() != tg.Prepends || (vr&VariantNoExport != 0) != tg.NoExport || (vr&VariantNoAdvertise != 0) != tg.NoAdvertise {
					t.Errorf("%s: variant %d (prepends %d), want prepends %d no_export %v no_advertise %v", tg.Name, vr, vr.Prepends(), tg.Prepends, tg.NoExport, tg.NoAdvertise)
				}
				rw := e.Rewrite(mi, a, v.Mods, vr)
				if tg.Communities != nil {
					var gc []string
					for _, x := range rw.Communities {
						gc = append(gc, bgp.CommunityString(x))
					}
					if !slices.Equal(gc, *tg.Communities) && !(len(gc) == 0 && len(*tg.Communities) == 0) {
						t.Errorf("%s: communities %v, want %v", tg.Name, gc, *tg.Communities)
					}
				}
				if tg.Large != nil {
					var gl []string
					for _, x := range rw.Large {
						gl = append(gl, x.String())
					}
					if !slices.Equal(gl, *tg.Large) && !(len(gl) == 0 && len(*tg.Large) == 0) {
						t.Errorf("%s: large %v, want %v", tg.Name, gl, *tg.Large)
					}
				}
				if tg.NextHop != nil {
					want := netip.Addr{}
					if *tg.NextHop != "" {
						want = netip.MustParseAddr(*tg.NextHop)
					}
					if rw.NextHop != want {
						t.Errorf("%s: next hop %v, want %v", tg.Name, rw.NextHop, want)
					}
				}
				if tg.OTC != nil && (!rw.SetOTC || rw.OTC != *tg.OTC) {
					t.Errorf("%s: OTC set %v %d, want %d", tg.Name, rw.SetOTC, rw.OTC, *tg.OTC)
				}
				if rw.PrependN != tg.Prepends || tg.Prepends > 0 && rw.PrependAS != cfg.Members[mi].ASN {
					t.Errorf("%s: prepend %d×AS%d, want %d×AS%d", tg.Name, rw.PrependN, rw.PrependAS, tg.Prepends, cfg.Members[mi].ASN)
				}
			}
			// Invariants of every rewrite: no RS action community left,
			// OTC added when absent, output sorted.
			for ti := range cfg.Members {
				if !prof.Allows(ti) {
					continue
				}
				rw := e.Rewrite(mi, a, v.Mods, prof.VariantFor(ti))
				for _, l := range rw.Large {
					if l.Global == cfg.Server.ASN && !slices.Contains([]uint32{InfoROV, InfoASPA, InfoRegistry, InfoOriginGroup}, l.Local1) {
						t.Errorf("rewrite keeps RS community %s", l)
					}
				}
				if !slices.IsSorted(rw.Communities) || !slices.IsSortedFunc(rw.Large, compareLarge) {
					t.Errorf("rewrite not sorted: %v %v", rw.Communities, rw.Large)
				}
				if rw.SetOTC == a.HasOTC {
					t.Errorf("SetOTC %v with received OTC %v", rw.SetOTC, a.HasOTC)
				}
			}
		})
	}
	for _, r := range AllReasons() {
		if r != ReasonMaxPrefix && !covered[r] {
			t.Errorf("no golden case yields %s", r)
		}
	}
}
