package history

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/fedrs/fedrs/conf"
)

// ParseTime reads a time argument: RFC 3339 ("2026-11-25T08:00:00Z"),
// "2026-11-25 08:00" or "2026-11-25 08:00:05" or "2026-11-25" in loc,
// "now", or a time relative to now ("-2h", "-90m", "-3d").
func ParseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return time.Time{}, fmt.Errorf("empty time; %s", timeHelp)
	}
	if in == "now" {
		return now, nil
	}
	if strings.HasPrefix(in, "-") || strings.HasPrefix(in, "+") {
		d, err := conf.ParseDuration(in[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: %q is not a duration; %s", s, in[1:], timeHelp)
		}
		if in[0] == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339} {
		if t, err := time.Parse(layout, in); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02 15:04:05", "2006-01-02 15:04",
		"2006-01-02T15:04:05.999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, in, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q not understood; %s", s, timeHelp)
}

const timeHelp = `use RFC 3339 ("2026-11-25T08:00:00Z"), a local time ("2026-11-25 08:00"), or a time relative to now ("-2h", "-3d")`

// ParsePrefix reads a prefix argument; a bare address is the host prefix
// (/32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	in := strings.TrimSpace(s)
	if !strings.Contains(in, "/") {
		if a, err := netip.ParseAddr(in); err == nil {
			if a.Zone() != "" {
				return netip.Prefix{}, fmt.Errorf("prefix %q: zones are not allowed; e.g. 10.1.0.0/16 or 2001:db8::/32", s)
			}
			return netip.PrefixFrom(a, a.BitLen()), nil
		}
		return netip.Prefix{}, fmt.Errorf("prefix %q is not a prefix or an address; e.g. 10.1.0.0/16, 2001:db8::/32 or 10.1.2.3", s)
	}
	p, err := netip.ParsePrefix(in)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("prefix %q is not valid (%v); e.g. 10.1.0.0/16 or 2001:db8::/32", s, err)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("prefix %q: IPv4-mapped IPv6 is not a route prefix; write the IPv4 prefix, e.g. 10.1.0.0/16", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("prefix %q has host bits set; did you mean %s?", s, m)
	}
	return p, nil
}
