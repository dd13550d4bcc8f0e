package lab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	gobgpapi "github.com/osrg/gobgp/v3/api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"
)

// churner announces and withdraws IPv4 prefixes from a gobgpd member
// through gobgpd's gRPC API (the gobgp CLI would cost a process per
// update), and remembers when each prefix last changed, so that a reader
// can tell which prefixes were stable while it read.
type churner struct {
	conn     *grpc.ClientConn
	api      gobgpapi.GobgpApiClient
	prefixes []netip.Prefix
	own      map[netip.Prefix]bool

	mu        sync.Mutex
	announced map[netip.Prefix]bool
	changed   map[netip.Prefix]time.Time // when the last change was acknowledged by gobgpd
	updates   int
	err       error

	stop chan struct{}
	done chan struct{}
}

// newChurner connects to the gobgpd of lab member member.
func newChurner(l *Lab, member string, prefixes []netip.Prefix) (*churner, error) {
	n := l.node(member)
	if n == nil || n.Kind != KindGoBGP {
		return nil, fmt.Errorf("churn: %s is not a gobgp member", member)
	}
	conn, err := grpc.Dial(gobgpDaemon{}.sock(n), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("churn: connect to %s's gobgpd: %w", member, err)
	}
	c := &churner{conn: conn, api: gobgpapi.NewGobgpApiClient(conn), prefixes: prefixes, own: map[netip.Prefix]bool{},
		announced: map[netip.Prefix]bool{}, changed: map[netip.Prefix]time.Time{}}
	for _, p := range prefixes {
		c.own[p] = true
	}
	return c, nil
}

func (c *churner) close() { c.conn.Close() }

// path is the gobgp API path of an IPv4 unicast announcement with next
// hop self (0.0.0.0: gobgpd puts its own address on eBGP).
func churnPath(p netip.Prefix) (*gobgpapi.Path, error) {
	nlri, err := anypb.New(&gobgpapi.IPAddressPrefix{Prefix: p.Addr().String(), PrefixLen: uint32(p.Bits())})
	if err != nil {
		return nil, err
	}
	origin, err := anypb.New(&gobgpapi.OriginAttribute{Origin: 0})
	if err != nil {
		return nil, err
	}
	nh, err := anypb.New(&gobgpapi.NextHopAttribute{NextHop: "0.0.0.0"})
	if err != nil {
		return nil, err
	}
	return &gobgpapi.Path{Family: &gobgpapi.Family{Afi: gobgpapi.Family_AFI_IP, Safi: gobgpapi.Family_SAFI_UNICAST},
		Nlri: nlri, Pattrs: []*anypb.Any{origin, nh}}, nil
}

// set announces (on) or withdraws p.
func (c *churner) set(ctx context.Context, p netip.Prefix, on bool) error {
	path, err := churnPath(p)
	if err != nil {
		return err
	}
	if on {
		_, err = c.api.AddPath(ctx, &gobgpapi.AddPathRequest{TableType: gobgpapi.TableType_GLOBAL, Path: path})
	} else {
		_, err = c.api.DeletePath(ctx, &gobgpapi.DeletePathRequest{TableType: gobgpapi.TableType_GLOBAL, Path: path})
	}
	if err != nil {
		return fmt.Errorf("churn: %s %s: %w", map[bool]string{true: "announce", false: "withdraw"}[on], p, err)
	}
	c.mu.Lock()
	c.announced[p] = on
	c.changed[p] = time.Now()
	c.updates++
	c.mu.Unlock()
	return nil
}

// start toggles a random prefix perSecond times a second until stopped.
func (c *churner) start(perSecond int, seed uint64) {
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	rng := rand.New(rand.NewPCG(seed, seed))
	go func() {
		defer close(c.done)
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			p := c.prefixes[rng.IntN(len(c.prefixes))]
			c.mu.Lock()
			on := !c.announced[p]
			c.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := c.set(ctx, p, on)
			cancel()
			if err != nil {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
				return
			}
		}
	}()
}

// halt stops the churn and returns its first error.
func (c *churner) halt() error {
	if c.stop != nil {
		close(c.stop)
		<-c.done
		c.stop = nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// running reports whether the churn runs (started and not halted).
func (c *churner) running() bool { return c.stop != nil }

// count returns how many updates were made and the first error.
func (c *churner) count() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.updates, c.err
}

// owns reports whether p is one of the churned prefixes.
func (c *churner) owns(p netip.Prefix) bool { return c.own[p] }

// stableBefore returns the churned prefixes that have not changed since
// t, with whether each is announced.
func (c *churner) stableBefore(t time.Time) map[netip.Prefix]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[netip.Prefix]bool{}
	for _, p := range c.prefixes {
		if ch, ok := c.changed[p]; !ok || ch.Before(t) {
			out[p] = c.announced[p]
		}
	}
	return out
}

// announcedNow returns the churned prefixes announced now.
func (c *churner) announcedNow() []netip.Prefix {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []netip.Prefix
	for _, p := range c.prefixes {
		if c.announced[p] {
			out = append(out, p)
		}
	}
	return out
}

// subnets24 returns the /24s of an IPv4 prefix of length 24 or less.
func subnets24(p netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	n := 1 << (24 - p.Bits())
	b := p.Masked().Addr().As4()
	base := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8
	for i := 0; i < n; i++ {
		a := base + uint32(i)<<8
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24))
	}
	return out
}
