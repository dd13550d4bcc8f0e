package conf

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// edit loads the example with one textual replacement applied.
func edit(t *testing.T, old, new string) *Config {
	t.Helper()
	src := string(Example)
	if !strings.Contains(src, old) {
		t.Fatalf("example does not contain %q", old)
	}
	c, err := Parse([]byte(strings.Replace(src, old, new, 1)), "example.toml")
	if err != nil {
		t.Fatalf("edited example does not load:\n%v", err)
	}
	return c
}

func TestDiff(t *testing.T) {
	base, err := LoadExample()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		old, new string
		check    func(t *testing.T, ch Changes)
	}{
		{
			name: "comment only",
			old:  "# Two edge routers: one session per address.", new: "# Two routers.",
			check: func(t *testing.T, ch Changes) {
				if !ch.Empty() || ch.String() != "no changes" {
					t.Errorf("changes: %s", ch)
				}
			},
		},
		{
			name: "md5 password resets the session",
			old:  `md5_password = "harbour-rs-2024"`, new: `md5_password = "harbour-rs-2025"`,
			check: func(t *testing.T, ch Changes) {
				m := only(t, ch)
				if m.Name != "council-harbour" || !m.Reset || m.Policy {
					t.Errorf("%+v", m)
				}
				if got := ch.String(); got != "member council-harbour (sessions reset):\n  md5_password: (hidden) → (hidden)" {
					t.Errorf("String:\n%s", got)
				}
				if strings.Contains(ch.String(), "harbour-rs") {
					t.Error("password printed")
				}
			},
		},
		{
			name: "prefixes change policy and registry, no reset",
			old:  `"10.40.0.0/16 le 24",`, new: `"10.40.0.0/16 le 24", "10.42.0.0/16",`,
			check: func(t *testing.T, ch Changes) {
				m := only(t, ch)
				if m.Name != "council-east" || m.Reset || !m.Policy || !ch.Registry || !ch.PolicyRerun() || ch.NeedsRestart() {
					t.Errorf("%+v registry=%v", m, ch.Registry)
				}
				if got := ch.String(); got != "member council-east (policy re-run):\n  prefixes: +10.42.0.0/16\nownership registry changed" {
					t.Errorf("String:\n%s", got)
				}
			},
		},
		{
			name: "a new neighbor opens one session only",
			old:  `neighbors = ["192.0.2.21", "2001:db8:ffff::21"]`, new: `neighbors = ["192.0.2.21", "192.0.2.26", "2001:db8:ffff::21"]`,
			check: func(t *testing.T, ch Changes) {
				m := only(t, ch)
				if m.Reset || m.Policy || !slices.Equal(m.NeighborsAdded, []netip.Addr{netip.MustParseAddr("192.0.2.26")}) || len(m.NeighborsRemoved) != 0 {
					t.Errorf("%+v", m)
				}
			},
		},
		{
			name: "server hold time resets the members that inherit it",
			old:  `hold_time = "90s"                      # offered`, new: `hold_time = "60s"                      # offered`,
			check: func(t *testing.T, ch Changes) {
				if len(ch.Live) != 1 || ch.Live[0].String() != "server.hold_time: 1m30s → 1m0s" {
					t.Errorf("live: %v", ch.Live)
				}
				var reset []string
				for _, m := range ch.MembersChanged {
					if m.Reset {
						reset = append(reset, m.Name)
					}
				}
				// nhs-riverside sets its own hold_time.
				want := []string{"nhs-northfield", "nhs-coastal", "council-east", "council-hillside", "council-harbour"}
				if !slices.Equal(reset, want) {
					t.Errorf("reset %v, want %v", reset, want)
				}
			},
		},
		{
			name: "server asn needs a restart",
			old:  "asn = 4200065000", new: "asn = 4200065001",
			check: func(t *testing.T, ch Changes) {
				if !ch.NeedsRestart() || len(ch.Restart) != 1 || ch.Restart[0].String() != "server.asn: 4200065000 → 4200065001" {
					t.Errorf("restart: %v", ch.Restart)
				}
			},
		},
		{
			name: "log level is live",
			old:  `log_level = "info"`, new: `log_level = "debug"`,
			check: func(t *testing.T, ch Changes) {
				if ch.NeedsRestart() || ch.PolicyRerun() || ch.String() != "applied live:\n  server.log_level: info → debug" {
					t.Errorf("%s", ch)
				}
			},
		},
		{
			name: "global policy change shows once",
			old:  "max_as_path = 16", new: "max_as_path = 12",
			check: func(t *testing.T, ch Changes) {
				if !ch.Policy || len(ch.MembersChanged) != 0 || !ch.PolicyRerun() {
					t.Errorf("%s", ch)
				}
				if got := ch.String(); got != "policy:\n  policy.max_as_path: 16 → 12" {
					t.Errorf("String:\n%s", got)
				}
			},
		},
		{
			name: "member policy override",
			old:  "max_length_v4 = 30", new: "max_length_v4 = 28\nchecks = { rpki = \"tag\" }",
			check: func(t *testing.T, ch Changes) {
				m := only(t, ch)
				if m.Name != "nhs-coastal" || m.Reset || !m.Policy || ch.Policy {
					t.Errorf("%+v", m)
				}
				if got := ch.String(); got != "member nhs-coastal (policy re-run):\n  policy.max_length_v4: 30 → 28\n  policy.checks: +rpki=tag -rpki=filter" {
					t.Errorf("String:\n%s", got)
				}
			},
		},
		{
			name: "member removed and added",
			old:  `name = "council-harbour"`, new: `name = "council-harbor"`,
			check: func(t *testing.T, ch Changes) {
				if !slices.Equal(ch.MembersAdded, []string{"council-harbor"}) || !slices.Equal(ch.MembersRemoved, []string{"council-harbour"}) || !ch.Registry {
					t.Errorf("%s", ch)
				}
			},
		},
		{
			name: "description and shutdown need neither reset nor policy",
			old:  `description = "Hillside Borough Council"`, new: "description = \"Hillside Council\"\nshutdown = true",
			check: func(t *testing.T, ch Changes) {
				m := only(t, ch)
				if m.Reset || m.Policy || len(m.Fields) != 2 {
					t.Errorf("%+v", m)
				}
			},
		},
		{
			name: "max prefixes",
			old:  "max_prefixes = { ipv4 = 50, ipv6 = 50, action = \"warn\" }", new: "max_prefixes = { ipv4 = 80, ipv6 = 50, action = \"teardown\" }",
			check: func(t *testing.T, ch Changes) {
				m := only(t, ch)
				if m.Reset || !m.Policy || ch.String() != "member nhs-riverside (policy re-run):\n  max_prefixes.ipv4: 50 → 80\n  max_prefixes.action: warn → teardown" {
					t.Errorf("%s", ch)
				}
			},
		},
		{
			name: "gtsm and groups",
			old:  "groups = [\"council\"]\nprefixes = [\n  \"172.20.0.0/16 le 24\",", new: "groups = [\"council\"]\ngtsm = true\nprefixes = [\n  \"172.20.0.0/16 le 24\",",
			check: func(t *testing.T, ch Changes) {
				m := only(t, ch)
				if m.Name != "council-harbour" || !m.Reset {
					t.Errorf("%+v", m)
				}
			},
		},
		{
			name: "group id",
			old:  "id = 2", new: "id = 3",
			check: func(t *testing.T, ch Changes) {
				if !ch.Groups || !ch.PolicyRerun() || ch.String() != "groups:\n  group: +council=3 (Local councils) -council=2 (Local councils)" {
					t.Errorf("%s", ch)
				}
			},
		},
		{
			name: "rpki server: at the next restart",
			old:  "# server = \"[2001:db8:ffff::1]:3323\"", new: "server = \"[2001:db8:ffff::1]:3323\"",
			check: func(t *testing.T, ch Changes) {
				if ch.RPKI || !ch.NeedsRestart() || ch.String() != "needs a restart:\n  rpki.server: \"\" → [2001:db8:ffff::1]:3323" {
					t.Errorf("%s", ch)
				}
			},
		},
		{
			name: "rpki registry: applied",
			old:  "registry = true   #", new: "registry = false  #",
			check: func(t *testing.T, ch Changes) {
				if !ch.RPKI || ch.NeedsRestart() || !ch.PolicyRerun() || ch.String() != "rpki:\n  rpki.registry: true → false" {
					t.Errorf("%s", ch)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.check(t, Diff(base, edit(t, c.old, c.new)))
		})
	}
}

func only(t *testing.T, ch Changes) MemberChange {
	t.Helper()
	if len(ch.MembersChanged) != 1 || len(ch.MembersAdded)+len(ch.MembersRemoved) != 0 {
		t.Fatalf("want one member changed:\n%s", ch)
	}
	return ch.MembersChanged[0]
}
