package routeserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/wait"
	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/rib"
	"github.com/fedrs/fedrs/routeserver/wire"
	"github.com/fedrs/fedrs/rpki"
)

// passLog counts the re-validation passes the route server logs.
type passLog struct {
	slog.Handler
	passes *atomic.Int32
}

func (h passLog) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "RPKI data changed: routes re-validated") {
		h.passes.Add(1)
	}
	return nil
}
func (h passLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h passLog) WithGroup(string) slog.Handler      { return h }

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
	var passes atomic.Int32
	srv, err := New(cfg, Options{Log: slog.New(passLog{slog.DiscardHandler, &passes}), RPKI: mgr})
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
	// the RIB: the wait then ends without one).
	wait.Until(500*time.Millisecond, func() bool { return passes.Load() > 0 })
	srv.rib.Apply(n.src, []rib.Change{{Family: f, Prefix: p, Attrs: a, Verdict: v}})
	srv.policyMu.RUnlock()

	wait.Eventually(t, 10*time.Second, p.String()+" accepted with the new VRPs", func() bool {
		rs := srv.rib.Lookup(p, rib.Exact)
		return len(rs) == 1 && rs[0].Verdict.Accepted()
	})
}
