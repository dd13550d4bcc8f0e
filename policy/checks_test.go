package policy

import (
	"strconv"
	"strings"
	"testing"
)

// checkCase is one route through one import check, on the golden
// federation (testdata/federation.toml) and its fake RPKI (golden.toml).
type checkCase struct {
	name  string
	route string // see rt
	want  Reason // what the check returns
	mods  Mods   // what it records
	// explain is a part of its explain text.
	explain string
	noRPKI  bool // evaluate without an RPKI source
}

// checkTests holds each check's cases by check name; every row of
// importChecks must have some (TestImportChecks).
var checkTests = map[string][]checkCase{}

func addCheckTests(check string, cases []checkCase) bool {
	checkTests[check] = cases
	return true
}

// rt reads "member | prefix | path | key=value…" into a route: path as in
// golden.toml ("a b {c d}"), keys nh (next hop), ll (link-local next hop),
// c (standard communities, comma-separated), l (large communities), ext
// (extended community count) and otc.
func rt(t *testing.T, s string) goldenCase {
	t.Helper()
	parts := strings.Split(s, "|")
	if len(parts) < 3 {
		t.Fatalf("route %q: want member | prefix | path | options", s)
	}
	g := goldenCase{Member: strings.TrimSpace(parts[0]), Prefix: strings.TrimSpace(parts[1]), Path: strings.TrimSpace(parts[2])}
	if len(parts) > 3 {
		for _, kv := range strings.Fields(parts[3]) {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "nh":
				g.NextHop = v
			case "ll":
				g.NextHopLL = v
			case "c":
				g.Communities = strings.Split(v, ",")
			case "l":
				g.Large = strings.Split(v, ",")
			case "ext":
				g.Ext = int(mustUint(t, v))
			case "otc":
				g.OTC = uint32(mustUint(t, v))
			default:
				t.Fatalf("route %q: unknown option %q", s, k)
			}
		}
	}
	return g
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestImportChecks runs every check's cases through its row: the reason it
// returns, what it records, its explain text, and Import's verdict, which
// holds the reason exactly when the check yields it and is on. Each row
// needs a passing case and a case for each of its reasons.
func TestImportChecks(t *testing.T) {
	cfg, rp, _ := loadGolden(t)
	withRPKI, err := New(cfg, rp)
	if err != nil {
		t.Fatal(err)
	}
	noRPKI, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name := range checkTests {
		if checkIndex(name) < 0 {
			t.Errorf("cases for %q, which is no row of importChecks", name)
		}
	}
	for i := range importChecks {
		row := &importChecks[i]
		t.Run(row.name, func(t *testing.T) {
			cases := checkTests[row.name]
			yields := map[Reason]bool{}
			for _, c := range cases {
				yields[c.want] = true
				t.Run(c.name, func(t *testing.T) {
					e := withRPKI
					if c.noRPKI {
						e = noRPKI
					}
					g := rt(t, c.route)
					mi := memberIndex(cfg, g.Member)
					if mi < 0 {
						t.Fatalf("no member %q", g.Member)
					}
					p, a, err := g.attrs()
					if err != nil {
						t.Fatal(err)
					}
					var r route
					r.init(e, mi, p, a)
					got := row.check(&r)
					if got != c.want {
						t.Errorf("%s returns %s, want %s", row.name, got, c.want)
					}
					if r.mods != c.mods {
						t.Errorf("%s records rov %s aspa %s registry %s marks %v, want rov %s aspa %s registry %s marks %v", row.name,
							r.mods.ROV(), r.mods.ASPA(), r.mods.Registry(), marksOf(r.mods), c.mods.ROV(), c.mods.ASPA(), c.mods.Registry(), marksOf(c.mods))
					}
					if text := row.explain(&r, got); !strings.Contains(text, c.explain) {
						t.Errorf("explain text %q lacks %q", text, c.explain)
					}
					v := e.Import(mi, p, a)
					on := e.members[mi].act[i] != actOff
					if in := v.Filtered.Has(got) || v.Tagged.Has(got); got != ReasonNone && in != on {
						t.Errorf("Import's verdict %v holds %s: %v; the check is on: %v", NewVerdictText(v), got, in, on)
					}
				})
			}
			if !yields[ReasonNone] {
				t.Errorf("no case that passes %s", row.name)
			}
			for _, r := range row.reasons {
				if !yields[r] && r != ReasonMaxPrefix { // the RIB yields max_prefix
					t.Errorf("no case that yields %s", r)
				}
			}
		})
	}
}
