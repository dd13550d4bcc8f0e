package history

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fedrs/fedrs/policy"
)

type attrTextForm struct {
	origin, asPath, nextHop, nextHopLL, communities, large, discarded string
	originAS, med, otc                                                any
}

func attrText(a *policy.Attrs) attrTextForm {
	t := attrTextForm{origin: originName(a.Origin), asPath: FormatASPath(a.ASPath, a.Segments)}
	if a.NextHop.IsValid() {
		t.nextHop = a.NextHop.String()
	}
	if a.NextHopLL.IsValid() {
		t.nextHopLL = a.NextHopLL.String()
	}
	if as, ok := a.OriginAS(); ok {
		t.originAS = int64(as)
	}
	if a.HasMED {
		t.med = int64(a.MED)
	}
	if a.HasOTC {
		t.otc = int64(a.OTC)
	}
	var b strings.Builder
	for i, c := range a.Communities {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%d", c>>16, c&0xffff)
	}
	t.communities = b.String()
	b.Reset()
	for i, l := range a.Large {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(l.String())
	}
	t.large = b.String()
	b.Reset()
	for i, d := range a.Discarded {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(int(d)))
	}
	t.discarded = b.String()
	return t
}

func originName(o uint8) string {
	switch o {
	case policy.OriginIGP:
		return "igp"
	case policy.OriginEGP:
		return "egp"
	case policy.OriginIncomplt:
		return "incomplete"
	}
	return "origin-" + strconv.Itoa(int(o))
}

// FormatASPath writes an AS_PATH with AS_SETs in braces and confederation
// segments in parentheses.
func FormatASPath(path []uint32, segs []policy.Segment) string {
	var b strings.Builder
	if segs == nil {
		for i, as := range path {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatUint(uint64(as), 10))
		}
		return b.String()
	}
	for si, s := range segs {
		if si > 0 {
			b.WriteByte(' ')
		}
		open, close := "", ""
		switch s.Type {
		case policy.SegSet:
			open, close = "{", "}"
		case policy.SegConfedSeq:
			open, close = "(", ")"
		case policy.SegConfedSet:
			open, close = "[", "]"
		}
		b.WriteString(open)
		for i := s.Start; i < s.End && i < len(path); i++ {
			if i > s.Start {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatUint(uint64(path[i]), 10))
		}
		b.WriteString(close)
	}
	return b.String()
}
