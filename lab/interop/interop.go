// Package interop decides whether a test that needs real router daemons, root
// or network namespaces can run here. Locally such a test skips with a message
// that says exactly what is missing and how to get it; under CI
// (FEDRS_REQUIRE_INTEROP=1) the same condition is a failure, so a missing
// daemon can never turn a red run green.
package interop

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// EnvRequire is the environment variable that turns skips into failures.
const EnvRequire = "FEDRS_REQUIRE_INTEROP"

// Required reports whether interop tests must run (CI).
func Required() bool { return os.Getenv(EnvRequire) == "1" }

// debianPackage maps a binary to the Debian package that provides it.
var debianPackage = map[string]string{
	"bird":            "bird2",
	"birdc":           "bird2",
	"vtysh":           "frr",
	"bgpd":            "openbgpd",
	"bgpctl":          "openbgpd",
	"gobgpd":          "gobgpd",
	"gobgp":           "gobgpd",
	"exabgp":          "exabgp",
	"stayrtr":         "stayrtr",
	"bgpq4":           "bgpq4",
	"bgpdump":         "bgpdump",
	"pmbmpd":          "pmacct",
	"ip":              "iproute2",
	"systemd-analyze": "systemd",
	"useradd":         "passwd",
	"userdel":         "passwd",
	"groupadd":        "passwd",
	"groupdel":        "passwd",

	// The alerting rules' checker (packaging/monitoring).
	"promtool":   "prometheus",
	"prometheus": "prometheus",
}

// Missing returns a sentence naming what is missing among root (when
// needRoot) and the binaries, with the command that installs them; "" when
// everything is present.
func Missing(needRoot bool, binaries ...string) string {
	var why []string
	if needRoot && os.Geteuid() != 0 {
		why = append(why, "root (network namespaces and raw sockets need it; run the tests as root)")
	}
	var pkgs []string
	for _, b := range binaries {
		if _, err := lookPath(b); err != nil {
			p := debianPackage[b]
			if p == "" {
				p = b
			}
			why = append(why, fmt.Sprintf("%s (Debian package %s)", b, p))
			pkgs = append(pkgs, p)
		}
	}
	if len(why) == 0 {
		return ""
	}
	msg := "missing " + strings.Join(why, ", ")
	if len(pkgs) > 0 {
		msg += "; install with: apt-get install " + strings.Join(dedup(pkgs), " ")
	}
	return msg
}

// Require skips the test (or fails it under FEDRS_REQUIRE_INTEROP=1) unless
// root (when needRoot) and every binary are available.
func Require(t testing.TB, needRoot bool, binaries ...string) {
	t.Helper()
	if msg := Missing(needRoot, binaries...); msg != "" {
		if Required() {
			t.Fatalf("interop required (%s=1) but %s", EnvRequire, msg)
		}
		t.Skipf("interop test skipped: %s", msg)
	}
}

// lookPath finds a binary on PATH or in the sbin directories, where Debian
// puts daemons that a non-login PATH may lack.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/lib/frr"} {
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// LookPath is exported for callers that need the path of a daemon.
func LookPath(name string) (string, error) { return lookPath(name) }

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
