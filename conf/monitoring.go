package conf

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// BMPCollector is one [[bmp]]: a BMP (RFC 7854) collector the route server
// connects to and streams its routes to (pmacct, OpenBMP, GoBMP, ...).
type BMPCollector struct {
	// Name identifies the collector in logs, status and metrics. Default:
	// its address.
	Name string `toml:"name"`
	// Address is the collector's "host:port"; host names are allowed.
	Address string `toml:"address"`
	// Views are the tables streamed: "pre-policy" (Adj-RIB-In as received,
	// filtered routes included), "post-policy" (Adj-RIB-In after import
	// policy: accepted routes only), "loc-rib" (RFC 9069: the best route
	// per prefix). Default all three.
	Views []string `toml:"views"`
	// Queue bounds the events waiting to be sent to this collector. When
	// it overflows the connection is dropped (the route server never
	// waits for a collector) and the full state is sent again on
	// reconnect. Default 65536.
	Queue int `toml:"queue"`
	// ConnectRetry is the first back-off between connection attempts; it
	// doubles up to 8× while the collector stays unreachable. Default 5s.
	ConnectRetry Duration `toml:"connect_retry"`
}

// MRT is the [mrt] table: periodic MRT TABLE_DUMP_V2 (RFC 6396) dumps of
// the RIB. Without dump_dir there are none (on-demand dumps through the
// control API work regardless).
type MRT struct {
	// DumpDir is the directory the dumps are written to, one file per
	// dump named rib.YYYYMMDD.HHMM.mrt (UTC).
	DumpDir string `toml:"dump_dir"`
	// Interval between dumps. Default 2h; at least 1m.
	Interval Duration `toml:"interval"`
	// Keep is how many dumps are kept in DumpDir (older ones removed);
	// 0 keeps every dump.
	Keep int `toml:"keep"`
}

// BMP views.
const (
	BMPViewPrePolicy  = "pre-policy"
	BMPViewPostPolicy = "post-policy"
	BMPViewLocRIB     = "loc-rib"
)

// Defaults of [[bmp]] and [mrt].
const (
	DefaultBMPQueue        = 65536
	DefaultBMPConnectRetry = 5 * time.Second
	DefaultMRTInterval     = 2 * time.Hour
	MinMRTInterval         = time.Minute
)

// BMPViews lists the valid [[bmp]] views.
var BMPViews = []string{BMPViewPrePolicy, BMPViewPostPolicy, BMPViewLocRIB}

// DefaultBMPViews is the default [[bmp]] views: all of them.
func DefaultBMPViews() []string { return append([]string(nil), BMPViews...) }

// HasView reports whether the collector is sent view v.
func (b *BMPCollector) HasView(v string) bool {
	for _, x := range b.Views {
		if x == v {
			return true
		}
	}
	return false
}

func (c *Config) monitoringDefaults(set func(path, reflect.Value) bool) {
	for i := range c.BMP {
		b := &c.BMP[i]
		p := path{"bmp", i}
		if b.Name == "" {
			b.Name = b.Address
		}
		if b.Views == nil {
			b.Views = DefaultBMPViews()
		}
		if b.Queue == 0 && !set(p.add("queue"), reflect.ValueOf(b.Queue)) {
			b.Queue = DefaultBMPQueue
		}
		if b.ConnectRetry.Duration == 0 && !set(p.add("connect_retry"), reflect.ValueOf(b.ConnectRetry)) {
			b.ConnectRetry.Duration = DefaultBMPConnectRetry
		}
	}
	m := &c.MRT
	if m.DumpDir != "" && m.Interval.Duration == 0 && !set(path{"mrt", "interval"}, reflect.ValueOf(m.Interval)) {
		m.Interval.Duration = DefaultMRTInterval
	}
}

