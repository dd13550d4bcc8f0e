package rpki

import (
	"fmt"
	"iter"
	"slices"
	"strings"
)

// ASPA is an Autonomous System Provider Authorization: the customer AS and
// the set of its provider ASes (SPAS).
type ASPA struct {
	Customer  uint32   `json:"customer"`
	Providers []uint32 `json:"providers"`
}

func (a ASPA) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "AS%d →", a.Customer)
	for _, p := range a.Providers {
		fmt.Fprintf(&b, " AS%d", p)
	}
	return b.String()
}

// ASPAs is an immutable table from customer AS to the union of the provider
// sets of its ASPAs (the U-SPAS of draft-ietf-sidrops-aspa-verification-28
// §5.2).
// A nil *ASPAs is empty. Lookups do not allocate and are safe for
// concurrent use.
type ASPAs struct {
	customers []uint32 // sorted
	offs      []uint32 // providers of customers[i] are providers[offs[i]:offs[i+1]]
	providers []uint32 // sorted within each customer
}

// NewASPAs builds a table; several ASPAs for one customer are merged into
// their union.
func NewASPAs(aspas []ASPA) *ASPAs {
	type pair struct{ c, p uint32 }
	var pairs []pair
	empty := map[uint32]bool{}
	for _, a := range aspas {
		if len(a.Providers) == 0 {
			// An ASPA with an empty provider set still attests: every
			// provider is "Not Provider+".
			empty[a.Customer] = true
		}
		for _, p := range a.Providers {
			pairs = append(pairs, pair{a.Customer, p})
		}
	}
	for c := range empty {
		pairs = append(pairs, pair{c, 0})
	}
	slices.SortFunc(pairs, func(x, y pair) int {
		if x.c != y.c {
			if x.c < y.c {
				return -1
			}
			return 1
		}
		if x.p != y.p {
			if x.p < y.p {
				return -1
			}
			return 1
		}
		return 0
	})
	pairs = slices.Compact(pairs)
	t := &ASPAs{providers: make([]uint32, 0, len(pairs))}
	for i, pr := range pairs {
		if i == 0 || pr.c != pairs[i-1].c {
			t.customers = append(t.customers, pr.c)
			t.offs = append(t.offs, uint32(len(t.providers)))
		}
		t.providers = append(t.providers, pr.p)
	}
	t.offs = append(t.offs, uint32(len(t.providers)))
	return t
}

// Providers returns the U-SPAS of the customer (sorted, shared: do not
// modify) and whether the customer has an ASPA at all.
func (t *ASPAs) Providers(customer uint32) ([]uint32, bool) {
	if t == nil {
		return nil, false
	}
	i, ok := slices.BinarySearch(t.customers, customer)
	if !ok {
		return nil, false
	}
	return t.providers[t.offs[i]:t.offs[i+1]], true
}

// Len returns the number of customer ASes with an ASPA.
func (t *ASPAs) Len() int {
	if t == nil {
		return 0
	}
	return len(t.customers)
}

// All yields the merged ASPAs in customer order. The Providers slices are
// shared with the table: do not modify them.
func (t *ASPAs) All() iter.Seq[ASPA] {
	return func(yield func(ASPA) bool) {
		if t == nil {
			return
		}
		for i, c := range t.customers {
			if !yield(ASPA{Customer: c, Providers: t.providers[t.offs[i]:t.offs[i+1]]}) {
				return
			}
		}
	}
}

// Equal reports whether both tables hold the same data.
func (t *ASPAs) Equal(o *ASPAs) bool {
	if t.Len() != o.Len() {
		return false
	}
	if t == nil || o == nil {
		return true
	}
	return slices.Equal(t.customers, o.customers) && slices.Equal(t.offs, o.offs) && slices.Equal(t.providers, o.providers)
}

// Authorization is the result of the provider authorization function
// authorized(customer, provider) (draft-ietf-sidrops-aspa-verification-28
// §5.2).
type Authorization uint8

// The outcomes of authorized(AS x, AS y).
const (
	NoAttestation Authorization = iota
	ProviderPlus
	NotProviderPlus
)

func (a Authorization) String() string {
	switch a {
	case NoAttestation:
		return "No Attestation"
	case ProviderPlus:
		return "Provider+"
	case NotProviderPlus:
		return "Not Provider+"
	}
	return fmt.Sprintf("Authorization(%d)", uint8(a))
}

// MarshalText implements encoding.TextMarshaler.
func (a Authorization) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Authorized is the provider authorization function: whether provider is
// an attested provider of customer. An AS 0 in a provider set (an "AS0
// ASPA") attests that the customer has no providers; otherwise "an
// unexpected presence of AS 0 has no influence on the AS_PATH
// verification procedures" (§4).
func (t *ASPAs) Authorized(customer, provider uint32) Authorization {
	ps, ok := t.Providers(customer)
	if !ok {
		return NoAttestation
	}
	if provider != 0 {
		if _, found := slices.BinarySearch(ps, provider); found {
			return ProviderPlus
		}
	}
	return NotProviderPlus
}

