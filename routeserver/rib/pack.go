package rib

import (
	"math/bits"

	"github.com/fedrs/fedrs/policy"
	"github.com/fedrs/fedrs/routeserver/bgp"
	"github.com/fedrs/fedrs/routeserver/wire"
)

// fillScratch is what one Fill needs; pooled, so that only running
// writers hold UPDATE-building buffers, not every target.
type fillScratch struct {
	builders [maxBuilders]builder
	wbuf     []byte
	held     []uint32 // entries the durable gate holds back
}

const maxBuilders = 8

type builder struct {
	tmpl *wire.Template
	nlri []byte
}

// Fill implements the target's Outbox: it appends UPDATEs for the dirty
// entries of s, up to about limit octets.
func (r *RIB) Fill(s *Source, buf []byte, limit int) []byte {
	r.mu.RLock()
	defer r.mu.RUnlock()
	o := s.out
	if o == nil || !s.up || r.deferred {
		return buf
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	sc := r.scratchPool.Get().(*fillScratch)
	defer r.scratchPool.Put(sc)
	for f := bgp.Family(0); f < bgp.NumFamilies; f++ {
		if !s.sendFam[f] {
			continue
		}
		buf = r.fillFamily(s, o, sc, f, buf, limit)
		if len(buf) >= limit {
			break
		}
	}
	return buf
}

func (r *RIB) fillFamily(s *Source, o *outState, sc *fillScratch, f bgp.Family, buf []byte, limit int) []byte {
	if o.ndirty[f] > 0 {
		fl := filler{r: r, s: s, o: o, sc: sc, f: f, t: r.tables[f], buf: buf, wd: sc.wbuf[:0],
			wOver: wire.WithdrawOverhead(f), lastMem: -1}
		// The summary finds the non-zero dirty words without scanning the
		// others (one summary word covers 4096 entries). Whole words are
		// taken, so the limit may be passed by up to 64 entries' worth.
		words, sum := o.dirty[f], o.dsum[f]
		g := r.gate
		var done uint32
		if g != nil {
			if done = uint32(g.c.Committed()); g.allDone(done) {
				g = nil
			}
		}
	scan:
		for si := 0; si < len(sum) && o.ndirty[f] > 0; si++ {
			for sum[si] != 0 {
				wi := si<<6 | bits.TrailingZeros64(sum[si])
				sum[si] &= sum[si] - 1
				for words[wi] != 0 {
					bit := bits.TrailingZeros64(words[wi])
					words[wi] &= words[wi] - 1
					o.ndirty[f]--
					if g != nil && !g.ready(f, uint32(wi<<6|bit), done) {
						if sc.held = append(sc.held, uint32(wi<<6|bit)); len(sc.held) >= maxHeld {
							break scan // the rest waits for the next commit
						}
						continue
					}
					fl.entry(uint32(wi<<6 | bit))
				}
				if len(fl.buf)+fl.pending >= limit {
					break scan
				}
			}
		}
		for i := range sc.builders {
			fl.flushBuilder(&sc.builders[i])
		}
		fl.flushWithdraw()
		sc.wbuf = fl.wd
		buf = fl.buf
		if len(sc.held) > 0 {
			g.hold(s, o, f, sc.held)
			sc.held = sc.held[:0]
		}
	}
	if o.ndirty[f] == 0 && o.eorDue[f] {
		o.eorDue[f] = false
		buf = wire.AppendEndOfRIB(buf, f)
		r.endOfRIBSent(s, f)
	}
	return buf
}

// filler builds the UPDATEs of one Fill for one target and family:
// announcements packed per export template (up to maxBuilders templates
// at a time), withdrawals packed together.
type filler struct {
	r       *RIB
	s       *Source
	o       *outState
	sc      *fillScratch
	f       bgp.Family
	t       famTable
	buf     []byte
	pending int // bytes in builders and wd not yet in buf
	wd      []byte
	wOver   int
	next    int // builder to evict next

	// The last template looked up, for runs of entries sharing it.
	lastAttrs uint32
	lastMem   int
	lastMods  policy.Mods
	lastVar   policy.Variant
	lastTmpl  *wire.Template
}

func (fl *filler) flushWithdraw() {
	if len(fl.wd) > 0 {
		fl.buf = wire.AppendWithdraw(fl.buf, fl.f, fl.wd)
		fl.pending -= len(fl.wd)
		fl.wd = fl.wd[:0]
	}
}

func (fl *filler) flushBuilder(b *builder) {
	if len(b.nlri) > 0 {
		fl.buf = wire.AppendAnnounce(fl.buf, b.tmpl, b.nlri)
		fl.pending -= len(b.nlri)
	}
	b.tmpl, b.nlri = nil, b.nlri[:0]
}

// entry adds what the target must be told about entry idx: its best
// route for the target, or a withdrawal of what it was sent.
func (fl *filler) entry(idx uint32) {
	r, o, f := fl.r, fl.o, fl.f
	p := fl.t.prefix(idx)
	best := r.bestFor(fl.t.entry(idx), fl.s)
	var tmpl *wire.Template
	if best != 0 {
		c := &r.cands[best]
		member := r.sources[c.src].Member
		v := r.profiles[c.profile].VariantFor(fl.s.Member)
		if c.attrs == fl.lastAttrs && member == fl.lastMem && c.mods == fl.lastMods && v == fl.lastVar {
			tmpl = fl.lastTmpl
		} else {
			a := r.attrs.Get(c.attrs)
			key := wire.TemplateKey{Gen: r.gen, Member: int32(member), Mods: uint32(c.mods), Variant: uint8(v), AS4: o.as4}
			mods := c.mods
			tmpl = a.Template(key, func() *wire.Template {
				rw := r.exp.Rewrite(member, &a.Attrs, mods, v)
				return wire.Encode(a, &rw, o.as4)
			})
			fl.lastAttrs, fl.lastMem, fl.lastMods, fl.lastVar, fl.lastTmpl = c.attrs, member, c.mods, v, tmpl
		}
		if wire.AnnounceOverhead(tmpl)+wire.NLRILen(p, false) > o.maxLen {
			tmpl = nil // attributes too large for any message: not sendable
		}
	}
	l := wire.NLRILen(p, false)
	if tmpl == nil {
		if o.adv[f].clear(idx) {
			if fl.wOver+len(fl.wd)+l > o.maxLen {
				fl.flushWithdraw()
			}
			fl.wd = wire.AppendNLRI(fl.wd, p, 0, false)
			fl.pending += l
		}
		return
	}
	o.adv[f].set(idx)
	builders := &fl.sc.builders
	var b *builder
	for i := range builders {
		if builders[i].tmpl == tmpl {
			b = &builders[i]
			break
		}
	}
	if b == nil {
		for i := range builders {
			if builders[i].tmpl == nil {
				b = &builders[i]
				break
			}
		}
		if b == nil {
			b = &builders[fl.next]
			fl.next = (fl.next + 1) % maxBuilders
			fl.flushBuilder(b)
		}
		b.tmpl = tmpl
	}
	if wire.AnnounceOverhead(tmpl)+len(b.nlri)+l > o.maxLen {
		fl.flushBuilder(b)
		b.tmpl = tmpl
	}
	b.nlri = wire.AppendNLRI(b.nlri, p, 0, false)
	fl.pending += l
}
