package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const registryTOML = `
[server]
asn = 4200065000
router_id = "192.0.2.1"

[[member]]
name = "council-east"
asn = 4200002001
neighbors = ["192.0.2.21"]
prefixes = ["10.40.0.0/16 le 24", "10.99.10.0/24 shared", "10.50.0.0/16", "10.50.1.0/24"]

[[member]]
name = "nhs-coastal"
asn = 4200001002
neighbors = ["192.0.2.13"]
prefixes = ["10.40.200.0/24", "10.99.10.0/24 le 28 shared", "10.60.0.0/16"]
`

// registryLines returns the overlap lines of a command's output.
func registryLines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "registry ") {
			ls = append(ls, l)
		}
	}
	return ls
}

// TestRegistryCheckAgrees: `fedrs check` and `fedrs registry check` report
// the same overlaps for the same file, with the same words, and both
// accept nested and shared registrations (exit 0).
func TestRegistryCheckAgrees(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fedrs.toml")
	if err := os.WriteFile(file, []byte(registryTOML), 0o644); err != nil {
		t.Fatal(err)
	}
	check, err := runCLI(t, "check", "-c", file)
	if err != nil {
		t.Fatalf("check: %v\n%s", err, check)
	}
	reg, err := runCLI(t, "registry", "check", "-c", file)
	if err != nil {
		t.Fatalf("registry check: %v\n%s", err, reg)
	}
	a, b := registryLines(check), registryLines(reg)
	if len(a) != 2 || !slices.Equal(a, b) {
		t.Fatalf("the commands disagree:\nfedrs check:\n%s\nfedrs registry check:\n%s", check, reg)
	}
	if !strings.Contains(a[0], "nested") || !strings.Contains(a[0], "10.40.0.0/16 (council-east) contains 10.40.200.0/24 (nhs-coastal)") ||
		!strings.Contains(a[1], "shared") || !strings.Contains(reg, "0 conflicts") {
		t.Errorf("overlaps:\n%s", reg)
	}
}
