package conf

import (
	"crypto/tls"
	"os"
	"reflect"
	"strings"
)

// HTTP is the [http] table: the one read-only HTTP listener. It serves
// the read-only control API (/v1/..., /metrics); state-changing commands
// stay on the unix control socket. Off unless Listen is set.
type HTTP struct {
	// Listen is the "address:port" to serve on ("127.0.0.1:8080").
	Listen string `toml:"listen"`
	// Cert and Key, both or neither, serve HTTPS.
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	// Token or TokenFile: requests need "Authorization: Bearer TOKEN".
	Token     string `toml:"token"`
	TokenFile string `toml:"token_file"`
	// BasicUser and BasicPasswordFile: requests need HTTP basic
	// authentication. Not together with a token.
	BasicUser         string `toml:"basic_user"`
	BasicPasswordFile string `toml:"basic_password_file"`
	// Birdwatcher serves the Alice-LG (birdwatcher source, single_table)
	// endpoints under /birdwatcher/.
	Birdwatcher bool `toml:"birdwatcher"`

	// TokenSecret is the bearer token in effect (Token, or the content of
	// TokenFile); BasicPassword the content of BasicPasswordFile. Read by
	// Load; not TOML keys.
	TokenSecret   string `toml:"-"`
	BasicPassword string `toml:"-"`
	// Alias is set on the HTTP that HTTPListener derives from the
	// deprecated [server] control_tcp keys.
	Alias bool `toml:"-"`
}

// DefaultHTTPListen is the address the documentation suggests for [http]
// listen: loopback.
const DefaultHTTPListen = "127.0.0.1:8080"

// HTTPListener is the HTTP listener in effect: [http], or, when only the
// deprecated [server] control_tcp is set, the listener its keys describe
// (control_tcp, control_token(_file), control_tls_cert/_key). Listen is
// "" when there is none. Cert and Key are resolved against the
// configuration file's directory.
func (c *Config) HTTPListener() HTTP {
	s := &c.Server
	h := c.HTTP
	if h.Listen == "" && s.ControlTCP != "" {
		h = HTTP{
			Listen: s.ControlTCP, Cert: s.ControlTLSCert, Key: s.ControlTLSKey,
			Token: s.ControlToken, TokenFile: s.ControlTokenFile, TokenSecret: s.ControlTokenSecret,
			Alias: true,
		}
	}
	h.Cert, h.Key = c.Path(h.Cert), c.Path(h.Key)
	return h
}

// Deprecations lists the deprecated keys the configuration uses, as
// sentences to log once at start.
func (c *Config) Deprecations() []string {
	var out []string
	if c.Server.ControlTCP != "" {
		out = append(out, `[server] control_tcp (and control_token, control_token_file, control_tls_cert, control_tls_key) is deprecated and will be removed in the next release: write [http] listen, token_file, cert and key instead`)
	}
	return out
}

func (c *Config) httpDefaults() {
	if c.HTTP.TokenSecret == "" {
		c.HTTP.TokenSecret = c.HTTP.Token
	}
}

// readHTTPFiles reads the [http] token and password files and checks that
// the certificate and key make a key pair.
func (c *Config) readHTTPFiles(is *issues) {
	h := &c.HTTP
	p := path{"http"}
	if h.TokenFile != "" && h.Token == "" {
		if s, ok := c.readSecret(is, p.add("token_file"), h.TokenFile); ok {
			h.TokenSecret = s
		}
	}
	if h.BasicPasswordFile != "" {
		if s, ok := c.readSecret(is, p.add("basic_password_file"), h.BasicPasswordFile); ok {
			h.BasicPassword = s
		}
	}
	if h.Cert == "" || h.Key == "" {
		return
	}
	var pem [2][]byte
	for i, f := range []struct{ key, file string }{{"cert", h.Cert}, {"key", h.Key}} {
		data, err := os.ReadFile(c.Path(f.file))
		if err != nil {
			is.addErr(p.add(f.key), err, "cannot read %s: %s", c.Path(f.file), errText(err))
			return
		}
		pem[i] = data
	}
	if _, err := tls.X509KeyPair(pem[0], pem[1]); err != nil {
		is.add(p.add("cert"), "%s and %s are not a TLS certificate and its key: %s", c.Path(h.Cert), c.Path(h.Key), err)
	}
}

