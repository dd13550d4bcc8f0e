package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoTestMachineryInTheProduct: the binary links neither gobgp's BGP
// server nor gRPC (they are for tests), and no product package imports
// lab (DESIGN.md: only cmd/fedrs's lab commands do).
func TestNoTestMachineryInTheProduct(t *testing.T) {
	golist := func(pkgs ...string) []string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				t.Fatalf("go list -deps %v: %v\n%s", pkgs, err, ee.Stderr)
			}
			t.Skipf("go list: %v", err)
		}
		return strings.Fields(string(out))
	}
	for _, p := range golist(".") {
		if p == "github.com/osrg/gobgp/v3/pkg/server" || strings.HasPrefix(p, "google.golang.org/grpc") ||
			p == "github.com/fedrs/fedrs/lab/member" || p == "github.com/fedrs/fedrs/lab/rstest" {
			t.Errorf("cmd/fedrs links %s", p)
		}
	}
	for _, p := range golist("../../conf/...", "../../policy/...", "../../rpki/...", "../../routeserver/...") {
		if p == "github.com/fedrs/fedrs/lab" || strings.HasPrefix(p, "github.com/fedrs/fedrs/lab/") {
			t.Errorf("a product package imports %s", p)
		}
	}
}
