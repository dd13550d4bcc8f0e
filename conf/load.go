package conf

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Defaults for keys that are not set.
const (
	DefaultControl = "/run/fedrs/fedrs.sock"
	// DefaultControlReadonlyGroup is the group of the read-only control
	// socket when [server] control_readonly_group is not set.
	DefaultControlReadonlyGroup = "fedrs-noc"
	DefaultLogLevel             = "info"
	DefaultHoldTime             = 90 * time.Second
	DefaultConnectRetry         = 30 * time.Second
	// DefaultGracefulRestartTime is [server] graceful_restart_time.
	DefaultGracefulRestartTime = 120 * time.Second
	// DefaultGracefulRestartEORWait is [server] graceful_restart_eor_wait.
	DefaultGracefulRestartEORWait = 60 * time.Second
	DefaultRetain                 = 400 * 24 * time.Hour
	DefaultQueue                  = 1 << 20
	DefaultWriteBehind            = 30 * time.Second
	DefaultPort                   = 179
	DefaultGTSMHops               = 1
	DefaultAddPath                = "receive"
	DefaultMaxPrefixAct           = "teardown"
	DefaultPreset                 = PresetFederation
)

// DefaultListen is the default [server] listen.
func DefaultListen() []string { return []string{"0.0.0.0:179", "[::]:179"} }

// DefaultFamilies is the default [[member]] families.
func DefaultFamilies() []string { return []string{"ipv4", "ipv6"} }

// Load reads the configuration file at path, fills in the defaults, reads
// the files it names (MD5 password files, prefix lists, bogon lists, the
// control token file) and validates the result. Relative paths in the
// file are relative to the file's directory.
//
// A broken file yields a *Error listing every problem, each with the file,
// line and setting.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return Parse(data, path)
}

// Parse is Load for a configuration already in memory; name is the file
// name used in errors and for resolving relative paths.
func Parse(data []byte, name string) (*Config, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, syntaxError(name, err)
	}
	sum := sha256.Sum256(data)
	c := &Config{File: name, Hash: hex.EncodeToString(sum[:])}
	is := &issues{}
	d := decoder{is: is}
	d.table(raw, reflect.ValueOf(c).Elem(), nil)

	bogons := c.readFiles(is)
	present := rawPresence(raw)
	c.applyDefaults(present, bogons)
	validate(c, is, present)
	idx := buildLineIndex(string(data))
	if err := is.err(c, idx); err != nil {
		return nil, err
	}
	c.Warnings = is.warnings(c, idx)
	return c, nil
}

func syntaxError(name string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{Issues: []Issue{{
			File: name, Line: pe.Position.Line, Column: pe.Position.Col,
			Msg: "TOML syntax: " + pe.Message, Err: err,
		}}}
	}
	var ppe *toml.ParseError
	if errors.As(err, &ppe) {
		return &Error{Issues: []Issue{{
			File: name, Line: ppe.Position.Line, Column: ppe.Position.Col,
			Msg: "TOML syntax: " + ppe.Message, Err: err,
		}}}
	}
	return &Error{Issues: []Issue{{File: name, Msg: err.Error(), Err: err}}}
}

// Path resolves p, a path written in the configuration, against the
// directory of the configuration file. Absolute paths, and every path of a
// Config built in code (File ""), are returned as they are.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.File == "" {
		return p
	}
	return filepath.Join(filepath.Dir(c.File), p)
}

// presence tells whether a key was written in the file. A Config built in
// code has no file; then nothing is "present" and a zero value takes the
// default.
type presence func(p path) bool

func rawPresence(raw map[string]any) presence {
	return func(p path) bool {
		var cur any = raw
		for _, e := range p {
			switch e := e.(type) {
			case string:
				m, ok := cur.(map[string]any)
				if !ok {
					return false
				}
				if cur, ok = m[e]; !ok {
					return false
				}
			case int:
				switch a := cur.(type) {
				case []map[string]any:
					if e >= len(a) {
						return false
					}
					cur = a[e]
				case []any:
					if e >= len(a) {
						return false
					}
					cur = a[e]
				default:
					return false
				}
			}
		}
		return true
	}
}

