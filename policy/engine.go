package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/fedrs/fedrs/conf"
)

// Check actions, compiled.
const (
	actFilter uint8 = iota
	actTag
	actOff
)

var actionNames = [...]string{actFilter: conf.ActionFilter, actTag: conf.ActionTag, actOff: conf.ActionOff}

// bogonPay is a bogon list entry's payload: the prefix lengths it matches.
// A /0 entry matches only the default route itself (conf.MatchesBogon).
type bogonPay struct{ lo, hi uint8 }

// allowPay is an allowed-prefix entry's payload: the lengths the range
// admits and where it comes from.
type allowPay struct {
	lo, hi uint8
	// ge and le as configured (0: not given), for explanations.
	ge, le uint8
	// src is -1 for the member's own prefixes, -2 for its prefix list, or
	// the index of a member it is transit for.
	src int32
}

const (
	srcOwn  = -1
	srcList = -2
)

// regPay is a registry entry's payload: the member registering it.
type regPay struct {
	member int32
	shared bool
}

// member is one member compiled for evaluation.
type member struct {
	name string
	asn  uint32
	act  [numChecks]uint8

	minLen, maxLen   [2]uint8
	minPath, maxPath int
	maxComm          int

	bogons      *pset[bogonPay]
	bogonText   string
	bogonASNs   asnSet
	transitFree asnSet

	allowed   pset[allowPay]
	origins   asnSet
	nextHops  []netip.Addr // neighbours then next_hops, unmapped, without zones
	llHops    []netip.Addr // the link-local ones among them
	transitFr Bitset       // members this member is transit for
	groups    []int32      // group indices

	blackholeOn      bool // the blackhole check is not off
	blackholeReceive bool
	informational    bool
	bhNextHop        [2]netip.Addr
}

type group struct {
	name    string
	id      uint32
	members Bitset
}

// Engine evaluates the import and export policy of one configuration. It
// is immutable after New (a reload builds a new Engine) and safe for
// concurrent use.
type Engine struct {
	rsASN    uint32
	rpki     RPKI
	members  []member
	byASN    memberASNs
	groups   []group
	groupIdx map[uint32]int // group id → index
	registry pset[regPay]

	// profiles interns export profiles (see Profile).
	profMu   sync.RWMutex
	profiles map[string]*Profile
}

// maxInterned bounds the profile intern table: past it, profiles are
// still computed and correct, only no longer shared.
const maxInterned = 1 << 14

