// Package rstest starts a route server with in-process member routers for
// tests: a configuration written from member specs, the server on a free
// loopback port, gobgp speakers on 127.0.0.x, all torn down by t.Cleanup.
package rstest

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/routeserver"
)

// RSASN is the test route server's AS.
const RSASN = 4200000000

// Log is the logger tests give the server (errors only).
var Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// Member describes one member.
type Member struct {
	Name  string
	ASN   uint32
	Addr  string // 127.0.0.x
	Extra string // more TOML lines for the [[member]] table
	Raw   bool   // configured, but no router is started for it
	// Prefixes, when set, are the member's prefixes (its registrations)
	// instead of the shared 10.0.0.0/8 and 2001:db8::/32.
	Prefixes []string
}

// Fed is a running route server with its members.
type Fed struct {
	T       testing.TB
	Srv     *routeserver.Server
	Port    int
	Members map[string]*member.Router
	Config  *conf.Config
	cancel  context.CancelFunc
	done    chan struct{}
}

// Config returns the configuration text for the members; extra goes into
// [server] (and may open other tables after it).
func Config(specs []Member, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[server]\nasn = %d\nrouter_id = \"10.255.255.254\"\nlisten = [\"127.0.0.1:179\"]\ncontrol = \"\"\n%s\n", RSASN, extra)
	for _, m := range specs {
		prefixes := `["10.0.0.0/8 le 32 shared", "2001:db8::/32 le 128 shared"]`
		if m.Prefixes != nil {
			q := make([]string, len(m.Prefixes))
			for i, p := range m.Prefixes {
				q[i] = fmt.Sprintf("%q", p)
			}
			prefixes = "[" + strings.Join(q, ", ") + "]"
		}
		fmt.Fprintf(&b, "[[member]]\nname = %q\nasn = %d\nneighbors = [%q]\npassive = true\n"+
			"prefixes = %s\norigin_asns = [\"%d\", \"65000-65999\"]\n%s\n",
			m.Name, m.ASN, m.Addr, prefixes, m.ASN, m.Extra)
	}
	return b.String()
}

// Three is the usual test federation.
func Three() []Member {
	return []Member{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.11"},
		{Name: "nhs-b", ASN: 4200000002, Addr: "127.0.0.12"},
		{Name: "council-c", ASN: 4200000003, Addr: "127.0.0.13"},
	}
}

// Start starts the route server with opts (Listen is set here, and Log
// to StrictLog unless given)
// and every non-raw member, and waits until their sessions are up.
func Start(t testing.TB, specs []Member, extra string, opts routeserver.Options) *Fed {
	t.Helper()
	text := Config(specs, extra)
	cfg, err := conf.Parse([]byte(text), "test.toml")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	return StartConfig(t, cfg, specs, opts)
}

// StartConfig is Start with a configuration already loaded (e.g. from a
// file, for reload tests); specs says which member routers to start.
func StartConfig(t testing.TB, cfg *conf.Config, specs []Member, opts routeserver.Options) *Fed {
	t.Helper()
	if opts.Log == nil {
		opts.Log = StrictLog(t)
	}
	opts.Listen = []string{"127.0.0.1:0"}
	srv, err := routeserver.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fed{T: t, Srv: srv, Members: map[string]*member.Router{}, Config: cfg, cancel: cancel, done: make(chan struct{})}
	if err := srv.Listen(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { defer close(f.done); srv.Serve(ctx) }()
	t.Cleanup(f.Stop)
	f.Port = int(srv.Addrs()[0].Port())
	for _, m := range specs {
		if !m.Raw {
			f.StartMember(m)
		}
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel2()
	for _, r := range f.Members {
		if err := r.WaitEstablished(ctx2); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// StartMember starts one member's router.
func (f *Fed) StartMember(m Member) *member.Router {
	f.T.Helper()
	r, err := member.Start(context.Background(), member.Config{
		Name: m.Name, ASN: m.ASN, LocalAddr: netip.MustParseAddr(m.Addr),
		RSAddr: netip.MustParseAddr("127.0.0.1"), RSPort: f.Port, RSASN: RSASN, Log: Log,
	})
	if err != nil {
		f.T.Fatal(err)
	}
	f.Members[m.Name] = r
	f.T.Cleanup(r.Stop)
	return r
}

// Stop stops the route server (Cleanup does it too).
func (f *Fed) Stop() {
	f.cancel()
	<-f.done
}

// Ctx returns a context that ends after 15 s or with the test.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Has and HasNot are WaitFor conditions.
func Has(p netip.Prefix) func([]member.Route) bool {
	return func(rs []member.Route) bool { _, ok := member.Find(rs, p); return ok }
}

// HasNot holds when p is absent.
func HasNot(p netip.Prefix) func([]member.Route) bool {
	return func(rs []member.Route) bool { _, ok := member.Find(rs, p); return !ok }
}
