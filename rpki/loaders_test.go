package rpki_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/fedrs/fedrs/conf"
	. "github.com/fedrs/fedrs/rpki"
)

func readFeed(t *testing.T, name string) (*Feed, error) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return ParseFeed(data)
}

func TestParseFeedFormats(t *testing.T) {
	f, err := readFeed(t, "rpki-client.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []VRP{vrp("192.0.2.0/24", 24, 64496), vrp("2001:db8::/32", 48, 64497), vrp("198.51.100.0/24", 24, 0)}
	if !slices.Equal(f.VRPs, want) {
		t.Errorf("rpki-client VRPs = %v", f.VRPs)
	}
	if len(f.ASPAs) != 1 || f.ASPAs[0].Customer != 64496 || !slices.Equal(f.ASPAs[0].Providers, []uint32{64500, 64501}) {
		t.Errorf("rpki-client ASPAs = %v", f.ASPAs)
	}
	f, err = readFeed(t, "routinator.json")
	if err != nil {
		t.Fatal(err)
	}
	tab := NewASPAs(f.ASPAs)
	if ps, _ := tab.Providers(64496); !slices.Equal(ps, []uint32{64500, 64501, 64502}) {
		t.Errorf("routinator ASPAs merged = %v", ps)
	}
	// Older rpki-client / stayrtr layout.
	f, err = ParseFeed([]byte(`{"roas":[],"provider_authorizations":{"ipv4":[{"customer_asid":1,"providers":[{"asid":2,"afi_limit":"ipv4"}]}],"ipv6":[{"customer_asid":1,"providers":[3]}]}}`))
	if err != nil || NumProviders(NewASPAs(f.ASPAs)) != 2 {
		t.Errorf("provider_authorizations: %v %v", f, err)
	}
}

func TestParseFeedErrors(t *testing.T) {
	_, err := readFeed(t, "corrupt.json")
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("corrupt JSON: %v (want an error naming line 4)", err)
	}
	for in, want := range map[string]string{
		`{"roas":[{"asn":1,"prefix":"192.0.2.1/24","maxLength":24}]}`: "roas[0]: prefix 192.0.2.1/24 has host bits set",
		`{"roas":[{"asn":1,"prefix":"192.0.2.0/24","maxLength":23}]}`: "roas[0]: 192.0.2.0/24: maxLength 23",
		`{"roas":[{"asn":"ASx","prefix":"192.0.2.0/24"}]}`:            `AS number "ASx"`,
		`{"roas":[{"asn":1,"prefix":"nonsense","maxLength":24}]}`:     `roas[0]: prefix "nonsense"`,
		`{"aspas":[{"providers":[1]}]}`:                               "aspas[0]: no customer AS",
		`{"roas":[{"asn":4294967296,"prefix":"192.0.2.0/24"}]}`:       "AS number 4294967296",
	} {
		if _, err := ParseFeed([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFeed(%s) = %v, want %q", in, err, want)
		}
	}
}

func TestParseSLURM(t *testing.T) {
	data, err := os.ReadFile("testdata/slurm.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSLURM(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.PrefixFilters) != 3 || len(s.PrefixAssertions) != 2 || s.BGPsecFilters != 1 || s.BGPsecAssertions != 1 {
		t.Fatalf("parsed %+v", s)
	}
	for v, want := range map[VRP]bool{
		vrp("192.0.2.0/24", 24, 1):        true,  // covered by filter 1
		vrp("192.0.2.128/25", 25, 1):      true,  // more specific: covered
		vrp("192.0.0.0/16", 24, 1):        false, // less specific: not covered
		vrp("203.0.113.0/24", 24, 64497):  true,  // ASN filter
		vrp("198.51.100.0/24", 24, 64498): true,
		vrp("198.51.100.0/24", 24, 64499): false,
	} {
		if got := Filtered(s.PrefixFilters, v); got != want {
			t.Errorf("filtered(%v) = %v", v, got)
		}
	}
	if s.PrefixAssertions[0].VRP != vrp("198.51.100.0/24", 24, 64496) || s.PrefixAssertions[1].MaxLen != 48 {
		t.Errorf("assertions %+v", s.PrefixAssertions)
	}
	aspa, err := ParseSLURM([]byte(`{"slurmVersion":2,"validationOutputFilters":{"aspaFilters":[{"customerAsid":5}]},"locallyAddedAssertions":{"aspaAssertions":[{"customerAsid":6,"providerSet":[7,8]}]}}`))
	if err != nil || !slices.Equal(aspa.ASPAFilters, []uint32{5}) || aspa.ASPAAssertions[0].Customer != 6 {
		t.Errorf("ASPA SLURM: %+v %v", aspa, err)
	}
	for in, want := range map[string]string{
		`{}`:                 "slurmVersion missing",
		`{"slurmVersion":3}`: "slurmVersion 3",
		`{"slurmVersion":1,"validationOutputFilters":{"prefixFilters":[{"comment":"x"}]}}`:             "prefixFilters[0]",
		`{"slurmVersion":1,"locallyAddedAssertions":{"prefixAssertions":[{"prefix":"192.0.2.0/24"}]}}`: "prefixAssertions[0]",
	} {
		if _, err := ParseSLURM([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSLURM(%s) = %v, want %q", in, err, want)
		}
	}
}

func testConfig() *conf.Config {
	pr := func(p string, le int, shared bool) conf.PrefixRange {
		return conf.PrefixRange{Prefix: netip.MustParsePrefix(p), LE: le, Shared: shared}
	}
	return &conf.Config{Members: []conf.Member{
		{Name: "north-trust", ASN: 4200000001, Prefixes: []conf.PrefixRange{pr("10.1.0.0/16", 24, false), pr("fd00:1::/32", 0, false)}},
		{Name: "city-council", ASN: 4200000002, Prefixes: []conf.PrefixRange{pr("10.2.0.0/16", 0, false), pr("10.1.5.0/24", 0, false), pr("172.16.0.0/24", 0, true)}},
		{Name: "ambulance", ASN: 4200000003, Prefixes: []conf.PrefixRange{pr("172.16.0.0/24", 0, true)}},
	}}
}

func TestRegistry(t *testing.T) {
	r := RegistryFromConfig(testConfig())
	if len(r.Claims()) != 6 {
		t.Fatalf("claims %v", r.Claims())
	}
	vs := mustVRPs(t, r.VRPs()...)
	for p, want := range map[string]State{"10.1.7.0/24": Valid, "10.1.7.0/25": Invalid, "10.2.0.0/16": Valid, "10.2.1.0/24": Invalid} {
		origin := uint32(4200000001)
		if strings.HasPrefix(p, "10.2") {
			origin = 4200000002
		}
		if got := vs.Validate(netip.MustParsePrefix(p), origin, true); got != want {
			t.Errorf("registry VRPs: %s = %v, want %v", p, got, want)
		}
	}
	ov := r.Overlaps()
	if len(ov) != 2 || ov[0].Kind != OverlapNested || ov[1].Kind != OverlapShared {
		t.Fatalf("overlaps %+v", ov)
	}
	if rep := r.Check(); rep.Conflicts != 0 || rep.Members != 3 || len(rep.Overlaps) != 2 {
		t.Errorf("report %+v", rep)
	}
	if o := ov[0]; o.A.Member != "north-trust" || o.B.Member != "city-council" || !strings.Contains(o.Reason, "10.1.0.0/16 (north-trust) contains 10.1.5.0/24 (city-council)") {
		t.Errorf("nested overlap %+v", o)
	}
	if owners := r.Owners(netip.MustParsePrefix("10.1.5.0/24")); len(owners) != 2 || owners[0].Member != "city-council" {
		t.Errorf("owners %+v", owners)
	}
	// The SLURM export parses back to the same assertions, with comments
	// naming the members.
	out := r.SLURM()
	s, err := ParseSLURM(out)
	if err != nil {
		t.Fatalf("exported SLURM does not parse: %v\n%s", err, out)
	}
	var got []VRP
	for _, a := range s.PrefixAssertions {
		got = append(got, a.VRP)
		if !strings.Contains(a.Comment, "member ") {
			t.Errorf("assertion comment %q does not name the member", a.Comment)
		}
	}
	if !slices.Equal(got, r.VRPs()) {
		t.Errorf("SLURM round trip: %v, want %v", got, r.VRPs())
	}
	if !json.Valid(out) {
		t.Error("invalid JSON")
	}
}
