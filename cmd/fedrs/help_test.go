package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// commandPaths lists every command of the app by path ("lg routes").
func commandPaths() []string {
	var out []string
	var walk func(p string, cs []*cli.Command)
	walk = func(p string, cs []*cli.Command) {
		for _, c := range cs {
			q := strings.TrimSpace(p + " " + c.Name)
			out = append(out, q)
			walk(q, c.Subcommands)
		}
	}
	walk("", newApp().Commands)
	return out
}

// TestHelpEveryCommand: "fedrs help CMD" and "fedrs CMD --help" work for
// every command and show its example and, where the command reads a
// configuration or talks to the route server, how it finds them.
func TestHelpEveryCommand(t *testing.T) {
	paths := commandPaths()
	known := map[string]bool{"": true}
	for _, p := range paths {
		known[p] = true
		cmd := newApp().Commands
		var c *cli.Command
		for _, name := range strings.Fields(p) {
			for _, x := range cmd {
				if x.Name == name {
					c = x
				}
			}
			cmd = c.Subcommands
		}
		for _, args := range [][]string{append([]string{"help"}, strings.Fields(p)...), append(strings.Fields(p), "--help")} {
			out, err := runCLI(t, args...)
			if err != nil {
				t.Errorf("fedrs %s: %v\n%s", strings.Join(args, " "), err, out)
				continue
			}
			want := []string{"NAME:\n   fedrs " + p + " - ", "EXAMPLE:\n   fedrs "}
			if hasFlag(c, "config") {
				want = append(want, configRule)
			}
			if hasFlag(c, "socket") {
				want = append(want, "The route server is reached on --socket PATH")
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("fedrs %s lacks %q:\n%s", strings.Join(args, " "), w, out)
				}
			}
		}
	}
	for p := range examples {
		if !known[p] {
			t.Errorf("an example for %q, which is no command", p)
		}
	}
	out, err := runCLI(t, "help")
	if err != nil || !strings.Contains(out, "EXAMPLES:") || !strings.Contains(out, configRule) || !strings.Contains(out, "lg ") {
		t.Errorf("fedrs help: %v\n%s", err, out)
	}
}

// TestUsageErrors: an unknown command or flag names itself and the
// nearest, exit status 2, in one line.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lg", "rotes"}, `lg: unknown command "rotes"; did you mean "routes"?`},
		{[]string{"lg", "sumary"}, `did you mean "summary"?`},
		{[]string{"rotes"}, `unknown command "rotes"; the commands are run, check, demo, lg`},
		{[]string{"chek"}, `unknown command "chek"; did you mean "check"?`},
		{[]string{"help", "lg", "rotes"}, `lg: unknown command "rotes"; did you mean "routes"?`},
		{[]string{"lg", "routes", "nhs-a", "--filterd"}, `lg routes: unknown flag --filterd; did you mean --filtered?`},
		{[]string{"lg", "routes", "nhs-a", "--limit", "many"}, `lg routes: invalid value "many" for flag --limit`},
		{[]string{"--verison"}, `unknown flag --verison; did you mean --version?`},
		{[]string{"member", "clear", "--soket", "x", "nhs-a"}, `did you mean --socket?`},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
	} {
		out, err := runCLI(t, tc.args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("fedrs %s: %v (exit %d), want %q in one line\n%s", strings.Join(tc.args, " "), err, exitCode(err), tc.want, out)
		}
		if strings.Contains(out, "USAGE:") {
			t.Errorf("fedrs %s printed a page of help:\n%s", strings.Join(tc.args, " "), out)
		}
	}
}
