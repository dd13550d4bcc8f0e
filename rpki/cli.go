package rpki

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// This file holds what the fedrs CLI shows: each function returns data
// (JSON-encodable) and the data has a WriteText method for people.

// Lookup validates a route for prefix with the given origin against the
// snapshot and explains the result (`fedrs rpki lookup PREFIX ORIGIN`).
// An origin of the form "{64496,64497}" or "set" means the AS_PATH ended in
// an AS_SET.
func Lookup(s *Snapshot, prefix, origin string) (Explanation, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(prefix))
	if err != nil {
		return Explanation{}, fmt.Errorf("prefix %q: %w", prefix, err)
	}
	p = p.Masked()
	o := strings.TrimSpace(origin)
	var asn uint32
	ok := true
	if strings.HasPrefix(o, "{") || strings.EqualFold(o, "set") {
		ok = false
	} else if asn, err = ParseASN(o); err != nil {
		return Explanation{}, err
	}
	var t *VRPs
	if s != nil {
		t = s.VRPs
	}
	return t.Explain(p, asn, ok), nil
}

// WriteText writes the explanation for people.
func (e Explanation) WriteText(w io.Writer) error {
	origin := fmt.Sprintf("AS%d", e.Origin)
	if !e.OriginOK {
		origin = "NONE (AS_SET)"
	}
	fmt.Fprintf(w, "%s origin %s: %s\n%s\n", e.Prefix, origin, strings.ToUpper(e.State.String()), e.Reason)
	if len(e.Covering) > 0 {
		fmt.Fprintln(w, "covering VRPs (most specific first):")
		for _, v := range e.Covering {
			mark := " "
			for _, m := range e.Matching {
				if m == v {
					mark = "*"
				}
			}
			fmt.Fprintf(w, " %s %-40s maxLength %-3d AS%d\n", mark, v.Prefix, v.MaxLen, v.ASN)
		}
		if len(e.Matching) > 0 {
			fmt.Fprintln(w, "(* matches)")
		}
	}
	return nil
}

// ParsePath parses an AS_PATH as words in wire order (neighbour first):
// "64500 64501 64501 {64502,64503}" — a word in braces is an AS_SET. ASNs
// may carry an "AS" prefix. The AS_SET members are not part of the result.
func ParsePath(words []string) (asns []uint32, hasSet bool, err error) {
	joined := strings.Join(words, " ")
	joined = strings.NewReplacer(",", " ", "{", " { ", "}", " } ").Replace(joined)
	inSet := false
	for _, f := range strings.Fields(joined) {
		switch f {
		case "{":
			if inSet {
				return nil, false, fmt.Errorf("nested AS_SET in %q", strings.Join(words, " "))
			}
			inSet, hasSet = true, true
			continue
		case "}":
			if !inSet {
				return nil, false, fmt.Errorf("unbalanced } in %q", strings.Join(words, " "))
			}
			inSet = false
			continue
		}
		a, err := ParseASN(f)
		if err != nil {
			return nil, false, err
		}
		if !inSet {
			asns = append(asns, a)
		}
	}
	if inSet {
		return nil, false, fmt.Errorf("unterminated AS_SET in %q", strings.Join(words, " "))
	}
	return asns, hasSet, nil
}

// CheckPath runs upstream ASPA verification of a path as received by the
// route server from the member whose AS is neighbor (0: the first AS) and
// explains it (`fedrs rpki aspa PATH...`).
func CheckPath(s *Snapshot, words []string, neighbor uint32) (PathExplanation, error) {
	asns, hasSet, err := ParsePath(words)
	if err != nil {
		return PathExplanation{}, err
	}
	var t *ASPAs
	if s != nil {
		t = s.ASPAs
	}
	return t.Explain(Path{ASNs: asns, HasSet: hasSet, Neighbor: neighbor}, Upstream), nil
}

// WriteText writes the explanation for people.
func (e PathExplanation) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "AS_PATH %s (%s verification): %s\n%s\n", fmtPath(e.Path, e.HasSet), e.Direction, strings.ToUpper(e.State.String()), e.Reason)
	if len(e.Compressed) > 0 && len(e.Compressed) != len(e.Path) {
		fmt.Fprintf(w, "without prepends: %s\n", fmtPath(e.Compressed, false))
	}
	for _, h := range e.Hops {
		mark := " "
		if e.Decisive != nil && *e.Decisive == h {
			mark = ">"
		}
		fmt.Fprintf(w, " %s AS%d → AS%d: %s\n", mark, h.Customer, h.Provider, h.Authorization)
	}
	return nil
}

func fmtPath(p []uint32, set bool) string {
	var b strings.Builder
	for i, a := range p {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d", a)
	}
	if set {
		b.WriteString(" {AS_SET}")
	}
	return b.String()
}

// RegistryReport is what `fedrs registry check` shows.
type RegistryReport struct {
	Claims    int       `json:"claims"`
	Members   int       `json:"members"`
	Overlaps  []Overlap `json:"overlaps"`
	Conflicts int       `json:"conflicts"`
}

// Check reports the registry's overlapping claims.
func (r *Registry) Check() RegistryReport {
	rep := RegistryReport{Claims: len(r.Claims()), Overlaps: r.Overlaps()}
	members := map[string]bool{}
	for _, c := range r.Claims() {
		members[c.Member] = true
	}
	rep.Members = len(members)
	for _, o := range rep.Overlaps {
		if o.Conflict {
			rep.Conflicts++
		}
	}
	return rep
}

// WriteText writes the report for people: a summary line, then one line
// per overlap as WriteOverlaps writes them.
func (rep RegistryReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%d prefixes claimed by %d members; %d overlaps, %d conflicts\n", rep.Claims, rep.Members, len(rep.Overlaps), rep.Conflicts)
	return WriteOverlaps(w, rep.Overlaps)
}

// WriteOverlaps writes one line per overlap, "registry " and its String:
// the form `fedrs check` and `fedrs registry check` share.
func WriteOverlaps(w io.Writer, os []Overlap) error {
	for _, o := range os {
		if _, err := fmt.Fprintf(w, "registry %s\n", o); err != nil {
			return err
		}
	}
	return nil
}