// ApplyDefaults completes a Config built in code the way Load completes a
// file: every unset (zero) value that has a default takes it, and each
// member's Effective policy is resolved. In code, "unset" can only mean
// "zero": a zero Server.HoldTime becomes 90s (set a member's HoldTime to
// 0 for no hold timer), a nil slice takes the default and an empty non-nil
// one stays empty. It reads no files: put passwords in MD5Password and
// prefix lists in PrefixList directly. Calling it again changes nothing.
func (c *Config) ApplyDefaults() { c.applyDefaults(nil, nil) }

func (c *Config) applyDefaults(present presence, bogonFiles map[string][]netip.Prefix) {
	set := func(p path, v reflect.Value) bool {
		if present != nil {
			return present(p)
		}
		return !v.IsZero()
	}
	val := reflect.ValueOf

	s := &c.Server
	if s.Listen == nil {
		s.Listen = DefaultListen()
	}
	if s.Control == "" {
		s.Control = DefaultControl
	}
	if s.LogLevel == "" {
		s.LogLevel = DefaultLogLevel
	}
	if s.HoldTime.Duration == 0 && !set(path{"server", "hold_time"}, val(s.HoldTime)) {
		s.HoldTime.Duration = DefaultHoldTime
	}
	if s.ConnectRetry.Duration == 0 && !set(path{"server", "connect_retry"}, val(s.ConnectRetry)) {
		s.ConnectRetry.Duration = DefaultConnectRetry
	}
	if s.GracefulRestartTime.Duration == 0 && !set(path{"server", "graceful_restart_time"}, val(s.GracefulRestartTime)) {
		s.GracefulRestartTime.Duration = DefaultGracefulRestartTime
	}
	if s.GracefulRestartEORWait.Duration == 0 && !set(path{"server", "graceful_restart_eor_wait"}, val(s.GracefulRestartEORWait)) {
		s.GracefulRestartEORWait.Duration = DefaultGracefulRestartEORWait
	}
	if s.ControlTokenSecret == "" {
		s.ControlTokenSecret = s.ControlToken
	}
	c.httpDefaults()

	h := &c.History
	if h.Retain.Duration == 0 && !set(path{"history", "retain"}, val(h.Retain)) {
		h.Retain.Duration = DefaultRetain
	}
	if h.Exports == nil {
		h.Exports = ptr(true)
	}
	if h.Queue == 0 && !set(path{"history", "queue"}, val(h.Queue)) {
		h.Queue = DefaultQueue
	}
	if h.WriteBehind == nil {
		h.WriteBehind = &Duration{DefaultWriteBehind}
	}
	if c.RPKI.Registry == nil {
		c.RPKI.Registry = ptr(true)
	}
	c.monitoringDefaults(set)

	// Policies: members overlay the global policy as written, so a key set
	// nowhere takes the default of the member's own effective preset.
	globalSet := policyKeys(present, path{"policy"}, &c.Policy)
	for i := range c.Members {
		m := &c.Members[i]
		p := path{"member", i}
		if m.Port == 0 && !set(p.add("port"), val(m.Port)) {
			m.Port = DefaultPort
		}
		if m.GTSMHops == 0 && !set(p.add("gtsm_hops"), val(m.GTSMHops)) {
			m.GTSMHops = DefaultGTSMHops
		}
		if m.Families == nil {
			m.Families = DefaultFamilies()
		}
		if m.AddPath == "" {
			m.AddPath = DefaultAddPath
		}
		if m.GracefulRestart == nil {
			m.GracefulRestart = ptr(true)
		}
		if m.MaxPrefixes.Action == "" {
			m.MaxPrefixes.Action = DefaultMaxPrefixAct
		}
		if m.OriginASNs == nil && m.ASN != 0 {
			m.OriginASNs = []ASNRange{{m.ASN, m.ASN}}
		}
		if m.MD5Secret == "" {
			m.MD5Secret = m.MD5Password
		}
		if m.Effective.Preset == "" {
			var memberSet map[string]bool
			if m.Policy != nil {
				memberSet = policyKeys(present, p.add("policy"), m.Policy)
			}
			m.Effective = overlayPolicy(c.Policy, m.Policy, memberSet)
			m.Effective = resolvePolicy(m.Effective, func(k string) bool { return globalSet[k] || memberSet[k] }, bogonFiles)
		}
	}
	c.Policy = resolvePolicy(c.Policy, func(k string) bool { return globalSet[k] }, bogonFiles)
}

func ptr[T any](v T) *T { return &v }

