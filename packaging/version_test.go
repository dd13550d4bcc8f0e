package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDescribeVersion: git describe output becomes a Debian version that
// sorts as the commits do (checked with dpkg --compare-versions when dpkg
// is there).
func TestDescribeVersion(t *testing.T) {
	for _, c := range []struct{ desc, dirty, want string }{
		{"", "", "0.0.0~git20261203.abcdef1"},
		{"", ".dirty", "0.0.0~git20261203.abcdef1.dirty"},
		{"v1.2.3-0-gabcdef1", "", "1.2.3"},
		{"v1.2.3-4-gabcdef1", "", "1.2.3+git20261203.4.abcdef1"},
		{"v1.0.0-rc1-0-gabcdef1", "", "1.0.0~rc1"},
	} {
		got, err := describeVersion(c.desc, "20261203", "abcdef1", c.dirty)
		if err != nil || got != c.want {
			t.Errorf("describeVersion(%q, %q) = %q, %v; want %q", c.desc, c.dirty, got, err, c.want)
		}
		if !debVersion.MatchString(got) {
			t.Errorf("%q is not a Debian upstream version", got)
		}
	}
	if _, err := describeVersion("release-7", "20261203", "abcdef1", ""); err == nil || !strings.Contains(err.Error(), "release-7") {
		t.Errorf("describeVersion(release-7): %v; want an error naming it", err)
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		return
	}
	order := []string{"0.0.0~git20261203.abcdef1", "1.0.0~rc1", "1.0.0", "1.0.0+git20261203.4.abcdef1", "1.0.1"}
	for i := 1; i < len(order); i++ {
		if err := exec.Command("dpkg", "--compare-versions", order[i-1], "lt", order[i]).Run(); err != nil {
			t.Errorf("dpkg: %s is not lower than %s", order[i-1], order[i])
		}
	}
}
