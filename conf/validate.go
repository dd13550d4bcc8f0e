package conf

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks a Config built in code, or re-checks a loaded one, and
// returns a *Error listing every problem. It does not modify c and reads
// no files; zero values that have a default are accepted, as
// ApplyDefaults would fill them in. Issues carry no line numbers (and no
// file name unless c.File is set).
func Validate(c *Config) error {
	cp := *c
	cp.Members = slices.Clone(c.Members)
	cp.applyDefaults(nil, nil)
	is := &issues{}
	validate(&cp, is, nil)
	return is.err(&cp, nil)
}

const asnHint = "use 1-4294967295 (private: 64512-65534, 4200000000-4294967294)"

// asnProblem says why asn cannot be the AS number of a BGP speaker, or "".
func asnProblem(asn uint32) string {
	switch asn {
	case 0:
		return "0 is not a valid ASN; " + asnHint
	case 23456:
		return "23456 is AS_TRANS (RFC 6793), a placeholder no network may use; " + asnHint
	case 65535, 4294967295:
		return fmt.Sprintf("%d is reserved (RFC 7300); %s", asn, asnHint)
	}
	return ""
}

// Valid values of the enumerated keys.
var (
	LogLevels        = []string{"debug", "info", "warn", "error"}
	Families         = []string{"ipv4", "ipv6"}
	AddPathModes     = []string{"off", "receive", "send", "both"}
	MaxPrefixActions = []string{"teardown", "warn", "filter"}
	CheckActions     = []string{ActionFilter, ActionTag, ActionOff}
)

const (
	maxMD5KeyLen      = 80 // Linux TCP_MD5SIG_MAXKEYLEN
	minControlTokenLn = 16
)

func quoteEach(vs []string) []string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return q
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func oneOf(is *issues, p path, v string, valid []string) {
	if slices.Contains(valid, v) {
		return
	}
	msg := fmt.Sprintf("%q is not valid; use %s", v, quoteList(valid))
	if s := suggest(v, valid); s != "" {
		msg = fmt.Sprintf("%q is not valid; did you mean %q? (use %s)", v, s, quoteList(valid))
	}
	is.add(p, "%s", msg)
}

// validName reports whether s is a member or group name: lowercase
// letters, digits and '-', not starting or ending with '-'.
func validName(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// nameLike turns s into a valid name, for suggestions.
func nameLike(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '_' || r == ' ' || r == '.':
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
	}
	return strings.Trim(b.String(), "-")
}

func nameProblem(s, what string) string {
	if s == "" {
		return fmt.Sprintf("missing: every %s needs a name, e.g. name = \"nhs-coastal\"", what)
	}
	if validName(s) {
		return ""
	}
	msg := fmt.Sprintf("%q is not a valid name; use lowercase letters, digits and '-' (at most 63)", s)
	if n := nameLike(s); n != "" && validName(n) {
		msg += fmt.Sprintf(", e.g. %q", n)
	}
	return msg
}

// hostPortProblem checks "address:port"; names are allowed only when
// hostnames is set (RTR caches).
func hostPortProblem(s string, hostnames bool) string {
	const form = `write "address:port", e.g. "0.0.0.0:179" or "[2001:db8::1]:179"`
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if strings.Count(s, ":") > 1 && !strings.Contains(s, "[") {
			return fmt.Sprintf("%q: put an IPv6 address in brackets, e.g. \"[::]:179\"", s)
		}
		return fmt.Sprintf("%q is not address:port; %s", s, form)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil && !hostnames {
			return fmt.Sprintf("%q: %q is not an IP address; %s", s, host, form)
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("%q: port %q is not 1-65535", s, port)
	}
	return ""
}

func holdTimeProblem(d time.Duration) string {
	switch {
	case d == 0:
		return ""
	case d < 3*time.Second:
		return fmt.Sprintf("%s is too short; use 0 (no keepalives) or 3s-65535s (RFC 4271)", d)
	case d > 65535*time.Second:
		return fmt.Sprintf("%s is too long; the most BGP can carry is 65535s", d)
	case d%time.Second != 0:
		return fmt.Sprintf("%s is not whole seconds; BGP carries the hold time in seconds", d)
	}
	return ""
}

type validator struct {
	c       *Config
	is      *issues
	present presence // nil for a Config built in code
}

func validate(c *Config, is *issues, present presence) {
	v := &validator{c: c, is: is, present: present}
	v.server()
	v.history()
	v.rpki()
	v.policy(c.Policy, c.Policy.Checks, path{"policy"}, nil)
	v.groups()
	v.members()
	v.registry()
	v.bmp()
	v.mrt()
	v.http()
	v.webTokens()
}
