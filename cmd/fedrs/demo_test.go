package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
)

// TestDemoServesLookingGlass: a running fedrs demo prints the fedrs lg
// command that reaches it; that command works against it; the socket's
// temporary directory is gone after the demo stops.
func TestDemoServesLookingGlass(t *testing.T) {
	d := startDaemon(t, "demo")
	re := regexp.MustCompile(`fedrs lg summary --socket (\S+)`)
	var sock string
	rstest.Eventually(t, 90*time.Second, func() bool {
		if d.exited() {
			t.Fatalf("demo exited: %v\n%s\n%s", d.state, d.stdout, d.stderr)
		}
		m := re.FindStringSubmatch(d.stdout.String())
		if m != nil && strings.Contains(d.stdout.String(), "keeps running") {
			sock = m[1]
			return true
		}
		return false
	}, "the demo to print how to reach it")
	r := fedrsCmd(t, nil, "lg", "summary", "--socket", sock)
	if r.code != 0 || !strings.Contains(r.stdout, "sessions 6/6 up") || !strings.Contains(r.stdout, "council-harbour") || r.stderr != "" {
		t.Errorf("lg summary against the demo:\n%s", r)
	}
	r = fedrsCmd(t, nil, "lg", "routes", "nhs-coastal", "--filtered", "--socket", sock)
	if r.code != 0 || !strings.Contains(r.stdout, "10.40.7.0/24") || !strings.Contains(r.stdout, "registry_conflict") {
		t.Errorf("lg routes --filtered against the demo:\n%s", r)
	}
	d.stop(30 * time.Second)
	if code := d.state.ExitCode(); code != 0 {
		t.Errorf("demo stopped with exit status %d\n%s", code, d.stderr)
	}
	if _, err := os.Stat(filepath.Dir(sock)); !os.IsNotExist(err) {
		t.Errorf("the demo's socket directory %s is still there (%v)", filepath.Dir(sock), err)
	}
	if d.stderr.String() != "" {
		t.Errorf("demo wrote to stderr:\n%s", d.stderr)
	}
}
