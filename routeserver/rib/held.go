package rib

import (
	"math/bits"
	"net/netip"
	"slices"

	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// What a member holds from the route server.
//
// A member holds a route when the route server sent it on an Established
// session and has not since withdrawn or replaced it; a session going down
// ends everything it held. The RIB knows this per target from its
// Adj-RIB-Out bits: adv (the target was sent something for the prefix and
// not a withdrawal) and dirty (a change for the prefix is queued for it).
// When adv is set and dirty is not, the target holds exactly what Fill
// builds for the prefix now, so that is what the looking glass shows.

// Held is a prefix as a member holds it from the route server.
type Held struct {
	// Route is the candidate the route server chose for the member; its
	// Attrs are the attributes as received from the announcing member.
	Route
	// Template is the encoded attribute part of the UPDATE that carries
	// the route to the member: the attributes as sent (prepends, action
	// communities stripped, informational communities and OTC added).
	// DecodeSent turns it into attributes.
	Template *wire.Template
	// AS4 tells whether the session negotiated 4-octet AS numbers (the
	// template's AS_PATH encoding).
	AS4 bool
	// Pending is set when a change of the prefix is queued for the member
	// (its writer has not sent it yet): what it holds is about to change.
	Pending bool
}

// HeldFilter selects what Held returns.
type HeldFilter struct {
	Family    bgp.Family
	HasFamily bool
}

// Held returns what member holds from the route server over its
// established sessions, in prefix order per family, skipping offset and
// returning at most limit (0: all); total counts every prefix it holds and
// pending the prefixes with a change queued for it (held or not yet).
// A member with no established session holds nothing.
//
// Routing is not held up for the sort: the prefixes held are copied under
// the read lock, sorted without it, and read again (under the read lock)
// for the page, skipping what changed meanwhile.
func (r *RIB) Held(member int, flt HeldFilter, offset, limit int) (out []Held, total, pending int) {
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		if flt.HasFamily && flt.Family != f {
			continue
		}
		keys, p, ok := r.heldPrefixes(member, f)
		if !ok {
			continue
		}
		pending += p
		slices.SortFunc(keys, func(a, b heldKey) int { return comparePrefix(a.p, b.p) })
		out, total = r.heldPage(member, f, keys, out, total, offset, limit)
	}
	return out, total, pending
}

// heldKey is one prefix a target holds, with its entry index.
type heldKey struct {
	p   netip.Prefix
	idx uint32
}

// heldPrefixes copies the prefixes member holds in family f (ok false: no
// established session carries f) and counts its pending changes.
func (r *RIB) heldPrefixes(member int, f bgp.Family) (keys []heldKey, pending int, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := r.carrier(member, f)
	if s == nil {
		return nil, 0, false
	}
	o := s.out
	o.mu.Lock()
	adv := slices.Clone(o.adv[f])
	pending = o.ndirty[f]
	o.mu.Unlock()
	t := r.tables[f]
	keys = make([]heldKey, 0, popcount(adv))
	for wi, w := range adv {
		for w != 0 {
			idx := uint32(wi)<<6 | uint32(bits.TrailingZeros64(w))
			w &= w - 1
			keys = append(keys, heldKey{t.prefix(idx), idx})
		}
	}
	return keys, pending, true
}

// heldPage walks keys (sorted) and appends the page's routes to out.
func (r *RIB) heldPage(member int, f bgp.Family, keys []heldKey, out []Held, total, offset, limit int) ([]Held, int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := r.carrier(member, f)
	if s == nil {
		return out, total
	}
	o := s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	t := r.tables[f]
	for _, k := range keys {
		if !o.adv[f].has(k.idx) || t.prefix(k.idx) != k.p {
			continue // withdrawn meanwhile, or the entry now holds another prefix
		}
		ci := r.bestFor(t.entry(k.idx), s)
		if ci == 0 {
			// Held, about to be withdrawn: what was sent is gone from
			// the RIB. Counted as pending only.
			continue
		}
		total++
		if total <= offset || (limit > 0 && len(out) >= limit) {
			continue
		}
		out = append(out, Held{Route: r.view(f, k.idx, ci), Template: r.templateFor(s, o, ci), AS4: o.as4, Pending: o.dirty[f].has(k.idx)})
	}
	return out, total
}

