package main

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/fedrs/fedrs/lab/interop"
)

// TestPackageInstallRemovePurge builds the packages, checks the .deb with
// lintian (no errors), installs it with dpkg, checks files, owners, modes,
// the conffile, the man pages, `fedrs version` and `fedrs check` on the
// shipped configuration, then removes it (the history stays) and purges it
// (state and /etc/fedrs go, the fedrs user stays, as Debian does), and
// deletes the user and groups it created so the machine is as it was.
func TestPackageInstallRemovePurge(t *testing.T) {
	interop.Require(t, true, "dpkg", "dpkg-query", "lintian", "useradd", "groupadd")
	if err := exec.Command("dpkg-query", "-W", "fedrs").Run(); err == nil {
		t.Skip("a fedrs package is installed on this machine; not touching it")
	}
	for _, g := range []string{"fedrs", "fedrs-noc"} {
		if _, err := user.LookupGroup(g); err == nil {
			t.Skipf("group %s exists on this machine; the test would not leave it as it was", g)
		}
	}
	if _, err := user.Lookup("fedrs"); err == nil {
		t.Skip("user fedrs exists on this machine; the test would not leave it as it was")
	}
	for _, p := range []string{"/etc/fedrs", "/var/lib/fedrs"} {
		if _, err := os.Stat(p); err == nil {
			t.Skipf("%s exists on this machine; the test would not leave it as it was", p)
		}
	}

	out := t.TempDir()
	var listed bytes.Buffer
	if err := run([]string{"build", "--out", out}, &listed); err != nil {
		t.Fatalf("build: %v", err)
	}
	var deb, rpm string
	for _, p := range strings.Fields(listed.String()) {
		switch filepath.Ext(p) {
		case ".deb":
			deb = p
		case ".rpm":
			rpm = p
		}
	}
	if deb == "" || rpm == "" {
		t.Fatalf("build printed %q; want a .deb and an .rpm", listed.String())
	}

	// The RPM, from the same description.
	if st, err := os.Stat(rpm); err != nil || st.Size() < 1<<20 {
		t.Fatalf("rpm %s: %v (size %v)", rpm, err, st)
	}
	if _, err := exec.LookPath("rpm"); err == nil {
		list := sh(t, "rpm", "-qpl", rpm)
		for _, f := range []string{"/usr/bin/fedrs", "/etc/fedrs/fedrs.toml", "/lib/systemd/system/fedrs.service", "/usr/share/man/man5/fedrs.toml.5.gz", "/usr/share/licenses/fedrs/LICENSE"} {
			if !strings.Contains(list, f+"\n") {
				t.Errorf("rpm -qpl: %s missing:\n%s", f, list)
			}
		}
		if cfg := sh(t, "rpm", "-qpc", rpm); !strings.Contains(cfg, "/etc/fedrs/fedrs.toml") {
			t.Errorf("rpm -qpc: /etc/fedrs/fedrs.toml is not a config file: %q", cfg)
		}
	}

	// lintian: no errors (warnings are allowed; the justified ones are
	// overridden in packaging/lintian-overrides, shipped in the package).
	lint, err := exec.Command("lintian", "--fail-on", "error", "--tag-display-limit", "0", deb).CombinedOutput()
	t.Logf("lintian:\n%s", lint)
	if err != nil {
		t.Fatalf("lintian %s: %v", deb, err)
	}
	for _, l := range strings.Split(string(lint), "\n") {
		if strings.HasPrefix(l, "E: ") {
			t.Errorf("lintian error: %s", l)
		}
	}

	// Install. From here on, leave the machine as it was.
	t.Cleanup(func() {
		exec.Command("dpkg", "--purge", "fedrs").Run()
		os.RemoveAll("/var/lib/fedrs") // what a failed purge left
		os.RemoveAll("/etc/fedrs")
		exec.Command("userdel", "fedrs").Run()
		exec.Command("groupdel", "fedrs-noc").Run()
		exec.Command("groupdel", "fedrs").Run()
	})
	sh(t, "dpkg", "-i", deb)

	fedrs, err := user.Lookup("fedrs")
	if err != nil {
		t.Fatalf("postinst made no fedrs user: %v", err)
	}
	if fedrs.HomeDir != "/var/lib/fedrs" {
		t.Errorf("fedrs's home is %s, want /var/lib/fedrs", fedrs.HomeDir)
	}
	if pw := sh(t, "getent", "passwd", "fedrs"); !strings.HasSuffix(strings.TrimSpace(pw), "/usr/sbin/nologin") {
		t.Errorf("fedrs's shell: %q, want /usr/sbin/nologin", pw)
	}
	if uid, _ := strconv.Atoi(fedrs.Uid); uid >= 1000 {
		t.Errorf("fedrs has uid %d: not a system user", uid)
	}
	grp, err := user.LookupGroup("fedrs")
	if err != nil {
		t.Fatalf("postinst made no fedrs group: %v", err)
	}
	if _, err := user.LookupGroup("fedrs-noc"); err != nil {
		t.Errorf("postinst made no fedrs-noc group: %v", err)
	}
	uid, _ := strconv.Atoi(fedrs.Uid)
	gid, _ := strconv.Atoi(grp.Gid)

	for _, c := range []struct {
		path     string
		mode     os.FileMode
		uid, gid int
	}{
		{"/usr/bin/fedrs", 0o755, 0, 0},
		{"/etc/fedrs/fedrs.toml", 0o644, 0, 0},
		{"/etc/fedrs", os.ModeDir | 0o750, 0, gid},
		{"/var/lib/fedrs", os.ModeDir | 0o750, uid, gid},
		{"/lib/systemd/system/fedrs.service", 0o644, 0, 0},
		{"/usr/share/man/man1/fedrs.1.gz", 0o644, 0, 0},
		{"/usr/share/man/man1/fedrs-lg.1.gz", 0o644, 0, 0},
		{"/usr/share/man/man1/fedrs-history.1.gz", 0o644, 0, 0},
		{"/usr/share/man/man1/fedrs-run.1.gz", 0o644, 0, 0},
		{"/usr/share/man/man5/fedrs.toml.5.gz", 0o644, 0, 0},
		{"/usr/share/bash-completion/completions/fedrs", 0o644, 0, 0},
		{"/usr/share/zsh/vendor-completions/_fedrs", 0o644, 0, 0},
		{"/usr/share/doc/fedrs/README.md", 0o644, 0, 0},
		{"/usr/share/doc/fedrs/changelog.gz", 0o644, 0, 0},
		{"/usr/share/doc/fedrs/changelog.Debian.gz", 0o644, 0, 0},
		{"/usr/share/doc/fedrs/copyright", 0o644, 0, 0},
		{"/usr/share/doc/fedrs/examples/example.toml", 0o644, 0, 0},
	} {
		st, err := os.Stat(c.path)
		if err != nil {
			t.Errorf("installed: %v", err)
			continue
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.Mode() != c.mode || int(sys.Uid) != c.uid || int(sys.Gid) != c.gid {
			t.Errorf("%s: mode %v owner %d:%d; want %v %d:%d", c.path, st.Mode(), sys.Uid, sys.Gid, c.mode, c.uid, c.gid)
		}
	}
	if cf := sh(t, "dpkg-query", "--control-show", "fedrs", "conffiles"); !strings.Contains(cf+"\n", "/etc/fedrs/fedrs.toml\n") {
		t.Errorf("conffiles: %q; want /etc/fedrs/fedrs.toml", cf)
	}
	// The man pages render without warnings.
	if _, err := exec.LookPath("man"); err == nil {
		for _, p := range []string{"/usr/share/man/man1/fedrs.1.gz", "/usr/share/man/man1/fedrs-lg.1.gz", "/usr/share/man/man5/fedrs.toml.5.gz"} {
			cmd := exec.Command("man", "--warnings", "-l", p)
			cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=80")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			page, err := cmd.Output()
			if err != nil || stderr.Len() > 0 || !bytes.Contains(page, []byte("fedrs")) {
				t.Errorf("man -l %s: %v\n%s", p, err, stderr.String())
			}
		}
	}

	// The installed binary: its version is the package's, and the shipped
	// configuration is valid.
	version := sh(t, "dpkg-query", "-W", "-f", "${Version}", "fedrs")
	v := sh(t, "/usr/bin/fedrs", "version")
	if first, _, _ := strings.Cut(v, "\n"); first+"-1" != "fedrs "+version {
		t.Errorf("fedrs version: %q; want fedrs %s without the Debian revision", first, version)
	}
	if out := sh(t, "/usr/bin/fedrs", "check", "-c", "/etc/fedrs/fedrs.toml"); !strings.Contains(out, "valid") {
		t.Errorf("fedrs check on the shipped configuration: %q", out)
	}

	// Install again (the upgrade path of the scripts): the operator's
	// configuration and the history stay.
	history := "/var/lib/fedrs/history.db"
	if err := os.WriteFile(history, []byte("the federation's record"), 0o640); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile("/etc/fedrs/fedrs.toml", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("# changed by the operator\n")
	f.Close()
	sh(t, "dpkg", "-i", deb)
	if cfg, err := os.ReadFile("/etc/fedrs/fedrs.toml"); err != nil || !strings.Contains(string(cfg), "# changed by the operator") {
		t.Errorf("after reinstalling, the operator's change to the conffile is lost: %v", err)
	}
	if _, err := os.Stat(history); err != nil {
		t.Errorf("after reinstalling, the history is gone: %v", err)
	}

	// Remove: the history and the (conffile) configuration stay.
	sh(t, "dpkg", "-r", "fedrs")
	if _, err := os.Stat("/usr/bin/fedrs"); !os.IsNotExist(err) {
		t.Errorf("after dpkg -r, /usr/bin/fedrs: %v; want it gone", err)
	}
	if _, err := os.Stat(history); err != nil {
		t.Errorf("after dpkg -r, the history is gone: %v", err)
	}
	if _, err := os.Stat("/etc/fedrs/fedrs.toml"); err != nil {
		t.Errorf("after dpkg -r, the configuration is gone: %v", err)
	}

	// Purge: state and configuration go; the user stays.
	sh(t, "dpkg", "-P", "fedrs")
	for _, p := range []string{"/var/lib/fedrs", "/etc/fedrs"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("after dpkg -P, %s: %v; want it gone", p, err)
		}
	}
	if _, err := user.Lookup("fedrs"); err != nil {
		t.Errorf("after dpkg -P the fedrs user is gone (Debian keeps it): %v", err)
	}
	if err := exec.Command("dpkg-query", "-W", "fedrs").Run(); err == nil {
		t.Errorf("after dpkg -P, dpkg still knows fedrs")
	}
}

// sh runs a command and returns its output; a failure fails the test.
func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}
