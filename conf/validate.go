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
}

func (v *validator) server() {
	s := &v.c.Server
	p := path{"server"}
	if s.ASN == 0 {
		v.is.add(p.add("asn"), "missing: the route server's AS number, e.g. asn = 4200000000; %s", asnHint)
	} else if msg := asnProblem(s.ASN); msg != "" {
		v.is.add(p.add("asn"), "%s", msg)
	}
	switch id := s.RouterID; {
	case !id.IsValid():
		v.is.add(p.add("router_id"), `missing: the BGP identifier, an IPv4 address, e.g. router_id = "192.0.2.1"`)
	case !id.Is4():
		v.is.add(p.add("router_id"), `%s is not an IPv4 address; the BGP identifier is 4 octets, e.g. "192.0.2.1"`, id)
	case id.IsUnspecified():
		v.is.add(p.add("router_id"), `0.0.0.0 is not a valid BGP identifier; use a non-zero IPv4 address, usually the route server's own`)
	}
	seen := map[string]int{}
	for i, l := range s.Listen {
		lp := p.add("listen", i)
		if msg := hostPortProblem(l, false); msg != "" {
			v.is.add(lp, "%s", msg)
			continue
		}
		if j, dup := seen[l]; dup {
			v.is.add(lp, "%q is listed twice (also entry %d)", l, j+1)
		}
		seen[l] = i
	}
	if s.Control == "" {
		v.is.add(p.add("control"), "missing: the control socket path, e.g. %q", DefaultControl)
	}
	if s.ControlTCP != "" {
		if msg := hostPortProblem(s.ControlTCP, false); msg != "" {
			v.is.add(p.add("control_tcp"), "%s", msg)
		}
		if s.ControlToken == "" && s.ControlTokenFile == "" {
			v.is.add(p.add("control_tcp"), "the TCP control listener requires a bearer token: set control_token_file (or control_token)")
		}
	} else {
		for _, k := range []struct {
			key, val string
		}{{"control_token", s.ControlToken}, {"control_token_file", s.ControlTokenFile}, {"control_tls_cert", s.ControlTLSCert}, {"control_tls_key", s.ControlTLSKey}} {
			if k.val != "" {
				v.is.add(p.add(k.key), "has no effect without control_tcp; set control_tcp = \"127.0.0.1:8179\" or remove it")
			}
		}
	}
	if s.ControlToken != "" && s.ControlTokenFile != "" {
		v.is.add(p.add("control_token_file"), "set control_token or control_token_file, not both")
	} else if t := s.ControlTokenSecret; t != "" && len(t) < minControlTokenLn {
		key := "control_token"
		if s.ControlTokenFile != "" {
			key = "control_token_file"
		}
		v.is.add(p.add(key), "the token is %d characters; use at least %d random characters (e.g. openssl rand -hex 32)", len(t), minControlTokenLn)
	}
	if (s.ControlTLSCert == "") != (s.ControlTLSKey == "") {
		missing := "control_tls_key"
		if s.ControlTLSCert == "" {
			missing = "control_tls_cert"
		}
		v.is.add(p.add(missing), "missing: TLS needs both control_tls_cert and control_tls_key")
	}
	oneOf(v.is, p.add("log_level"), s.LogLevel, LogLevels)
	if msg := holdTimeProblem(s.HoldTime.Duration); msg != "" {
		v.is.add(p.add("hold_time"), "%s", msg)
	}
	if s.ConnectRetry.Duration < time.Second {
		v.is.add(p.add("connect_retry"), "%s is too short; use 1s or more (default %s)", s.ConnectRetry.Duration, DefaultConnectRetry)
	}
}

func (v *validator) history() {
	h := &v.c.History
	p := path{"history"}
	if h.Retain.Duration < 0 {
		v.is.add(p.add("retain"), "%s is negative; use a duration like \"400d\", or \"0s\" to keep everything", h.Retain.Duration)
	}
	if h.WriteBehind != nil && h.WriteBehind.Duration < 0 {
		v.is.add(p.add("write_behind"), "%s is negative; use a duration like \"30s\", or \"0s\" to write at once", h.WriteBehind.Duration)
	}
	if h.Durable && v.c.Server.History == "" {
		v.is.add(p.add("durable"), "durable = true but [server] history is not set, so there is nothing to commit to; set [server] history or remove durable")
	}
	if h.Queue < 1 {
		v.is.add(p.add("queue"), "%d is too small; use a number of events, at least 1 (default %d)", h.Queue, DefaultQueue)
	}
}

