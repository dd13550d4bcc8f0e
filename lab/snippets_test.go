package lab

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fedrs/fedrs/lab/interop"
)

// snippet is a fenced code block of a README, after a marker comment.
type snippet struct {
	file  string // the README
	line  int    // where the block starts
	args  []string
	lines []string // the block's lines
}

// readSnippets returns the blocks of file that follow a marker line
// "<!-- MARKER: ARGS -->". In the section titled section (a "## " heading;
// "" for none), a fenced block without a marker is an error: every router
// snippet there must be checked.
func readSnippets(t *testing.T, file, marker, section string) []snippet {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	markRE := regexp.MustCompile(`^<!-- ` + regexp.QuoteMeta(marker) + `: (.*) -->\s*$`)
	var out []snippet
	var pending []string // the arguments of the marker just read
	var cur *snippet     // the marked block being read
	inSection, inBlock := false, false
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case inBlock && strings.HasPrefix(line, "```"):
			inBlock = false
			if cur != nil {
				out = append(out, *cur)
				cur = nil
			}
		case inBlock:
			if cur != nil {
				cur.lines = append(cur.lines, line)
			}
		case strings.HasPrefix(line, "```"):
			inBlock = true
			if pending != nil {
				cur = &snippet{file: file, line: n, args: pending}
				pending = nil
			} else if inSection {
				t.Errorf("%s:%d: a code block in %q without a %q marker before it: the lab cannot check it", file, n, section, "<!-- "+marker+": ... -->")
			}
		case strings.HasPrefix(line, "#"):
			// A "##" heading starts a section; deeper ones stay in it.
			if level := len(line) - len(strings.TrimLeft(line, "#")); level <= 2 {
				inSection = strings.TrimSpace(line[level:]) == section
			}
			pending = nil
		default:
			if m := markRE.FindStringSubmatch(line); m != nil {
				pending = strings.Fields(m[1])
			} else if strings.TrimSpace(line) != "" {
				pending = nil
			}
		}
	}
	return out
}

// configLines normalises a configuration for comparison: comments
// ("# ..." in BIRD, OpenBGPD and TOML; lines starting "!" in FRR) and
// blank lines dropped, runs of white space as one space.
func configLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if i := strings.Index(l, "#"); i == 0 || (i > 0 && (l[i-1] == ' ' || l[i-1] == '\t')) {
			l = l[:i]
		}
		l = strings.Join(strings.Fields(l), " ")
		if l == "" || strings.HasPrefix(l, "!") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// TestREADMESnippets checks the router snippets of the README's "What a
