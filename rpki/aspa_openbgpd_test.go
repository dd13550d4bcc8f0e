package rpki_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	. "github.com/fedrs/fedrs/rpki"
)

// openbgpdVectors are OpenBGPD's ASPA regress vectors (see the header of
// testdata/openbgpd_aspa_vectors.txt).
type openbgpdVectors struct {
	aspas  []ASPA
	cps    []obCP
	states []obState
	verify []obVerify
}

type obCP struct {
	line           int
	customer, prov uint32
	want           Authorization
}

// obState is one aspath_testset entry: the path and the indexes OpenBGPD's
// aspa_check_aspath computes (1-based over the path without prepends,
// counted from the neighbour end).
type obState struct {
	line int
	path []uint32
	// nhops, nup_p, nup_u, nup_np, ndown_p, ndown_u, ndown_np
	st [7]int
}

type obVerify struct {
	line int
	path []uint32
	role string
	want PathState
}

func parseASNs(t *testing.T, line int, s string) []uint32 {
	t.Helper()
	var out []uint32
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			t.Fatalf("line %d: %q: %v", line, f, err)
		}
		out = append(out, uint32(v))
	}
	return out
}

func loadOpenBGPDVectors(t *testing.T) openbgpdVectors {
	t.Helper()
	f, err := os.Open("testdata/openbgpd_aspa_vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var v openbgpdVectors
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		kind, rest, _ := strings.Cut(l, " ")
		switch kind {
		case "aspa":
			c, ps, ok := strings.Cut(rest, ":")
			if !ok {
				t.Fatalf("line %d: %q", n, l)
			}
			v.aspas = append(v.aspas, ASPA{Customer: parseASNs(t, n, c)[0], Providers: parseASNs(t, n, ps)})
		case "cp":
			fs := strings.Fields(rest)
			if len(fs) != 3 {
				t.Fatalf("line %d: %q", n, l)
			}
			as := parseASNs(t, n, fs[0]+" "+fs[1])
			want := map[string]Authorization{"UNKNOWN": NoAttestation, "NOT_PROVIDER": NotProviderPlus, "PROVIDER": ProviderPlus}[fs[2]]
			if fs[2] != "UNKNOWN" && want == NoAttestation {
				t.Fatalf("line %d: result %q", n, fs[2])
			}
			v.cps = append(v.cps, obCP{n, as[0], as[1], want})
		case "state":
			p, s, ok := strings.Cut(rest, "|")
			st := parseASNs(t, n, s)
			if !ok || len(st) != 7 {
				t.Fatalf("line %d: %q", n, l)
			}
			e := obState{line: n, path: parseASNs(t, n, p)}
			for i := range st {
				e.st[i] = int(st[i])
			}
			v.states = append(v.states, e)
		case "verify":
			p, s, ok := strings.Cut(l[len("verify"):], "|")
			fs := strings.Fields(s)
			if !ok || len(fs) != 2 {
				t.Fatalf("line %d: %q", n, l)
			}
			want, found := map[string]PathState{"VALID": PathValid, "INVALID": PathInvalid, "UNKNOWN": PathUnknown}[fs[1]]
			if !found {
				t.Fatalf("line %d: result %q", n, fs[1])
			}
			v.verify = append(v.verify, obVerify{n, parseASNs(t, n, p), fs[0], want})
		default:
			t.Fatalf("line %d: unknown kind %q", n, kind)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return v
}

// reverseState is rde_aspa_test.c's reverse_state: the indexes of the
// same path read from the other end.
func reverseState(in [7]int) [7]int {
	nhops, nupP, nupU, nupNP, ndownP, ndownU, ndownNP := in[0], in[1], in[2], in[3], in[4], in[5], in[6]
	var r [7]int
	r[0] = nhops
	r[1] = nhops + 1 - ndownP
	if ndownU != 0 {
		r[2] = nhops + 1 - ndownU
	}
	if ndownNP != 0 {
		r[3] = nhops + 1 - ndownNP
	}
	r[4] = nhops + 1 - nupP
	if nupU != 0 {
		r[5] = nhops + 1 - nupU
	}
	if nupNP != 0 {
		r[6] = nhops + 1 - nupNP
	}
	return r
}

// ramps converts OpenBGPD's indexes into the draft's bounds (§5.3) as
// PathExplanation reports them. OpenBGPD counts from the neighbour, the
// draft from the origin: nup_p is where the proven up-ramp ends (min_up_ramp
// = N - nup_p + 1), nup_np the Not Provider+ hop nearest the origin
// (max_up_ramp = N - nup_np), ndown_p where the proven down-ramp ends
// (min_down_ramp), ndown_np the Not Provider+ hop nearest the neighbour
// (max_down_ramp = ndown_np - 1); a missing hop leaves the bound at N.
func ramps(st [7]int) (n, maxUp, minUp, maxDown, minDown int) {
	n = st[0]
	maxUp, maxDown = n, n
	if st[3] != 0 {
		maxUp = n - st[3]
	}
	if st[6] != 0 {
		maxDown = st[6] - 1
	}
	return n, maxUp, n - st[1] + 1, maxDown, st[4]
}

// TestOpenBGPDVectors runs OpenBGPD's 169 ASPA regress checks against
// fedrs: 49 provider authorization lookups (among them a 30-provider set
// and AS0 ASPAs), 18 paths whose ramp bounds are checked forward and
// reversed (36), and 84 verification outcomes by role. OpenBGPD's role is
// the local one: CUSTOMER (routes from a provider) gets the downstream
// procedure, every other role the upstream one; RS is fedrs's own case (a
// route server receiving from an RS-Client), RS_CLIENT the exempt
// receiver of §5.4 step 2.
func TestOpenBGPDVectors(t *testing.T) {
	v := loadOpenBGPDVectors(t)
	if got := len(v.cps) + 2*len(v.states) + len(v.verify); got != 169 || len(v.cps) != 49 || len(v.states) != 18 || len(v.verify) != 84 {
		t.Fatalf("%d lookups, %d paths (x2), %d outcomes = %d checks; the C test has 49, 18 and 84 = 169", len(v.cps), len(v.states), len(v.verify), got)
	}
	tab := NewASPAs(v.aspas)
	checks := 0
	for _, c := range v.cps {
		checks++
		if got := tab.Authorized(c.customer, c.prov); got != c.want {
			t.Errorf("line %d: authorized(AS%d, AS%d) = %v, OpenBGPD %v", c.line, c.customer, c.prov, got, c.want)
		}
	}
	for _, s := range v.states {
		for _, rev := range []bool{false, true} {
			checks++
			path, st := s.path, s.st
			if rev {
				path = make([]uint32, len(s.path))
				for i, a := range s.path {
					path[len(path)-1-i] = a
				}
				st = reverseState(st)
			}
			n, maxUp, minUp, maxDown, minDown := ramps(st)
			e := tab.Explain(Path{ASNs: path}, Downstream)
			if len(e.Compressed) != n || e.MaxUpRamp != maxUp || e.MinUpRamp != minUp || e.MaxDownRamp != maxDown || e.MinDownRamp != minDown {
				t.Errorf("line %d (reversed %v): path %v: N %d, max_up %d, min_up %d, max_down %d, min_down %d; OpenBGPD %v means %d, %d, %d, %d, %d",
					s.line, rev, path, len(e.Compressed), e.MaxUpRamp, e.MinUpRamp, e.MaxDownRamp, e.MinDownRamp, st, n, maxUp, minUp, maxDown, minDown)
			}
		}
	}
	roles := map[string]bool{}
	for _, c := range v.verify {
		checks++
		roles[c.role] = true
		p := Path{ASNs: c.path, ReceiverIsRSClient: c.role == "RS_CLIENT"}
		if len(c.path) > 0 {
			p.Neighbor = c.path[0]
		}
		dir := Upstream
		switch c.role {
		case "CUSTOMER":
			dir = Downstream
		case "PROVIDER", "PEER", "RS", "RS_CLIENT":
		default:
			t.Fatalf("line %d: role %q", c.line, c.role)
		}
		if got := tab.Verify(p, dir); got != c.want {
			t.Errorf("line %d: %s verification of %v (local role %s) = %v, OpenBGPD %v (%s)", c.line, dir, c.path, c.role, got, c.want, tab.Explain(p, dir).Reason)
		}
	}
	if checks != 169 || len(roles) != 5 {
		t.Fatalf("%d checks over roles %v", checks, roles)
	}
}
