package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHTTPLoad: [http] reads its token and password files; the
// deprecated control_tcp keys map onto it and are named as deprecated;
// [http] changes need a restart, with secrets hidden.
func TestHTTPLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const head = "[server]\nasn = 4200065000\nrouter_id = \"192.0.2.1\"\n"
	write("token", "0123456789abcdef0123456789abcdef\n")
	write("password", "basic-password-0123456789\n")
	load := func(text string) *Config {
		t.Helper()
		c, err := Load(write("fedrs.toml", head+text))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	for _, f := range []string{"cert", "key"} {
		data, err := os.ReadFile("testdata/http-" + f + ".pem") // a throwaway self-signed pair
		if err != nil {
			t.Fatal(err)
		}
		write(f+".pem", string(data))
	}
	tlsCfg := load("[http]\nlisten = \"127.0.0.1:8443\"\ncert = \"cert.pem\"\nkey = \"key.pem\"\n")
	if h := tlsCfg.HTTPListener(); h.Cert != filepath.Join(dir, "cert.pem") || h.Key != filepath.Join(dir, "key.pem") {
		t.Errorf("cert and key not resolved against the file's directory: %+v", h)
	}
	c := load("[http]\nlisten = \"127.0.0.1:8080\"\ntoken_file = \"token\"\n")
	if h := c.HTTPListener(); h.Listen != "127.0.0.1:8080" || h.TokenSecret != "0123456789abcdef0123456789abcdef" || h.Alias {
		t.Errorf("HTTPListener = %+v", h)
	}
	if d := c.Deprecations(); len(d) != 0 {
		t.Errorf("Deprecations = %q", d)
	}
	basicCfg := load("[http]\nlisten = \"127.0.0.1:8080\"\nbasic_user = \"noc\"\nbasic_password_file = \"password\"\n")
	if h := basicCfg.HTTPListener(); h.BasicUser != "noc" || h.BasicPassword != "basic-password-0123456789" {
		t.Errorf("HTTPListener = %+v", h)
	}

	alias := load("control_tcp = \"127.0.0.1:8179\"\ncontrol_token_file = \"token\"\n")
	if h := alias.HTTPListener(); h.Listen != "127.0.0.1:8179" || h.TokenSecret != "0123456789abcdef0123456789abcdef" || !h.Alias {
		t.Errorf("alias HTTPListener = %+v", h)
	}
	if d := alias.Deprecations(); len(d) != 1 || !strings.Contains(d[0], "control_tcp") || !strings.Contains(d[0], "[http]") {
		t.Errorf("Deprecations = %q", d)
	}
	if h := load("").HTTPListener(); h.Listen != "" {
		t.Errorf("no listener configured: %+v", h)
	}

	ch := Diff(c, basicCfg)
	got := ch.String()
	for _, want := range []string{"http.token_file", "http.basic_user", "http.basic_password_file"} {
		if !strings.Contains(got, want) {
			t.Errorf("diff lacks %s:\n%s", want, got)
		}
	}
	if len(ch.Live) != 0 || len(ch.Restart) == 0 || strings.Contains(got, "basic-password") {
		t.Errorf("diff %+v", ch)
	}
	// A token file whose content changed is a restart change, hidden.
	write("token", "fedcba9876543210fedcba9876543210\n")
	c2 := load("[http]\nlisten = \"127.0.0.1:8080\"\ntoken_file = \"token\"\n")
	ch = Diff(c, c2)
	if len(ch.Restart) != 1 || ch.Restart[0].Field != "http.token_file" || strings.Contains(ch.String(), "fedcba") {
		t.Errorf("token content change: %s", ch)
	}
}
