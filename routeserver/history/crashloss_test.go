package history_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"

	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver/history"
)

// lossBound is what a crash may lose: the events of about the last second
// before it (the writer journals at least every 200 ms while busy).
const lossBound = time.Second

// TestCrashLossBounded: a route server with the history's default
// settings is killed with SIGKILL at several delays after a member
// announced a burst of 1,000 or 50,000 routes in a few dozen UPDATEs (a
// second member receiving them, a third coming up meanwhile). On the next
// start: every session-up row older than the loss bound is there; the burst's route versions are all there when the route
// server had them all a second or more before the kill; and whatever is
// missing lies after the recovered run's last_seen, from which a crash
// notice covers the time nobody recorded.
func TestCrashLossBounded(t *testing.T) {
	delays := []time.Duration{300 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}
	for _, size := range []int{1000, 50000} {
		for _, d := range delays {
			t.Run(fmt.Sprintf("%d routes, kill after %v", size, d), func(t *testing.T) {
				checked := crashAfterBurst(t, size, d)
				if d == delays[len(delays)-1] && !checked {
					t.Errorf("the route server did not hold the burst %v before the kill: nothing checked the bound", lossBound)
				}
			})
		}
	}
}

// crashAfterBurst runs one crash; it reports whether the burst was
// complete at the route server lossBound before the kill (so that the
// run checked that nothing was lost).
func crashAfterBurst(t *testing.T, size int, delay time.Duration) (checked bool) {
	path := filepath.Join(t.TempDir(), "history.db")
	specs := []rstest.Member{
		{Name: "nhs-a", ASN: 4200000001, Addr: "127.0.0.71"},
		{Name: "council-b", ASN: 4200000002, Addr: "127.0.0.72"},
		{Name: "council-c", ASN: 4200000003, Addr: "127.0.0.73"}, // comes up while the burst is in hand
	}
	c := startChild(t, path, configText(specs), childDefaultsEnv+"=1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	burst := encodeBurst(t, specs[0], size)
	// upAt is when each member's session was Established (as its router
	// saw it).
	upAt := map[string]time.Time{}
	recv := dialPeer(ctx, t, specs[1], c.port)
	upAt[specs[1].Name] = time.Now()
	recv.count(size)
	send := dialPeer(ctx, t, specs[0], c.port) // the burst follows its session-up at once
	upAt[specs[0].Name] = time.Now()
	if _, err := send.conn.Write(burst); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	dialPeer(ctx, t, specs[2], c.port)
	upAt[specs[2].Name] = time.Now()
	<-time.After(time.Until(sent.Add(delay))) // the crash comes at this delay: the experiment, not a wait
	killed := c.kill()
	all := recv.allAt()

	rec, err := history.Open(path, history.Options{Log: testLog})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	rep := rec.Recovered()
	must(t, rec.Close())
	rd, err := history.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx2 := context.Background()

	ss, err := rd.Sessions(ctx2, "", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	up := map[string]bool{}
	for _, s := range ss {
		if s.Up != nil {
			up[s.Member] = true
		}
	}
	// A session that came up within the loss bound before the kill may
	// be lost with the rest of that last second; one that came up
	// earlier must not.
	for _, m := range specs {
		if !up[m.Name] && killed.Sub(upAt[m.Name]) >= lossBound {
			t.Errorf("the session-up row of %s (up %v before the kill) is lost (sessions %+v)", m.Name, killed.Sub(upAt[m.Name]).Round(time.Millisecond), ss)
		}
	}
	vs, err := rd.Versions(ctx2, history.Query{Member: "nhs-a"})
	if err != nil {
		t.Fatal(err)
	}
	present := map[netip.Prefix]bool{}
	for _, v := range vs {
		present[v.Prefix] = true
		if v.From.After(rep.LastSeen) || v.From.Before(sent.Add(-time.Second)) {
			t.Errorf("version of %s from %s: want after the burst was sent (%s) and not after the recovered last_seen %s",
				v.Prefix, v.From, sent, rep.LastSeen)
		}
		if v.NextHop != specs[0].Addr || v.ASPath != fmt.Sprint(specs[0].ASN) || !v.Accepted {
			t.Errorf("version of %s recovered as %+v", v.Prefix, v)
		}
	}
	missing := size - len(present)
	t.Logf("killed %v after the burst; all received %v after it; recovered at %v before the kill (%d journaled events applied); %d of %d route versions missing",
		killed.Sub(sent).Round(time.Millisecond), since(sent, all), killed.Sub(rep.LastSeen).Round(time.Millisecond), rep.Journaled, missing, size)
	if rep.Runs != 1 {
		t.Fatalf("recovery closed %d runs, want the killed one", rep.Runs)
	}
	checked = !all.IsZero() && !all.After(killed.Add(-lossBound))
	if checked && missing > 0 {
		t.Errorf("%d route versions lost although the route server held them all %v before the kill", missing, killed.Sub(all).Round(time.Millisecond))
	}
	if missing > 0 {
		// The loss lies after last_seen, which is at most about a second
		// before the kill (or before the burst was complete), and a
		// notice marks the time from then on.
		end := killed
		if !all.IsZero() && all.Before(end) {
			end = all
		}
		if rep.LastSeen.Before(end.Add(-lossBound)) {
			t.Errorf("recovered at last_seen %s, %v before the burst was complete or the kill: more than %v of events lost",
				rep.LastSeen.Format(time.StampMicro), end.Sub(rep.LastSeen).Round(time.Millisecond), lossBound)
		}
		ns, err := rd.Notices(ctx2, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		marked := false
		for _, n := range ns {
			if !n.From.After(rep.LastSeen) && !n.To.Before(killed) {
				marked = true
			}
		}
		if !marked {
			t.Errorf("no notice covers the time from last_seen %s to the kill: %+v", rep.LastSeen, ns)
		}
	}
	return checked
}

func since(from, t time.Time) string {
	if t.IsZero() {
		return "(not all before the kill)"
	}
	return t.Sub(from).Round(time.Millisecond).String()
}

// rawPeer is a bare BGP speaker on a TCP connection, enough to send a
// burst of pre-encoded UPDATEs fast and to count what comes back.
type rawPeer struct {
	conn net.Conn
	br   *bufio.Reader

	mu  sync.Mutex
	all time.Time // when count's prefixes had all arrived
}

// dialPeer opens a session to the route server from member m's address.
func dialPeer(ctx context.Context, t *testing.T, m rstest.Member, port int) *rawPeer {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(m.Addr)}}
	conn, err := d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &rawPeer{conn: conn, br: bufio.NewReaderSize(conn, 1<<16)}
	caps := []bgp.ParameterCapabilityInterface{bgp.NewCapMultiProtocol(bgp.RF_IPv4_UC), bgp.NewCapFourOctetASNumber(m.ASN)}
	open, _ := bgp.NewBGPOpenMessage(bgp.AS_TRANS, 180, m.Addr, []bgp.OptionParameterInterface{bgp.NewOptionParameterCapability(caps)}).Serialize()
	ka, _ := bgp.NewBGPKeepAliveMessage().Serialize()
	if _, err := conn.Write(open); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		typ, _, err := p.read()
		if err != nil {
			t.Fatalf("%s: session setup: %v", m.Name, err)
		}
		if typ == bgp.BGP_MSG_OPEN {
			if _, err := conn.Write(ka); err != nil {
				t.Fatal(err)
			}
		}
		if typ == bgp.BGP_MSG_KEEPALIVE {
			break
		}
		if typ == bgp.BGP_MSG_NOTIFICATION {
			t.Fatalf("%s: NOTIFICATION during setup", m.Name)
		}
	}
	conn.SetReadDeadline(time.Time{})
	return p
}