// policyKeys lists the keys a policy table sets: the keys written in the
// file, or for a Config built in code the non-zero fields.
func policyKeys(present presence, p path, pol *Policy) map[string]bool {
	idx, keys := tomlFields(reflect.TypeFor[Policy]())
	v := reflect.ValueOf(pol).Elem()
	set := map[string]bool{}
	for _, k := range keys {
		if present != nil {
			if present(p.add(k)) {
				set[k] = true
			}
		} else if !v.Field(idx[k]).IsZero() {
			set[k] = true
		}
	}
	return set
}

// overlayPolicy returns global with the keys in set taken from member;
// Checks merge check by check.
func overlayPolicy(global Policy, member *Policy, set map[string]bool) Policy {
	out := global
	if member == nil {
		return out
	}
	idx, _ := tomlFields(reflect.TypeFor[Policy]())
	ov := reflect.ValueOf(&out).Elem()
	mv := reflect.ValueOf(member).Elem()
	for k := range set {
		if k == "checks" {
			merged := make(map[string]string, len(global.Checks)+len(member.Checks))
			for name, a := range global.Checks {
				merged[name] = a
			}
			for name, a := range member.Checks {
				merged[name] = a
			}
			out.Checks = merged
			continue
		}
		ov.Field(idx[k]).Set(mv.Field(idx[k]))
	}
	return out
}

// resolvePolicy fills the keys set() reports unset with the defaults of
// the policy's preset, resolves the bogon lists and fills Checks with
// every check.
func resolvePolicy(p Policy, set func(key string) bool, bogonFiles map[string][]netip.Prefix) Policy {
	if p.Preset == "" {
		p.Preset = DefaultPreset
	}
	d := defaultsFor(p.Preset)
	intDefault := func(key string, f *int, v int) {
		if !set(key) && *f == 0 {
			*f = v
		}
	}
	intDefault("min_length_v4", &p.MinLengthV4, d.minV4)
	intDefault("max_length_v4", &p.MaxLengthV4, d.maxV4)
	intDefault("min_length_v6", &p.MinLengthV6, d.minV6)
	intDefault("max_length_v6", &p.MaxLengthV6, d.maxV6)
	intDefault("min_as_path", &p.MinASPath, DefaultMinASPath)
	intDefault("max_as_path", &p.MaxASPath, DefaultMaxASPath)
	intDefault("max_communities", &p.MaxCommunities, DefaultMaxCommunities)
	if p.Informational == nil {
		p.Informational = ptr(true)
	}
	switch {
	case !set("bogon_prefixes") && p.BogonPrefixesFile == "" && p.BogonPrefixes == nil:
		p.BogonPrefixes = BogonPrefixes(p.Preset)
	case p.BogonPrefixesFile != "" && bogonFiles != nil:
		list := slices.Clone(p.BogonPrefixes)
		for _, b := range bogonFiles[p.BogonPrefixesFile] {
			if !slices.Contains(list, b) {
				list = append(list, b)
			}
		}
		p.BogonPrefixes = list
	}
	if !set("bogon_asns") && p.BogonASNs == nil {
		p.BogonASNs = BogonASNs(p.Preset)
	}
	if !set("transit_free_asns") && p.TransitFreeASNs == nil {
		p.TransitFreeASNs = TransitFreeASNs(p.Preset)
	}
	checks := make(map[string]string, len(CheckNames))
	for _, name := range CheckNames {
		checks[name] = DefaultCheckAction(name)
	}
	for name, a := range p.Checks {
		checks[name] = a
	}
	p.Checks = checks
	return p
}

// MemberPolicy returns the effective policy of member i (see
// Member.Effective), resolving it first if the Config has not been
// through Load or ApplyDefaults.
func (c *Config) MemberPolicy(i int) Policy {
	m := &c.Members[i]
	if m.Effective.Preset != "" {
		return m.Effective
	}
	var set map[string]bool
	if m.Policy != nil {
		set = policyKeys(nil, nil, m.Policy)
	}
	global := policyKeys(nil, nil, &c.Policy)
	eff := overlayPolicy(c.Policy, m.Policy, set)
	return resolvePolicy(eff, func(k string) bool { return global[k] || set[k] }, nil)
}