// member's router needs" against the lab. Each block there follows a
// marker "<!-- lab snippet: MEMBER FILE -->" and must be, line by line
// and in order, in the FILE the lab generates for MEMBER of
// testdata/agreement.toml (comments and blank lines aside, runs of white
// space as one space); that configuration must pass the daemon's own
// check (bird -p, bgpd -n, FRR's bgpd -C, gobgpd -d); and there must be
// a snippet for each of BIRD, FRR, OpenBGPD and GoBGP. TestViewsAgree runs
// the same configurations against fedrs, so the snippets are known to
// bring a session up. A README edit that changes a snippet line makes
// this test fail, naming the line.
func TestREADMESnippets(t *testing.T) {
	snips := readSnippets(t, "../README.md", "lab snippet", "What a member's router needs")
	topo, err := ReadTopology("testdata/agreement.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := runRoot(t) // FRR's zebra runs as frr: the directory must be traversable
	nodes := map[string]*node{}
	for _, n := range buildNodes(topo, dir, &Options{}) {
		nodes[n.Name] = n
	}
	kinds := map[string]bool{}
	for _, s := range snips {
		if len(s.args) != 2 {
			t.Errorf("%s:%d: marker wants MEMBER FILE, has %q", s.file, s.line, strings.Join(s.args, " "))
			continue
		}
		member, file := s.args[0], s.args[1]
		n := nodes[member]
		if n == nil || n.IsRS {
			t.Errorf("%s:%d: testdata/agreement.toml has no member %q", s.file, s.line, member)
			continue
		}
		if file != configFile(n.Kind) {
			t.Errorf("%s:%d: %s is a %s member, whose configuration is %s, not %s", s.file, s.line, member, n.Kind, configFile(n.Kind), file)
			continue
		}
		kinds[n.Kind] = true
		t.Run(member+"-"+n.Kind, func(t *testing.T) {
			if err := os.MkdirAll(n.Dir, 0o755); err != nil {
				t.Fatal(err)
			}
			d, _ := daemonFor(n.Kind)
			if err := d.configure(n); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(n.path(file))
			if err != nil {
				t.Fatal(err)
			}
			gen := configLines(strings.Split(string(b), "\n"))
			want := configLines(s.lines)
			if len(want) == 0 {
				t.Fatalf("%s:%d: empty snippet", s.file, s.line)
			}
			i := 0
			for _, l := range gen {
				if i < len(want) && l == want[i] {
					i++
				}
			}
			if i < len(want) {
				after := "at its start"
				if i > 0 {
					after = fmt.Sprintf("after its line %q", want[i-1])
				}
				t.Errorf("%s:%d: the %s snippet's line %q is not in the %s the lab generates for %s (%s); the lab writes:\n%s",
					s.file, s.line, n.Kind, want[i], file, member, after, b)
			}
			needDaemonCheck(t, n.Kind)
			checkConfig(t, n)
		})
	}
	for _, k := range []string{KindBIRD, KindFRR, KindOpenBGPD, KindGoBGP} {
		if !kinds[k] {
			t.Errorf("README.md has no lab-checked router snippet for %s", k)
		}
	}
}

// needDaemonCheck skips (or, under CI, fails) when the daemon whose
// configuration check a test runs is missing.
func needDaemonCheck(t *testing.T, kind string) {
	t.Helper()
	switch kind {
	case KindBIRD:
		interop.Require(t, false, "bird")
	case KindOpenBGPD:
		interop.Require(t, false, "bgpd")
	case KindGoBGP:
		interop.Require(t, false, "gobgpd")
	case KindFRR:
		if _, err := os.Stat(frrBgpd); err != nil {
			interop.Require(t, false, "vtysh") // names the frr package
		}
	}
}

// frrRPKIModule is FRR's RPKI module (Debian package frr-rpki-rtrlib).
const frrRPKIModule = "/usr/lib/x86_64-linux-gnu/frr/modules/bgpd_rpki.so"

// TestRPKIREADMESnippets runs the router RTR snippets of rpki/README.md
// ("Using the route server's RTR server from a member's router") through
// the daemons' own configuration checks: each block follows a marker
// "<!-- lab check: bird -->" or "<!-- lab check: frr -->". The BIRD block
// is checked with "bird -p" after a router id; the FRR block with FRR's
// bgpd -M rpki -C (its dry run connects to the cache, so it runs in a
// network namespace of its own with no route anywhere), failing on any
// "No such command".
func TestRPKIREADMESnippets(t *testing.T) {
	snips := readSnippets(t, "../rpki/README.md", "lab check", "Using the route server's RTR server from a member's router")
	seen := map[string]bool{}
	for _, s := range snips {
		if len(s.args) != 1 {
			t.Errorf("%s:%d: marker wants one daemon, has %q", s.file, s.line, strings.Join(s.args, " "))
			continue
		}
		kind := s.args[0]
		seen[kind] = true
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			body := strings.Join(s.lines, "\n") + "\n"
			var argv []string
			switch kind {
			case KindBIRD:
				interop.Require(t, false, "bird")
				argv = []string{"bird", "-p", "-c", filepath.Join(dir, "bird.conf")}
				body = "router id 192.0.2.2;\nprotocol device {}\n" + body
				if err := os.WriteFile(argv[3], []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			case KindFRR:
				interop.Require(t, true, "unshare")
				if _, err := os.Stat(frrRPKIModule); err != nil {
					msg := "FRR's RPKI module " + frrRPKIModule + " is missing (Debian package frr-rpki-rtrlib)"
					if interop.Required() {
						t.Fatalf("interop required (%s=1) but %s", interop.EnvRequire, msg)
					}
					t.Skip(msg)
				}
				conf := filepath.Join(dir, "bgpd.conf")
				argv = []string{"unshare", "-n", frrBgpd, "-M", "rpki", "-C", "-f", conf, "-S", "-u", "root", "-g", "root", "-Z",
					"-i", filepath.Join(dir, "bgpd.pid"), "--vty_socket", dir}
				if err := os.WriteFile(conf, []byte("frr defaults traditional\n"+body), 0o644); err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatalf("%s:%d: no check for %q (bird or frr)", s.file, s.line, kind)
			}
			bin, err := findBinary(argv[0])
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, argv[1:]...).CombinedOutput()
			if err == nil && strings.Contains(string(out), "No such command") {
				err = errors.New("FRR reported unknown commands (its dry run exits 0 anyway)")
			}
			if err != nil {
				t.Errorf("%s:%d: the %s snippet is rejected by %s: %v\n%s\n--- checked:\n%s", s.file, s.line, kind, strings.Join(argv, " "), err, out, body)
			}
		})
	}
	for _, k := range []string{KindBIRD, KindFRR} {
		if !seen[k] {
			t.Errorf("rpki/README.md has no lab-checked RTR snippet for %s", k)
		}
	}
}
