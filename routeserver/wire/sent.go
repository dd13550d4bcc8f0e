package wire

import (
	"fmt"
	"net/netip"

	"github.com/fedrs/fedrs/routeserver/bgp"
)

// DecodeTemplate decodes the attributes of the UPDATE that template t
// builds for prefix p, as a receiver decodes it: with 4-octet AS numbers
// when the session negotiated them (as4), otherwise merging AS4_PATH as
// RFC 6793 says. It shows exactly what went on the wire. The result is
// interned in tbl (a scratch table, not the RIB's).
func DecodeTemplate(t *Template, p netip.Prefix, as4 bool, tbl *Table) (*AttrSet, error) {
	if t == nil {
		return nil, fmt.Errorf("%s: no UPDATE is built for it", p)
	}
	msg := AppendAnnounce(nil, t, AppendNLRI(nil, p, 0, false))
	d := Decoder{FourOctetAS: as4, Table: tbl}
	u, err := d.Decode(msg[bgp.HeaderLen:])
	if err != nil {
		return nil, fmt.Errorf("decoding the UPDATE sent for %s: %w", p, err)
	}
	if u.TreatAsWithdraw != nil {
		return nil, fmt.Errorf("the UPDATE sent for %s is malformed: %w", p, u.TreatAsWithdraw)
	}
	a := u.Attrs[t.Family]
	if a == nil {
		return nil, fmt.Errorf("the UPDATE sent for %s carries no attributes", p)
	}
	return a, nil
}
