package conf

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExampleLoads(t *testing.T) {
	c, err := LoadExample()
	if err != nil {
		t.Fatalf("example does not load:\n%v", err)
	}
	if got := len(c.Members); got != 6 {
		t.Fatalf("%d members, want 6", got)
	}
	var nhs, council int
	for _, m := range c.Members {
		switch {
		case slices.Contains(m.Groups, "nhs"):
			nhs++
		case slices.Contains(m.Groups, "council"):
			council++
		}
		if m.ASN < 4200000000 || m.ASN > 4294967294 {
			t.Errorf("%s: ASN %d is not a private 32-bit ASN", m.Name, m.ASN)
		}
		for _, p := range m.Prefixes {
			if p.Prefix.Addr().Is4() && !p.Prefix.Addr().IsPrivate() {
				t.Errorf("%s: %s is not RFC 1918", m.Name, p)
			}
			if p.Prefix.Addr().Is6() && !netip.MustParsePrefix("2001:db8::/32").Overlaps(p.Prefix) {
				t.Errorf("%s: %s is not documentation space", m.Name, p)
			}
		}
	}
	if nhs != 3 || council != 3 {
		t.Errorf("%d NHS and %d council members, want 3 and 3", nhs, council)
	}
	if g := c.Groups; len(g) != 2 || g[0].Name != "nhs" || g[0].ID != 1 || g[1].Name != "council" || g[1].ID != 2 {
		t.Errorf("groups = %+v", g)
	}
	// The shared prefix, the transit relationship, the MD5 password.
	shared := 0
	for _, m := range c.Members {
		for _, p := range m.Prefixes {
			if p.Shared {
				shared++
			}
		}
	}
	if shared != 2 {
		t.Errorf("%d shared registrations, want 2", shared)
	}
	if h := c.Member("council-hillside"); h == nil || !slices.Equal(h.TransitFor, []string{"nhs-riverside"}) {
		t.Errorf("council-hillside transit_for missing")
	}
	if h := c.Member("council-harbour"); h == nil || h.MD5Secret == "" {
		t.Errorf("council-harbour has no MD5 password")
	}
	// The member policy override, and the rest inheriting [policy].
	if got := c.Member("nhs-coastal").Effective.MaxLengthV4; got != 30 {
		t.Errorf("nhs-coastal max_length_v4 = %d, want 30", got)
	}
	if got := c.Member("nhs-riverside").Effective.MaxLengthV4; got != 29 {
		t.Errorf("nhs-riverside max_length_v4 = %d, want 29", got)
	}
	if got := c.MemberHoldTime(2); got != 30*time.Second {
		t.Errorf("nhs-riverside hold time = %s, want 30s", got)
	}
	if got := c.MemberHoldTime(0); got != 90*time.Second {
		t.Errorf("nhs-northfield hold time = %s, want 90s", got)
	}
	if c.Hash == "" || c.File != "example.toml" {
		t.Errorf("File %q, Hash %q", c.File, c.Hash)
	}
	// Validate agrees with Load, and does not touch the config.
	before := *c
	if err := Validate(c); err != nil {
		t.Errorf("Validate(example):\n%v", err)
	}
	if !reflect.DeepEqual(before, *c) {
		t.Error("Validate modified the config")
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse(doc(`
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "nhs-northfield"
asn = 4200001001
neighbors = ["192.0.2.11"]
`), "fedrs.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Server
	if !slices.Equal(s.Listen, []string{"0.0.0.0:179", "[::]:179"}) || s.Control != "/run/fedrs/fedrs.sock" ||
		s.LogLevel != "info" || s.HoldTime.Duration != 90*time.Second || s.ConnectRetry.Duration != 30*time.Second {
		t.Errorf("server defaults: %+v", s)
	}
	h := c.History
	if h.Retain.Duration != 400*24*time.Hour || h.Exports == nil || !*h.Exports || h.Queue != 1<<20 || h.WriteBehind == nil || h.WriteBehind.Duration != 30*time.Second {
		t.Errorf("history defaults: %+v", h)
	}
	if c.RPKI.Registry == nil || !*c.RPKI.Registry {
		t.Error("rpki registry default is not true")
	}
	m := c.Members[0]
	if m.Port != 179 || m.GTSMHops != 1 || !slices.Equal(m.Families, []string{"ipv4", "ipv6"}) ||
		m.AddPath != "receive" || m.GracefulRestart == nil || !*m.GracefulRestart ||
		m.MaxPrefixes.Action != "teardown" || !slices.Equal(m.OriginASNs, []ASNRange{{4200001001, 4200001001}}) {
		t.Errorf("member defaults: %+v", m)
	}
	p := c.Policy
	if p.Preset != "federation" || p.MinLengthV4 != 8 || p.MaxLengthV4 != 29 || p.MinLengthV6 != 16 ||
		p.MaxLengthV6 != 64 || p.MinASPath != 1 || p.MaxASPath != 64 || p.MaxCommunities != 150 ||
		p.Informational == nil || !*p.Informational {
		t.Errorf("policy defaults: %+v", p)
	}
	if len(p.Checks) != len(CheckNames) || p.Checks[CheckRPKI] != "filter" || p.Checks[CheckASPA] != "tag" {
		t.Errorf("checks: %v", p.Checks)
	}
	if !reflect.DeepEqual(m.Effective, p) {
		t.Errorf("member without [member.policy]: effective\n%+v\nwant global\n%+v", m.Effective, p)
	}

	// Values written as zero stay zero where zero means something.
	c, err = Parse(doc(`
[server]
asn = 4200065000
router_id = "192.0.2.1"
hold_time = "0s"
listen = []

[history]
retain = "0s"

[policy]
min_length_v4 = 0
`), "fedrs.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.HoldTime.Duration != 0 || len(c.Server.Listen) != 0 || c.History.Retain.Duration != 0 || c.Policy.MinLengthV4 != 0 {
		t.Errorf("explicit zeros replaced by defaults: %+v %+v %+v", c.Server, c.History, c.Policy.MinLengthV4)
	}
}

func TestMultipleErrorsAtOnce(t *testing.T) {
	_, err := Parse(doc(`
[server]
asn = 0
router_id = "10.0.0.300"
log_level = "loud"

[[member]]
name = "Bad Name"
asn = 4200065000
neighbors = ["192.0.2.11"]
holdtime = "30s"
`), "fedrs.toml")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	want := []Issue{
		{File: "fedrs.toml", Line: 2, Field: "server.asn"},
		{File: "fedrs.toml", Line: 3, Field: "server.router_id"},
		{File: "fedrs.toml", Line: 4, Field: "server.log_level"},
		{File: "fedrs.toml", Line: 7, Field: "member[1] (Bad Name).name"},
		{File: "fedrs.toml", Line: 10, Field: "member[1] (Bad Name).holdtime"},
	}
	if len(e.Issues) != len(want) {
		t.Fatalf("%d issues, want %d:\n%v", len(e.Issues), len(want), err)
	}
	for i, w := range want {
		g := e.Issues[i]
		if g.File != w.File || g.Line != w.Line || g.Field != w.Field {
			t.Errorf("issue %d = %s:%d %s, want %s:%d %s", i, g.File, g.Line, g.Field, w.File, w.Line, w.Field)
		}
	}
	if !strings.Contains(e.Issues[4].Msg, `did you mean "hold_time"?`) {
		t.Errorf("no suggestion: %s", e.Issues[4].Msg)
	}
	// asn 0 for the server is "missing", and the member's asn equal to
	// the route server's is not reported against a server ASN of 0.
	if strings.Count(err.Error(), "\n") != len(want)-1 {
		t.Errorf("Error() is not one issue per line:\n%s", err)
	}
}

func TestSyntaxErrorKeepsPosition(t *testing.T) {
	_, err := Parse([]byte("[server]\nasn = 4200065000\nrouter_id = 192.0.2.1\n"), "fedrs.toml")
	var e *Error
	if !errors.As(err, &e) || len(e.Issues) != 1 {
		t.Fatalf("err = %v", err)
	}
	is := e.Issues[0]
	if is.Line != 3 || is.Column == 0 || is.Err == nil {
		t.Errorf("issue = %+v", is)
	}
	if !strings.HasPrefix(err.Error(), "fedrs.toml:3:") {
		t.Errorf("Error() = %q", err)
	}
}

func TestLoadFromDisk(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("md5-harbour", "s3cret-with-trailing-newline\n")
	write("token", "0123456789abcdef0123456789abcdef\r\n")
	write("bogons.txt", "# local\n100.64.0.0/10\n")
	data, err := os.ReadFile("testdata/bgpq4.json")
	if err != nil {
		t.Fatal(err)
	}
	write("northfield.json", string(data))
	write("fedrs.toml", `
[server]
asn = 4200065000
router_id = "192.0.2.1"
control_tcp = "127.0.0.1:8179"
control_token_file = "token"

[policy]
bogon_prefixes_file = "bogons.txt"

[[member]]
name = "council-harbour"
asn = 4200002003
neighbors = ["192.0.2.23"]
md5_password_file = "md5-harbour"
prefix_list_file = "northfield.json"
`)
	c, err := Load(filepath.Join(dir, "fedrs.toml"))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Members[0]
	if m.MD5Secret != "s3cret-with-trailing-newline" {
		t.Errorf("MD5Secret = %q", m.MD5Secret)
	}
	if m.MD5Password != "" {
		t.Errorf("MD5Password = %q, want it left empty", m.MD5Password)
	}
	if c.Server.ControlTokenSecret != "0123456789abcdef0123456789abcdef" {
		t.Errorf("ControlTokenSecret = %q", c.Server.ControlTokenSecret)
	}
	if m.PrefixList.Len() != 5 {
		t.Errorf("PrefixList = %v", m.PrefixList)
	}
	// A bogon file replaces the preset list (with bogon_prefixes, if any).
	if !slices.Equal(c.Policy.BogonPrefixes, []netip.Prefix{netip.MustParsePrefix("100.64.0.0/10")}) {
		t.Errorf("BogonPrefixes = %v", c.Policy.BogonPrefixes)
	}
	if c.Path("bogons.txt") != filepath.Join(dir, "bogons.txt") || c.Path("/etc/x") != "/etc/x" {
		t.Errorf("Path resolves wrongly: %q", c.Path("bogons.txt"))
	}

	// A missing file is an error naming the path, and errors.Is sees
	// through it.
	if err := os.Remove(filepath.Join(dir, "md5-harbour")); err != nil {
		t.Fatal(err)
	}
	_, err = Load(filepath.Join(dir, "fedrs.toml"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "md5-harbour")) {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) = false for %v", err)
	}
	if _, err := Load(filepath.Join(dir, "nope.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v", err)
	}
}

func TestPrefixListFormats(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	got, err := ParsePrefixList(read("bgpq4.json"), "bgpq4.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"10.16.0.0/14 le 24",
		"10.99.10.0/24",
		"172.20.0.0/16 ge 20 le 24",
		"2001:db8:100::/40 le 48",
		"2001:db8:ff00::/48",
	}
	if s := formatAll(got); !slices.Equal(s, want) {
		t.Errorf("bgpq4 JSON:\n got %q\nwant %q", s, want)
	}
	got, err = ParsePrefixList(read("prefixes.txt"), "prefixes.txt")
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"10.200.0.0/16 le 24", "10.201.0.0/16", "2001:db8:f000::/36 ge 40 le 48"}
	if s := formatAll(got); !slices.Equal(s, want) {
		t.Errorf("text:\n got %q\nwant %q", s, want)
	}
	// Errors carry the list file's own lines.
	_, err = ParsePrefixList(read("bgpq4-bad.json"), "bgpq4-bad.json")
	wantErr := "bgpq4-bad.json:3: 10.99.10.1/24 is not a canonical prefix (host bits are set); did you mean 10.99.10.0/24?\n" +
		`bgpq4-bad.json:4: "172.20.0.0/16 ge 12 le 24": ge 12 is shorter than the prefix itself (/16); use 16-32`
	if err == nil || err.Error() != wantErr {
		t.Errorf("bad JSON:\n got %v\nwant %s", err, wantErr)
	}
	_, err = ParsePrefixList([]byte("{ \"pfx\": [\n  { \"prefix\": \"10.0.0.0/8\", \"exact\": true }\n"), "trunc.json")
	if err == nil || !strings.HasPrefix(err.Error(), "trunc.json:") || !strings.Contains(err.Error(), "invalid bgpq4 JSON") {
		t.Errorf("truncated JSON: %v", err)
	}
	// bgpq4 writes an empty list as {"NN": [ ] }; that is no prefixes,
	// not an error.
	if got, err := ParsePrefixList([]byte("{ \"NN\": [\n] }\n"), "empty.json"); err != nil || len(got) != 0 {
		t.Errorf("empty list: %v, %v", got, err)
	}
}