// MemberHoldTime is the hold time offered to member i: its own hold_time,
// or [server] hold_time.
func (c *Config) MemberHoldTime(i int) time.Duration {
	if h := c.Members[i].HoldTime; h != nil {
		return h.Duration
	}
	if c.Server.HoldTime.Duration == 0 {
		return DefaultHoldTime
	}
	return c.Server.HoldTime.Duration
}

// Member returns the member called name, or nil.
func (c *Config) Member(name string) *Member {
	for i := range c.Members {
		if c.Members[i].Name == name {
			return &c.Members[i]
		}
	}
	return nil
}

// readFiles reads the files the configuration names and returns the bogon
// lists by the path written in the configuration.
func (c *Config) readFiles(is *issues) map[string][]netip.Prefix {
	if f := c.Server.ControlTokenFile; f != "" && c.Server.ControlToken == "" {
		if s, ok := c.readSecret(is, path{"server", "control_token_file"}, f); ok {
			c.Server.ControlTokenSecret = s
		}
	}
	c.readHTTPFiles(is)
	bogons := map[string][]netip.Prefix{}
	readBogons := func(p path, f string) {
		if f == "" {
			return
		}
		if _, done := bogons[f]; done {
			return
		}
		bogons[f] = nil
		list, err := c.readBogonFile(is, p, f)
		if err == nil {
			bogons[f] = list
		}
	}
	readBogons(path{"policy", "bogon_prefixes_file"}, c.Policy.BogonPrefixesFile)
	for i := range c.Members {
		m := &c.Members[i]
		p := path{"member", i}
		if m.MD5PasswordFile != "" && m.MD5Password == "" {
			if s, ok := c.readSecret(is, p.add("md5_password_file"), m.MD5PasswordFile); ok {
				m.MD5Secret = s
			}
		}
		if m.WebTokenFile != "" {
			m.WebToken = c.readWebToken(is, p.add("web_token_file"), m.WebTokenFile)
		}
		if m.PrefixListFile != "" {
			m.PrefixList = c.readPrefixList(is, p.add("prefix_list_file"), m.PrefixListFile)
		}
		if m.Policy != nil {
			readBogons(p.add("policy", "bogon_prefixes_file"), m.Policy.BogonPrefixesFile)
		}
	}
	return bogons
}

// readSecret reads a password or token file, removing one trailing
// newline.
func (c *Config) readSecret(is *issues, p path, f string) (string, bool) {
	data, err := os.ReadFile(c.Path(f))
	if err != nil {
		is.addErr(p, err, "cannot read %s: %s", c.Path(f), errText(err))
		return "", false
	}
	s := strings.TrimSuffix(string(data), "\n")
	s = strings.TrimSuffix(s, "\r")
	if s == "" {
		is.add(p, "%s is empty; it should hold the secret on one line", c.Path(f))
		return "", false
	}
	if strings.ContainsAny(s, "\r\n") {
		is.add(p, "%s holds more than one line; it should hold the secret on one line", c.Path(f))
		return "", false
	}
	return s, true
}

// errText is an I/O error without the path, which the message already
// names.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// err turns the collected issues into an *Error, or nil when there are
// none. Issues are ordered by the line of the setting they concern.
func (is *issues) err(c *Config, idx *lineIndex) error {
	if len(is.list) == 0 {
		return nil
	}
	return &Error{Issues: located(c, idx, is.list)}
}

// warnings are the collected warnings, located and ordered as errors are.
func (is *issues) warnings(c *Config, idx *lineIndex) []Issue {
	if len(is.warns) == 0 {
		return nil
	}
	return located(c, idx, is.warns)
}

// located gives each pending issue its file and line, in line order.
func located(c *Config, idx *lineIndex, list []pendingIssue) []Issue {
	type sorted struct {
		Issue
		at, n int
	}
	out := make([]sorted, 0, len(list))
	for n, pi := range list {
		it := Issue{Field: pi.p.display(c), Msg: pi.msg, Err: pi.err, File: c.File}
		at := idx.line(pi.p.key())
		if pi.file != "" {
			it.File, it.Line = pi.file, pi.line
		} else {
			it.Line = at
		}
		out = append(out, sorted{it, at, n})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].at != out[j].at || idx == nil {
			return out[i].at < out[j].at
		}
		return comparePaths(list[out[i].n].p, list[out[j].n].p) < 0
	})
	issues := make([]Issue, len(out))
	for i := range out {
		issues[i] = out[i].Issue
	}
	return issues
}
