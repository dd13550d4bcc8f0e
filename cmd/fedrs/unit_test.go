package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fedrs/fedrs/lab/interop"
)

const unitFile = "../../packaging/fedrs.service"

// unitSettings reads the [Service] settings of the unit (a key set twice
// keeps every value).
func unitSettings(t *testing.T) (text string, service map[string][]string) {
	t.Helper()
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	service = map[string][]string{}
	section := ""
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if l[0] == '[' {
			section = l
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok && section == "[Service]" {
			service[k] = append(service[k], v)
		}
	}
	return string(b), service
}

// TestUnitSettings: the unit says what issue 17 asks of it: notify, the
// same reload as fedrs reload, the fedrs user with the NOC group, port 179
// as its only capability, and the sandbox.
func TestUnitSettings(t *testing.T) {
	_, s := unitSettings(t)
	for k, want := range map[string]string{
		"Type":                    "notify",
		"ExecStart":               "/usr/bin/fedrs run -c /etc/fedrs/fedrs.toml",
		"ExecReload":              "/usr/bin/fedrs reload -c /etc/fedrs/fedrs.toml",
		"User":                    "fedrs",
		"Group":                   "fedrs",
		"SupplementaryGroups":     "fedrs-noc",
		"AmbientCapabilities":     "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet":   "CAP_NET_BIND_SERVICE",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"StateDirectory":          "fedrs",
		"StateDirectoryMode":      "0750",
		"RuntimeDirectory":        "fedrs",
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
		"Restart":                 "on-failure",
		"SystemCallArchitectures": "native",
		"MemoryDenyWriteExecute":  "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectControlGroups":    "yes",
		"RestrictNamespaces":      "yes",
		"RestrictSUIDSGID":        "yes",
		"NotifyAccess":            "main",
		"UMask":                   "0027",
		"PrivateDevices":          "yes",
		"LockPersonality":         "yes",
		"ProtectKernelModules":    "yes",
		"RestrictRealtime":        "yes",
		"ProtectClock":            "yes",
		"ProtectHostname":         "yes",
		"ProtectKernelLogs":       "yes",
	} {
		if got := s[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	if f := s["SystemCallFilter"]; len(f) == 0 || f[0] != "@system-service" {
		t.Errorf("SystemCallFilter=%q, want @system-service first", f)
	}
	// The ExecReload command is one fedrs has, with the flag it has.
	if r := fedrsCmd(t, nil, "reload", "--help"); r.code != 0 || !strings.Contains(r.stdout, "--config") {
		t.Errorf("fedrs reload --help: %s", r)
	}
}

// unitWithBinary writes the unit with the built fedrs binary in place of
// /usr/bin/fedrs (systemd-analyze verify checks that the commands exist)
// and returns its path.
func unitWithBinary(t *testing.T) string {
	t.Helper()
	text, _ := unitSettings(t)
	path := filepath.Join(t.TempDir(), "fedrs.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, "/usr/bin/fedrs", fedrsBinary(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUnitVerify: systemd-analyze verify accepts the unit without a
// warning (the man pages aside: they come with the package).
func TestUnitVerify(t *testing.T) {
	interop.Require(t, false, "systemd-analyze")
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", unitWithBinary(t)).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for fedrs\.service: ([0-9.]+)`)

// TestUnitSecurity: systemd-analyze security rates the unit's exposure
// below 2.0, and the README states the score it gives.
func TestUnitSecurity(t *testing.T) {
	interop.Require(t, false, "systemd-analyze")
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", unitWithBinary(t)).CombinedOutput()
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security --offline=true: %v; no exposure level in\n%s", err, out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	if score >= 2.0 {
		t.Errorf("exposure level %.1f, want below 2.0:\n%s", score, out)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := "exposure level " + string(m[1]); !strings.Contains(string(readme), want) {
		t.Errorf("README.md does not say %q", want)
	}
}
