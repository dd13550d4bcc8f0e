package conf

import (
	"encoding"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The TOML library decodes straight into structs but stops at the first
// value it cannot convert. fedrs reports every problem at once, so the
// document is parsed into its generic form (map[string]any) and this file
// converts it into Config, value by value, recording each failure against
// its path and carrying on. The walk also tells unknown keys apart from
// known ones, with a suggestion when one is close.

var (
	typAddr        = reflect.TypeFor[netip.Addr]()
	typPrefix      = reflect.TypeFor[netip.Prefix]()
	typPrefixRange = reflect.TypeFor[PrefixRange]()
	typASNRange    = reflect.TypeFor[ASNRange]()
	typDuration    = reflect.TypeFor[Duration]()
	typText        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// tomlFields maps the TOML keys of struct type t to field indices, and
// lists the keys in declaration order.
func tomlFields(t reflect.Type) (map[string]int, []string) {
	idx := map[string]int{}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		idx[tag] = i
		keys = append(keys, tag)
	}
	return idx, keys
}

type decoder struct {
	is *issues
}

// tableName is how a table at p is written in the file: "[server]",
// "[[member]]", "[member.policy]", or "the top level".
func tableName(p path) string {
	var parts []string
	for _, e := range p {
		if s, ok := e.(string); ok {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "the top level"
	}
	if _, ok := p[len(p)-1].(int); ok {
		return "[[" + strings.Join(parts, ".") + "]]"
	}
	return "[" + strings.Join(parts, ".") + "]"
}

func (d *decoder) table(raw map[string]any, rv reflect.Value, p path) {
	idx, keys := tomlFields(rv.Type())
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		i, ok := idx[k]
		if !ok {
			d.unknown(p.add(k), k, keys, tableName(p))
			continue
		}
		d.value(raw[k], rv.Field(i), p.add(k))
	}
}

func (d *decoder) unknown(p path, key string, known []string, table string) {
	d.is.fail(p)
	msg := fmt.Sprintf("unknown key %q in %s", key, table)
	if s := suggest(key, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else if where := otherTable(key, table); where != "" {
		msg += fmt.Sprintf("; %q is a key of %s", key, where)
	}
	d.is.list = append(d.is.list, pendingIssue{p: p, msg: msg})
}

// otherTable names another table that has key, for a key put in the
// wrong place.
func otherTable(key, except string) string {
	tables := []struct {
		name string
		t    reflect.Type
	}{
		{"[server]", reflect.TypeFor[Server]()},
		{"[history]", reflect.TypeFor[History]()},
		{"[rpki]", reflect.TypeFor[RPKI]()},
		{"[policy]", reflect.TypeFor[Policy]()},
		{"[[group]]", reflect.TypeFor[Group]()},
		{"[[member]]", reflect.TypeFor[Member]()},
		{"[member.max_prefixes]", reflect.TypeFor[MaxPrefixes]()},
	}
	for _, t := range tables {
		if t.name == except {
			continue
		}
		if idx, _ := tomlFields(t.t); idx != nil {
			if _, ok := idx[key]; ok {
				return t.name
			}
		}
	}
	return ""
}

// suggest returns the known key closest to key, if it is close enough to
// be a likely typo.
func suggest(key string, known []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	best, bestD := "", math.MaxInt
	for _, k := range known {
		if norm(k) == norm(key) || norm(k) == norm(key)+"s" || norm(k)+"s" == norm(key) {
			return k
		}
		if d := levenshtein(norm(key), norm(k)); d < bestD {
			best, bestD = k, d
		}
	}
	limit := 2
	if len(key) <= 4 {
		limit = 1
	}
	if len(key) >= 10 {
		limit = 3
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// levenshtein is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours ("nsh" for
// "nhs") each count 1.
func levenshtein(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// bad records a value that could not be decoded.
func (d *decoder) bad(p path, format string, args ...any) {
	d.is.add(p, format, args...)
	d.is.fail(p)
}

func (d *decoder) value(raw any, rv reflect.Value, p path) {
	t := rv.Type()
	switch t {
	case typAddr:
		s, ok := d.str(raw, t, p)
		if !ok {
			return
		}
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			d.bad(p, `%q is not an IP address; write e.g. "192.0.2.11" or "2001:db8:ffff::11"`, s)
			return
		}
		rv.Set(reflect.ValueOf(a))
		return
	case typPrefix:
		s, ok := d.str(raw, t, p)
		if !ok {
			return
		}
		pfx, err := ParsePrefix(s)
		if err != nil {
			d.bad(p, "%s", err)
			return
		}
		rv.Set(reflect.ValueOf(pfx))
		return
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(typText) {
		var s string
		switch v := raw.(type) {
		case string:
			s = v
		case int64:
			if t != typASNRange {
				d.typeErr(p, raw, t)
				return
			}
			s = strconv.FormatInt(v, 10)
		default:
			d.typeErr(p, raw, t)
			return
		}
		if err := rv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.bad(p, "%s", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		n := reflect.New(t.Elem())
		d.value(raw, n.Elem(), p)
		rv.Set(n)
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			if _, isArray := raw.([]map[string]any); isArray {
				d.bad(p, "%s is a single table: write [%s], not [[%s]]", p.key(), p.key(), p.key())
				return
			}
			d.typeErr(p, raw, t)
			return
		}
		d.table(m, rv, p)
	case reflect.Slice:
		var items []any
		switch v := raw.(type) {
		case []any:
			items = v
		case []map[string]any:
			for _, m := range v {
				items = append(items, m)
			}
		case map[string]any:
			if t.Elem().Kind() == reflect.Struct && !reflect.PointerTo(t.Elem()).Implements(typText) {
				d.bad(p, "each %s is an entry of an array of tables: write [[%s]], not [%s]", p.key(), p.key(), p.key())
				return
			}
			d.typeErr(p, raw, t)
			return
		default:
			d.typeErr(p, raw, t)
			return
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		for i, it := range items {
			d.value(it, s.Index(i), p.add(i))
		}
		rv.Set(s)
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok || t.Key().Kind() != reflect.String {
			d.typeErr(p, raw, t)
			return
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for k, v := range m {
			ev := reflect.New(t.Elem()).Elem()
			d.value(v, ev, p.add(k))
			out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
		rv.Set(out)
	case reflect.String:
		if s, ok := d.str(raw, t, p); ok {
			rv.SetString(s)
		}
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			if s, isStr := raw.(string); isStr && (s == "true" || s == "false") {
				d.bad(p, "write %s without quotes", s)
				return
			}
			d.typeErr(p, raw, t)
			return
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := d.integer(raw, t, p)
		if !ok {
			return
		}
		if rv.OverflowInt(n) {
			d.bad(p, "%d is out of range", n)
			return
		}
		rv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := d.integer(raw, t, p)
		if !ok {
			return
		}
		if n < 0 || rv.OverflowUint(uint64(n)) {
			if last, _ := p[len(p)-1].(string); last == "asn" {
				d.bad(p, "%d is not a valid ASN; %s", n, asnHint)
				return
			}
			d.bad(p, "%d is out of range; use 0-%d", n, uint64(1)<<t.Bits()-1)
			return
		}
		rv.SetUint(uint64(n))
	default:
		d.bad(p, "cannot decode into %s", t)
	}
}

func (d *decoder) str(raw any, t reflect.Type, p path) (string, bool) {
	s, ok := raw.(string)
	if !ok {
		d.typeErr(p, raw, t)
	}
	return s, ok
}

func (d *decoder) integer(raw any, t reflect.Type, p path) (int64, bool) {
	switch v := raw.(type) {
	case int64:
		return v, true
	case string:
		if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			d.bad(p, "want a whole number: write %s without quotes", strings.TrimSpace(v))
			return 0, false
		}
	}
	d.typeErr(p, raw, t)
	return 0, false
}

func (d *decoder) typeErr(p path, raw any, t reflect.Type) {
	d.bad(p, "want %s, not %s", wantType(t), describe(raw))
}

func describe(raw any) string {
	switch v := raw.(type) {
	case string:
		return fmt.Sprintf("the string %q", v)
	case int64:
		return fmt.Sprintf("the number %d", v)
	case float64:
		return fmt.Sprintf("the number %v", v)
	case bool:
		return fmt.Sprintf("%v", v)
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%v", raw)
}

func wantType(t reflect.Type) string {
	switch t {
	case typAddr:
		return `an IP address in quotes, e.g. "192.0.2.11"`
	case typPrefix:
		return `a prefix in quotes, e.g. "192.0.2.0/24"`
	case typPrefixRange:
		return `a prefix in quotes, e.g. "10.1.0.0/16 le 24"`
	case typASNRange:
		return `an AS number or range, e.g. 64512 or "64512-65534"`
	case typDuration:
		return `a duration in quotes, e.g. "90s", "15m" or "400d"`
	}
	switch t.Kind() {
	case reflect.Pointer:
		return wantType(t.Elem())
	case reflect.String:
		return "a string in quotes"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Slice:
		return "an array, e.g. " + exampleArray(t.Elem())
	case reflect.Struct, reflect.Map:
		return "a table"
	}
	return t.String()
}

func exampleArray(t reflect.Type) string {
	switch t {
	case typAddr:
		return `["192.0.2.11", "2001:db8:ffff::11"]`
	case typPrefix:
		return `["192.0.2.0/24", "2001:db8::/32"]`
	case typPrefixRange:
		return `["10.1.0.0/16 le 24", "2001:db8:100::/40 le 48"]`
	case typASNRange:
		return `[64512, "4200000000-4294967294"]`
	}
	switch t.Kind() {
	case reflect.String:
		return `["a", "b"]`
	case reflect.Struct:
		return "an array of tables"
	}
	return "[...]"
}
