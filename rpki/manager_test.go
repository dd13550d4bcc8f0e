package rpki_test

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
	. "github.com/fedrs/fedrs/rpki"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func runManager(t testing.TB, m *Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	<-m.Ready()
}

func TestManagerMergesAndReloads(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "vrps.json")
	writeFile(t, feed, `{"roas":[
		{"asn":64496,"prefix":"192.0.2.0/24","maxLength":24},
		{"asn":64497,"prefix":"203.0.113.0/24","maxLength":24}],
		"aspas":[{"customer_asid":64496,"providers":[64500]}]}`)
	slurm := filepath.Join(dir, "slurm.json")
	writeFile(t, slurm, `{"slurmVersion":1,
		"validationOutputFilters":{"prefixFilters":[{"asn":64497}]},
		"locallyAddedAssertions":{"prefixAssertions":[{"asn":64499,"prefix":"198.51.100.0/24"}]}}`)
	m := NewManager(Options{Logger: quietLog(), FilePoll: 10 * time.Millisecond})
	m.AddFile(feed)
	m.AddSLURM(slurm)
	m.SetRegistry(RegistryFromConfig(testConfig()))
	var mu sync.Mutex
	var changes []Change
	m.Subscribe(func(c Change) {
		mu.Lock()
		changes = append(changes, c)
		mu.Unlock()
	})
	runManager(t, m)

	s := m.Snapshot()
	check := func(s *Snapshot, p string, origin uint32, want State) {
		t.Helper()
		if got := s.Validate(mustPrefix(p), origin, true); got != want {
			t.Errorf("serial %d: %s AS%d = %v, want %v", s.Serial, p, origin, got, want)
		}
	}
	check(s, "192.0.2.0/24", 64496, Valid)       // from the file
	check(s, "203.0.113.0/24", 64497, NotFound)  // removed by the SLURM filter
	check(s, "198.51.100.0/24", 64499, Valid)    // SLURM assertion
	check(s, "10.1.9.0/24", 4200000001, Valid)   // registry
	check(s, "10.1.9.0/24", 4200000002, Invalid) // registry: wrong member
	if s.ASPAs.Authorized(64496, 64500) != ProviderPlus {
		t.Error("ASPA from the file missing")
	}
	first := s.Serial

	// The file changes: the manager publishes the difference.
	writeFile(t, feed, `{"roas":[
		{"asn":64496,"prefix":"192.0.2.0/24","maxLength":25},
		{"asn":64497,"prefix":"203.0.113.0/24","maxLength":24}],
		"aspas":[{"customer_asid":64496,"providers":[64500]}]}`)
	rstest.Eventually(t, 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return m.Snapshot().Serial > first && len(changes) > 0 && changes[len(changes)-1].New.Serial > first
	}, "the changed file to be published")
	s = m.Snapshot()
	check(s, "192.0.2.0/25", 64496, Valid)
	mu.Lock()
	last := changes[len(changes)-1]
	mu.Unlock()
	if len(last.Added) != 1 || len(last.Removed) != 1 || last.ASPAChanged || !last.Affects(mustPrefix("192.0.2.128/25")) || last.Affects(mustPrefix("10.1.0.0/24")) {
		t.Errorf("change %+v", last)
	}

	// A corrupt file is rejected with a clear error and the previous data
	// stays in force.
	writeFile(t, feed, `{"roas":[{"asn":64496,"prefix":"192.0.2.0/24","maxLength":`)
	rstest.Eventually(t, 15*time.Second, func() bool {
		for _, src := range m.Status().Sources {
			if src.Kind == "file" && src.State == "error" && strings.Contains(src.LastError, "invalid JSON") {
				return true
			}
		}
		return false
	}, "the corrupt file to be reported")
	if m.Snapshot() != s {
		t.Error("a corrupt file changed the published data")
	}
	check(m.Snapshot(), "192.0.2.0/25", 64496, Valid)

	// A registry change (config reload) is published too.
	m.SetRegistry(nil)
	rstest.Eventually(t, 15*time.Second, func() bool { return m.Snapshot().Validate(mustPrefix("10.1.9.0/24"), 4200000001, true) == NotFound }, "the registry removal")

	var b strings.Builder
	if err := m.Status().WriteText(&b, time.Now()); err != nil || !strings.Contains(b.String(), "vrps.json") {
		t.Errorf("status text: %v\n%s", err, b.String())
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// fakeClock is time.Now shifted by an adjustable offset.
type fakeClock struct{ off atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *fakeClock) Advance(d time.Duration) { c.off.Add(int64(d)) }
