package main

import (
	"bufio"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/member"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/rstest"
	gomrt "github.com/osrg/gobgp/v3/pkg/packet/mrt"
)

// startWithAPI runs the route server from a config file (the
// three-member federation with extra in [server]) and its control API on
// a socket in a temp dir.
func startWithAPI(t *testing.T, extra string) (fed *rstest.Fed, file, sock string) {
	t.Helper()
	dir := t.TempDir()
	file = filepath.Join(dir, "fedrs.toml")
	sock = filepath.Join(dir, "fedrs.sock")
	text := strings.Replace(rstest.Config(rstest.Three(), extra), `control = ""`, `control = "`+sock+`"`, 1)
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := conf.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	fed = rstest.StartConfig(t, cfg, rstest.Three(), routeserver.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		api.New(fed.Srv, api.Options{Version: "test", Log: rstest.Log}).Serve(ctx, cfg.Server)
	}()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no control socket")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fed, file, sock
}

func TestMRTDump(t *testing.T) {
	fed, file, _ := startWithAPI(t, "")
	ctx := rstest.Ctx(t)
	a := fed.Members["nhs-a"]
	a.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.1.0.0/16"), ASPath: []uint32{65010}})
	fed.Members["nhs-b"].Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.1.0.0/16")})
	a.Announce(ctx, member.Route{Prefix: netip.MustParsePrefix("10.2.0.0/16"), NextHop: netip.MustParseAddr("127.0.0.99")}) // filtered
	deadline := time.Now().Add(10 * time.Second)
	for fed.Srv.RIB().Totals().Routes != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("RIB holds %d routes, want 3", fed.Srv.RIB().Totals().Routes)
		}
		time.Sleep(10 * time.Millisecond)
	}
	dump := filepath.Join(t.TempDir(), "rib.mrt")
	out, err := runCLI(t, "mrt", "dump", "-o", dump, "-c", file)
	if err != nil || !strings.Contains(out, dump+": 3 peers, 2 prefixes, 3 routes") {
		t.Fatalf("mrt dump: %v\n%s", err, out)
	}
	// The file is a complete TABLE_DUMP_V2 dump.
	f, err := os.Open(dump)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Split(gomrt.SplitMrt)
	var types []string
	entries := 0
	for sc.Scan() {
		var h gomrt.MRTHeader
		if err := h.DecodeFromBytes(sc.Bytes()); err != nil {
			t.Fatal(err)
		}
		m, err := gomrt.ParseMRTBody(&h, sc.Bytes()[gomrt.MRT_COMMON_HEADER_LEN:])
		if err != nil {
			t.Fatalf("record %d: %v", len(types)+1, err)
		}
		switch b := m.Body.(type) {
		case *gomrt.PeerIndexTable:
			types = append(types, "peers")
			if len(b.Peers) != 3 || b.CollectorBgpId.String() != "10.255.255.254" {
				t.Errorf("peer index %v", b)
			}
		case *gomrt.Rib:
			types = append(types, b.Prefix.String())
			entries += len(b.Entries)
		}
	}
	if strings.Join(types, " ") != "peers 10.1.0.0/16 10.2.0.0/16" || entries != 3 {
		t.Errorf("records %v with %d entries; want the peer index, 10.1.0.0/16 and 10.2.0.0/16 with 3 entries", types, entries)
	}
	if out, err := runCLI(t, "mrt", "dump", "-c", file); err == nil || !strings.Contains(err.Error(), "-o FILE") {
		t.Errorf("without -o: %v %s", err, out)
	}
}
