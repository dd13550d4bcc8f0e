package conf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWebTokens: [[member]] web_token_file is read against the file's
// directory and trimmed; unreadable, empty, short, shared and operator
// tokens are errors naming the member and the file; a file others can
// read, and a listener without operator authentication, are warnings
// with file:line; a changed token file is a reload change, hidden, that
// needs neither a session reset nor a policy re-run.
func TestWebTokens(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("a.token", "  member-a-token-0123456789abcdef \n", 0o600)
	write("b.token", "member-b-token-0123456789abcdef\n", 0o600)
	write("same-as-a.token", "member-a-token-0123456789abcdef\n", 0o600)
	write("open.token", "member-c-token-0123456789abcdef\n", 0o644)
	write("empty.token", "", 0o600)
	write("blank.token", "   \n", 0o600)
	write("short.token", "short\n", 0o600)
	write("operator.token", "operator-token-0123456789abcdef\n", 0o600)
	write("b-new.token", "member-b-token-fedcba9876543210\n", 0o600)

	const head = "[server]\nasn = 4200065000\nrouter_id = \"192.0.2.1\"\n"
	const withOperator = "[http]\nlisten = \"127.0.0.1:8080\"\ntoken_file = \"operator.token\"\n"
	member := func(name, asn, addr, token string) string {
		s := "[[member]]\nname = \"" + name + "\"\nasn = " + asn + "\nneighbors = [\"" + addr + "\"]\nprefixes = [\"10.0.0.0/8 le 24 shared\"]\n"
		if token != "" {
			s += "web_token_file = \"" + token + "\"\n"
		}
		return s
	}
	twoMembers := func(ta, tb string) string {
		return member("nhs-a", "4200000001", "192.0.2.11", ta) + member("nhs-b", "4200000002", "192.0.2.12", tb)
	}
	load := func(text string) (*Config, error) {
		t.Helper()
		return Load(write("fedrs.toml", head+text, 0o600))
	}

	c, err := load(withOperator + twoMembers("a.token", "b.token"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Members[0].WebToken != "member-a-token-0123456789abcdef" || c.Members[1].WebToken != "member-b-token-0123456789abcdef" {
		t.Errorf("tokens not read and trimmed: %q %q", c.Members[0].WebToken, c.Members[1].WebToken)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings for private files and an authenticated listener: %v", c.Warnings)
	}

	for _, tc := range []struct {
		name, text string
		line       int // of the web_token_file key that is wrong
		want       []string
	}{
		{"missing", twoMembers("a.token", "no-such.token"), 18, []string{"member[2] (nhs-b).web_token_file", filepath.Join(dir, "no-such.token"), "no such file"}},
		{"empty", twoMembers("empty.token", "b.token"), 12, []string{"member[1] (nhs-a).web_token_file", filepath.Join(dir, "empty.token"), "empty"}},
		{"blank", twoMembers("blank.token", "b.token"), 12, []string{"member[1] (nhs-a).web_token_file", filepath.Join(dir, "blank.token"), "white space"}},
		{"short", twoMembers("a.token", "short.token"), 18, []string{"member[2] (nhs-b).web_token_file", "5 characters"}},
		{"duplicate", twoMembers("a.token", "same-as-a.token"), 18, []string{"member[2] (nhs-b).web_token_file", filepath.Join(dir, "same-as-a.token"), "also member[1] (nhs-a)'s token"}},
		{"operator's", twoMembers("a.token", "operator.token"), 18, []string{"member[2] (nhs-b).web_token_file", "the operator's (http.token_file)"}},
	} {
		_, err := load(withOperator + tc.text)
		var ce *Error
		if !errors.As(err, &ce) || len(ce.Issues) != 1 {
			t.Errorf("%s: want one issue, got %v", tc.name, err)
			continue
		}
		is := ce.Issues[0]
		if is.Line != tc.line {
			t.Errorf("%s: line %d, want %d: %s", tc.name, is.Line, tc.line, is)
		}
		for _, w := range tc.want {
			if !strings.Contains(is.String(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, is, w)
			}
		}
	}

	// Warnings: a file others can read; no operator authentication; no
	// listener at all.
	c, err = load(withOperator + twoMembers("a.token", "open.token"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || c.Warnings[0].Line != 18 || !strings.Contains(c.Warnings[0].String(), "member[2] (nhs-b).web_token_file") ||
		!strings.Contains(c.Warnings[0].Msg, "mode 0644") || !strings.Contains(c.Warnings[0].Msg, "chmod 600") {
		t.Errorf("world-readable token file: %v", c.Warnings)
	}
	c, err = load("[http]\nlisten = \"127.0.0.1:8080\"\n" + twoMembers("a.token", "b.token"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].Msg, "no operator authentication") || c.Warnings[0].Line != 11 {
		t.Errorf("listener without operator authentication: %v", c.Warnings)
	}
	c, err = load(twoMembers("a.token", "b.token"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].Msg, "without an [http] listener") {
		t.Errorf("no listener: %v", c.Warnings)
	}

	// Reload: a token file whose content changed, and a token file
	// replaced by another, are member changes without reset or policy
	// re-run; the secret never shows.
	old, err := load(withOperator + twoMembers("a.token", "b.token"))
	if err != nil {
		t.Fatal(err)
	}
	write("b.token", "member-b-token-changed-0123456789\n", 0o600)
	changed, err := load(withOperator + twoMembers("a.token", "b.token"))
	if err != nil {
		t.Fatal(err)
	}
	moved, err := load(withOperator + twoMembers("a.token", "b-new.token"))
	if err != nil {
		t.Fatal(err)
	}
	for name, nc := range map[string]*Config{"content": changed, "file": moved} {
		ch := Diff(old, nc)
		if len(ch.MembersChanged) != 1 || ch.MembersChanged[0].Name != "nhs-b" || ch.MembersChanged[0].Reset || ch.MembersChanged[0].Policy ||
			len(ch.MembersChanged[0].Fields) != 1 || ch.MembersChanged[0].Fields[0].Field != "web_token_file" {
			t.Errorf("%s change: %+v", name, ch.MembersChanged)
		}
		if s := ch.String(); strings.Contains(s, "member-b-token") {
			t.Errorf("%s change shows the token: %s", name, s)
		}
	}
	if ch := Diff(old, old); !ch.Empty() {
		t.Errorf("same configuration: %s", ch)
	}
}
