package rpki

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// PrefixFilter is an RFC 8416 §3.3.1 prefix filter: it removes the VRPs
// whose prefix is covered by Prefix (when set) and whose ASN is ASN (when
// HasASN).
type PrefixFilter struct {
	Prefix  netip.Prefix
	ASN     uint32
	HasASN  bool
	Comment string
}

// Matches reports whether the filter removes v.
func (f PrefixFilter) Matches(v VRP) bool {
	if f.HasASN && v.ASN != f.ASN {
		return false
	}
	if f.Prefix.IsValid() {
		if f.Prefix.Addr().Is4() != v.Prefix.Addr().Is4() || v.Prefix.Bits() < f.Prefix.Bits() ||
			!f.Prefix.Contains(v.Prefix.Addr()) {
			return false
		}
	}
	return true
}

// Assertion is an RFC 8416 §3.4.1 prefix assertion.
type Assertion struct {
	VRP
	Comment string
}

// SLURM is a parsed RFC 8416 file, with the ASPA members of
// draft-ietf-sidrops-aspa-slurm (aspaFilters, aspaAssertions). BGPsec
// filters and assertions are parsed and counted but not used: fedrs does not
// do BGPsec.
type SLURM struct {
	PrefixFilters    []PrefixFilter
	PrefixAssertions []Assertion
	// ASPAFilters remove every ASPA of these customer ASes.
	ASPAFilters      []uint32
	ASPAAssertions   []ASPA
	BGPsecFilters    int
	BGPsecAssertions int
}

type slurmJSON struct {
	Version *int `json:"slurmVersion"`
	Filters struct {
		Prefix []struct {
			Prefix  *string   `json:"prefix"`
			ASN     *asnField `json:"asn"`
			Comment string    `json:"comment"`
		} `json:"prefixFilters"`
		BGPsec []json.RawMessage `json:"bgpsecFilters"`
		ASPA   []struct {
			Customer    *asnField `json:"customerAsid"`
			CustomerAlt *asnField `json:"customerAsn"`
			Comment     string    `json:"comment"`
		} `json:"aspaFilters"`
	} `json:"validationOutputFilters"`
	Assertions struct {
		Prefix []struct {
			Prefix    *string   `json:"prefix"`
			ASN       *asnField `json:"asn"`
			MaxLength *int      `json:"maxPrefixLength"`
			Comment   string    `json:"comment"`
		} `json:"prefixAssertions"`
		BGPsec []json.RawMessage `json:"bgpsecAssertions"`
		ASPA   []struct {
			Customer     *asnField       `json:"customerAsid"`
			CustomerAlt  *asnField       `json:"customerAsn"`
			ProviderSet  []providerField `json:"providerSet"`
			Providers    []providerField `json:"providers"`
			ProviderAsns []providerField `json:"providerAsns"`
			Comment      string          `json:"comment"`
		} `json:"aspaAssertions"`
	} `json:"locallyAddedAssertions"`
}

