package main

import (
	"strings"
	"testing"
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
		{[]string{"member", "clear", "nobody"}, 1, []string{`member "nobody": not found`}},
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
