package api_test

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/fedrs/fedrs/routeserver/api"
)

// TestListenGroup: the socket is 0660 and handed to the group asked for
// (its own group when none); an unknown group is an error naming it, and
// a path that is not a socket is refused and left alone.
func TestListenGroup(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "own.sock")
	ln, err := api.ListenGroup(own, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Stat(own)
	if err != nil || fi.Mode().Perm() != 0o660 || int(fi.Sys().(*syscall.Stat_t).Gid) != os.Getegid() {
		t.Errorf("%s: %v %v, want 0660 and the process's group %d", own, fi.Mode(), err, os.Getegid())
	}
	if os.Geteuid() == 0 {
		for _, name := range []string{"daemon", "adm", "users"} {
			g, err := user.LookupGroup(name)
			if err != nil {
				continue
			}
			other := filepath.Join(dir, "other.sock")
			ln, err := api.ListenGroup(other, name)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			fi, _ := os.Stat(other)
			if gid, _ := strconv.Atoi(g.Gid); int(fi.Sys().(*syscall.Stat_t).Gid) != gid || fi.Mode().Perm() != 0o660 {
				t.Errorf("%s: group %d mode %v, want %s (%d) and 0660", other, fi.Sys().(*syscall.Stat_t).Gid, fi.Mode(), name, gid)
			}
			break
		}
	}
	if _, err := api.ListenGroup(filepath.Join(dir, "x.sock"), "no-such-group-fedrs"); err == nil || !strings.Contains(err.Error(), `group "no-such-group-fedrs"`) {
		t.Errorf("unknown group: %v", err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("keep"), 0o644)
	if _, err := api.ListenGroup(file, ""); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("a regular file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Errorf("the regular file was changed: %q", b)
	}
}
