package rpki_test

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/lab/rstest"
	. "github.com/fedrs/fedrs/rpki"
	"github.com/fedrs/fedrs/rpki/rtr"
)

// serveRTR runs an RTR server for m on a loopback port and returns its
// address.
func serveRTR(t testing.TB, m *Manager, opts ServerOptions) (string, context.CancelFunc) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = quietLog()
	srv := NewRTRServer(m, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ctx, ln)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

func feedManager(t testing.TB, body string) (*Manager, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vrps.json")
	writeFile(t, path, body)
	m := NewManager(Options{Logger: quietLog(), FilePoll: 10 * time.Millisecond})
	m.AddFile(path)
	runManager(t, m)
	return m, path
}

func cacheStatus(m *Manager, addr string) SourceStatus {
	for _, s := range m.Status().Sources {
		if s.Kind == "rtr" && s.Name == addr {
			return s
		}
	}
	return SourceStatus{}
}

// TestRTRServerToClient: fedrs's RTR client follows fedrs's RTR server
// through a full load and an incremental update triggered by Serial Notify,
// in version 1 and, against a version-0-only server, after falling back to
// version 0.
func TestRTRServerToClient(t *testing.T) {
	for _, v0 := range []bool{false, true} {
		name := "v1"
		if v0 {
			name = "v0 fallback"
		}
		t.Run(name, func(t *testing.T) {
			src, path := feedManager(t, `{"roas":[{"asn":64496,"prefix":"192.0.2.0/24","maxLength":24},{"asn":64497,"prefix":"2001:db8::/32","maxLength":48}]}`)
			addr, _ := serveRTR(t, src, ServerOptions{V0Only: v0, Refresh: 3600 * time.Second})
			dst := NewManager(Options{Logger: quietLog(), RTRRetry: 20 * time.Millisecond})
			dst.AddCache(addr, 1)
			runManager(t, dst)
			rstest.Eventually(t, 15*time.Second, func() bool { return dst.Snapshot().VRPs.Equal(src.Snapshot().VRPs) && dst.Snapshot().VRPs.Len() == 2 }, "the client to load the cache")
			st := cacheStatus(dst, addr)
			wantVer := 1
			if v0 {
				wantVer = 0
			}
			if st.State != StateSynced || !st.Selected || st.Version != wantVer || st.Serial != src.Snapshot().Serial {
				t.Fatalf("status %+v", st)
			}
			writeFile(t, path, `{"roas":[{"asn":64496,"prefix":"192.0.2.0/24","maxLength":24},{"asn":64498,"prefix":"198.51.100.0/24","maxLength":24}]}`)
			rstest.Eventually(t, 15*time.Second, func() bool {
				return dst.Snapshot().Validate(mustPrefix("198.51.100.0/24"), 64498, true) == Valid &&
					dst.Snapshot().Validate(mustPrefix("2001:db8::/48"), 64497, true) == NotFound
			}, "the client to follow the update")
			if st := cacheStatus(dst, addr); st.Serial != src.Snapshot().Serial || st.VRPs != 2 {
				t.Errorf("after update: %+v", st)
			}
		})
	}
}

// TestRTRFailover: the most preferred cache in sync is used; when it goes
// away its data stays until another cache is in sync, and when every cache
// is gone the data is kept until it expires.
func TestRTRFailover(t *testing.T) {
	a, _ := feedManager(t, `{"roas":[{"asn":1,"prefix":"192.0.2.0/24","maxLength":24}]}`)
	b, _ := feedManager(t, `{"roas":[{"asn":2,"prefix":"192.0.2.0/24","maxLength":24}]}`)
	addrA, stopA := serveRTR(t, a, ServerOptions{})
	addrB, stopB := serveRTR(t, b, ServerOptions{})
	clock := &fakeClock{}
	m := NewManager(Options{Logger: quietLog(), RTRRetry: 20 * time.Millisecond, Now: clock.Now})
	m.AddCache(addrB, 20)
	m.AddCache(addrA, 10)
	runManager(t, m)
	p := mustPrefix("192.0.2.0/24")
	rstest.Eventually(t, 15*time.Second, func() bool {
		return m.Snapshot().Validate(p, 1, true) == Valid && cacheStatus(m, addrB).State == StateSynced
	}, "the preferred cache A")
	stopA()
	rstest.Eventually(t, 15*time.Second, func() bool { return m.Snapshot().Validate(p, 2, true) == Valid }, "failover to cache B")
	if st := cacheStatus(m, addrA); st.State != StateStale || st.VRPs != 1 || st.LastError == "" {
		t.Errorf("cache A after it went away: %+v", st)
	}
	stopB()
	rstest.Eventually(t, 15*time.Second, func() bool { return cacheStatus(m, addrB).State == StateStale }, "cache B to be stale")
	if m.Snapshot().Validate(p, 2, true) != Valid {
		t.Error("data dropped before it expired")
	}
	clock.Advance(DefaultExpire + time.Minute)
	rstest.Eventually(t, 15*time.Second, func() bool {
		return m.Snapshot().VRPs.Len() == 0 && cacheStatus(m, addrA).State == StateExpired && cacheStatus(m, addrB).State == StateExpired
	}, "the data to expire")
	for _, addr := range []string{addrA, addrB} {
		if st := cacheStatus(m, addr); st.State != StateExpired || st.VRPs != 0 {
			t.Errorf("%s: %+v", addr, st)
		}
	}
}

// fakeCache accepts one router at a time and runs script on each
// connection.
func fakeCache(t *testing.T, script func(c net.Conn, r *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				script(c, bufio.NewReader(c))
			}()
		}
	}()
	return ln.Addr().String()
}

