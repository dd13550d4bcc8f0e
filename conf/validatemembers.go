package conf

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

func (v *validator) groups() {
	names := map[string]int{}
	ids := map[uint32]int{}
	for i, g := range v.c.Groups {
		p := path{"group", i}
		if msg := nameProblem(g.Name, "group"); msg != "" {
			v.is.add(p.add("name"), "%s", msg)
		} else if j, dup := names[g.Name]; dup {
			v.is.add(p.add("name"), "%q is also the name of group[%d]", g.Name, j+1)
		} else {
			names[g.Name] = i
		}
		if g.ID == 0 {
			v.is.add(p.add("id"), "missing or 0: each group needs an id of 1-4294967295, used in the action communities RS:10:id and RS:11:id")
		} else if j, dup := ids[g.ID]; dup {
			v.is.add(p.add("id"), "%d is also the id of group[%d] (%s); each group needs its own", g.ID, j+1, v.c.Groups[j].Name)
		} else {
			ids[g.ID] = i
		}
	}
}

// memberRef names member i in a message.
func (v *validator) memberRef(i int) string {
	if n := v.c.Members[i].Name; n != "" {
		return n
	}
	return fmt.Sprintf("member[%d]", i+1)
}

func (v *validator) members() {
	c := v.c
	names := map[string]int{}
	asns := map[uint32]int{}
	type at struct{ member, idx int }
	neighbors := map[netip.Addr]at{}
	own := v.ownAddrs()
	groupNames := make([]string, 0, len(c.Groups))
	for _, g := range c.Groups {
		groupNames = append(groupNames, g.Name)
	}
	memberNames := make([]string, 0, len(c.Members))
	for _, m := range c.Members {
		memberNames = append(memberNames, m.Name)
	}

	for i := range c.Members {
		m := &c.Members[i]
		p := path{"member", i}

		if msg := nameProblem(m.Name, "member"); msg != "" {
			v.is.add(p.add("name"), "%s", msg)
		} else if j, dup := names[m.Name]; dup {
			v.is.add(p.add("name"), "%q is also the name of member[%d]; names must be unique", m.Name, j+1)
		} else {
			names[m.Name] = i
		}

		switch {
		case m.ASN == 0 && v.present != nil && !v.present(p.add("asn")):
			v.is.add(p.add("asn"), "missing: the member's AS number, e.g. asn = 4200000001; %s", asnHint)
		case m.ASN == 0:
			v.is.add(p.add("asn"), "%s", asnProblem(0))
		case asnProblem(m.ASN) != "":
			v.is.add(p.add("asn"), "%s", asnProblem(m.ASN))
		case m.ASN == c.Server.ASN:
			v.is.add(p.add("asn"), "%d is the route server's own ASN ([server] asn); a member needs its own AS number", m.ASN)
		default:
			if j, dup := asns[m.ASN]; dup {
				v.is.add(p.add("asn"), "%d is also the ASN of %s; action communities address members by ASN, so each member needs its own (give one member several neighbors instead)", m.ASN, v.memberRef(j))
			} else {
				asns[m.ASN] = i
			}
		}

		if len(m.Neighbors) == 0 {
			v.is.add(p.add("neighbors"), `no neighbors: list the member router's addresses on the peering LAN, e.g. neighbors = ["192.0.2.11", "2001:db8:ffff::11"]`)
		}
		for j, a := range m.Neighbors {
			np := p.add("neighbors", j)
			switch {
			case !a.IsValid():
				v.is.add(np, "empty address")
				continue
			case a.IsUnspecified() || a.IsMulticast():
				v.is.add(np, "%s cannot be a BGP neighbor; use the router's unicast address on the peering LAN", a)
				continue
			case a.Is4In6():
				v.is.add(np, "%s is an IPv4-mapped IPv6 address; write %s", a, a.Unmap())
				continue
			}
			if what, ok := own[a]; ok {
				v.is.add(np, "%s is the route server's own address (%s); a neighbor is the member router's address on the peering LAN", a, what)
				continue
			}
			if prev, dup := neighbors[a]; dup {
				if prev.member == i {
					v.is.add(np, "%s is listed twice", a)
				} else {
					v.is.add(np, "%s is also a neighbor of %s; each router address belongs to one member", a, v.memberRef(prev.member))
				}
				continue
			}
			neighbors[a] = at{i, j}
		}

		if m.Port < 1 || m.Port > 65535 {
			v.is.add(p.add("port"), "%d is not a TCP port; use 1-65535 (default %d)", m.Port, DefaultPort)
		}
		if a := m.LocalAddressV4; a.IsValid() && !a.Is4() {
			v.is.add(p.add("local_address_v4"), "%s is not an IPv4 address", a)
		}
		if a := m.LocalAddressV6; a.IsValid() && (!a.Is6() || a.Is4In6()) {
			v.is.add(p.add("local_address_v6"), "%s is not an IPv6 address", a)
		}

		seenGroups := map[string]bool{}
		for j, g := range m.Groups {
			gp := p.add("groups", j)
			switch {
			case seenGroups[g]:
				v.is.add(gp, "%q is listed twice", g)
			case !slices.Contains(groupNames, g):
				msg := fmt.Sprintf("no [[group]] is called %q", g)
				if s := suggest(g, groupNames); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				} else if len(groupNames) > 0 {
					msg += "; defined groups: " + strings.Join(quoteEach(groupNames), ", ")
				} else {
					msg += fmt.Sprintf("; define it: [[group]] name = %q, id = 1", g)
				}
				v.is.add(gp, "%s", msg)
			}
			seenGroups[g] = true
		}

		seenPrefixes := map[netip.Prefix]int{}
		for j, r := range m.Prefixes {
			if !r.Prefix.IsValid() {
				continue
			}
			if k, dup := seenPrefixes[r.Prefix]; dup {
				v.is.add(p.add("prefixes", j), "%s is listed twice (also prefixes[%d]); merge the two entries", r.Prefix, k+1)
				continue
			}
			seenPrefixes[r.Prefix] = j
		}

		if m.OriginASNs != nil && len(m.OriginASNs) == 0 {
			v.is.add(p.add("origin_asns"), "empty: no route could be accepted; leave origin_asns out to allow the member's own ASN")
		}
		for j, r := range m.OriginASNs {
			if r.Min == 0 {
				v.is.add(p.add("origin_asns", j), "AS 0 cannot originate routes (RFC 7607); %s", asnHint)
			}
		}

		seenTransit := map[string]bool{}
		for j, t := range m.TransitFor {
			tp := p.add("transit_for", j)
			switch {
			case t == m.Name:
				v.is.add(tp, "a member cannot be its own transit; remove %q", t)
			case seenTransit[t]:
				v.is.add(tp, "%q is listed twice", t)
			case !slices.Contains(memberNames, t):
				msg := fmt.Sprintf("no member is called %q", t)
				if s := suggest(t, memberNames); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				v.is.add(tp, "%s", msg)
			}
			seenTransit[t] = true
		}

		mp := p.add("max_prefixes")
		if m.MaxPrefixes.IPv4 < 0 {
			v.is.add(mp.add("ipv4"), "%d is negative; use 0 (no limit) or a number of prefixes", m.MaxPrefixes.IPv4)
		}
		if m.MaxPrefixes.IPv6 < 0 {
			v.is.add(mp.add("ipv6"), "%d is negative; use 0 (no limit) or a number of prefixes", m.MaxPrefixes.IPv6)
		}
		oneOf(v.is, mp.add("action"), m.MaxPrefixes.Action, MaxPrefixActions)
		if m.MaxPrefixes.Restart.Duration < 0 {
			v.is.add(mp.add("restart"), "negative; use a duration like \"15m\", or 0 to stay down until an operator enables the member")
		}

		for j, a := range m.NextHops {
			if a.IsValid() && (a.IsUnspecified() || a.IsMulticast()) {
				v.is.add(p.add("next_hops", j), "%s cannot be a next hop", a)
			}
		}

		if m.MD5Password != "" && m.MD5PasswordFile != "" {
			v.is.add(p.add("md5_password_file"), "set md5_password or md5_password_file, not both")
		} else if len(m.MD5Secret) > maxMD5KeyLen {
			key := "md5_password"
			if m.MD5PasswordFile != "" {
				key = "md5_password_file"
			}
			v.is.add(p.add(key), "the password is %d bytes; TCP-MD5 keys are at most %d", len(m.MD5Secret), maxMD5KeyLen)
		}

		if m.GTSMHops < 1 || m.GTSMHops > 254 {
			v.is.add(p.add("gtsm_hops"), "%d is not valid; use 1-254 (1: directly connected, the default)", m.GTSMHops)
		}
		if m.HoldTime != nil {
			if msg := holdTimeProblem(m.HoldTime.Duration); msg != "" {
				v.is.add(p.add("hold_time"), "%s", msg)
			}
		}

		if m.Families != nil && len(m.Families) == 0 {
			v.is.add(p.add("families"), `empty: enable at least one of "ipv4", "ipv6" (or leave families out for both)`)
		}
		seenFam := map[string]bool{}
		for j, f := range m.Families {
			fp := p.add("families", j)
			if seenFam[f] {
				v.is.add(fp, "%q is listed twice", f)
				continue
			}
			seenFam[f] = true
			oneOf(v.is, fp, f, Families)
		}
		oneOf(v.is, p.add("add_path"), m.AddPath, AddPathModes)

		if m.Policy != nil {
			set := policyKeys(nil, nil, m.Policy)
			if v.present != nil {
				set = policyKeys(v.present, p.add("policy"), m.Policy)
			}
			v.policy(m.Effective, m.Policy.Checks, p.add("policy"), func(k string) bool { return set[k] })
		}
	}
}