func TestBogonPresets(t *testing.T) {
	pfx := netip.MustParsePrefix
	fed, ixp := BogonPrefixes(PresetFederation), BogonPrefixes(PresetIXP)
	cases := []struct {
		route    string
		fed, ixp bool
	}{
		{"0.0.0.0/0", true, true},
		{"::/0", true, true},
		{"10.40.0.0/16", false, true},
		{"172.20.0.0/16", false, true},
		{"192.168.1.0/24", false, true},
		{"100.64.1.0/24", false, true},
		{"2001:db8:100::/40", false, true}, // documentation space: the example federation uses it
		{"fd00:1::/48", false, true},
		{"127.0.0.0/8", true, true},
		{"169.254.10.0/24", true, true},
		{"192.0.2.0/24", true, true},
		{"198.51.100.0/24", true, true},
		{"203.0.113.128/25", true, true},
		{"224.0.0.0/24", true, true},
		{"240.0.0.0/8", true, true},
		{"fe80::/64", true, true},
		{"ff02::/16", true, true},
		{"100::/64", true, true},
		{"8.8.8.0/24", false, false},
		{"2a00:1450::/32", false, false},
	}
	for _, c := range cases {
		if got := MatchesBogon(fed, pfx(c.route)); got != c.fed {
			t.Errorf("federation: %s bogon = %v, want %v", c.route, got, c.fed)
		}
		if got := MatchesBogon(ixp, pfx(c.route)); got != c.ixp {
			t.Errorf("ixp: %s bogon = %v, want %v", c.route, got, c.ixp)
		}
	}
	asns := []struct {
		asn      uint32
		fed, ixp bool
	}{
		{0, true, true}, {23456, true, true}, {64496, true, true}, {64511, true, true},
		{65535, true, true}, {65540, true, true}, {100000, true, true}, {4294967295, true, true},
		{64512, false, true}, {65534, false, true}, {4200000000, false, true}, {4294967294, false, true},
		{3356, false, false}, {131072, false, false},
	}
	for _, c := range asns {
		if got := ASNRangesContain(BogonASNs(PresetFederation), c.asn); got != c.fed {
			t.Errorf("federation: AS%d bogon = %v, want %v", c.asn, got, c.fed)
		}
		if got := ASNRangesContain(BogonASNs(PresetIXP), c.asn); got != c.ixp {
			t.Errorf("ixp: AS%d bogon = %v, want %v", c.asn, got, c.ixp)
		}
	}
	// Returned lists are copies.
	l := BogonPrefixes(PresetFederation)
	l[0] = pfx("8.8.8.0/24")
	if BogonPrefixes(PresetFederation)[0] == l[0] {
		t.Error("BogonPrefixes returns shared state")
	}
}

