package bench

import (
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/rpki"
)

// The speakers converge against fedrs in-process, with the configuration
// the benchmark gives fedrs: every member ends up with every other
// member's routes except the RPKI invalid ones; churn is measured.
func TestSpeakersAgainstFedrs(t *testing.T) {
	tb := mustTable(t, TableOptions{Members: 4, PrefixesV4: 1500, Seed: 2, Loopback: true})
	dir := t.TempDir()
	e := &Env{Table: tb, Dir: dir, SockDir: dir, Port: 179,
		Listen: [2]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}}
	if err := fedrsConfigure(e); err != nil {
		t.Fatal(err)
	}
	cfg, err := conf.Load(filepath.Join(dir, "fedrs.toml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	mgr := rpki.NewManagerFromConfig(cfg, rpki.Options{Logger: log})
	go mgr.Run(ctx)
	<-mgr.Ready()
	if n := mgr.Status().VRPsV4; n != len(tb.VRPs) {
		t.Fatalf("fedrs loaded %d VRPs, want %d", n, len(tb.VRPs))
	}
	srv, err := routeserver.New(cfg, routeserver.Options{Log: log, Listen: []string{"127.0.0.1:0"}, RPKI: mgr})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	rs := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), srv.Addrs()[0].Port())

	conv := NewConvergence()
	churn := NewChurn(tb)
	speakers := map[sessionKey]*Speaker{}
	var recvs []*Receiver
	for m := range tb.Members {
		enc, err := tb.Encode(IPv4, m)
		if err != nil {
			t.Fatal(err)
		}
		r := NewReceiver(tb, IPv4, m, conv, churn)
		recvs = append(recvs, r)
		sp := NewSpeaker(SpeakerConfig{Table: tb, Family: IPv4, Member: m, RS: rs, RSASN: RSASN, Role: m%2 == 0,
			Updates: enc, Receiver: r})
		speakers[sessionKey{m, IPv4}] = sp
	}
	sctx, scancel := context.WithCancel(ctx)
	errc := make(chan error, len(speakers))
	for _, sp := range speakers {
		go func() {
			if err := sp.Connect(sctx); err != nil {
				errc <- err
				return
			}
			errc <- sp.Run(sctx)
		}()
	}
	select {
	case <-conv.C():
	case err := <-errc:
		t.Fatalf("session ended: %v", err)
	case <-time.After(30 * time.Second):
		for m, r := range recvs {
			t.Logf("m%d: %+v", m+1, r.Stats())
		}
		t.Fatal("no convergence within 30s")
	}
	for m, r := range recvs {
		st := r.Stats()
		if st.Held != tb.Expected(IPv4, m) || st.Extra != 0 {
			t.Fatalf("m%d: %+v", m+1, st)
		}
	}

	ops, err := runChurn(ctx, tb, speakers, churn, 200, time.Second, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ops[IPv4] < 100 {
		t.Fatalf("only %d churn operations in a second at 200/s", ops[IPv4])
	}
	// Wait until the receivers are quiet (at most 10 s: then they are
	// collected as they are), then stop them and collect.
	_ = rstest.Until(10*time.Second, func() bool {
		for _, r := range recvs {
			if time.Since(r.LastUpdate()) < 300*time.Millisecond {
				return false
			}
		}
		return true
	})
	scancel()
	for range speakers {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	var samples []time.Duration
	for _, r := range recvs {
		samples = append(samples, r.Samples()...)
	}
	res := summarize(samples, ops[IPv4]*(len(tb.Members)-1))
	t.Logf("churn: %+v", res)
	if res.Samples < res.Receives*9/10 || res.P50ms <= 0 {
		t.Fatalf("churn samples: %+v", res)
	}
}
