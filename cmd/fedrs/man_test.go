package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fedrs/fedrs/conf"
)

// TestManPages: `fedrs man` writes fedrs(1), one page per visible
// top-level command with its subcommands and flags, and fedrs.toml(5)
// with every key of the configuration reference.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if out, err := runCLI(t, "man", "-o", dir); err != nil {
		t.Fatalf("fedrs man: %v\n%s", err, out)
	}
	want := []string{"fedrs.1", "fedrs.toml.5"}
	for _, c := range newApp().Commands {
		if !c.Hidden && c.Name != "help" {
			want = append(want, "fedrs-"+c.Name+".1")
		}
	}
	for _, name := range want {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("fedrs man: %v", err)
			continue
		}
		if !strings.HasPrefix(string(data), ".TH ") || !strings.Contains(string(data), ".SH \"NAME\"") {
			t.Errorf("%s: not a manual page:\n%.200s", name, data)
		}
	}
	lg, _ := os.ReadFile(filepath.Join(dir, "fedrs-lg.1"))
	for _, s := range []string{`.SH "LG ROUTES"`, `\fB\-\-filtered\fR`, `fedrs lg routes nhs\-riverside \-\-filtered`} {
		if !strings.Contains(string(lg), s) {
			t.Errorf("fedrs-lg.1 lacks %q", s)
		}
	}
	// Every key in the reference's tables is a tagged paragraph of
	// fedrs.toml(5).
	toml, _ := os.ReadFile(filepath.Join(dir, "fedrs.toml.5"))
	keys := regexp.MustCompile("(?m)^\\| `([a-z_0-9]+)`").FindAllStringSubmatch(conf.Reference, -1)
	if len(keys) < 20 {
		t.Fatalf("found %d keys in conf/README.md", len(keys))
	}
	for _, k := range keys {
		if !strings.Contains(string(toml), ".TP\n\\fB"+strings.ReplaceAll(k[1], "-", `\-`)+"\\fR") {
			t.Errorf("fedrs.toml.5 lacks the key %s", k[1])
		}
	}
	// groff reads them without a warning.
	if _, err := exec.LookPath("groff"); err == nil {
		for _, name := range want {
			out, err := exec.Command("groff", "-man", "-ww", "-z", filepath.Join(dir, name)).CombinedOutput()
			if err != nil || len(out) > 0 {
				t.Errorf("groff %s: %v\n%s", name, err, out)
			}
		}
	}
}

// TestCompletion: the bash script completes command paths and flags, and
// an unknown shell is a usage error.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		out, err := runCLI(t, "completion", shell)
		if err != nil || !strings.Contains(out, "complete -o filenames -F _fedrs fedrs") {
			t.Fatalf("fedrs completion %s: %v\n%s", shell, err, out)
		}
	}
	if _, err := runCLI(t, "completion", "fish"); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "fish") {
		t.Errorf("fedrs completion fish: %v; want a usage error naming it", err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script, _ := runCLI(t, "completion", "bash")
	file := filepath.Join(t.TempDir(), "fedrs.bash")
	os.WriteFile(file, []byte(script), 0o644)
	for _, c := range []struct{ words, want string }{
		{"fedrs lg ro", "route routes"},
		{"fedrs lg routes --fi", "--filtered"},
		{"fedrs hist", "history"},
		{"fedrs member shutdown nhs-coastal --m", "--message"},
	} {
		w := strings.Fields(c.words)
		prog := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _fedrs; printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '`
		out, err := exec.Command(bash, append([]string{"-c", prog, "x", file}, w...)...).Output()
		if err != nil || strings.TrimSpace(string(out)) != c.want {
			t.Errorf("complete %q: %q, %v; want %q", c.words, out, err, c.want)
		}
	}
}
