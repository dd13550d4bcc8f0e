package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/session"
)

// TestReloadNamesItsFile: "fedrs reload -c NEW" against a route server
// running another file is refused, naming the running file and the dry
// run to use instead, and changes nothing; the running file (by any path
// that leads to it) reloads, and the answer names it.
func TestReloadNamesItsFile(t *testing.T) {
	fed, file, sock := startWithAPI(t, "")
	ctx := rstest.Ctx(t)
	hash := fed.Srv.Config().Hash
	flaps := func() map[string]uint64 {
		m := map[string]uint64{}
		for _, n := range fed.Srv.Neighbors() {
			if info := n.Peer.Info(); info.State == session.Established {
				m[n.Source.Addr.String()] = info.Flaps
			}
		}
		return m
	}
	before := flaps()
	if len(before) != 3 {
		t.Fatalf("sessions up: %v", before)
	}

	// NEW: the same federation without council-c, in another directory.
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	newFile := filepath.Join(t.TempDir(), "fedrs.toml.new")
	i := strings.Index(string(text), "[[member]]\nname = \"council-c\"")
	if i < 0 {
		t.Fatalf("no council-c in\n%s", text)
	}
	if err := os.WriteFile(newFile, text[:i], 0o644); err != nil {
		t.Fatal(err)
	}
	refused := func(what string, args ...string) {
		t.Helper()
		out, err := runCLI(t, args...)
		if err == nil || exitCode(err) != 1 {
			t.Fatalf("%s: %v, want a refusal with exit status 1\n%s", what, err, out)
		}
		for _, want := range []string{"reload refused, nothing changed", "runs " + file, "not " + newFile, "fedrs check -c " + newFile + " --diff"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q lacks %q", what, err, want)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: more than one line: %q", what, err)
		}
	}
	refused("-c NEW", "reload", "-c", newFile)
	refused("-c NEW --socket", "reload", "-c", newFile, "--socket", sock)
	t.Setenv(configEnv, newFile)
	refused("FEDRS_CONFIG=NEW", "reload")
	// Unset again: nothing of it stays for the next commands (urfave/cli
	// keeps a flag's environment value in the flag).
	os.Unsetenv(configEnv)

	if got := fed.Srv.Config().Hash; got != hash {
		t.Errorf("running configuration changed: hash %s, was %s", got, hash)
	}
	if fed.Srv.Config().Member("council-c") == nil {
		t.Error("council-c was removed")
	}
	if st, _ := fed.Members["council-c"].State(ctx); !strings.Contains(strings.ToLower(st), "established") {
		t.Errorf("council-c session %q after the refused reloads", st)
	}

	// The running file reloads: by its path, relative to the current
	// directory, through a symbolic link, or by the socket alone.
	link := filepath.Join(t.TempDir(), "link.toml")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Dir(file))
	for _, args := range [][]string{
		{"reload", "-c", file},
		{"reload", "-c", filepath.Base(file)},
		{"reload", "-c", link},
		{"reload", "--socket", sock},
	} {
		out, err := runCLI(t, args...)
		if err != nil || !strings.Contains(out, file+" reloaded: no changes") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
	// A change to the running file is applied.
	added := "[[member]]\nname = \"nhs-d\"\nasn = 4200000004\nneighbors = [\"127.0.0.14\"]\npassive = true\n"
	if err := os.WriteFile(file, append(text, added...), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "reload", "-c", file); err != nil || !strings.Contains(out, file+" reloaded: ") || !strings.Contains(out, "nhs-d") ||
		fed.Srv.Config().Member("nhs-d") == nil {
		t.Errorf("reload after an edit: %v\n%s", err, out)
	}
	after := flaps()
	for a, n := range before {
		if f, up := after[a]; !up || f != n {
			t.Errorf("%s: session up %v with %d flaps; was up with %d", a, up, f, n)
		}
	}
}
