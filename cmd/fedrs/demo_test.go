package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/api"
)

// TestDemoServesLookingGlass: a running fedrs demo prints the fedrs lg
// command that reaches it; that command works against it; the socket's
// temporary directory is gone after the demo stops. It also serves the
// read-only HTTP listener at the URL it prints.
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
	// The read-only HTTP listener, on a loopback port the demo prints.
	m := regexp.MustCompile(`curl (http://127\.0\.0\.1:\d+/)v1/status`).FindStringSubmatch(d.stdout.String())
	if m == nil {
		t.Fatalf("the demo prints no HTTP URL:\n%s", d.stdout)
	}
	resp, err := http.Get(m[1] + "v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var st api.Status
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || st.SessionsUp != 6 {
		t.Errorf("GET %sv1/status: %d %+v (%v)", m[1], resp.StatusCode, st, err)
	}
	// The web pages on the same listener: the overview links each member.
	resp, err = http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `href="/members/nhs-coastal"`) {
		t.Errorf("GET %s: %d\n%s", m[1], resp.StatusCode, page)
	}
	resp, err = http.Post(m[1]+"v1/reload", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("POST %sv1/reload: %d, want 403", m[1], resp.StatusCode)
	}
	// The running demo records its history beside its socket: the hijack
	// it shows is there as a filtered route, with its reason.
	db := filepath.Join(filepath.Dir(sock), "history.db")
	rstest.Eventually(t, 30*time.Second, func() bool {
		r = fedrsCmd(t, nil, "history", "filtered", "--db", db, "--member", "nhs-coastal", "--reason", "registry_conflict")
		return r.code == 0 && strings.Contains(r.stdout, "10.40.7.0/24")
	}, "the demo's history to record nhs-coastal's hijack as filtered")
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
