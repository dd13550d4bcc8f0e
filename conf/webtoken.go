package conf

import (
	"os"
	"strings"
)

// Member web tokens ([[member]] web_token_file): a member's network team
// signs in to the [http] listener with its own token and sees its own
// routes (received, filtered with reasons, their exposure) and what the
// route server exports to it, nothing else about other members.

// readWebToken reads a member's web token file (one token, surrounding
// white space trimmed) and warns when others may read it.
func (c *Config) readWebToken(is *issues, p path, f string) string {
	s, ok := c.readSecret(is, p, f)
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	if s == "" {
		is.add(p, "%s holds only white space; it should hold the member's token on one line", c.Path(f))
		return ""
	}
	if st, err := os.Stat(c.Path(f)); err == nil && st.Mode().Perm()&0o077 != 0 {
		is.warn(p, "%s is readable by others (mode %04o); anyone who reads it sees this member's routes in the web looking glass: chmod 600 %s", c.Path(f), st.Mode().Perm(), c.Path(f))
	}
	return s
}

// webTokens checks the members' web tokens: long enough, each its own,
// none the operator's; and warns when they cannot be used or leave the
// listener open.
func (v *validator) webTokens() {
	c := v.c
	h := c.HTTPListener()
	operator := map[string]string{}
	if h.TokenSecret != "" {
		key := "http.token"
		if h.TokenFile != "" {
			key = "http.token_file"
		}
		if h.Alias {
			key = "server.control_token"
		}
		operator[h.TokenSecret] = key
	}
	if c.HTTP.BasicPassword != "" {
		operator[c.HTTP.BasicPassword] = "http.basic_password_file"
	}
	seen := map[string]int{}
	first := -1
	for i, m := range c.Members {
		if m.WebToken == "" {
			continue
		}
		p := path{"member", i, "web_token_file"}
		if first < 0 {
			first = i
		}
		switch j, dup := seen[m.WebToken]; {
		case dup:
			v.is.add(p, "the token in %s is also member[%d] (%s)'s token; each member needs its own (e.g. openssl rand -hex 32)", c.Path(m.WebTokenFile), j+1, c.Members[j].Name)
		case operator[m.WebToken] != "":
			v.is.add(p, "the token in %s is the operator's (%s); a member's token must differ from it, or the member would see everything", c.Path(m.WebTokenFile), operator[m.WebToken])
		case len(m.WebToken) < minControlTokenLn:
			v.is.add(p, "the token in %s is %d characters; use at least %d random characters (e.g. openssl rand -hex 32)", c.Path(m.WebTokenFile), len(m.WebToken), minControlTokenLn)
		default:
			seen[m.WebToken] = i
		}
	}
	if first < 0 {
		return
	}
	p := path{"member", first, "web_token_file"}
	switch {
	case h.Listen == "":
		v.is.warn(p, "has no effect without an [http] listener; set [http] listen = %q", DefaultHTTPListen)
	case h.TokenSecret == "" && h.BasicUser == "":
		v.is.warn(p, "the [http] listener has no operator authentication (token_file or basic_user), so anyone who reaches it without a token sees every member's data as the operator does; set [http] token_file or basic_user")
	}
}

// diffWebToken is the change of a member's web token whose file stayed
// the same (its content is hidden).
func diffWebToken(om, nm *Member) (FieldChange, bool) {
	if om.WebTokenFile == nm.WebTokenFile && om.WebToken != nm.WebToken {
		return FieldChange{Field: "web_token_file", Old: "(hidden)", New: "(hidden)"}, true
	}
	return FieldChange{}, false
}