func pduBytes(ps ...rtr.PDU) []byte {
	var b []byte
	for _, p := range ps {
		if p.Version == 0 {
			p.Version = 1
		}
		b = p.Append(b)
	}
	return b
}

// TestRTRClientBadPDUs: a truncated PDU and an unknown PDU type in an
// update give a clear error (an Error Report to the cache for the unknown
// type) and the previous good data stays in force.
func TestRTRClientBadPDUs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bad     []byte
		wantErr string
		report  rtr.ErrorCode
	}{
		{"truncated", pduBytes(rtr.PDU{Type: rtr.IPv4Prefix, Flags: 1, Prefix: mustPrefix("198.51.100.0/24"), MaxLen: 24, ASN: 7})[:13], "truncated PDU", rtr.CorruptData},
		{"unknown type", []byte{1, 99, 0, 0, 0, 0, 0, 8}, "unknown PDU type 99", rtr.UnsupportedPDUType},
		{"bad length", []byte{1, byte(rtr.IPv4Prefix), 0, 0, 0, 0, 0, 12, 1, 24, 24, 0}, "must be 20 bytes", rtr.CorruptData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reports := make(chan rtr.PDU, 4)
			good := pduBytes(rtr.PDU{Type: rtr.CacheResponse, SessionID: 9},
				rtr.PDU{Type: rtr.IPv4Prefix, Flags: 1, Prefix: mustPrefix("192.0.2.0/24"), MaxLen: 24, ASN: 64496},
				rtr.PDU{Type: rtr.EndOfData, SessionID: 9, Serial: 1, Refresh: 3600, Retry: 600, Expire: 7200})
			addr := fakeCache(t, func(c net.Conn, r *bufio.Reader) {
				q, _, err := rtr.ReadPDU(r, nil)
				if err != nil {
					return
				}
				if q.Type == rtr.ResetQuery {
					c.Write(good)
					// Announce new data, then send the bad update.
					c.Write(pduBytes(rtr.PDU{Type: rtr.SerialNotify, SessionID: 9, Serial: 2}))
					if q, _, err = rtr.ReadPDU(r, nil); err != nil || q.Type != rtr.SerialQuery {
						return
					}
				}
				c.Write(pduBytes(rtr.PDU{Type: rtr.CacheResponse, SessionID: 9},
					rtr.PDU{Type: rtr.IPv4Prefix, Flags: 0, Prefix: mustPrefix("192.0.2.0/24"), MaxLen: 24, ASN: 64496}))
				c.Write(tc.bad)
				if tc.name == "truncated" {
					c.(*net.TCPConn).CloseWrite()
				}
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if p, _, err := rtr.ReadPDU(r, nil); err == nil {
					reports <- p
				}
			})
			m := NewManager(Options{Logger: quietLog(), RTRRetry: time.Hour})
			m.AddCache(addr, 1)
			runManager(t, m)
			rstest.Eventually(t, 15*time.Second, func() bool { return strings.Contains(cacheStatus(m, addr).LastError, tc.wantErr) }, "the error to be reported")
			if st := cacheStatus(m, addr); st.VRPs != 1 {
				t.Errorf("previous data lost by the client: %+v", st)
			}
			// The cache's data is published by the Manager's loop, after
			// the client has it: wait for it rather than read at once.
			rstest.Eventually(t, 15*time.Second, func() bool {
				return m.Snapshot().Validate(mustPrefix("192.0.2.0/24"), 64496, true) == Valid
			}, "the previous data to stay in force")
			select {
			case p := <-reports:
				if p.Type != rtr.ErrorReport || p.Code != tc.report {
					t.Errorf("cache got %v, want Error Report %v", &p, tc.report)
				}
			case <-time.After(5 * time.Second):
				if tc.name != "truncated" {
					t.Error("no Error Report sent to the cache")
				}
			}
		})
	}
}

// TestRTRServerVersions: a version-2 query gets "Unsupported Protocol
// Version" in version 1, a version-0 router gets version-0 PDUs, and a
// Serial Query with an unknown serial gets Cache Reset.
func TestRTRServerVersions(t *testing.T) {
	src, _ := feedManager(t, `{"roas":[{"asn":64496,"prefix":"192.0.2.0/24","maxLength":24}]}`)
	addr, _ := serveRTR(t, src, ServerOptions{})
	exchange := func(q rtr.PDU, n int) []rtr.PDU {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(q.Append(nil))
		r := bufio.NewReader(c)
		var out []rtr.PDU
		for len(out) < n {
			p, _, err := rtr.ReadPDU(r, nil)
			if err != nil {
				t.Fatalf("after %v: %v", out, err)
			}
			out = append(out, p)
		}
		return out
	}
	got := exchange(rtr.PDU{Version: 2, Type: rtr.ResetQuery}, 1)
	if got[0].Type != rtr.ErrorReport || got[0].Code != rtr.UnsupportedProtocolVersion || got[0].Version != 1 {
		t.Errorf("v2 query: %v", &got[0])
	}
	got = exchange(rtr.PDU{Version: 0, Type: rtr.ResetQuery}, 3)
	if got[1].Type != rtr.IPv4Prefix || got[2].Type != rtr.EndOfData || got[2].Version != 0 || got[2].Refresh != 0 {
		t.Errorf("v0 reset: %v %v", &got[1], &got[2])
	}
	got = exchange(rtr.PDU{Version: 1, Type: rtr.SerialQuery, SessionID: got[2].SessionID, Serial: 12345}, 1)
	if got[0].Type != rtr.CacheReset {
		t.Errorf("old serial: %v", &got[0])
	}
}