// PathState is the outcome of ASPA-based AS_PATH verification.
type PathState uint8

// The ASPA verification outcomes. The zero value is PathUnknown.
const (
	PathUnknown PathState = iota
	PathValid
	PathInvalid
)

func (s PathState) String() string {
	switch s {
	case PathUnknown:
		return "unknown"
	case PathValid:
		return "valid"
	case PathInvalid:
		return "invalid"
	}
	return fmt.Sprintf("PathState(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s PathState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Direction selects the verification algorithm from the relationship with
// the neighbour the route was received from.
type Direction uint8

const (
	// Upstream is for routes received from a Customer or a Peer, by a
	// route server from an RS-Client, or by an RS-Client from a route
	// server (§5.4). This is what fedrs applies to its members' routes.
	Upstream Direction = iota
	// Downstream is for routes received from a Provider (§5.5).
	Downstream
)

func (d Direction) String() string {
	if d == Downstream {
		return "downstream"
	}
	return "upstream"
}

// MarshalText implements encoding.TextMarshaler.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Path is a received AS_PATH for ASPA verification.
type Path struct {
	// ASNs in wire order: ASNs[0] is the most recently added AS (the
	// neighbour), the last one the origin. Prepends may repeat an AS.
	ASNs []uint32
	// HasSet reports that the AS_PATH contained an AS_SET segment (its
	// members need not be in ASNs).
	HasSet bool
	// Neighbor is the neighbour's AS, checked against ASNs[0] (step 2 of
	// §5.4 and §5.5); 0 skips the check (callers without a neighbour,
	// such as test vectors of the ramp procedures).
	Neighbor uint32
	// ReceiverIsRSClient is true when the verifying AS is an RS-Client
	// receiving from a transparent route server, which exempts it from
	// the neighbour check (§5.4 step 2). A route server receiving from its
	// members leaves it false.
	ReceiverIsRSClient bool
}

// The verification follows draft-ietf-sidrops-aspa-verification-28 (read
// in the authors' XML source; -27 has the same procedures and section
// numbers): §5 requires the most recently added AS to be the neighbour's
// (except from a transparent IX) and gives a path with an AS_SET the
// outcome Invalid; §5.1 defines the COMPRESSED_AS_PATH (consecutive
// duplicates, "prepends", removed) and the up- and down-ramps; §5.2 the
// provider authorization function over the U-SPAS; §5.3 the bounds
// max_up_ramp, min_up_ramp, max_down_ramp and min_down_ramp; §5.4 the
// upstream and §5.5 the downstream procedure (each: 1 empty path Invalid,
// 2 neighbour check, 3 AS_SET Invalid, 4 Invalid and 5 Unknown by the
// bounds, 6 Valid). fedrs is a transparent route server: its members
// (RS-Clients) do not list it in their ASPAs, it adds no AS to the path,
// and a route it receives from a member gets the upstream procedure with
// the neighbour check against the member's configured AS.

// Verify returns the ASPA verification outcome for the path without
// allocating.
func (t *ASPAs) Verify(p Path, dir Direction) PathState {
	st, _, _ := t.verify(p, dir, nil)
	return st
}

// VerifyUpstream is Verify(Path{ASNs: asns, HasSet: hasSet, Neighbor:
// neighbor}, Upstream): the check for a route a route server receives from
// an RS-Client.
func (t *ASPAs) VerifyUpstream(asns []uint32, hasSet bool, neighbor uint32) PathState {
	return t.Verify(Path{ASNs: asns, HasSet: hasSet, Neighbor: neighbor}, Upstream)
}

// Hop is one customer-to-provider pair evaluated during verification.
type Hop struct {
	Customer      uint32        `json:"customer"`
	Provider      uint32        `json:"provider"`
	Authorization Authorization `json:"authorization"`
}

// PathExplanation is the outcome of verification with the hop that decided
// it.
type PathExplanation struct {
	Path      []uint32  `json:"path"`
	HasSet    bool      `json:"has_as_set,omitempty"`
	Direction Direction `json:"direction"`
	// Compressed is the path without consecutive duplicates, in wire
	// order (neighbour first).
	Compressed []uint32  `json:"compressed"`
	State      PathState `json:"state"`
	// Decisive is the hop that decided an Invalid (the first Not Provider+
	// pair from the origin) or Unknown (the first pair without an
	// attestation) outcome; nil for Valid or a structural failure.
	Decisive *Hop   `json:"decisive,omitempty"`
	Hops     []Hop  `json:"hops"`
	Reason   string `json:"reason"`
	// MaxUpRamp etc. are the §5.3 bounds (in unique ASes).
	MaxUpRamp   int `json:"max_up_ramp"`
	MinUpRamp   int `json:"min_up_ramp"`
	MaxDownRamp int `json:"max_down_ramp"`
	MinDownRamp int `json:"min_down_ramp"`
}

// Explain verifies like Verify and reports every hop and the decisive one.
func (t *ASPAs) Explain(p Path, dir Direction) PathExplanation {
	e := PathExplanation{Path: slices.Clone(p.ASNs), HasSet: p.HasSet, Direction: dir}
	e.State, e.Reason, e.Compressed = t.verify(p, dir, &e)
	return e
}

// verify runs the procedure; with e non-nil it also records the hops and
// returns the reason and the compressed path.
func (t *ASPAs) verify(p Path, dir Direction, e *PathExplanation) (PathState, string, []uint32) {
	asns := p.ASNs
	if len(asns) == 0 {
		return PathInvalid, "empty AS_PATH", nil
	}
	if p.Neighbor != 0 && !p.ReceiverIsRSClient && asns[0] != p.Neighbor {
		return PathInvalid, fmt.Sprintf("first AS %d is not the neighbour AS %d", asns[0], p.Neighbor), nil
	}
	if p.HasSet {
		return PathInvalid, "AS_PATH contains an AS_SET", nil
	}
	// Walk the path from the origin (AS(1)) towards the neighbour (AS(N)),
	// skipping consecutive duplicates, and compute the ramp bounds.
	var compressed []uint32
	n := 0
	for i := len(asns) - 1; i >= 0; i-- {
		if i == len(asns)-1 || asns[i] != asns[i+1] {
			n++
			if e != nil {
				compressed = append(compressed, asns[i])
			}
		}
	}
	if e != nil {
		slices.Reverse(compressed)
	}
	// prev/cur hold AS(I) and AS(I+1) as I grows from 1.
	maxUp, minUp := n, n
	var upHop, upUnknownHop Hop
	maxDown, minDown := n, n
	var downHop, downUnknownHop Hop
	idx := 0 // I of the current AS(I)
	var prev uint32
	for i := len(asns) - 1; i >= 0; i-- {
		if i != len(asns)-1 && asns[i] == asns[i+1] {
			continue
		}
		idx++
		cur := asns[i]
		if idx == 1 {
			prev = cur
			continue
		}
		// Pair (AS(idx-1), AS(idx)).
		I := idx - 1
		up := t.Authorized(prev, cur) // is AS(I+1) a provider of AS(I)?
		if e != nil {
			e.Hops = append(e.Hops, Hop{Customer: prev, Provider: cur, Authorization: up})
		}
		if up == NotProviderPlus && maxUp == n {
			maxUp = I
			upHop = Hop{prev, cur, up}
		}
		if up != ProviderPlus && minUp == n {
			minUp = I
			upUnknownHop = Hop{prev, cur, up}
		}
		if dir == Downstream {
			// authorized(A(J), A(J-1)) with J = idx: is AS(J-1) a
			// provider of AS(J)? The maximum such J wins, so keep
			// overwriting.
			down := t.Authorized(cur, prev)
			if down == NotProviderPlus {
				maxDown = n - idx + 1
				downHop = Hop{cur, prev, down}
			}
			if down != ProviderPlus {
				minDown = n - idx + 1
				downUnknownHop = Hop{cur, prev, down}
			}
		}
		prev = cur
	}
	if dir == Upstream {
		maxDown, minDown = 0, 0
	}
	if e != nil {
		e.MaxUpRamp, e.MinUpRamp, e.MaxDownRamp, e.MinDownRamp = maxUp, minUp, maxDown, minDown
	}
	switch {
	case maxUp+maxDown < n:
		var h Hop
		if dir == Upstream || maxUp < n {
			h = upHop
		} else {
			h = downHop
		}
		if e != nil {
			e.Decisive = new(Hop)
			*e.Decisive = h
			if dir == Downstream {
				return PathInvalid, fmt.Sprintf("up-ramp (at most %d) and down-ramp (at most %d) cannot cover the %d-AS path: AS%d is not a provider of AS%d", maxUp, maxDown, n, h.Provider, h.Customer), compressed
			}
			return PathInvalid, fmt.Sprintf("AS%d is not an attested provider of AS%d (Not Provider+)", h.Provider, h.Customer), compressed
		}
		return PathInvalid, "", nil
	case minUp+minDown < n:
		var h Hop
		if dir == Upstream || minUp < n && upUnknownHop.Authorization == NoAttestation {
			h = upUnknownHop
		} else {
			h = downUnknownHop
		}
		if e != nil {
			e.Decisive = new(Hop)
			*e.Decisive = h
			return PathUnknown, fmt.Sprintf("AS%d has no ASPA, so AS%d cannot be verified as its provider (No Attestation)", h.Customer, h.Provider), compressed
		}
		return PathUnknown, "", nil
	}
	if e != nil {
		if n == 1 {
			return PathValid, "single-AS path: nothing to verify", compressed
		}
		return PathValid, "every hop is an attested customer-to-provider hop (Provider+)", compressed
	}
	return PathValid, "", nil
}