// carrier returns an established source of member that carries family f
// (nil: none). A member's sessions carrying the same family hold the same
// routes.
func (r *RIB) carrier(member int, f bgp.Family) *Source {
	for _, s := range r.targets {
		if s.Member == member && s.sendFam[f] && s.out != nil {
			return s
		}
	}
	return nil
}

// templateFor returns the template Fill uses to send candidate ci to
// target s (nil when it cannot be sent). Called with the RIB read-locked.
func (r *RIB) templateFor(s *Source, o *outState, ci uint32) *wire.Template {
	c := &r.cands[ci]
	member := r.sources[c.src].Member
	v := r.profiles[c.profile].VariantFor(s.Member)
	a := r.attrs.Get(c.attrs)
	key := wire.TemplateKey{Gen: r.gen, Member: int32(member), Mods: uint32(c.mods), Variant: uint8(v), AS4: o.as4}
	mods := c.mods
	return a.Template(key, func() *wire.Template {
		rw := r.exp.Rewrite(member, &a.Attrs, mods, v)
		return wire.Encode(a, &rw, o.as4)
	})
}

// Receivers says, for the candidate of route rt, which members hold it
// (sent on an established session, not withdrawn or replaced since) and
// which have a change of its prefix queued (they are about to receive it,
// or what they hold for the prefix is about to change). Both are member
// indices in ascending order.
func (r *RIB) Receivers(rt Route) (held, pending []int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t := r.tables[rt.Family]
	idx, ok := t.find(rt.Prefix)
	if !ok {
		return nil, nil
	}
	e := t.entry(idx)
	var ci uint32
	for i := e.head; i != 0; i = r.cands[i].next {
		if r.cands[i].src == rt.Source.idx && r.cands[i].pathID == rt.PathID {
			ci = i
			break
		}
	}
	if ci == 0 {
		return nil, nil
	}
	for _, s := range r.targets {
		if !s.sendFam[rt.Family] || s.out == nil {
			continue
		}
		o := s.out
		o.mu.Lock()
		adv, dirty := o.adv[rt.Family].has(idx), o.dirty[rt.Family].has(idx)
		o.mu.Unlock()
		best := r.bestFor(e, s)
		switch {
		case dirty && (best == ci || adv):
			pending = appendMember(pending, s.Member)
		case adv && best == ci:
			held = appendMember(held, s.Member)
		}
	}
	slices.Sort(held)
	slices.Sort(pending)
	// A member with two sessions for the family counts once, as holding
	// when either session is settled.
	pending = slices.DeleteFunc(pending, func(m int) bool { return slices.Contains(held, m) })
	return held, pending
}

func appendMember(l []int, m int) []int {
	if slices.Contains(l, m) {
		return l
	}
	return append(l, m)
}

// HeldRoute returns what member holds for prefix p (ok false: nothing),
// as Held describes.
func (r *RIB) HeldRoute(member int, p netip.Prefix) (Held, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f := familyOf(p)
	s := r.carrier(member, f)
	if s == nil {
		return Held{}, false
	}
	idx, ok := r.tables[f].find(p)
	if !ok {
		return Held{}, false
	}
	o := s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.adv[f].has(idx) {
		return Held{}, false
	}
	ci := r.bestFor(r.tables[f].entry(idx), s)
	if ci == 0 {
		return Held{}, false
	}
	return Held{Route: r.view(f, idx, ci), Template: r.templateFor(s, o, ci), AS4: o.as4, Pending: o.dirty[f].has(idx)}, true
}

// DecodeSent decodes the attributes of a held route as the member
// received them, by decoding the UPDATE the route server sends for it
// with the session's own decoder settings: exactly what went on the wire.
// tbl interns the result (use a scratch table, not the RIB's).
func (h *Held) DecodeSent(tbl *wire.Table) (*wire.AttrSet, error) {
	return wire.DecodeTemplate(h.Template, h.Prefix, h.AS4, tbl)
}
