package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

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
	if s.History != "" {
		// What the route server refuses at start (history.Open).
		if st, err := os.Stat(v.c.Path(s.History)); err == nil && st.IsDir() {
			v.is.add(p.add("history"), "%s is a directory; history names the database file, e.g. history = %q", v.c.Path(s.History), filepath.Join(s.History, "history.db"))
		}
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
	v.token(p, "control_token", s.ControlToken, "control_token_file", s.ControlTokenFile, s.ControlTokenSecret)
	v.bothOrNeither(p, "control_tls_cert", s.ControlTLSCert, "control_tls_key", s.ControlTLSKey, "TLS")
	oneOf(v.is, p.add("log_level"), s.LogLevel, LogLevels)
	for _, k := range []struct{ key, val string }{{"user", s.User}, {"group", s.Group}} {
		if k.val != "" && strings.ContainsAny(k.val, ": \t\n/") {
			v.is.add(p.add(k.key), "%q is not a %s name (a name like \"fedrs\", or a number)", k.val, k.key)
		}
	}
	if s.Group != "" && s.User == "" {
		v.is.add(p.add("group"), "has no effect without user; set user = \"fedrs\" as well, or remove it")
	}
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