func (v *validator) http() {
	h := &v.c.HTTP
	s := &v.c.Server
	p := path{"http"}
	if h.Listen == "" {
		for _, k := range []struct{ key, val string }{
			{"cert", h.Cert}, {"key", h.Key}, {"token", h.Token}, {"token_file", h.TokenFile},
			{"basic_user", h.BasicUser}, {"basic_password_file", h.BasicPasswordFile},
		} {
			if k.val != "" {
				v.is.add(p.add(k.key), "has no effect without listen; set listen = %q or remove it", DefaultHTTPListen)
			}
		}
		if h.Birdwatcher {
			v.is.add(p.add("birdwatcher"), "has no effect without listen; set listen = %q or remove it", DefaultHTTPListen)
		}
		if v.written(p.add("listen")) {
			v.is.add(p.add("listen"), "empty; write \"address:port\", e.g. %q, or remove the key to turn the listener off", DefaultHTTPListen)
		}
		return
	}
	if msg := hostPortProblem(h.Listen, false); msg != "" {
		v.is.add(p.add("listen"), "%s", msg)
	}
	if s.ControlTCP != "" {
		v.is.add(p.add("listen"), "server.control_tcp is set too; control_tcp is the deprecated name of http.listen: remove it (and move control_token_file, control_tls_cert and control_tls_key to [http] token_file, cert and key)")
	}
	v.bothOrNeither(p, "cert", h.Cert, "key", h.Key, "TLS")
	v.token(p, "token", h.Token, "token_file", h.TokenFile, h.TokenSecret)
	v.bothOrNeither(p, "basic_user", h.BasicUser, "basic_password_file", h.BasicPasswordFile, "basic authentication")
	if strings.Contains(h.BasicUser, ":") {
		v.is.add(p.add("basic_user"), "%q contains \":\", which basic authentication cannot carry in a user name", h.BasicUser)
	}
	if h.BasicUser != "" && (h.Token != "" || h.TokenFile != "") {
		v.is.add(p.add("basic_user"), "set a bearer token (token or token_file) or basic authentication (basic_user), not both")
	}
	if h.Birdwatcher && (h.Token != "" || h.TokenFile != "") {
		v.is.add(p.add("birdwatcher"), "Alice-LG sends no headers, so it cannot send the bearer token: protect the listener by its address, or use basic_user and write the credentials into Alice's api URL")
	}
	if pw := h.BasicPassword; pw != "" && len(pw) < minControlTokenLn {
		v.is.add(p.add("basic_password_file"), "the password is %d characters; use at least %d random characters (e.g. openssl rand -hex 32)", len(pw), minControlTokenLn)
	}
}

// diffHTTP lists [http] changes; they take effect at the next restart.
func diffHTTP(old, new *Config) []FieldChange {
	out := diffStruct("http.", reflect.ValueOf(old.HTTP), reflect.ValueOf(new.HTTP))
	// A token or password file whose content changed.
	o, n := old.HTTP, new.HTTP
	if o.Token == n.Token && o.TokenFile == n.TokenFile && o.TokenSecret != n.TokenSecret {
		out = append(out, FieldChange{Field: "http.token_file", Old: "(hidden)", New: "(hidden)"})
	}
	if o.BasicPasswordFile == n.BasicPasswordFile && o.BasicPassword != n.BasicPassword {
		out = append(out, FieldChange{Field: "http.basic_password_file", Old: "(hidden)", New: "(hidden)"})
	}
	return out
}

// bothOrNeither reports the missing one of two keys that go together
// (what names the feature: "TLS").
func (v *validator) bothOrNeither(p path, k1, v1, k2, v2, what string) {
	if (v1 == "") == (v2 == "") {
		return
	}
	missing := k2
	if v1 == "" {
		missing = k1
	}
	v.is.add(p.add(missing), "missing: %s needs both %s and %s", what, k1, k2)
}

// token checks a bearer token given inline (key) or in a file (fileKey);
// secret is the one in effect.
func (v *validator) token(p path, key, val, fileKey, file, secret string) {
	if val != "" && file != "" {
		v.is.add(p.add(fileKey), "set %s or %s, not both", key, fileKey)
	} else if secret != "" && len(secret) < minControlTokenLn {
		k := key
		if file != "" {
			k = fileKey
		}
		v.is.add(p.add(k), "the token is %d characters; use at least %d random characters (e.g. openssl rand -hex 32)", len(secret), minControlTokenLn)
	}
}
