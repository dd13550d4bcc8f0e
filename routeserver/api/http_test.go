package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/lab/rstest"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/api"
)

// startHTTP runs a route server without members and the API with only
// the [http] listener hc (on a free loopback port); setup, when set,
// adjusts the API before it serves. It returns the listener's base URL.
func startHTTP(t *testing.T, hc conf.HTTP, setup func(*api.API)) string {
	t.Helper()
	cfg, err := conf.Parse([]byte(rstest.Config(nil, "")), filepath.Join(t.TempDir(), "fedrs.toml"))
	if err != nil {
		t.Fatal(err)
	}
	fed := rstest.StartConfig(t, cfg, nil, routeserver.Options{})
	return serveHTTP(t, fed, hc, setup)
}

// serveHTTP serves the API of fed's route server on the [http] listener
// hc only (on a free loopback port) and returns its base URL.
func serveHTTP(t *testing.T, fed *rstest.Fed, hc conf.HTTP, setup func(*api.API)) string {
	t.Helper()
	hc.Listen = "127.0.0.1:0"
	a := api.New(fed.Srv, api.Options{Version: "test", Log: rstest.Log})
	if setup != nil {
		setup(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hln, err := api.ListenHTTP(ctx, hc)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); a.ServeListeners(ctx, nil, hln, hc) }()
	t.Cleanup(func() { cancel(); <-done })
	return api.HTTPURL(hc, hln.Addr())
}

// call does one request and returns the status and the JSON error, if any.
func call(t *testing.T, cl *http.Client, method, url string, auth func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != nil {
		auth(req)
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e api.Error
	json.Unmarshal(body, &e)
	return resp.StatusCode, e.Error
}

type authCase struct {
	name string
	auth func(*http.Request)
	want int
}

// expectCodes GETs url with each case's authentication.
func expectCodes(t *testing.T, cl *http.Client, url string, cases []authCase) {
	t.Helper()
	for _, tc := range cases {
		if code, _ := call(t, cl, "GET", url, tc.auth); code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
		}
	}
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func basic(user, pass string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

// TestHTTPReadOnly: without authentication the listener answers the
// read-only API and refuses changes, naming the unix control socket.
func TestHTTPReadOnly(t *testing.T) {
	url := startHTTP(t, conf.HTTP{}, nil)
	cl := http.DefaultClient
	resp, err := cl.Get(url + "v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var st api.Status
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || st.Version != "test" {
		t.Errorf("GET /v1/status: %d %+v (%v)", resp.StatusCode, st, err)
	}
	if code, _ := call(t, cl, "GET", url+"metrics", nil); code != 200 {
		t.Errorf("GET /metrics: %d, want 200", code)
	}
	for _, path := range []string{"v1/reload", "v1/members/nhs-a/shutdown", "v1/maintenance/start", "v1/check"} {
		if code, msg := call(t, cl, "POST", url+path, nil); code != 403 || !strings.Contains(msg, "unix control socket") {
			t.Errorf("POST /%s: %d %q, want 403 naming the unix control socket", path, code, msg)
		}
	}
	if code, msg := call(t, cl, "GET", url+"v2/nothing", nil); code != 404 || !strings.Contains(msg, "no endpoint") {
		t.Errorf("GET /v2/nothing: %d %q, want 404", code, msg)
	}
}

func TestHTTPToken(t *testing.T) {
	const tok = "http-token-0123456789"
	url := startHTTP(t, conf.HTTP{TokenSecret: tok}, nil)
	cl := http.DefaultClient
	expectCodes(t, cl, url+"v1/status", []authCase{
		{"none", nil, 401},
		{"wrong token", bearer("http-token-0123456780"), 401},
		{"basic instead", basic("fedrs", tok), 401},
		{"token", bearer(tok), 200},
	})
	if code, _ := call(t, cl, "POST", url+"v1/reload", bearer(tok)); code != 403 {
		t.Errorf("POST with the token: %d, want 403", code)
	}
}

func TestHTTPBasicAuth(t *testing.T) {
	const user, pass = "noc", "basic-password-0123456789"
	url := startHTTP(t, conf.HTTP{BasicUser: user, BasicPassword: pass}, nil)
	cl := http.DefaultClient
	expectCodes(t, cl, url+"v1/status", []authCase{
		{"none", nil, 401},
		{"wrong password", basic(user, pass+"x"), 401},
		{"wrong user", basic("nocx", pass), 401},
		{"bearer instead", bearer(pass), 401},
		{"user and password", basic(user, pass), 200},
	})
	resp, err := cl.Get(url + "v1/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Basic ") {
		t.Errorf("WWW-Authenticate %q, want Basic", h)
	}
}

// testCert writes a self-signed ECDSA certificate for 127.0.0.1 and its
// key into dir, and returns their paths and a pool trusting it.
func testCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "fedrs test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestHTTPTLS(t *testing.T) {
	certFile, keyFile, pool := testCert(t, t.TempDir())
	const tok = "http-token-0123456789"
	url := startHTTP(t, conf.HTTP{Cert: certFile, Key: keyFile, TokenSecret: tok}, nil)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("URL %s, want https", url)
	}
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer cl.CloseIdleConnections()
	if code, _ := call(t, cl, "GET", url+"v1/status", bearer(tok)); code != 200 {
		t.Errorf("GET over TLS with the token: %d, want 200", code)
	}
	if code, _ := call(t, cl, "GET", url+"v1/status", nil); code != 401 {
		t.Errorf("GET over TLS without the token: %d, want 401", code)
	}
	// Plain HTTP to the TLS listener gets no API answer.
	plain := "http://" + strings.TrimPrefix(url, "https://")
	if resp, err := http.Get(plain + "v1/status"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP to the TLS listener: 200")
		}
	}
}

