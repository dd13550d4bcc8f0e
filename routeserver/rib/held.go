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
// Routing is not held up: the prefixes held are collected in chunks under
// the read lock (walk.go), sorted without it, and only the page's are read
// again, skipping what changed meanwhile (consistent per prefix, not a
// point-in-time snapshot).
func (r *RIB) Held(member int, flt HeldFilter, offset, limit int) (out []Held, total, pending int) {
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		if flt.HasFamily && flt.Family != f {
			continue
		}
		keys, p, ok := r.heldKeys(member, f)
		if !ok {
			continue
		}
		pending += p
		off := max(0, offset-total)
		total += len(keys)
		if (limit > 0 && len(out) >= limit) || off >= len(keys) {
			r.putKeys(keys)
			continue
		}
		end := len(keys)
		if limit > 0 {
			end = min(end, off+limit-len(out))
			selectRange(keys, off, end) // a page: no need to sort them all
		} else {
			slices.SortFunc(keys, cmpSkey)
		}
		sel := keys[off:end]
		out = r.heldPage(member, f, sel, out)
		r.putKeys(keys)
	}
	return out, total, pending
}

// heldKeys collects, in chunks of the Adj-RIB-Out bitset, the keys
// of the prefixes member holds in family f (ok false: no established
// session carries f) and counts its pending changes. A prefix held but
// about to be withdrawn (what was sent is gone from the RIB) is counted as
// pending only.
func (r *RIB) heldKeys(member int, f bgp.Family) (keys []skey, pending int, ok bool) {
	t := r.tables[f]
	keys = r.getKeys()
	const words = walkChunk / 64
	for w0 := 0; ; w0 += words {
		keys = slices.Grow(keys, walkChunk) // not under the lock (walk.go)
		t0 := r.chunkLock()
		s := r.carrier(member, f)
		if s == nil {
			r.chunkUnlock(t0)
			break // session gone (down between two chunks: what was read stands)
		}
		o := s.out
		o.mu.Lock()
		if !ok {
			ok, pending = true, o.ndirty[f]
		}
		adv, dirty := o.adv[f], o.dirty[f]
		end := min(w0+words, len(adv))
		for wi := w0; wi < end; wi++ {
			for w := adv[wi]; w != 0; w &= w - 1 {
				idx := uint32(wi)<<6 | uint32(bits.TrailingZeros64(w))
				// Held and settled (no change queued): what Fill
				// sent is still the route chosen for it. Only a
				// prefix with a change queued can have lost it.
				if !dirty.has(idx) || r.bestFor(t.entry(idx), s) != 0 {
					keys = append(keys, t.sortKey(idx))
				}
			}
		}
		o.mu.Unlock()
		r.chunkUnlock(t0)
		if end >= len(adv) {
			break
		}
	}
	return keys, pending, ok
}

// heldPage reads the routes of keys (sorted), in chunks, and appends them
// to out.
func (r *RIB) heldPage(member int, f bgp.Family, keys []skey, out []Held) []Held {
	t := r.tables[f]
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), walkChunk)]
		keys = keys[len(chunk):]
		out = slices.Grow(out, len(chunk)) // not under the lock (walk.go)
		t0 := r.chunkLock()
		s := r.carrier(member, f)
		if s == nil {
			r.chunkUnlock(t0)
			return out
		}
		o := s.out
		o.mu.Lock()
		for _, k := range chunk {
			if !o.adv[f].has(k.idx) || !t.sortKey(k.idx).same(k) {
				continue // withdrawn meanwhile, or the entry now holds another prefix
			}
			ci := r.bestFor(t.entry(k.idx), s)
			if ci == 0 {
				continue // held, about to be withdrawn
			}
			out = append(out, Held{Route: r.view(f, k.idx, ci), Template: r.templateFor(s, o, ci), AS4: o.as4, Pending: o.dirty[f].has(k.idx)})
		}
		o.mu.Unlock()
		r.chunkUnlock(t0)
	}
	return out
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
