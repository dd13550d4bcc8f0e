package rpki_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/rstest"
	. "github.com/fedrs/fedrs/rpki"
)

// rpkiConfig is testConfig's members with an [rpki] section.
func rpkiConfig(files, slurms []string, caches []conf.RTRCache, registry bool) *conf.Config {
	c := testConfig()
	c.RPKI = conf.RPKI{Files: files, SLURM: slurms, Caches: caches, Registry: &registry}
	return c
}

// TestConfigure: a reload's new [rpki] section and registry are in force
// when Configure returns: files added and removed, the registry switched
// off and on, a member's prefixes changed, an RTR cache added (it connects
// and counts once in sync) and removed (closed, its data gone). Preview
// predicts each step without changing what is in force.
func TestConfigure(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	writeFile(t, a, `{"roas":[{"asn":64496,"prefix":"192.0.2.0/24","maxLength":24}]}`)
	slurm := filepath.Join(dir, "local.slurm.json")
	writeFile(t, slurm, `{"slurmVersion":1,"locallyAddedAssertions":{"prefixAssertions":[{"asn":64499,"prefix":"198.51.100.0/24"}]}}`)
	m := NewManagerFromConfig(rpkiConfig(nil, nil, nil, false), Options{Logger: quietLog()})
	runManager(t, m)
	state := func(s *Snapshot, p string, asn uint32) State { return s.Validate(mustPrefix(p), asn, true) }
	if s := m.Snapshot(); s.VRPs.Len() != 0 {
		t.Fatalf("no sources, yet %d VRPs", s.VRPs.Len())
	}

	// Each step: Preview first (nothing changes), then Configure (in force
	// when it returns), and both agree.
	step := func(name string, cfg *conf.Config, check func(s *Snapshot) bool) {
		t.Helper()
		before := m.Snapshot()
		prev, notes := m.Preview(cfg)
		if m.Snapshot() != before {
			t.Fatalf("%s: Preview changed the published snapshot", name)
		}
		if !check(prev) {
			t.Errorf("%s: Preview predicts wrong (notes %v)", name, notes)
		}
		got := m.Configure(cfg)
		if got != m.Snapshot() || !check(got) {
			t.Errorf("%s: not in force when Configure returned (serial %d)", name, got.Serial)
		}
		if added, removed := DiffVRPs(prev.VRPs, got.VRPs); len(added)+len(removed) != 0 {
			t.Errorf("%s: Preview and Configure differ: +%v -%v", name, added, removed)
		}
	}
	step("registry on", rpkiConfig(nil, nil, nil, true), func(s *Snapshot) bool {
		return state(s, "10.1.9.0/24", 4200000001) == Valid && state(s, "10.1.9.0/24", 4200000002) == Invalid
	})
	step("file and SLURM added", rpkiConfig([]string{a}, []string{slurm}, nil, true), func(s *Snapshot) bool {
		return state(s, "192.0.2.0/24", 64496) == Valid && state(s, "198.51.100.0/24", 64499) == Valid && state(s, "10.1.9.0/24", 4200000001) == Valid
	})
	moved := rpkiConfig([]string{a}, []string{slurm}, nil, true)
	moved.Members[0].Prefixes = moved.Members[0].Prefixes[1:] // north-trust gives up 10.1.0.0/16
	moved.Members[1].Prefixes = append(moved.Members[1].Prefixes, conf.PrefixRange{Prefix: mustPrefix("10.1.0.0/16"), LE: 24})
	step("a registration moved", moved, func(s *Snapshot) bool {
		return state(s, "10.1.9.0/24", 4200000001) == Invalid && state(s, "10.1.9.0/24", 4200000002) == Valid
	})
	step("registry off", rpkiConfig([]string{a}, nil, nil, false), func(s *Snapshot) bool {
		return state(s, "10.1.9.0/24", 4200000001) == NotFound && state(s, "198.51.100.0/24", 64499) == NotFound && state(s, "192.0.2.0/24", 64496) == Valid
	})
	step("file removed", rpkiConfig(nil, nil, nil, false), func(s *Snapshot) bool { return s.VRPs.Len() == 0 })

	// An RTR cache added by a reload connects and counts once in sync;
	// Preview says it cannot predict its data.
	src, _ := feedManager(t, `{"roas":[{"asn":64511,"prefix":"203.0.114.0/24","maxLength":24}]}`)
	addr, _ := serveRTR(t, src, ServerOptions{})
	withCache := rpkiConfig(nil, nil, []conf.RTRCache{{Address: addr, Preference: 1}}, false)
	if _, notes := m.Preview(withCache); len(notes) != 1 {
		t.Errorf("preview notes %v, want one about the new cache", notes)
	}
	m.Configure(withCache)
	rstest.Eventually(t, 15*time.Second, func() bool { return state(m.Snapshot(), "203.0.114.0/24", 64511) == Valid }, "the new cache's data")
	if st := cacheStatus(m, addr); st.State != StateSynced || !st.Selected {
		t.Errorf("cache status %+v", st)
	}
	// Kept by a reload: no new session, and Preview now counts its data.
	if prev, notes := m.Preview(withCache); len(notes) != 0 || state(prev, "203.0.114.0/24", 64511) != Valid {
		t.Errorf("preview with the connected cache: %v", notes)
	}
	m.Configure(rpkiConfig(nil, nil, nil, false))
	if s := m.Snapshot(); s.VRPs.Len() != 0 || cacheStatus(m, addr).Name != "" {
		t.Errorf("removed cache still counts: %d VRPs, status %+v", s.VRPs.Len(), cacheStatus(m, addr))
	}
}

// TestConfigured: which configurations validate at all.
func TestConfigured(t *testing.T) {
	none := &conf.Config{}
	off := false
	for _, c := range []struct {
		name string
		cfg  *conf.Config
		want bool
	}{
		{"nothing", none, false},
		{"registry with claims (the default)", testConfig(), true},
		{"registry off", rpkiConfig(nil, nil, nil, false), false},
		{"a file", &conf.Config{RPKI: conf.RPKI{Files: []string{"x.json"}, Registry: &off}}, true},
		{"a cache", &conf.Config{RPKI: conf.RPKI{Caches: []conf.RTRCache{{Address: "192.0.2.1:323"}}}}, true},
		{"the RTR server", &conf.Config{RPKI: conf.RPKI{Server: "[::]:3323"}}, true},
	} {
		if got := Configured(c.cfg); got != c.want {
			t.Errorf("%s: Configured = %v, want %v", c.name, got, c.want)
		}
	}
}