func (v *validator) bmp() {
	names := map[string]int{}
	addrs := map[string]int{}
	for i, b := range v.c.BMP {
		p := path{"bmp", i}
		switch {
		case b.Address == "":
			v.is.add(p.add("address"), `missing: the collector's "host:port", e.g. address = "bmp.example.net:1790"`)
		default:
			if msg := hostPortProblem(b.Address, true); msg != "" {
				v.is.add(p.add("address"), "%s (the collector's host and port, e.g. \"bmp.example.net:1790\")", msg)
			} else if j, dup := addrs[b.Address]; dup {
				v.is.add(p.add("address"), "%q is also bmp[%d]", b.Address, j+1)
			}
			addrs[b.Address] = i
		}
		if b.Name != b.Address {
			if msg := nameProblem(b.Name, "[[bmp]]"); msg != "" {
				v.is.add(p.add("name"), "%s", msg)
			}
		}
		if j, dup := names[b.Name]; dup && b.Name != "" && b.Name != b.Address {
			v.is.add(p.add("name"), "%q is also the name of bmp[%d]", b.Name, j+1)
		}
		names[b.Name] = i
		if len(b.Views) == 0 {
			v.is.add(p.add("views"), "no views: nothing would be sent; use some of %s, or leave views out for all", quoteList(BMPViews))
		}
		seen := map[string]bool{}
		for k, view := range b.Views {
			oneOf(v.is, p.add("views", k), view, BMPViews)
			if seen[view] {
				v.is.add(p.add("views", k), "%q is listed twice", view)
			}
			seen[view] = true
		}
		if b.Queue < 1 {
			v.is.add(p.add("queue"), "%d is too small; use a number of events, at least 1 (default %d)", b.Queue, DefaultBMPQueue)
		}
		if b.ConnectRetry.Duration < time.Second {
			v.is.add(p.add("connect_retry"), "%s is too short; use 1s or more (default %s)", b.ConnectRetry.Duration, DefaultBMPConnectRetry)
		}
	}
}

func (v *validator) mrt() {
	m := &v.c.MRT
	p := path{"mrt"}
	if strings.TrimSpace(m.DumpDir) == "" {
		if m.DumpDir != "" {
			v.is.add(p.add("dump_dir"), "empty path; name a directory, e.g. dump_dir = \"/var/lib/fedrs/mrt\"")
		}
		for _, k := range []struct {
			key string
			set bool
		}{{"interval", m.Interval.Duration != 0 || v.written(p.add("interval"))}, {"keep", m.Keep != 0 || v.written(p.add("keep"))}} {
			if k.set {
				v.is.add(p.add(k.key), "has no effect without dump_dir; set dump_dir = \"/var/lib/fedrs/mrt\" or remove it")
			}
		}
		return
	}
	if m.Interval.Duration < MinMRTInterval {
		v.is.add(p.add("interval"), "%s is too short; use %s or more (default %s)", m.Interval.Duration, MinMRTInterval, DefaultMRTInterval)
	}
	if m.Keep < 0 {
		v.is.add(p.add("keep"), "%d is negative; use the number of dumps to keep, or 0 to keep every dump", m.Keep)
	}
}

// written reports whether the key at p was written in the file.
func (v *validator) written(p path) bool { return v.present != nil && v.present(p) }

// diffMonitoring lists [[bmp]] and [mrt] changes; they take effect at the
// next restart.
func diffMonitoring(old, new *Config) []FieldChange {
	var out []FieldChange
	str := func(bs []BMPCollector) []string {
		s := make([]string, len(bs))
		for i, b := range bs {
			s[i] = fmt.Sprintf("%s (%s; views %s; queue %d; connect_retry %s)", b.Name, b.Address, strings.Join(b.Views, ", "), b.Queue, b.ConnectRetry.Duration)
		}
		return s
	}
	if f, ok := listChange("bmp", str(old.BMP), str(new.BMP)); ok {
		out = append(out, f)
	}
	out = append(out, diffStruct("mrt.", reflect.ValueOf(old.MRT), reflect.ValueOf(new.MRT))...)
	return out
}
