package conf

import (
	"encoding"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
)

// FieldChange is one setting that differs between two configurations.
type FieldChange struct {
	// Field is the key, e.g. "server.log_level", "hold_time",
	// "max_prefixes.ipv4", "policy.max_length_v4".
	Field string
	// Old and New are the values as they would be written (secrets are
	// shown as "(hidden)").
	Old, New string
	// Added and Removed are set for lists: the entries only in the new
	// and only in the old list.
	Added, Removed []string
}

func (f FieldChange) String() string {
	if f.Added != nil || f.Removed != nil {
		var parts []string
		for _, a := range f.Added {
			parts = append(parts, "+"+a)
		}
		for _, r := range f.Removed {
			parts = append(parts, "-"+r)
		}
		return f.Field + ": " + strings.Join(parts, " ")
	}
	return fmt.Sprintf("%s: %s → %s", f.Field, f.Old, f.New)
}

// MemberChange is a member present in both configurations whose settings
// differ.
type MemberChange struct {
	Name   string
	Fields []FieldChange
	// Reset: a setting bound to the BGP sessions changed (asn, md5
	// password, gtsm, gtsm_hops, families, add_path, hold_time,
	// graceful_restart, role_strict, passive, port, local addresses), so
	// every session of the member must be re-established.
	Reset bool
	// Policy: an input of the member's policy changed (prefixes, prefix
	// list, origin_asns, policy, groups, max_prefixes, next_hops,
	// transit_for, blackhole_receive, asn): re-run import policy on its
	// routes and export policy toward it. No session reset.
	Policy bool
	// NeighborsAdded and NeighborsRemoved: sessions to open and to close.
	// The member's other sessions are unaffected unless Reset is set.
	NeighborsAdded, NeighborsRemoved []netip.Addr
}

// Changes is what a reload from one configuration to another must do.
type Changes struct {
	// Restart lists server-level changes that take effect only when fedrs
	// restarts: server asn, router_id, listen, the control API settings,
	// the history database path, history queue, the RTR server's address
	// (rpki.server).
	Restart []FieldChange
	// Live lists server-level changes applied in place: log_level,
	// connect_retry, hold_time (members whose hold time changes are also
	// listed, with Reset), history retain and exports.
	Live []FieldChange

	MembersAdded   []string
	MembersRemoved []string
	MembersChanged []MemberChange

	// Groups: [[group]] entries changed (action communities by group, the
	// origin group informational community).
	Groups       bool
	GroupChanges []FieldChange
	// Policy: the resolved global [policy] changed.
	Policy       bool
	PolicyFields []FieldChange
	// RPKI: the [rpki] table's sources changed (caches, files, slurm,
	// registry): a reload applies them.
	RPKI       bool
	RPKIFields []FieldChange
	// Registry: the federation ownership registry (the members' prefixes)
	// changed, including through members added or removed.
	Registry bool
}

// Empty reports whether the configurations are equivalent.
func (c Changes) Empty() bool {
	return len(c.Restart) == 0 && len(c.Live) == 0 && len(c.MembersAdded) == 0 &&
		len(c.MembersRemoved) == 0 && len(c.MembersChanged) == 0 && !c.Groups &&
		!c.Policy && !c.RPKI && !c.Registry
}

// NeedsRestart reports whether some change only takes effect on restart.
func (c Changes) NeedsRestart() bool { return len(c.Restart) > 0 }

// PolicyRerun reports whether import policy must be re-run from the
// Adj-RIBs-In (and exports recomputed): the global policy, groups, the
// registry, the member set or some member's policy inputs changed.
func (c Changes) PolicyRerun() bool {
	if c.Policy || c.Groups || c.Registry || c.RPKI || len(c.MembersAdded) > 0 || len(c.MembersRemoved) > 0 {
		return true
	}
	for _, m := range c.MembersChanged {
		if m.Policy {
			return true
		}
	}
	return false
}