func (v *validator) rpki() {
	r := &v.c.RPKI
	p := path{"rpki"}
	seen := map[string]int{}
	for i, cache := range r.Caches {
		cp := p.add("cache", i)
		switch {
		case cache.Address == "":
			v.is.add(cp.add("address"), `missing: the RTR cache's address, e.g. address = "rpki.example.net:3323"`)
		default:
			if msg := hostPortProblem(cache.Address, true); msg != "" {
				v.is.add(cp.add("address"), "%s", msg)
			} else if j, dup := seen[cache.Address]; dup {
				v.is.add(cp.add("address"), "%q is also rpki.cache[%d]", cache.Address, j+1)
			}
			seen[cache.Address] = i
		}
		if cache.Preference < 0 {
			v.is.add(cp.add("preference"), "%d is negative; use 0 or more (lower is preferred)", cache.Preference)
		}
	}
	for i, f := range r.Files {
		if strings.TrimSpace(f) == "" {
			v.is.add(p.add("files", i), "empty path")
		}
	}
	for i, f := range r.SLURM {
		if strings.TrimSpace(f) == "" {
			v.is.add(p.add("slurm", i), "empty path")
		}
	}
	if r.Server != "" {
		if msg := hostPortProblem(r.Server, false); msg != "" {
			v.is.add(p.add("server"), "%s", msg)
		}
	}
}

// policy checks a resolved policy. owns reports whether a key is set in
// this table (nil: every key); a member's effective policy reports only
// problems in the keys the member sets, the global ones being reported
// once, at [policy]. checks is the Checks map as written in this table.
func (v *validator) policy(pol Policy, checks map[string]string, p path, owns func(string) bool) {
	if owns == nil {
		owns = func(string) bool { return true }
	}
	if owns("preset") {
		oneOf(v.is, p.add("preset"), pol.Preset, Presets)
	}
	lengths := []struct {
		minKey, maxKey string
		min, max, top  int
	}{
		{"min_length_v4", "max_length_v4", pol.MinLengthV4, pol.MaxLengthV4, 32},
		{"min_length_v6", "max_length_v6", pol.MinLengthV6, pol.MaxLengthV6, 128},
	}
	for _, l := range lengths {
		bad := false
		for _, k := range []struct {
			key string
			val int
		}{{l.minKey, l.min}, {l.maxKey, l.max}} {
			if (k.val < 0 || k.val > l.top) && owns(k.key) {
				v.is.add(p.add(k.key), "%d is not a prefix length; use 0-%d", k.val, l.top)
				bad = true
			}
		}
		if !bad && l.min > l.max && (owns(l.minKey) || owns(l.maxKey)) {
			key := l.maxKey
			if !owns(key) {
				key = l.minKey
			}
			v.is.add(p.add(key), "%s %d is greater than %s %d; no prefix would be accepted", l.minKey, l.min, l.maxKey, l.max)
		}
	}
	if pol.MinASPath < 0 && owns("min_as_path") {
		v.is.add(p.add("min_as_path"), "%d is negative; use 0 or more (default %d)", pol.MinASPath, DefaultMinASPath)
	}
	if owns("max_as_path") || owns("min_as_path") {
		switch {
		case pol.MaxASPath < 1 && owns("max_as_path"):
			v.is.add(p.add("max_as_path"), "%d would reject every route; use 1 or more (default %d)", pol.MaxASPath, DefaultMaxASPath)
		case pol.MaxASPath >= 1 && pol.MinASPath > pol.MaxASPath:
			key := "max_as_path"
			if !owns(key) {
				key = "min_as_path"
			}
			v.is.add(p.add(key), "min_as_path %d is greater than max_as_path %d; no route would be accepted", pol.MinASPath, pol.MaxASPath)
		}
	}
	if pol.MaxCommunities < 1 && owns("max_communities") {
		v.is.add(p.add("max_communities"), "%d would reject routes carrying any community, action communities included; use 1 or more (default %d), or set checks.communities = \"off\"", pol.MaxCommunities, DefaultMaxCommunities)
	}
	if a := pol.BlackholeNextHopV4; a.IsValid() && owns("blackhole_next_hop_v4") && !a.Is4() {
		v.is.add(p.add("blackhole_next_hop_v4"), "%s is not an IPv4 address", a)
	}
	if a := pol.BlackholeNextHopV6; a.IsValid() && owns("blackhole_next_hop_v6") && (!a.Is6() || a.Is4In6()) {
		v.is.add(p.add("blackhole_next_hop_v6"), "%s is not an IPv6 address", a)
	}
	for i, b := range pol.BogonPrefixes {
		if !b.IsValid() && owns("bogon_prefixes") {
			v.is.add(p.add("bogon_prefixes", i), "empty prefix")
		}
	}
	names := make([]string, 0, len(checks))
	for name := range checks {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		cp := p.add("checks", name)
		if !slices.Contains(CheckNames, name) {
			msg := fmt.Sprintf("unknown check %q", name)
			if s := suggest(name, CheckNames); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += "; the checks are " + strings.Join(CheckNames, ", ")
			}
			v.is.add(cp, "%s", msg)
			continue
		}
		oneOf(v.is, cp, checks[name], CheckActions)
	}
}