func (v *validator) registry() {
	type reg struct {
		member, idx int
		shared      bool
	}
	byPrefix := map[netip.Prefix][]reg{}
	var order []netip.Prefix
	for i, m := range v.c.Members {
		for j, r := range m.Prefixes {
			if !r.Prefix.IsValid() {
				continue
			}
			if _, ok := byPrefix[r.Prefix]; !ok {
				order = append(order, r.Prefix)
			}
			byPrefix[r.Prefix] = append(byPrefix[r.Prefix], reg{i, j, r.Shared})
		}
	}
	for _, pfx := range order {
		regs := byPrefix[pfx]
		first := regs[0]
		for _, r := range regs[1:] {
			if r.member == first.member {
				continue // reported as "listed twice"
			}
			rp := path{"member", r.member, "prefixes", r.idx}
			owner := v.memberRef(first.member)
			switch {
			case first.shared && r.shared:
			case !first.shared && !r.shared:
				v.is.add(rp, "%s is also registered to %s; a prefix has one owner: remove it from one member, or mark it \"shared\" in both if they own it jointly", pfx, owner)
			case r.shared:
				v.is.add(rp, "%s is marked shared here but not by %s; add \"shared\" there too, or remove it here", pfx, owner)
			default:
				v.is.add(rp, "%s is registered as shared by %s but not shared here; write \"%s shared\"", pfx, owner, pfx)
			}
		}
	}
}

// ownAddrs are the route server's own addresses, from its configuration:
// router_id and the addresses of [server] listen (but 0.0.0.0 and ::),
// each with the key that names it. A session to one of them would be the
// route server talking to itself.
func (v *validator) ownAddrs() map[netip.Addr]string {
	own := map[netip.Addr]string{}
	s := &v.c.Server
	for i, l := range s.Listen {
		if ap, err := netip.ParseAddrPort(l); err == nil && !ap.Addr().IsUnspecified() {
			own[ap.Addr().Unmap()] = fmt.Sprintf("[server] listen[%d]", i+1)
		}
	}
	if s.RouterID.IsValid() && !s.RouterID.IsUnspecified() {
		own[s.RouterID] = "[server] router_id"
	}
	return own
}
