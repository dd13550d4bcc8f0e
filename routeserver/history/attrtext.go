package history

import (
	"strconv"
	"strings"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

type attrTextForm struct {
	origin, asPath, nextHop, nextHopLL, communities, large, discarded string
	originAS, med, otc                                                any
}

func attrText(a *bgp.Attrs) attrTextForm {
	t := attrTextForm{origin: originName(a.Origin), asPath: a.PathString()}
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
		b.WriteString(bgp.CommunityString(c))
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
	case bgp.OriginIGP:
		return "igp"
	case bgp.OriginEGP:
		return "egp"
	case bgp.OriginIncomplt:
		return "incomplete"
	}
	return "origin-" + strconv.Itoa(int(o))
}
