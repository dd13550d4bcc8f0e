package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/api"
)

// TestMaintenanceAndClearCLI: `fedrs maintenance start|status|stop` and
// `fedrs member clear` as an operator types them, against a running
// route server.
func TestMaintenanceAndClearCLI(t *testing.T) {
	_, _, sock := startWithAPI(t, "")
	run := func(args ...string) (string, error) {
		t.Helper()
		return runCLI(t, append(args, "--socket", sock)...)
	}
	steps := []struct {
		args []string
		code int // exit status
		want []string
	}{
		{[]string{"maintenance", "status"}, 0, []string{"maintenance: off\n"}},
		{[]string{"maintenance", "start", "-m", "rs1 upgrade", "--wait", "1h"}, 0,
			[]string{"GRACEFUL_SHUTDOWN sent on every route to 3 sessions; sessions close in 1h0m0s"}},
		{[]string{"maintenance", "status"}, 0, []string{"maintenance: draining since", "sessions close at", "(in 59m", `with "rs1 upgrade"`,
			"3 sessions receive GRACEFUL_SHUTDOWN: council-c 127.0.0.13, nhs-a 127.0.0.11, nhs-b 127.0.0.12"}},
		{[]string{"lg", "summary"}, 0, []string{"MAINTENANCE: every route is sent with GRACEFUL_SHUTDOWN; sessions close at the end of the wait"}},
		{[]string{"maintenance", "start", "--wait", "1s"}, 1, []string{"maintenance is already running (draining since", "stop it first"}},
		{[]string{"maintenance", "start", "--wait", "-1s"}, 2, []string{"--wait -1s: want 0s or more"}},
		{[]string{"maintenance", "stop"}, 0, []string{"maintenance stopped before the sessions closed: routes resent without the GRACEFUL_SHUTDOWN the route server added, to 3 sessions"}},
		{[]string{"maintenance", "status"}, 0, []string{"maintenance: off since", `the last one started`, `with "rs1 upgrade"`}},
		{[]string{"maintenance", "stop"}, 1, []string{"maintenance is off; there is nothing to stop"}},
		{[]string{"member", "clear", "nhs-a", "--in", "--out"}, 2, []string{"choose one of --in or --out"}},
		{[]string{"member", "clear", "nhs-a"}, 0, []string{"nhs-a: soft clear in: ROUTE-REFRESH sent on 1 of 1 sessions",
			"127.0.0.11 (Established): ROUTE-REFRESH sent for ipv4-unicast, ipv6-unicast"}},
		{[]string{"member", "clear", "nhs-a", "--out"}, 0, []string{"nhs-a: soft clear out: routes resent on 1 of 1 sessions",
			"127.0.0.11 (Established): resent ipv4-unicast, ipv6-unicast"}},
		{[]string{"member", "clear", "nobody"}, 2, []string{`member "nobody": not found`}}, // an unknown member is a usage error, as in every command
	}
	for _, s := range steps {
		out, err := run(s.args...)
		code := 0
		if err != nil {
			code = exitCode(err)
			out += err.Error()
		}
		if code != s.code {
			t.Errorf("fedrs %s: exit %d, want %d\n%s", strings.Join(s.args, " "), code, s.code, out)
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Errorf("fedrs %s: output lacks %q:\n%s", strings.Join(s.args, " "), w, out)
			}
		}
	}
}

// TestNeighborsDownCLI: `fedrs lg neighbors` explains sessions that are
// not established: since when, the last error and the NOTIFICATIONs,
// decoded, in the table and in --json.
func TestNeighborsDownCLI(t *testing.T) {
	fed, _, sock := startWithAPI(t, "")
	ctx := rstest.Ctx(t)
	if out, err := runCLI(t, "member", "shutdown", "council-c", "-m", "changing the patch cable", "--socket", sock); err != nil {
		t.Fatalf("member shutdown: %v\n%s", err, out)
	}
	if err := fed.Members["nhs-b"].Shutdown(ctx, "router reload"); err != nil {
		t.Fatal(err)
	}
	rstest.EventuallyErr(t, 5*time.Second, func() error {
		out, err := runCLI(t, "lg", "neighbors", "--socket", sock)
		if err == nil && !strings.Contains(out, "nhs-b 127.0.0.12") {
			err = fmt.Errorf("not shown as down:\n%s", out)
		}
		return err
	}, "nhs-b down in lg neighbors")
	out, err := runCLI(t, "lg", "neighbors", "--socket", sock)
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?m)^council-c\s+127\.0\.0\.13\s+4200000003\s+Idle\s+\S+\s+0\s+0\s+0\s+0\s+administratively down$`,
		`(?m)^Sessions not established:$`,
		`(?m)^  council-c 127\.0\.0\.13 \(AS4200000003\): Idle, administratively down; down since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\S+ ago\), last up [-0-9: ]+; 1 flap$`,
		`(?m)^    NOTIFICATION sent     [-0-9: ]+ \(\S+ ago\): Cease/Administrative Shutdown \(6/2\), message "changing the patch cable"$`,
		`(?m)^  nhs-b 127\.0\.0\.12 \(AS4200000002\): (Idle|Active), NOTIFICATION received: Cease/Administrative Shutdown: "router reload"; down since .*; 1 flap$`,
		`(?m)^    last error at [0-9:]+: NOTIFICATION received: Cease/Administrative Shutdown: "router reload"$`,
		`(?m)^    NOTIFICATION received [-0-9: ]+ \(\S+ ago\): Cease/Administrative Shutdown \(6/2\), message "router reload"$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("lg neighbors lacks %s:\n%s", re, out)
		}
	}
	t.Logf("fedrs lg neighbors:\n%s", out)
	if strings.Contains(out, "nhs-a 127.0.0.11 (") {
		t.Errorf("an established session listed as not established:\n%s", out)
	}
	out, err = runCLI(t, "lg", "neighbors", "--json", "--socket", sock)
	var ns []api.Neighbor
	if err != nil || json.Unmarshal([]byte(out), &ns) != nil || len(ns) != 3 {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if n := ns[2].NotificationSent; n == nil || n.CodeName != "Cease" || n.SubcodeName != "Administrative Shutdown" || n.ShutdownMessage != "changing the patch cable" ||
		ns[2].DownSince == nil || ns[2].LastUp == nil {
		t.Errorf("--json council-c: %+v (sent %+v)", ns[2], n)
	}
}
