package lab

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/interop"
	"github.com/fedrs/fedrs/lab/rstest"
)

// grMembers are the members of testdata/graceful-restart.toml.
var grMembers = []string{"m-bird", "m-frr", "m-openbgpd"}

// routeSet is the prefixes a member holds from the route server.
func routeSet(t *testing.T, ctx context.Context, l *Lab, name string) (map[string]bool, error) {
	rs, err := l.Routes(ctx, name)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range rs {
		out[r.Prefix.String()] = true
	}
	return out, nil
}

// expected is what name should hold from the route server: every other
// member's prefixes.
func expected(topo *Topology, name string) []string {
	var out []string
	for _, m := range topo.Members {
		if m.Name == name {
			continue
		}
		for _, p := range m.Announce {
			out = append(out, p.Prefix.String())
		}
	}
	return out
}

func missingFrom(have map[string]bool, want []string) []string {
	var out []string
	for _, p := range want {
		if !have[p] {
			out = append(out, p)
		}
	}
	return out
}

// restartFedrs starts the route server's fedrs again after it exited
// (the lab forgets the exited process first).
func restartFedrs(t *testing.T, ctx context.Context, l *Lab) {
	t.Helper()
	l.mu.Lock()
	l.st.Processes = slices.DeleteFunc(l.st.Processes, func(p procInfo) bool { return p.Node == rsNode && !p.alive() })
	l.mu.Unlock()
	n := l.node(rsNode)
	if err := l.start(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := l.waitListening(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// TestGracefulRestartLab restarts fedrs the planned way with BIRD, FRR and
// OpenBGPD members: while it is down, each daemon still holds the other
// members' routes from it; a poller reading every daemon's table from
// before the restart until after it never finds one missing (no flap);
// afterwards the tables are the same. The time the members' routes were
// stale (from the stop to the route server's End-of-RIB) is logged. Then
// a plain SIGTERM still makes the members drop the routes.
func TestGracefulRestartLab(t *testing.T) {
	interop.Require(t, true, "ip", "bird", "birdc", "vtysh", "bgpd", "bgpctl")
	topo, err := ReadTopology("testdata/graceful-restart.toml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	l := upFedrs(t, ctx, topo, 40*time.Second)
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	err = l.WaitConverged(wctx)
	wcancel()
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]map[string]bool{}
	for _, m := range grMembers {
		set, err := routeSet(t, ctx, l, m)
		if err != nil {
			t.Fatal(err)
		}
		if miss := missingFrom(set, expected(topo, m)); len(miss) > 0 {
			t.Fatalf("%s lacks %v before the restart", m, miss)
		}
		before[m] = set
	}
	birdBefore, _ := l.Exec(ctx, "m-bird", "birdc", "-s", filepath.Join(l.Dir, "m-bird", "bird.ctl"), "show", "route", "for", "10.2.0.0/24")

	// The poller: every daemon's table, over and over, until stopped.
	var mu sync.Mutex
	gaps := map[string][]string{}
	polls := map[string]int{}
	pctx, stopPoll := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, m := range grMembers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pctx.Err() == nil {
				set, err := routeSet(t, pctx, l, m)
				if err != nil {
					continue
				}
				miss := missingFrom(set, expected(topo, m))
				mu.Lock()
				polls[m]++
				if len(miss) > 0 {
					gaps[m] = append(gaps[m], time.Now().Format("15:04:05.000")+" "+strings.Join(miss, ","))
				}
				mu.Unlock()
			}
		}()
	}

	sock := filepath.Join(l.Dir, rsNode, fedrsSocket)
	stopped := time.Now()
	out, err := exec.CommandContext(ctx, l.opts.FedrsBinary, "restart", "--graceful", "--socket", sock).CombinedOutput()
	if err != nil {
		t.Fatalf("fedrs restart --graceful: %v\n%s", err, out)
	}
	t.Logf("fedrs restart --graceful: %s", strings.TrimSpace(string(out)))
	// fedrs is down: every daemon still holds the routes.
	for _, m := range grMembers {
		set, err := routeSet(t, ctx, l, m)
		if err != nil {
			t.Fatal(err)
		}
		if miss := missingFrom(set, expected(topo, m)); len(miss) > 0 {
			t.Errorf("%s dropped %v while fedrs was down for a graceful restart", m, miss)
		}
	}
	restartFedrs(t, ctx, l)
	started := time.Now()
	log := filepath.Join(l.Dir, rsNode, "fedrs.log")
	var eorAt time.Time
	rstest.Eventually(t, 90*time.Second, func() bool {
		b := readString(log)
		if strings.Contains(b, "every member's End-of-RIB received") || strings.Contains(b, "graceful_restart_eor_wait passed") {
			eorAt = time.Now()
			return true
		}
		return false
	}, "fedrs to end its deferral after the restart")
	// The members have the route server's End-of-RIB once it has sent
	// its table: wait until its view says every export is out.
	rstest.EventuallyErr(t, 30*time.Second, func() error {
		_, err := l.FedrsNeighbors(ctx)
		return err
	}, "fedrs's control socket")
	stale := eorAt.Sub(stopped)
	t.Logf("fedrs down for %s (stop to start); members' routes stale for about %s (stop to the route server's End-of-RIB)",
		started.Sub(stopped).Round(time.Millisecond), stale.Round(time.Millisecond))
	if b := readString(log); !strings.Contains(b, "restarting after a planned restart") {
		t.Errorf("fedrs did not start as a graceful restart:\n%s", lastLines(b, 30))
	}
	// Keep polling past the End-of-RIB: a member that flushed its stale
	// routes at the End-of-RIB without having received them again would
	// show now.
	mu.Lock()
	atEOR := map[string]int{}
	for _, m := range grMembers {
		atEOR[m] = polls[m]
	}
	mu.Unlock()
	rstest.Eventually(t, 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range grMembers {
			if polls[m] < atEOR[m]+20 {
				return false
			}
		}
		return true
	}, "20 more polls of every daemon after the End-of-RIB")
	stopPoll()
	wg.Wait()
	for _, m := range grMembers {
		if len(gaps[m]) > 0 {
			t.Errorf("%s missed routes from the route server in %d of %d polls during the restart (a flap): %v", m, len(gaps[m]), polls[m], gaps[m])
		} else {
			t.Logf("%s: routes present in all %d polls during the restart", m, polls[m])
		}
		set, err := routeSet(t, ctx, l, m)
		if err != nil {
			t.Fatal(err)
		}
		if miss := missingFrom(set, expected(topo, m)); len(miss) > 0 {
			t.Errorf("%s lacks %v after the restart", m, miss)
		}
	}
	birdAfter, _ := l.Exec(ctx, "m-bird", "birdc", "-s", filepath.Join(l.Dir, "m-bird", "bird.ctl"), "show", "route", "for", "10.2.0.0/24")
	t.Logf("BIRD's route for 10.2.0.0/24 before:\n%s\nafter:\n%s", birdBefore, birdAfter)
	// BIRD's "since" time of the route changes when the route is
	// withdrawn and learned again, not when its stale copy is refreshed
	// with the same attributes.
	if since := birdSince(string(birdBefore)); since == "" || since != birdSince(string(birdAfter)) {
		t.Errorf("BIRD's route for 10.2.0.0/24 changed (flapped) across the restart: since %q, now %q", since, birdSince(string(birdAfter)))
	}

	// A plain stop: the members drop the routes.
	for _, p := range l.procs(rsNode) {
		killAll([]int{p.PID}, 10*time.Second)
	}
	for _, m := range grMembers {
		rstest.EventuallyErr(t, 30*time.Second, func() error {
			set, err := routeSet(t, ctx, l, m)
			if err != nil {
				return err
			}
			if left := len(expected(topo, m)) - len(missingFrom(set, expected(topo, m))); left > 0 {
				return errString(m + " still holds routes from fedrs")
			}
			return nil
		}, m+" to drop the routes after SIGTERM")
	}
}

// birdSince is the time in "[rs_v4 09:47:07.940 from ...]" of birdc's
// show route.
func birdSince(out string) string {
	i := strings.Index(out, "[rs_v4 ")
	if i < 0 {
		return ""
	}
	f := strings.Fields(out[i+len("[rs_v4 "):])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

type errString string

func (e errString) Error() string { return string(e) }
