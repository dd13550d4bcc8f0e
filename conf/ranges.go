package conf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// familyMax is the longest prefix length of p's address family.
func familyMax(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 32
	}
	return 128
}

// ParsePrefix parses a prefix and insists that it is canonical (no host
// bits set): "10.1.2.0/16" is an error that suggests "10.1.0.0/16".
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, errors.New(`empty prefix; write e.g. "10.1.0.0/16" or "2001:db8:100::/40"`)
	}
	if !strings.Contains(s, "/") {
		if a, err := netip.ParseAddr(s); err == nil {
			return netip.Prefix{}, fmt.Errorf("%s has no prefix length; write e.g. %s/%d", s, s, guessBits(a))
		}
		return netip.Prefix{}, fmt.Errorf(`%q is not a prefix; write e.g. "10.1.0.0/16" or "2001:db8:100::/40"`, s)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		addr, bits, _ := strings.Cut(s, "/")
		if a, aerr := netip.ParseAddr(addr); aerr == nil {
			if n, nerr := strconv.Atoi(bits); nerr == nil && (n < 0 || n > a.BitLen()) {
				return netip.Prefix{}, fmt.Errorf("%s: /%d is longer than an IPv%d prefix can be (at most /%d)", s, n, ipVersion(a), a.BitLen())
			}
		}
		return netip.Prefix{}, fmt.Errorf(`%q is not a prefix; write e.g. "10.1.0.0/16" or "2001:db8:100::/40"`, s)
	}
	if p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%s: a prefix cannot carry a zone", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%s is not a canonical prefix (host bits are set); did you mean %s?", s, m)
	}
	return p, nil
}

// guessBits is the shortest octet (IPv4) or hextet (IPv6) boundary at
// which a is a canonical prefix: 10.2.0.0 → 16, 192.0.2.1 → 32.
func guessBits(a netip.Addr) int {
	step := 8
	if !a.Is4() {
		step = 16
	}
	for bits := step; bits < a.BitLen(); bits += step {
		if p := netip.PrefixFrom(a, bits); p.Masked().Addr() == a {
			return bits
		}
	}
	return a.BitLen()
}

func ipVersion(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// ParsePrefixRange parses "PREFIX [ge N] [le N] [shared]"; the words after
// the prefix may come in any order.
func ParsePrefixRange(s string) (PrefixRange, error) {
	const form = `write "PREFIX [ge N] [le N] [shared]", e.g. "10.1.0.0/16 le 24"`
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return PrefixRange{}, errors.New("empty prefix; " + form)
	}
	p, err := ParsePrefix(fields[0])
	if err != nil {
		return PrefixRange{}, err
	}
	r := PrefixRange{Prefix: p}
	max := familyMax(p)
	seen := map[string]bool{}
	for i := 1; i < len(fields); i++ {
		w := strings.ToLower(fields[i])
		if seen[w] {
			return PrefixRange{}, fmt.Errorf("%q: %s is given twice", s, w)
		}
		seen[w] = true
		switch w {
		case "shared":
			r.Shared = true
		case "ge", "le":
			if i+1 >= len(fields) {
				return PrefixRange{}, fmt.Errorf("%q: %s needs a prefix length after it, e.g. %s %d", s, w, w, min(p.Bits()+8, max))
			}
			i++
			n, err := strconv.Atoi(fields[i])
			if err != nil {
				return PrefixRange{}, fmt.Errorf("%q: %s %s is not a prefix length; use a number %d-%d", s, w, fields[i], p.Bits(), max)
			}
			if n > max {
				return PrefixRange{}, fmt.Errorf("%q: %s %d is longer than an IPv%d prefix can be; use %d-%d", s, w, n, ipVersion(p.Addr()), p.Bits(), max)
			}
			if n < p.Bits() {
				return PrefixRange{}, fmt.Errorf("%q: %s %d is shorter than the prefix itself (/%d); use %d-%d", s, w, n, p.Bits(), p.Bits(), max)
			}
			if n == 0 { // only possible for a /0; 0 means "not given"
				return PrefixRange{}, fmt.Errorf("%q: %s 0 matches only the default route; leave it out", s, w)
			}
			if w == "ge" {
				r.GE = n
			} else {
				r.LE = n
			}
		default:
			return PrefixRange{}, fmt.Errorf("%q: unexpected %q; %s", s, fields[i], form)
		}
	}
	if r.GE != 0 && r.LE != 0 && r.LE < r.GE {
		return PrefixRange{}, fmt.Errorf("%q: le %d is less than ge %d; nothing would match", s, r.LE, r.GE)
	}
	return r, nil
}