func (v *validator) groups() {
	names := map[string]int{}
	ids := map[uint32]int{}
	for i, g := range v.c.Groups {
		p := path{"group", i}
		if msg := nameProblem(g.Name, "group"); msg != "" {
			v.is.add(p.add("name"), "%s", msg)
		} else if j, dup := names[g.Name]; dup {
			v.is.add(p.add("name"), "%q is also the name of group[%d]", g.Name, j+1)
		} else {
			names[g.Name] = i
		}
		if g.ID == 0 {
			v.is.add(p.add("id"), "missing or 0: each group needs an id of 1-4294967295, used in the action communities RS:10:id and RS:11:id")
		} else if j, dup := ids[g.ID]; dup {
			v.is.add(p.add("id"), "%d is also the id of group[%d] (%s); each group needs its own", g.ID, j+1, v.c.Groups[j].Name)
		} else {
			ids[g.ID] = i
		}
	}
}

// memberRef names member i in a message.
func (v *validator) memberRef(i int) string {
	if n := v.c.Members[i].Name; n != "" {
		return n
	}
	return fmt.Sprintf("member[%d]", i+1)
}

func (v *validator) members() {
	c := v.c
	names := map[string]int{}
	asns := map[uint32]int{}
	type at struct{ member, idx int }
	neighbors := map[netip.Addr]at{}
	groupNames := make([]string, 0, len(c.Groups))
	for _, g := range c.Groups {
		groupNames = append(groupNames, g.Name)
	}
	memberNames := make([]string, 0, len(c.Members))
	for _, m := range c.Members {
		memberNames = append(memberNames, m.Name)
	}

	for i := range c.Members {
		m := &c.Members[i]
		p := path{"member", i}

		if msg := nameProblem(m.Name, "member"); msg != "" {
			v.is.add(p.add("name"), "%s", msg)
		} else if j, dup := names[m.Name]; dup {
			v.is.add(p.add("name"), "%q is also the name of member[%d]; names must be unique", m.Name, j+1)
		} else {
			names[m.Name] = i
		}

		switch {
		case m.ASN == 0 && v.present != nil && !v.present(p.add("asn")):
			v.is.add(p.add("asn"), "missing: the member's AS number, e.g. asn = 4200000001; %s", asnHint)
		case m.ASN == 0:
			v.is.add(p.add("asn"), "%s", asnProblem(0))
		case asnProblem(m.ASN) != "":
			v.is.add(p.add("asn"), "%s", asnProblem(m.ASN))
		case m.ASN == c.Server.ASN:
			v.is.add(p.add("asn"), "%d is the route server's own ASN ([server] asn); a member needs its own AS number", m.ASN)
		default:
			if j, dup := asns[m.ASN]; dup {
				v.is.add(p.add("asn"), "%d is also the ASN of %s; action communities address members by ASN, so each member needs its own (give one member several neighbors instead)", m.ASN, v.memberRef(j))
			} else {
				asns[m.ASN] = i
			}
		}

		if len(m.Neighbors) == 0 {
			v.is.add(p.add("neighbors"), `no neighbors: list the member router's addresses on the peering LAN, e.g. neighbors = ["192.0.2.11", "2001:db8:ffff::11"]`)
		}
		for j, a := range m.Neighbors {
			np := p.add("neighbors", j)
			switch {
			case !a.IsValid():
				v.is.add(np, "empty address")
				continue
			case a.IsUnspecified() || a.IsMulticast():
				v.is.add(np, "%s cannot be a BGP neighbor; use the router's unicast address on the peering LAN", a)
				continue
			case a.Is4In6():
				v.is.add(np, "%s is an IPv4-mapped IPv6 address; write %s", a, a.Unmap())
				continue
			}
			if prev, dup := neighbors[a]; dup {
				if prev.member == i {
					v.is.add(np, "%s is listed twice", a)
				} else {
					v.is.add(np, "%s is also a neighbor of %s; each router address belongs to one member", a, v.memberRef(prev.member))
				}
				continue
			}
			neighbors[a] = at{i, j}
		}

		if m.Port < 1 || m.Port > 65535 {
			v.is.add(p.add("port"), "%d is not a TCP port; use 1-65535 (default %d)", m.Port, DefaultPort)
		}
		if a := m.LocalAddressV4; a.IsValid() && !a.Is4() {
			v.is.add(p.add("local_address_v4"), "%s is not an IPv4 address", a)
		}
		if a := m.LocalAddressV6; a.IsValid() && (!a.Is6() || a.Is4In6()) {
			v.is.add(p.add("local_address_v6"), "%s is not an IPv6 address", a)
		}

		seenGroups := map[string]bool{}
		for j, g := range m.Groups {
			gp := p.add("groups", j)
			switch {
			case seenGroups[g]:
				v.is.add(gp, "%q is listed twice", g)
			case !slices.Contains(groupNames, g):
				msg := fmt.Sprintf("no [[group]] is called %q", g)
				if s := suggest(g, groupNames); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				} else if len(groupNames) > 0 {
					msg += "; defined groups: " + strings.Join(quoteEach(groupNames), ", ")
				} else {
					msg += fmt.Sprintf("; define it: [[group]] name = %q, id = 1", g)
				}
				v.is.add(gp, "%s", msg)
			}
			seenGroups[g] = true
		}

		seenPrefixes := map[netip.Prefix]int{}
		for j, r := range m.Prefixes {
			if !r.Prefix.IsValid() {
				continue
			}
			if k, dup := seenPrefixes[r.Prefix]; dup {
				v.is.add(p.add("prefixes", j), "%s is listed twice (also prefixes[%d]); merge the two entries", r.Prefix, k+1)
				continue
			}
			seenPrefixes[r.Prefix] = j
		}

		if m.OriginASNs != nil && len(m.OriginASNs) == 0 {
			v.is.add(p.add("origin_asns"), "empty: no route could be accepted; leave origin_asns out to allow the member's own ASN")
		}
		for j, r := range m.OriginASNs {
			if r.Min == 0 {
				v.is.add(p.add("origin_asns", j), "AS 0 cannot originate routes (RFC 7607); %s", asnHint)
			}
		}

		seenTransit := map[string]bool{}
		for j, t := range m.TransitFor {
			tp := p.add("transit_for", j)
			switch {
			case t == m.Name:
				v.is.add(tp, "a member cannot be its own transit; remove %q", t)
			case seenTransit[t]:
				v.is.add(tp, "%q is listed twice", t)
			case !slices.Contains(memberNames, t):
				msg := fmt.Sprintf("no member is called %q", t)
				if s := suggest(t, memberNames); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				v.is.add(tp, "%s", msg)
			}
			seenTransit[t] = true
		}

		mp := p.add("max_prefixes")
		if m.MaxPrefixes.IPv4 < 0 {
			v.is.add(mp.add("ipv4"), "%d is negative; use 0 (no limit) or a number of prefixes", m.MaxPrefixes.IPv4)
		}
		if m.MaxPrefixes.IPv6 < 0 {
			v.is.add(mp.add("ipv6"), "%d is negative; use 0 (no limit) or a number of prefixes", m.MaxPrefixes.IPv6)
		}
		oneOf(v.is, mp.add("action"), m.MaxPrefixes.Action, MaxPrefixActions)
		if m.MaxPrefixes.Restart.Duration < 0 {
			v.is.add(mp.add("restart"), "negative; use a duration like \"15m\", or 0 to stay down until an operator enables the member")
		}

		for j, a := range m.NextHops {
			if a.IsValid() && (a.IsUnspecified() || a.IsMulticast()) {
				v.is.add(p.add("next_hops", j), "%s cannot be a next hop", a)
			}
		}

		if m.MD5Password != "" && m.MD5PasswordFile != "" {
			v.is.add(p.add("md5_password_file"), "set md5_password or md5_password_file, not both")
		} else if len(m.MD5Secret) > maxMD5KeyLen {
			key := "md5_password"
			if m.MD5PasswordFile != "" {
				key = "md5_password_file"
			}
			v.is.add(p.add(key), "the password is %d bytes; TCP-MD5 keys are at most %d", len(m.MD5Secret), maxMD5KeyLen)
		}

		if m.GTSMHops < 1 || m.GTSMHops > 254 {
			v.is.add(p.add("gtsm_hops"), "%d is not valid; use 1-254 (1: directly connected, the default)", m.GTSMHops)
		}
		if m.HoldTime != nil {
			if msg := holdTimeProblem(m.HoldTime.Duration); msg != "" {
				v.is.add(p.add("hold_time"), "%s", msg)
			}
		}

		if m.Families != nil && len(m.Families) == 0 {
			v.is.add(p.add("families"), `empty: enable at least one of "ipv4", "ipv6" (or leave families out for both)`)
		}
		seenFam := map[string]bool{}
		for j, f := range m.Families {
			fp := p.add("families", j)
			if seenFam[f] {
				v.is.add(fp, "%q is listed twice", f)
				continue
			}
			seenFam[f] = true
			oneOf(v.is, fp, f, Families)
		}
		oneOf(v.is, p.add("add_path"), m.AddPath, AddPathModes)

		if m.Policy != nil {
			set := policyKeys(nil, nil, m.Policy)
			if v.present != nil {
				set = policyKeys(v.present, p.add("policy"), m.Policy)
			}
			v.policy(m.Effective, m.Policy.Checks, p.add("policy"), func(k string) bool { return set[k] })
		}
	}
}

