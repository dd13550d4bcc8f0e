package demo

import (
	"bytes"
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDemoOnce runs `fedrs demo --once` and checks what its summary says
// each scenario did, as a member would see it.
func TestDemoOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	sum, err := Run(ctx, Options{Once: true, Out: &out})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if sum.Members != 6 || sum.Established != 6 {
		t.Fatalf("members %d, sessions %d; want 6 and 6", sum.Members, sum.Established)
	}
	if sum.Accepted+sum.Filtered != sum.Announced-1 { // riverside's /16 is announced twice (replaced)
		t.Errorf("accepted %d + filtered %d != announced %d - 1", sum.Accepted, sum.Filtered, sum.Announced)
	}
	wantFiltered := map[string]string{
		"nhs-coastal 10.40.7.0/24":     "registry_conflict",
		"council-harbour 10.16.1.0/24": "member_leak",
		"nhs-riverside 10.24.99.0/24":  "otc_leak",
	}
	for route, reason := range wantFiltered {
		if !slices.Contains(sum.FilteredBy[route], reason) {
			t.Errorf("%s: filtered by %v, want %s among them", route, sum.FilteredBy[route], reason)
		}
	}
	if len(sum.FilteredBy) != len(wantFiltered) {
		t.Errorf("filtered %v, want exactly %d routes", sum.FilteredBy, len(wantFiltered))
	}
	holds := func(member, prefix string) bool {
		_, ok := sum.Tables[member][netip.MustParsePrefix(prefix)]
		return ok
	}
	members := []string{"nhs-northfield", "nhs-coastal", "nhs-riverside", "council-east", "council-hillside", "council-harbour"}
	for _, m := range members {
		// Hijack and leak reach nobody.
		if holds(m, "10.40.7.0/24") && m != "council-east" {
			t.Errorf("%s received the hijacked 10.40.7.0/24", m)
		}
		// Blackhole only to the member that opted in.
		if got, want := holds(m, "10.16.9.9/32"), m == "council-east"; got != want {
			t.Errorf("%s holds the blackhole route: %v, want %v", m, got, want)
		}
		// RS:0:nhs-coastal.
		if got, want := holds(m, "10.40.20.0/24"), m != "nhs-coastal" && m != "council-east"; got != want {
			t.Errorf("%s holds 10.40.20.0/24 (not to nhs-coastal): %v, want %v", m, got, want)
		}
		// RS:10:2, not to the council group.
		if got, want := holds(m, "10.40.21.0/24"), strings.HasPrefix(m, "nhs-"); got != want {
			t.Errorf("%s holds 10.40.21.0/24 (not to councils): %v, want %v", m, got, want)
		}
		// Transit for riverside through hillside is accepted.
		if got, want := holds(m, "10.24.8.0/24"), m != "council-hillside" && m != "nhs-riverside"; got != want {
			t.Errorf("%s holds 10.24.8.0/24 via hillside: %v, want %v", m, got, want)
		}
	}
	// The blackhole carries NO_EXPORT (RFC 7999).
	if r := sum.Tables["council-east"][netip.MustParsePrefix("10.16.9.9/32")]; !slices.Contains(r.Communities, "65535:65281") {
		t.Errorf("blackhole route without NO_EXPORT: %v", r.Communities)
	}
	// Prepend toward council-east only.
	for _, m := range members {
		r, ok := sum.Tables[m][netip.MustParsePrefix("10.24.0.0/16")]
		if m == "nhs-riverside" {
			continue
		}
		want := 1
		if m == "council-east" {
			want = 2
		}
		if !ok || len(r.ASPath) != want {
			t.Errorf("%s: 10.24.0.0/16 with AS_PATH %v, want %d × 4200001003", m, r.ASPath, want)
		}
	}
	// The output names every member and the filtered routes with reasons.
	for _, s := range append(members, "registry_conflict", "otc_leak", "Summary:") {
		if !strings.Contains(out.String(), s) {
			t.Errorf("demo output lacks %q", s)
		}
	}
}
