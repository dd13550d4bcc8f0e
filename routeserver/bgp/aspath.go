package bgp

import (
	"strconv"
	"strings"
)

// PathString is the one text form of an AS_PATH, the one the history
// database stores: ASNs in wire order separated by spaces, an AS_SET in
// braces ("64500 {64501 64502}"), an AS_CONFED_SEQUENCE in parentheses and
// an AS_CONFED_SET in brackets; "" for an empty path.
func (a *Attrs) PathString() string {
	var b strings.Builder
	if a.Segments == nil {
		for i, as := range a.ASPath {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatUint(uint64(as), 10))
		}
		return b.String()
	}
	for si, s := range a.Segments {
		if si > 0 {
			b.WriteByte(' ')
		}
		open, close := "", ""
		switch s.Type {
		case SegSet:
			open, close = "{", "}"
		case SegConfedSeq:
			open, close = "(", ")"
		case SegConfedSet:
			open, close = "[", "]"
		}
		b.WriteString(open)
		for i := s.Start; i < s.End && i < len(a.ASPath); i++ {
			if i > s.Start {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatUint(uint64(a.ASPath[i]), 10))
		}
		b.WriteString(close)
	}
	return b.String()
}