func (p *rawPeer) read() (uint8, []byte, error) {
	var h [19]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint16(h[16:18]))
	if n < 19 {
		return 0, nil, fmt.Errorf("bad message length %d", n)
	}
	body := make([]byte, n-19)
	_, err := io.ReadFull(p.br, body)
	return h[18], body, err
}

// count reads UPDATEs in the background and notes when want distinct
// IPv4 prefixes have been announced.
func (p *rawPeer) count(want int) {
	go func() {
		seen := map[uint64]bool{}
		for {
			typ, body, err := p.read()
			if err != nil {
				return
			}
			if typ != bgp.BGP_MSG_UPDATE || len(body) < 4 {
				continue
			}
			wl := int(binary.BigEndian.Uint16(body))
			if 2+wl+2 > len(body) {
				continue
			}
			al := int(binary.BigEndian.Uint16(body[2+wl:]))
			nlri := body[min(4+wl+al, len(body)):]
			for len(nlri) > 0 {
				bits := int(nlri[0])
				n := (bits + 7) / 8
				if 1+n > len(nlri) || n > 4 {
					break
				}
				var a [4]byte
				copy(a[:], nlri[1:1+n])
				seen[uint64(binary.BigEndian.Uint32(a[:]))<<8|uint64(bits)] = true
				nlri = nlri[1+n:]
			}
			if len(seen) >= want {
				p.mu.Lock()
				if p.all.IsZero() {
					p.all = time.Now()
				}
				p.mu.Unlock()
			}
		}
	}()
}

// allAt is when every counted prefix had arrived (zero: not all).
func (p *rawPeer) allAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.all
}

// encodeBurst packs size /24s of 10.0.0.0/8 announced by m into UPDATEs
// of 500 prefixes.
func encodeBurst(t *testing.T, m rstest.Member, size int) []byte {
	t.Helper()
	attrs := []bgp.PathAttributeInterface{
		bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP),
		bgp.NewPathAttributeAsPath([]bgp.AsPathParamInterface{bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SEQ, []uint32{m.ASN})}),
		bgp.NewPathAttributeNextHop(m.Addr),
	}
	var out []byte
	for lo := 0; lo < size; lo += 500 {
		var nlri []*bgp.IPAddrPrefix
		for i := lo; i < min(lo+500, size); i++ {
			nlri = append(nlri, bgp.NewIPAddrPrefix(24, netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}).String()))
		}
		b, err := bgp.NewBGPUpdateMessage(nil, attrs, nlri).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}
