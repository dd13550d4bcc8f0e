package lab

import (
	"fmt"
	"strconv"
	"strings"
)

// Community is an RFC 1997 community, written "ASN:VALUE" (both 16 bits).
// Well-known names are accepted when parsing ("blackhole",
// "graceful-shutdown", "no-export", "no-advertise", ...) in the spellings
// FRR and OpenBGPD print.
type Community struct {
	ASN, Value uint16
}

// Well-known communities.
var (
	CommunityGracefulShutdown = Community{0xffff, 0}
	CommunityBlackhole        = Community{0xffff, 666}
	CommunityNoExport         = Community{0xffff, 65281}
	CommunityNoAdvertise      = Community{0xffff, 65282}
)

var wellKnownCommunities = map[string]Community{
	"graceful-shutdown":   CommunityGracefulShutdown,
	"accept-own":          {0xffff, 1},
	"llgr-stale":          {0xffff, 6},
	"no-llgr":             {0xffff, 7},
	"blackhole":           CommunityBlackhole,
	"no-export":           CommunityNoExport,
	"no-advertise":        CommunityNoAdvertise,
	"local-as":            {0xffff, 65283},
	"no-export-subconfed": {0xffff, 65283},
	"no-peer":             {0xffff, 65284},
	"internet":            {0, 0},
}

// Uint32 returns the community as the 32-bit value carried on the wire.
func (c Community) Uint32() uint32 { return uint32(c.ASN)<<16 | uint32(c.Value) }

// CommunityFromUint32 splits a wire value.
func CommunityFromUint32(v uint32) Community { return Community{uint16(v >> 16), uint16(v)} }

func (c Community) String() string { return fmt.Sprintf("%d:%d", c.ASN, c.Value) }

// MarshalText implements encoding.TextMarshaler.
func (c Community) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Community) UnmarshalText(b []byte) error {
	v, err := ParseCommunity(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseCommunity parses "ASN:VALUE" or a well-known name.
func ParseCommunity(s string) (Community, error) {
	s = strings.TrimSpace(s)
	var kebab strings.Builder // FRR's JSON says "gracefulShutdown"
	for i, r := range s {
		if r >= 'A' && r <= 'Z' && i > 0 && s[i-1] >= 'a' && s[i-1] <= 'z' {
			kebab.WriteByte('-')
		}
		kebab.WriteRune(r)
	}
	name := strings.ReplaceAll(strings.ToLower(kebab.String()), "_", "-")
	if c, ok := wellKnownCommunities[name]; ok {
		return c, nil
	}
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return Community{}, fmt.Errorf("invalid community %q: want ASN:VALUE with both parts 0-65535, or a well-known name like \"blackhole\"", s)
	}
	x, err1 := strconv.ParseUint(a, 10, 16)
	y, err2 := strconv.ParseUint(b, 10, 16)
	if err1 != nil || err2 != nil {
		return Community{}, fmt.Errorf("invalid community %q: both parts must be 0-65535 (use a large community for 32-bit ASNs)", s)
	}
	return Community{uint16(x), uint16(y)}, nil
}

// LargeCommunity is an RFC 8092 large community, "GLOBAL:LOCAL1:LOCAL2".
type LargeCommunity struct {
	Global, Local1, Local2 uint32
}

func (c LargeCommunity) String() string {
	return fmt.Sprintf("%d:%d:%d", c.Global, c.Local1, c.Local2)
}

// MarshalText implements encoding.TextMarshaler.
func (c LargeCommunity) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *LargeCommunity) UnmarshalText(b []byte) error {
	v, err := ParseLargeCommunity(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseLargeCommunity parses "GLOBAL:LOCAL1:LOCAL2".
func ParseLargeCommunity(s string) (LargeCommunity, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 3 {
		return LargeCommunity{}, fmt.Errorf("invalid large community %q: want GLOBAL:LOCAL1:LOCAL2", s)
	}
	var v [3]uint32
	for i, p := range parts {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 32)
		if err != nil {
			return LargeCommunity{}, fmt.Errorf("invalid large community %q: each part must be 0-4294967295", s)
		}
		v[i] = uint32(n)
	}
	return LargeCommunity{v[0], v[1], v[2]}, nil
}