func TestValidateCodeBuilt(t *testing.T) {
	c := &Config{
		Server: Server{ASN: 4200065000, RouterID: netip.MustParseAddr("192.0.2.1")},
		Groups: []Group{{Name: "nhs", ID: 1}},
		Members: []Member{
			{Name: "nhs-northfield", ASN: 4200001001, Neighbors: []netip.Addr{netip.MustParseAddr("192.0.2.11")}, Groups: []string{"nhs"}},
			{Name: "nhs-coastal", ASN: 0, Neighbors: []netip.Addr{netip.MustParseAddr("192.0.2.11")}, Groups: []string{"council"}},
		},
	}
	err := Validate(c)
	want := "member[2] (nhs-coastal).asn: 0 is not a valid ASN; use 1-4294967295 (private: 64512-65534, 4200000000-4294967294)\n" +
		"member[2] (nhs-coastal).neighbors[1]: 192.0.2.11 is also a neighbor of nhs-northfield; each router address belongs to one member\n" +
		`member[2] (nhs-coastal).groups[1]: no [[group]] is called "council"; defined groups: "nhs"`
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
	if c.Server.Listen != nil || c.Members[0].Port != 0 {
		t.Error("Validate filled defaults into the caller's Config")
	}
	c.Members[1].ASN = 4200001002
	c.Members[1].Neighbors = []netip.Addr{netip.MustParseAddr("192.0.2.13")}
	c.Members[1].Groups = nil
	c.Members[1].Policy = &Policy{Preset: PresetIXP, Checks: map[string]string{CheckRPKI: ActionTag}}
	if err := Validate(c); err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if c.Members[1].Port != 179 || c.Server.HoldTime.Duration != 90*time.Second {
		t.Errorf("ApplyDefaults: port %d, hold %s", c.Members[1].Port, c.Server.HoldTime)
	}
	eff := c.MemberPolicy(1)
	if eff.Preset != PresetIXP || eff.MaxLengthV4 != 24 || eff.Checks[CheckRPKI] != ActionTag || eff.Checks[CheckFirstAS] != ActionFilter {
		t.Errorf("effective policy: %+v", eff)
	}
	before := *c
	c.ApplyDefaults()
	if !reflect.DeepEqual(before, *c) {
		t.Error("ApplyDefaults is not idempotent")
	}
	// A file name set on a code-built Config appears, without lines.
	c.File = "built.toml"
	c.Members[0].GTSMHops = 300
	if err := Validate(c); err == nil || err.Error() != "built.toml: member[1] (nhs-northfield).gtsm_hops: 300 is not valid; use 1-254 (1: directly connected, the default)" {
		t.Errorf("got %v", err)
	}
}

// TestRegistryDuplicates: a member listing a prefix twice is refused.
// (Overlaps between members are the rpki package's: rpki.Registry.Overlaps.)
func TestRegistryDuplicates(t *testing.T) {
	_, err := Parse(doc(`
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "council-east"
asn = 4200002001
neighbors = ["192.0.2.21"]
prefixes = ["10.40.0.0/16 le 24", "2001:db8:400::/40"]

[[member]]
name = "nhs-coastal"
asn = 4200001002
neighbors = ["192.0.2.13"]
prefixes = ["10.40.200.0/24", "10.20.0.0/14", "2001:db8:4ff::/48"]

[[member]]
name = "nhs-riverside"
asn = 4200001003
neighbors = ["192.0.2.14"]
prefixes = ["10.40.200.128/25", "10.0.0.0/8 shared", "10.0.0.0/8 shared"]
`), "fedrs.toml")
	if err == nil || !strings.Contains(err.Error(), "10.0.0.0/8 is listed twice") {
		t.Fatalf("duplicate within a member: %v", err)
	}
}
