package rpki

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Feed is the data of one VRP/ASPA JSON file.
type Feed struct {
	VRPs  []VRP
	ASPAs []ASPA
}

// asnField is an AS number written as a JSON number (64496) or a string
// ("AS64496", "as64496" or "64496").
type asnField uint32

func (a *asnField) UnmarshalJSON(b []byte) error {
	v, err := parseASNJSON(b)
	*a = asnField(v)
	return err
}

func parseASNJSON(b []byte) (uint32, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		return ParseASN(s)
	}
	n, err := strconv.ParseUint(string(b), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("AS number %s: want 0..4294967295 or \"AS…\"", b)
	}
	return uint32(n), nil
}

// ParseASN parses "64496", "AS64496" or "as64496".
func ParseASN(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	if len(t) > 2 && (t[:2] == "AS" || t[:2] == "as" || t[:2] == "As") {
		t = t[2:]
	}
	n, err := strconv.ParseUint(t, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("AS number %q: want a number 0..4294967295, optionally prefixed with AS", s)
	}
	return uint32(n), nil
}

// providerField is a provider AS in an ASPA: a number, an "AS…" string, or
// an object such as {"asid": 64497, "afi_limit": "ipv4"} (older rpki-client
// and SLURM drafts); an AFI limit is ignored, as the current ASPA profile
// has none.
type providerField uint32

func (p *providerField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		for _, k := range []string{"asid", "provider_asid", "providerAsid", "providerAsn", "provider", "asn"} {
			if raw, ok := m[k]; ok {
				v, err := parseASNJSON(raw)
				*p = providerField(v)
				return err
			}
		}
		return fmt.Errorf("provider object %s has no AS number (asid, providerAsid or providerAsn)", b)
	}
	v, err := parseASNJSON(b)
	*p = providerField(v)
	return err
}

type jsonROA struct {
	Prefix    string   `json:"prefix"`
	MaxLength *int     `json:"maxLength"`
	ASN       asnField `json:"asn"`
}

type jsonASPA struct {
	// rpki-client: customer_asid; routinator: customer.
	CustomerASID *asnField       `json:"customer_asid"`
	Customer     *asnField       `json:"customer"`
	Providers    []providerField `json:"providers"`
	ProviderSet  []providerField `json:"provider_set"`
}

type jsonFeed struct {
	ROAs  []jsonROA  `json:"roas"`
	ASPAs []jsonASPA `json:"aspas"`
	// Older rpki-client / stayrtr files put ASPAs here.
	ProviderAuthorizations *struct {
		IPv4 []jsonASPA `json:"ipv4"`
		IPv6 []jsonASPA `json:"ipv6"`
	} `json:"provider_authorizations"`
}

// ParseFeed parses a VRP/ASPA JSON document as rpki-client (-j), routinator
// (json, jsonext) and stayrtr read or write it:
//
//	{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 64496}, …],
//	 "aspas": [{"customer_asid": 64496, "providers": [64497]}, …]}
//
// An "asn" may be a number or "AS64496"; routinator's ASPAs use
// {"customer": "AS64496", "providers": ["AS64497"]}. A missing maxLength
// means the prefix length. Any malformed entry fails the whole document with
// an error naming the entry, so that a corrupt file never replaces good
// data.
func ParseFeed(data []byte) (*Feed, error) {
	var f jsonFeed
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, jsonError(data, err)
	}
	feed := &Feed{VRPs: make([]VRP, 0, len(f.ROAs))}
	for i, r := range f.ROAs {
		p, err := netip.ParsePrefix(strings.TrimSpace(r.Prefix))
		if err != nil {
			return nil, fmt.Errorf("roas[%d]: prefix %q: %w", i, r.Prefix, err)
		}
		ml := p.Bits()
		if r.MaxLength != nil {
			ml = *r.MaxLength
		}
		if ml < 0 || ml > 128 {
			return nil, fmt.Errorf("roas[%d]: %s: maxLength %d out of range", i, r.Prefix, ml)
		}
		v := VRP{Prefix: p, MaxLen: uint8(ml), ASN: uint32(r.ASN)}
		if err := v.Check(); err != nil {
			return nil, fmt.Errorf("roas[%d]: %w", i, err)
		}
		feed.VRPs = append(feed.VRPs, v)
	}
	add := func(what string, list []jsonASPA) error {
		for i, a := range list {
			var c *asnField
			switch {
			case a.CustomerASID != nil:
				c = a.CustomerASID
			case a.Customer != nil:
				c = a.Customer
			default:
				return fmt.Errorf("%s[%d]: no customer AS (customer_asid or customer)", what, i)
			}
			ps := a.Providers
			if ps == nil {
				ps = a.ProviderSet
			}
			out := ASPA{Customer: uint32(*c), Providers: make([]uint32, len(ps))}
			for j, p := range ps {
				out.Providers[j] = uint32(p)
			}
			feed.ASPAs = append(feed.ASPAs, out)
		}
		return nil
	}
	if err := add("aspas", f.ASPAs); err != nil {
		return nil, err
	}
	if pa := f.ProviderAuthorizations; pa != nil {
		if err := add("provider_authorizations.ipv4", pa.IPv4); err != nil {
			return nil, err
		}
		if err := add("provider_authorizations.ipv6", pa.IPv6); err != nil {
			return nil, err
		}
	}
	return feed, nil
}

// jsonError turns an encoding/json error into one that names the line and
// column.
func jsonError(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Errorf("invalid JSON at line %d, column %d: %w", line, col, err)
}

// MarshalFeed writes VRPs and ASPAs in the rpki-client JSON format (which
// stayrtr reads).
func MarshalFeed(vrps []VRP, aspas []ASPA) ([]byte, error) {
	type roa struct {
		ASN       uint32 `json:"asn"`
		Prefix    string `json:"prefix"`
		MaxLength int    `json:"maxLength"`
		TA        string `json:"ta"`
	}
	type aspa struct {
		Customer  uint32   `json:"customer_asid"`
		Providers []uint32 `json:"providers"`
	}
	out := struct {
		ROAs  []roa  `json:"roas"`
		ASPAs []aspa `json:"aspas,omitempty"`
	}{ROAs: make([]roa, 0, len(vrps))}
	for _, v := range vrps {
		out.ROAs = append(out.ROAs, roa{ASN: v.ASN, Prefix: v.Prefix.String(), MaxLength: int(v.MaxLen), TA: "fedrs"})
	}
	for _, a := range aspas {
		out.ASPAs = append(out.ASPAs, aspa{Customer: a.Customer, Providers: a.Providers})
	}
	return json.MarshalIndent(out, "", " ")
}