// Bounds returns the inclusive range of prefix lengths the range admits:
// the prefix length alone when neither ge nor le is given; ge defaults to
// the prefix length and le to the family maximum (32 or 128) otherwise.
func (r PrefixRange) Bounds() (lo, hi int) {
	bits := r.Prefix.Bits()
	switch {
	case r.GE == 0 && r.LE == 0:
		return bits, bits
	case r.GE == 0:
		return bits, r.LE
	case r.LE == 0:
		return r.GE, familyMax(r.Prefix)
	}
	return r.GE, r.LE
}

// Contains reports whether p is inside the range: within r.Prefix and
// with a length Bounds admits. Prefixes of the other family never match.
func (r PrefixRange) Contains(p netip.Prefix) bool {
	if !r.Prefix.IsValid() || !p.IsValid() || p.Addr().Is4() != r.Prefix.Addr().Is4() {
		return false
	}
	lo, hi := r.Bounds()
	b := p.Bits()
	return b >= lo && b <= hi && r.Prefix.Contains(p.Addr())
}

// String formats the range as ParsePrefixRange reads it.
func (r PrefixRange) String() string {
	s := r.Prefix.String()
	if r.GE != 0 {
		s += " ge " + strconv.Itoa(r.GE)
	}
	if r.LE != 0 {
		s += " le " + strconv.Itoa(r.LE)
	}
	if r.Shared {
		s += " shared"
	}
	return s
}

// MarshalText implements encoding.TextMarshaler.
func (r PrefixRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *PrefixRange) UnmarshalText(b []byte) error {
	v, err := ParsePrefixRange(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

const asnForm = `write an AS number or range, e.g. 64512, "AS64512" or "64512-65534"`

// ParseASNRange parses "N", "N-M", with an optional "AS" prefix on either
// number ("AS65000", "AS64512-AS65534").
func ParseASNRange(s string) (ASNRange, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return ASNRange{}, errors.New("empty AS number; " + asnForm)
	}
	lo, hi, isRange := strings.Cut(t, "-")
	min, err := parseASN(lo)
	if err != nil {
		return ASNRange{}, fmt.Errorf("%q: %w", s, err)
	}
	max := min
	if isRange {
		if max, err = parseASN(hi); err != nil {
			return ASNRange{}, fmt.Errorf("%q: %w", s, err)
		}
		if max < min {
			return ASNRange{}, fmt.Errorf("%q is backwards; write %d-%d", s, max, min)
		}
	}
	return ASNRange{Min: min, Max: max}, nil
}

func parseASN(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && strings.EqualFold(s[:2], "AS") {
		s = s[2:]
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not an AS number; %s", asnForm)
	}
	if n > 4294967295 {
		return 0, fmt.Errorf("%d is out of range; AS numbers are 0-4294967295", n)
	}
	return uint32(n), nil
}

// Contains reports whether asn is within the range.
func (r ASNRange) Contains(asn uint32) bool { return asn >= r.Min && asn <= r.Max }

// String formats the range as "N" or "N-M".
func (r ASNRange) String() string {
	if r.Min == r.Max {
		return strconv.FormatUint(uint64(r.Min), 10)
	}
	return strconv.FormatUint(uint64(r.Min), 10) + "-" + strconv.FormatUint(uint64(r.Max), 10)
}

// MarshalText implements encoding.TextMarshaler.
func (r ASNRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *ASNRange) UnmarshalText(b []byte) error {
	v, err := ParseASNRange(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ASNRangesContain reports whether any of the ranges contains asn.
func ASNRangesContain(rs []ASNRange, asn uint32) bool {
	for _, r := range rs {
		if r.Contains(asn) {
			return true
		}
	}
	return false
}