// New compiles cfg (a loaded, validated configuration: Member.Effective
// must be resolved, as Load and ApplyDefaults do) into an Engine. rpki may
// be nil: the rpki and aspa checks then record ROVNotChecked and
// ASPANotChecked and never filter. Member indices are positions in
// cfg.Members.
func New(cfg *conf.Config, rpki RPKI) (*Engine, error) {
	if cfg == nil {
		return nil, errors.New("policy: nil configuration")
	}
	e := &Engine{
		rsASN:    cfg.Server.ASN,
		rpki:     rpki,
		groupIdx: map[uint32]int{},
		profiles: map[string]*Profile{},
	}
	var errs []error

	groupByName := map[string]int{}
	for i, g := range cfg.Groups {
		if _, dup := e.groupIdx[g.ID]; dup {
			errs = append(errs, fmt.Errorf("group %q: id %d is used twice", g.Name, g.ID))
		}
		e.groupIdx[g.ID] = i
		groupByName[g.Name] = i
		e.groups = append(e.groups, group{name: g.Name, id: g.ID})
	}

	memberByName := map[string]int{}
	type asnAt struct {
		asn uint32
		idx int32
	}
	var asns []asnAt
	for i, m := range cfg.Members {
		memberByName[m.Name] = i
		asns = append(asns, asnAt{m.ASN, int32(i)})
	}
	slices.SortFunc(asns, func(a, b asnAt) int {
		switch {
		case a.asn < b.asn:
			return -1
		case a.asn > b.asn:
			return 1
		}
		return 0
	})
	for i, a := range asns {
		if i > 0 && asns[i-1].asn == a.asn {
			errs = append(errs, fmt.Errorf("members %s and %s share AS%d; action communities address members by ASN", cfg.Members[asns[i-1].idx].Name, cfg.Members[a.idx].Name, a.asn))
			continue
		}
		e.byASN.asn = append(e.byASN.asn, a.asn)
		e.byASN.idx = append(e.byASN.idx, a.idx)
	}

	// Registry: every member's own prefixes.
	var reg []pentry[regPay]
	for i, m := range cfg.Members {
		for _, r := range m.Prefixes {
			reg = append(reg, pentry[regPay]{r.Prefix, regPay{int32(i), r.Shared}})
		}
	}
	e.registry = buildPSet(reg)

	// Shared compiled lists: members with the same bogon lists share them.
	bogonCache := map[string]*pset[bogonPay]{}
	asnCache := map[string]asnSet{}
	internASN := func(rs []conf.ASNRange) asnSet {
		k := fmt.Sprint(rs)
		if s, ok := asnCache[k]; ok {
			return s
		}
		s := newASNSet(rs)
		asnCache[k] = s
		return s
	}

	allowEntries := func(m *conf.Member, src int32) []pentry[allowPay] {
		var out []pentry[allowPay]
		for _, r := range m.Prefixes {
			if !r.Prefix.IsValid() {
				continue
			}
			s := src
			if s == srcOwn || s == srcList {
				s = srcOwn
			}
			lo, hi := r.Bounds()
			out = append(out, pentry[allowPay]{r.Prefix, allowPay{uint8(lo), uint8(hi), uint8(r.GE), uint8(r.LE), s}})
		}
		for r := range m.PrefixList.All() {
			if !r.Prefix.IsValid() {
				continue
			}
			s := src
			if s == srcOwn {
				s = srcList
			}
			lo, hi := r.Bounds()
			out = append(out, pentry[allowPay]{r.Prefix, allowPay{uint8(lo), uint8(hi), uint8(r.GE), uint8(r.LE), s}})
		}
		return out
	}

	for i := range cfg.Members {
		cm := &cfg.Members[i]
		pol := cm.Effective
		if pol.Preset == "" {
			pol = cfg.MemberPolicy(i)
		}
		m := member{
			name:             cm.Name,
			asn:              cm.ASN,
			minLen:           [2]uint8{clampLen(pol.MinLengthV4, 32), clampLen(pol.MinLengthV6, 128)},
			maxLen:           [2]uint8{clampLen(pol.MaxLengthV4, 32), clampLen(pol.MaxLengthV6, 128)},
			minPath:          pol.MinASPath,
			maxPath:          pol.MaxASPath,
			maxComm:          pol.MaxCommunities,
			bogonASNs:        internASN(pol.BogonASNs),
			transitFree:      internASN(pol.TransitFreeASNs),
			blackholeReceive: cm.BlackholeReceive,
			informational:    pol.Informational == nil || *pol.Informational,
			bhNextHop:        [2]netip.Addr{pol.BlackholeNextHopV4, pol.BlackholeNextHopV6},
		}
		for c := range importChecks {
			name := importChecks[c].name
			a, ok := pol.Checks[name]
			if !ok || a == "" {
				a = conf.DefaultCheckAction(name)
			}
			switch a {
			case conf.ActionFilter:
				m.act[c] = actFilter
			case conf.ActionTag:
				m.act[c] = actTag
			case conf.ActionOff:
				m.act[c] = actOff
			default:
				errs = append(errs, fmt.Errorf("member %s: check %s: unknown action %q", cm.Name, name, a))
			}
		}
		m.blackholeOn = m.act[checkIndex(conf.CheckBlackhole)] != actOff

		bkey := fmt.Sprint(pol.BogonPrefixes)
		if b, ok := bogonCache[bkey]; ok {
			m.bogons = b
		} else {
			var es []pentry[bogonPay]
			for _, b := range pol.BogonPrefixes {
				if !b.IsValid() {
					continue
				}
				pay := bogonPay{uint8(b.Bits()), uint8(b.Addr().BitLen())}
				if b.Bits() == 0 {
					pay.hi = 0
				}
				es = append(es, pentry[bogonPay]{b, pay})
			}
			s := buildPSet(es)
			bogonCache[bkey] = &s
			m.bogons = &s
		}
		m.bogonText = prefixListText(pol.BogonPrefixes)

		origins := cm.OriginASNs
		if len(origins) == 0 {
			origins = []conf.ASNRange{{Min: cm.ASN, Max: cm.ASN}}
		}
		m.origins = internASN(origins)

		for _, a := range cm.Neighbors {
			m.nextHops = appendAddr(m.nextHops, a)
		}
		for _, a := range cm.NextHops {
			m.nextHops = appendAddr(m.nextHops, a)
		}
		for _, a := range m.nextHops {
			if a.Is6() && a.IsLinkLocalUnicast() {
				m.llHops = append(m.llHops, a)
			}
		}

		allow := allowEntries(cm, srcOwn)
		for _, t := range cm.TransitFor {
			j, ok := memberByName[t]
			if !ok {
				errs = append(errs, fmt.Errorf("member %s: transit_for %q: no such member", cm.Name, t))
				continue
			}
			m.transitFr = m.transitFr.Set(j)
			allow = append(allow, allowEntries(&cfg.Members[j], int32(j))...)
		}
		m.allowed = buildPSet(allow)

		for _, g := range cm.Groups {
			j, ok := groupByName[g]
			if !ok {
				errs = append(errs, fmt.Errorf("member %s: group %q: no such group", cm.Name, g))
				continue
			}
			m.groups = append(m.groups, int32(j))
			e.groups[j].members = e.groups[j].members.Set(i)
		}
		e.members = append(e.members, m)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("policy: %w", errors.Join(errs...))
	}
	return e, nil
}

func clampLen(v, max int) uint8 {
	if v < 0 {
		return 0
	}
	if v > max {
		return uint8(max)
	}
	return uint8(v)
}

func appendAddr(list []netip.Addr, a netip.Addr) []netip.Addr {
	if !a.IsValid() {
		return list
	}
	a = a.Unmap().WithZone("")
	if slices.Contains(list, a) {
		return list
	}
	return append(list, a)
}

func prefixListText(ps []netip.Prefix) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, p.String())
	}
	return strings.Join(parts, ", ")
}

// MemberName returns member i's name.
func (e *Engine) MemberName(i int) string { return e.members[i].name }

// NumMembers is the number of members (len(cfg.Members)).
func (e *Engine) NumMembers() int { return len(e.members) }

// RSASN is the route server's AS number.
func (e *Engine) RSASN() uint32 { return e.rsASN }

// MemberByASN returns the index of the member with AS number asn.
func (e *Engine) MemberByASN(asn uint32) (int, bool) {
	i := e.byASN.lookup(asn)
	return i, i >= 0
}

// CheckAction returns the action ("filter", "tag" or "off") of the named
// check for member i, as the engine applies it.
func (e *Engine) CheckAction(i int, check string) string {
	if c := checkIndex(check); c >= 0 {
		return actionNames[e.members[i].act[c]]
	}
	return ""
}