// String lists the changes for a person, one per line.
func (c Changes) String() string {
	if c.Empty() {
		return "no changes"
	}
	var b strings.Builder
	section := func(title string, fs []FieldChange) {
		if len(fs) == 0 {
			return
		}
		b.WriteString(title + ":\n")
		for _, f := range fs {
			b.WriteString("  " + f.String() + "\n")
		}
	}
	section("needs a restart", c.Restart)
	section("applied live", c.Live)
	for _, n := range c.MembersAdded {
		fmt.Fprintf(&b, "member added: %s\n", n)
	}
	for _, n := range c.MembersRemoved {
		fmt.Fprintf(&b, "member removed: %s\n", n)
	}
	for _, m := range c.MembersChanged {
		var what []string
		if m.Reset {
			what = append(what, "sessions reset")
		}
		if len(m.NeighborsAdded)+len(m.NeighborsRemoved) > 0 && !m.Reset {
			what = append(what, "neighbor sessions opened/closed")
		}
		if m.Policy {
			what = append(what, "policy re-run")
		}
		title := "member " + m.Name
		if len(what) > 0 {
			title += " (" + strings.Join(what, ", ") + ")"
		}
		section(title, m.Fields)
	}
	section("groups", c.GroupChanges)
	section("policy", c.PolicyFields)
	section("rpki", c.RPKIFields)
	if c.Registry {
		b.WriteString("ownership registry changed\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

var (
	serverRestartKeys = []string{"asn", "router_id", "listen", "control", "control_tcp", "control_token", "control_token_file", "control_tls_cert", "control_tls_key", "history", "user", "group"}
	historyRestart    = []string{"queue"}
	rpkiRestart       = []string{"rpki.server"} // the RTR server's listener
	memberResetKeys   = []string{"asn", "port", "local_address_v4", "local_address_v6", "md5_password", "passive", "gtsm", "gtsm_hops", "role_strict", "hold_time", "families", "add_path", "graceful_restart"}
	memberPolicyKeys  = []string{"asn", "groups", "prefixes", "prefix_list_file", "prefix_list", "origin_asns", "transit_for", "next_hops", "blackhole_receive", "max_prefixes"}
	secretKeys        = []string{"control_token", "md5_password", "token"}
)

// Diff compares two loaded configurations (both through Load or
// ApplyDefaults): what a reload from old to new must do.
func Diff(old, new *Config) Changes {
	var ch Changes

	for _, f := range diffStruct("", reflect.ValueOf(old.Server), reflect.ValueOf(new.Server)) {
		if f.Field == "control_token" && old.Server.ControlTokenSecret == new.Server.ControlTokenSecret {
			continue
		}
		restart := slices.Contains(serverRestartKeys, f.Field)
		f.Field = "server." + f.Field
		if restart {
			ch.Restart = append(ch.Restart, f)
		} else {
			ch.Live = append(ch.Live, f)
		}
	}
	if old.Server.ControlTokenSecret != new.Server.ControlTokenSecret && old.Server.ControlToken == new.Server.ControlToken {
		ch.Restart = append(ch.Restart, FieldChange{Field: "server.control_token", Old: "(hidden)", New: "(hidden)"})
	}
	for _, f := range diffStruct("", reflect.ValueOf(old.History), reflect.ValueOf(new.History)) {
		restart := slices.Contains(historyRestart, f.Field)
		f.Field = "history." + f.Field
		if restart {
			ch.Restart = append(ch.Restart, f)
		} else {
			ch.Live = append(ch.Live, f)
		}
	}

	ch.Restart = append(ch.Restart, diffMonitoring(old, new)...)
	ch.Restart = append(ch.Restart, diffHTTP(old, new)...)

	for _, f := range diffStruct("rpki.", reflect.ValueOf(old.RPKI), reflect.ValueOf(new.RPKI)) {
		if slices.Contains(rpkiRestart, f.Field) {
			ch.Restart = append(ch.Restart, f)
		} else {
			ch.RPKIFields = append(ch.RPKIFields, f)
		}
	}
	ch.RPKI = len(ch.RPKIFields) > 0
	ch.PolicyFields = diffStruct("", reflect.ValueOf(old.Policy), reflect.ValueOf(new.Policy))
	ch.Policy = len(ch.PolicyFields) > 0
	for i := range ch.PolicyFields {
		ch.PolicyFields[i].Field = "policy." + ch.PolicyFields[i].Field
	}

	groupStrings := func(gs []Group) []string {
		var out []string
		for _, g := range gs {
			s := fmt.Sprintf("%s=%d", g.Name, g.ID)
			if g.Description != "" {
				s += fmt.Sprintf(" (%s)", g.Description)
			}
			out = append(out, s)
		}
		return out
	}
	if f, ok := listChange("group", groupStrings(old.Groups), groupStrings(new.Groups)); ok {
		ch.Groups = true
		ch.GroupChanges = []FieldChange{f}
	}

	oldIdx := map[string]int{}
	for i, m := range old.Members {
		oldIdx[m.Name] = i
	}
	newIdx := map[string]int{}
	for i, m := range new.Members {
		newIdx[m.Name] = i
		if _, ok := oldIdx[m.Name]; !ok {
			ch.MembersAdded = append(ch.MembersAdded, m.Name)
		}
	}
	for _, m := range old.Members {
		if _, ok := newIdx[m.Name]; !ok {
			ch.MembersRemoved = append(ch.MembersRemoved, m.Name)
		}
	}
	for j, nm := range new.Members {
		i, ok := oldIdx[nm.Name]
		if !ok {
			continue
		}
		if mc, changed := diffMember(old, i, new, j, ch.PolicyFields); changed {
			ch.MembersChanged = append(ch.MembersChanged, mc)
		}
	}

	registry := func(c *Config) []string {
		var out []string
		for _, m := range c.Members {
			for _, r := range m.Prefixes {
				out = append(out, m.Name+" "+r.String())
			}
		}
		slices.Sort(out)
		return out
	}
	ch.Registry = !slices.Equal(registry(old), registry(new))
	return ch
}

func diffMember(old *Config, i int, new *Config, j int, globalPolicy []FieldChange) (MemberChange, bool) {
	om, nm := &old.Members[i], &new.Members[j]
	mc := MemberChange{Name: nm.Name}
	skip := []string{"name", "neighbors", "hold_time", "md5_password", "md5_password_file", "policy"}
	fields := diffStruct("", reflect.ValueOf(*om), reflect.ValueOf(*nm), skip...)

	for _, a := range nm.Neighbors {
		if !slices.Contains(om.Neighbors, a) {
			mc.NeighborsAdded = append(mc.NeighborsAdded, a)
		}
	}
	for _, a := range om.Neighbors {
		if !slices.Contains(nm.Neighbors, a) {
			mc.NeighborsRemoved = append(mc.NeighborsRemoved, a)
		}
	}
	if f, ok := listChange("neighbors", formatAddrs(om.Neighbors), formatAddrs(nm.Neighbors)); ok {
		fields = append(fields, f)
	}
	if oh, nh := old.MemberHoldTime(i), new.MemberHoldTime(j); oh != nh {
		fields = append(fields, FieldChange{Field: "hold_time", Old: oh.String(), New: nh.String()})
	}
	if om.MD5Secret != nm.MD5Secret {
		fields = append(fields, FieldChange{Field: "md5_password", Old: hidden(om.MD5Secret), New: hidden(nm.MD5Secret)})
	} else if om.MD5PasswordFile != nm.MD5PasswordFile {
		fields = append(fields, FieldChange{Field: "md5_password_file", Old: om.MD5PasswordFile, New: nm.MD5PasswordFile})
	}
	if f, ok := diffWebToken(om, nm); ok {
		fields = append(fields, f)
	}
	if om.PrefixListFile == nm.PrefixListFile && !om.PrefixList.Equal(nm.PrefixList) {
		f, _ := listChange("prefix_list", formatAll(slices.Collect(om.PrefixList.All())), formatAll(slices.Collect(nm.PrefixList.All())))
		fields = append(fields, f)
	}
	for _, f := range diffStruct("policy.", reflect.ValueOf(om.Effective), reflect.ValueOf(nm.Effective)) {
		// A change of the global policy shows once, under policy, not
		// again for every member that inherits it.
		if slices.ContainsFunc(globalPolicy, func(g FieldChange) bool {
			return g.Field == f.Field && g.Old == f.Old && g.New == f.New && slices.Equal(g.Added, f.Added) && slices.Equal(g.Removed, f.Removed)
		}) {
			continue
		}
		fields = append(fields, f)
	}

	for _, f := range fields {
		key, _, _ := strings.Cut(f.Field, ".")
		if slices.Contains(memberResetKeys, key) {
			mc.Reset = true
		}
		if slices.Contains(memberPolicyKeys, key) || key == "policy" {
			mc.Policy = true
		}
	}
	mc.Fields = fields
	return mc, len(fields) > 0
}

func hidden(s string) string {
	if s == "" {
		return "(none)"
	}
	return "(hidden)"
}

// diffStruct compares two structs field by field (TOML keys), recursing
// into nested tables. Keys in skip are left out.
func diffStruct(prefix string, a, b reflect.Value, skip ...string) []FieldChange {
	var out []FieldChange
	idx, keys := tomlFields(a.Type())
	for _, k := range keys {
		if slices.Contains(skip, k) {
			continue
		}
		fa, fb := a.Field(idx[k]), b.Field(idx[k])
		if reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			continue
		}
		if fa.Kind() == reflect.Struct && !isText(fa.Type()) {
			out = append(out, diffStruct(prefix+k+".", fa, fb)...)
			continue
		}
		field := prefix + k
		if slices.Contains(secretKeys, k) {
			out = append(out, FieldChange{Field: field, Old: hidden(fa.String()), New: hidden(fb.String())})
			continue
		}
		switch fa.Kind() {
		case reflect.Slice, reflect.Map:
			if f, ok := listChange(field, formatList(fa), formatList(fb)); ok {
				out = append(out, f)
			}
			continue
		}
		out = append(out, FieldChange{Field: field, Old: format(fa), New: format(fb)})
	}
	return out
}

func isText(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// listChange compares two lists as sets of entries.
func listChange(field string, a, b []string) (FieldChange, bool) {
	f := FieldChange{Field: field, Added: []string{}, Removed: []string{}}
	for _, x := range b {
		if !slices.Contains(a, x) {
			f.Added = append(f.Added, x)
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			f.Removed = append(f.Removed, x)
		}
	}
	if len(f.Added) == 0 && len(f.Removed) == 0 {
		if slices.Equal(a, b) {
			return f, false
		}
		// Same entries, different order or multiplicity.
		return FieldChange{Field: field, Old: "[" + strings.Join(a, ", ") + "]", New: "[" + strings.Join(b, ", ") + "]"}, true
	}
	return f, true
}

func formatAddrs(as []netip.Addr) []string { return formatAll(as) }

func formatAll[T any](vs []T) []string {
	out := make([]string, len(vs))
	for i := range vs {
		out[i] = format(reflect.ValueOf(vs[i]))
	}
	return out
}

func formatList(v reflect.Value) []string {
	if v.Kind() == reflect.Map {
		var out []string
		iter := v.MapRange()
		for iter.Next() {
			out = append(out, fmt.Sprintf("%v=%s", iter.Key(), format(iter.Value())))
		}
		slices.Sort(out)
		return out
	}
	out := make([]string, v.Len())
	for i := range out {
		out[i] = format(v.Index(i))
	}
	return out
}

// format writes a value as it would appear in the file.
func format(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "(default)"
		}
		return format(v.Elem())
	case reflect.String:
		if v.String() == "" {
			return `""`
		}
		return v.String()
	case reflect.Slice, reflect.Map:
		return "[" + strings.Join(formatList(v), ", ") + "]"
	}
	if a, ok := v.Interface().(netip.Addr); ok && !a.IsValid() {
		return "(none)"
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		if b, err := m.MarshalText(); err == nil {
			return string(b)
		}
	}
	if v.Kind() == reflect.Struct {
		return "{" + strings.Join(structFields(v), ", ") + "}"
	}
	return fmt.Sprint(v.Interface())
}

func structFields(v reflect.Value) []string {
	idx, keys := tomlFields(v.Type())
	var out []string
	for _, k := range keys {
		out = append(out, k+" = "+format(v.Field(idx[k])))
	}
	return out
}