func (v *validator) registry() {
	type reg struct {
		member, idx int
		shared      bool
	}
	byPrefix := map[netip.Prefix][]reg{}
	var order []netip.Prefix
	for i, m := range v.c.Members {
		for j, r := range m.Prefixes {
			if !r.Prefix.IsValid() {
				continue
			}
			if _, ok := byPrefix[r.Prefix]; !ok {
				order = append(order, r.Prefix)
			}
			byPrefix[r.Prefix] = append(byPrefix[r.Prefix], reg{i, j, r.Shared})
		}
	}
	for _, pfx := range order {
		regs := byPrefix[pfx]
		first := regs[0]
		for _, r := range regs[1:] {
			if r.member == first.member {
				continue // reported as "listed twice"
			}
			rp := path{"member", r.member, "prefixes", r.idx}
			owner := v.memberRef(first.member)
			switch {
			case first.shared && r.shared:
			case !first.shared && !r.shared:
				v.is.add(rp, "%s is also registered to %s; a prefix has one owner: remove it from one member, or mark it \"shared\" in both if they own it jointly", pfx, owner)
			case r.shared:
				v.is.add(rp, "%s is marked shared here but not by %s; add \"shared\" there too, or remove it here", pfx, owner)
			default:
				v.is.add(rp, "%s is registered as shared by %s but not shared here; write \"%s shared\"", pfx, owner, pfx)
			}
		}
	}
}
