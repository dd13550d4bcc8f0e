package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestControlSocketBrokenFile: the client finds the control socket in a
// file with a syntax error elsewhere (fedrs lg -c FILE while FILE is being
// edited), and still reports the error when it cannot.
func TestControlSocketBrokenFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, text, want, err string
	}{
		{"broken elsewhere", "[server]\nasn = 65000\ncontrol = \"run/x.sock\" # here\n\n[[members]]\nname = \"a\nasn = 1\n", filepath.Join(dir, "run/x.sock"), ""},
		{"broken before", "[bogus\n[server]\ncontrol = '/tmp/y.sock'\n", "/tmp/y.sock", ""},
		{"no control in [server]", "[server]\nasn = 65000 65001\n", DefaultControl, ""},
		{"control in another table", "[http]\ncontrol = \"/tmp/z.sock\"\nlisten = [\n", "", "TOML syntax"},
		{"no [server]", "asn = = 1\n", "", "TOML syntax"},
		{"control unreadable", "[server]\ncontrol = \"/tmp/unterminated\nasn = [\n", "", "TOML syntax"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(dir, "fedrs.toml")
			if err := os.WriteFile(f, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ControlSocket(f)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("ControlSocket = %q, %v; want an error containing %q", got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ControlSocket = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