// TestHTTPConcurrencyCap: with every slot held, one more request gets 503
// with a JSON error at once; the held ones complete.
func TestHTTPConcurrencyCap(t *testing.T) {
	const slots = 3
	var held atomic.Int32
	release := make(chan struct{})
	url := startHTTP(t, conf.HTTP{}, func(a *api.API) {
		a.SetHTTPLimits(10*time.Second, slots, func(r *http.Request) {
			if r.URL.Path == "/v1/status" {
				held.Add(1)
				<-release
			}
		})
	})
	cl := &http.Client{Transport: &http.Transport{}}
	defer cl.CloseIdleConnections()
	var wg sync.WaitGroup
	codes := make(chan int, slots)
	for range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := cl.Get(url + "v1/status")
			if err != nil {
				codes <- -1
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	rstest.Eventually(t, 10*time.Second, func() bool { return held.Load() == slots }, "every slot to be held")
	code, msg := call(t, cl, "GET", url+"v1/neighbors", nil)
	if code != 503 || !strings.Contains(msg, "too many requests") {
		t.Errorf("request beyond the cap: %d %q, want 503 with a JSON error", code, msg)
	}
	unblock()
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("a held request ended with %d, want 200", c)
		}
	}
	if code, _ := call(t, cl, "GET", url+"v1/neighbors", nil); code != 200 {
		t.Errorf("after the held requests ended: %d, want 200", code)
	}
}

// TestHTTPSlowHeaders: a client that sends its headers slowly is cut off
// by the header timeout; it cannot hold a connection.
func TestHTTPSlowHeaders(t *testing.T) {
	const timeout = 300 * time.Millisecond
	url := startHTTP(t, conf.HTTP{}, func(a *api.API) { a.SetHTTPLimits(timeout, 64, nil) })
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Headers begun, never finished.
	if _, err := io.WriteString(c, "GET /v1/status HTTP/1.1\r\nHost: "+addr+"\r\nX-Slow: 1"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // the test's own bound
	got, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the slow connection open for %v", time.Since(start))
	}
	if strings.Contains(string(got), "200 OK") {
		t.Errorf("the slow request was answered:\n%s", got)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cut off after %v, want about %v", d, timeout)
	}
}
