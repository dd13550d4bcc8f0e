package routeserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/wire"
	"github.com/fedrs/fedrs/rpki"
)

// passLog closes passed when the route server logs its first
// re-validation pass (logged once the pass has re-judged the routes).
type passLog struct {
	slog.Handler
	once   *sync.Once
	passed chan struct{}
}

func (h passLog) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "RPKI data changed: routes re-validated") {
		h.once.Do(func() { close(h.passed) })
	}
	return nil
}
func (h passLog) Enabled(context.Context, slog.Level) bool { return true }
func (h passLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h passLog) WithGroup(string) slog.Handler            { return h }

// TestRPKIPassAfterUpdateInFlight: an UPDATE judged with the RPKI data in
// force when it arrived, and applied to the RIB after new data was
// published, is re-validated with the new data. The test plays the UPDATE
// by hand as Update does (policyMu read-held from the judgement to the
// RIB): the route is judged rpki_invalid, the VRPs change to make it
// valid, the route reaches the RIB. It must end up accepted; when the
// re-validation pass ran before the route reached the RIB, it kept its
// stale rpki_invalid verdict for good.
func TestRPKIPassAfterUpdateInFlight(t *testing.T) {
	const asn = 4200000001
	file := filepath.Join(t.TempDir(), "vrps.json")
	vrp := func(origin uint32) string {
		return fmt.Sprintf(`{"roas":[{"prefix":"10.1.0.0/16","maxLength":24,"asn":"AS%d"}]}`, origin)
	}
	if err := os.WriteFile(file, []byte(vrp(65999)), 0o644); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("[server]\nasn = 4200000000\nrouter_id = \"10.255.255.254\"\ncontrol = \"\"\n"+
		"[rpki]\nfiles = [%q]\nregistry = false\n"+
		"[[member]]\nname = \"m0\"\nasn = %d\nneighbors = [\"192.0.2.1\"]\nprefixes = [\"10.0.0.0/8 le 32\"]\n"+
		"[[member]]\nname = \"m1\"\nasn = %d\nneighbors = [\"192.0.2.2\"]\nprefixes = [\"10.200.0.0/16 le 32\"]\n",
		file, asn, asn+1)
	cfg, err := conf.Parse([]byte(text), "race.toml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mgr := rpki.NewManagerFromConfig(cfg, rpki.Options{Logger: slog.New(slog.DiscardHandler)})
	go mgr.Run(ctx)
	<-mgr.Ready()
	passed := make(chan struct{})
	srv, err := New(cfg, Options{Log: slog.New(passLog{slog.DiscardHandler, new(sync.Once), passed}), RPKI: mgr})
	if err != nil {
		t.Fatal(err)
	}
	srv.followRPKI(ctx, mgr)
	n := srv.nbrs[netip.MustParseAddr("192.0.2.1")]

	dec := wire.Decoder{FourOctetAS: true, Table: srv.attrs}
	u, err := dec.Decode(validUpdate(asn, n.cfg.PeerAddr))
	if err != nil {
		t.Fatal(err)
	}
	f := bgp.IPv4Unicast
	a, p := u.Attrs[f], u.Announced[f][0].Prefix

	// The UPDATE in flight: judged with the data in force (invalid).
	srv.policyMu.RLock()
	v := srv.Engine().Import(n.member, p, &a.Attrs)
	if !v.Filtered.Has(policy.ReasonRPKIInvalid) {
		srv.policyMu.RUnlock()
		t.Fatalf("%s judged %v with the first VRPs, want rpki_invalid", p, v)
	}
	// New data published meanwhile: the route is now valid.
	if err := os.WriteFile(file, []byte(vrp(asn)), 0o644); err != nil {
		srv.policyMu.RUnlock()
		t.Fatal(err)
	}
	mgr.Reload()
	// Give a pass that does not wait for the UPDATE the time to run
	// first (a correct route server runs none before the UPDATE is in
	// the RIB: the window then ends without one). This is a window for
	// the bug to show, not a wait for a condition.
	select {
	case <-passed:
	case <-time.After(500 * time.Millisecond):
	}
	srv.rib.Apply(n.src, []rib.Change{{Family: f, Prefix: p, Attrs: a, Verdict: v}})
	srv.policyMu.RUnlock()

	// The pass (logged once it has re-judged the routes) now runs, or ran
	// in the window above.
	select {
	case <-passed:
	case <-time.After(10 * time.Second):
		t.Fatal("no re-validation pass after the new VRPs were published")
	}
	if rs := srv.rib.Lookup(p, rib.Exact); len(rs) != 1 || !rs[0].Verdict.Accepted() {
		t.Fatalf("%s is %+v after the re-validation pass, want accepted with the new VRPs", p, rs)
	}
}