// ParseSLURM parses an RFC 8416 SLURM file (slurmVersion 1, or 2 with the
// ASPA members). Errors name the offending entry.
func ParseSLURM(data []byte) (*SLURM, error) {
	var j slurmJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, jsonError(data, err)
	}
	if j.Version == nil {
		return nil, fmt.Errorf("slurmVersion missing (RFC 8416 §3.2)")
	}
	if *j.Version != 1 && *j.Version != 2 {
		return nil, fmt.Errorf("slurmVersion %d not supported (want 1, or 2 for ASPA)", *j.Version)
	}
	s := &SLURM{BGPsecFilters: len(j.Filters.BGPsec), BGPsecAssertions: len(j.Assertions.BGPsec)}
	for i, f := range j.Filters.Prefix {
		pf := PrefixFilter{Comment: f.Comment}
		if f.Prefix == nil && f.ASN == nil {
			return nil, fmt.Errorf("prefixFilters[%d]: needs a prefix, an asn or both (RFC 8416 §3.3.1)", i)
		}
		if f.Prefix != nil {
			p, err := parseMaskedPrefix(*f.Prefix)
			if err != nil {
				return nil, fmt.Errorf("prefixFilters[%d]: %w", i, err)
			}
			pf.Prefix = p
		}
		if f.ASN != nil {
			pf.ASN, pf.HasASN = uint32(*f.ASN), true
		}
		s.PrefixFilters = append(s.PrefixFilters, pf)
	}
	for i, a := range j.Assertions.Prefix {
		if a.Prefix == nil || a.ASN == nil {
			return nil, fmt.Errorf("prefixAssertions[%d]: needs both prefix and asn (RFC 8416 §3.4.1)", i)
		}
		p, err := parseMaskedPrefix(*a.Prefix)
		if err != nil {
			return nil, fmt.Errorf("prefixAssertions[%d]: %w", i, err)
		}
		ml := p.Bits()
		if a.MaxLength != nil {
			ml = *a.MaxLength
		}
		if ml < 0 || ml > 128 {
			return nil, fmt.Errorf("prefixAssertions[%d]: maxPrefixLength %d out of range", i, ml)
		}
		v := VRP{Prefix: p, MaxLen: uint8(ml), ASN: uint32(*a.ASN)}
		if err := v.Check(); err != nil {
			return nil, fmt.Errorf("prefixAssertions[%d]: %w", i, err)
		}
		s.PrefixAssertions = append(s.PrefixAssertions, Assertion{VRP: v, Comment: a.Comment})
	}
	for i, f := range j.Filters.ASPA {
		c := f.Customer
		if c == nil {
			c = f.CustomerAlt
		}
		if c == nil {
			return nil, fmt.Errorf("aspaFilters[%d]: customerAsid missing", i)
		}
		s.ASPAFilters = append(s.ASPAFilters, uint32(*c))
	}
	for i, a := range j.Assertions.ASPA {
		c := a.Customer
		if c == nil {
			c = a.CustomerAlt
		}
		if c == nil {
			return nil, fmt.Errorf("aspaAssertions[%d]: customerAsid missing", i)
		}
		ps := a.ProviderSet
		if ps == nil {
			ps = a.Providers
		}
		if ps == nil {
			ps = a.ProviderAsns
		}
		out := ASPA{Customer: uint32(*c)}
		for _, p := range ps {
			out.Providers = append(out.Providers, uint32(p))
		}
		s.ASPAAssertions = append(s.ASPAAssertions, out)
	}
	return s, nil
}

func parseMaskedPrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return p, fmt.Errorf("prefix %q: %w", s, err)
	}
	if p.Masked() != p {
		return p, fmt.Errorf("prefix %q has host bits set (want %s)", s, p.Masked())
	}
	return p, nil
}

// FilterVRP reports whether any of the SLURM files' prefix filters removes v.
func filtered(filters []PrefixFilter, v VRP) bool {
	for _, f := range filters {
		if f.Matches(v) {
			return true
		}
	}
	return false
}

// slurmOut is the JSON form written by MarshalSLURM.
type slurmOut struct {
	Version int `json:"slurmVersion"`
	Filters struct {
		Prefix []json.RawMessage `json:"prefixFilters"`
		BGPsec []json.RawMessage `json:"bgpsecFilters"`
	} `json:"validationOutputFilters"`
	Assertions struct {
		Prefix []slurmAssertionOut `json:"prefixAssertions"`
		BGPsec []json.RawMessage   `json:"bgpsecAssertions"`
	} `json:"locallyAddedAssertions"`
}

type slurmAssertionOut struct {
	ASN       uint32 `json:"asn"`
	Prefix    string `json:"prefix"`
	MaxLength int    `json:"maxPrefixLength"`
	Comment   string `json:"comment,omitempty"`
}

// MarshalSLURM writes the assertions as an RFC 8416 SLURM file with no
// filters.
func MarshalSLURM(as []Assertion) []byte {
	var o slurmOut
	o.Version = 1
	o.Filters.Prefix = []json.RawMessage{}
	o.Filters.BGPsec = []json.RawMessage{}
	o.Assertions.BGPsec = []json.RawMessage{}
	o.Assertions.Prefix = make([]slurmAssertionOut, 0, len(as))
	for _, a := range as {
		o.Assertions.Prefix = append(o.Assertions.Prefix, slurmAssertionOut{
			ASN: a.ASN, Prefix: a.Prefix.String(), MaxLength: int(a.MaxLen), Comment: a.Comment,
		})
	}
	b, _ := json.MarshalIndent(o, "", "  ")
	return append(b, '\n')
}
