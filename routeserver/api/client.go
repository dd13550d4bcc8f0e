package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"
)

// Client talks to the control API over its unix socket.
type Client struct {
	Socket string
	hc     *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	return &Client{Socket: path, hc: &http.Client{
		Timeout: 5 * time.Minute,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}}
}

// Get fetches path (with query) into out.
func (c *Client) Get(ctx context.Context, path string, q url.Values, out any) error {
	u := "http://fedrs" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return c.do(req, out)
}

// GetText fetches a text answer.
func (c *Client) GetText(ctx context.Context, path string, q url.Values) (string, error) {
	var s string
	u := "http://fedrs" + path + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	return s, c.do(req, &s)
}

// Post sends body as JSON to path and decodes the answer into out.
func (c *Client) Post(ctx context.Context, path string, q url.Values, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := "http://fedrs" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, out)
}

func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.connErr(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return statusError(resp, b)
	}
	if s, ok := out.(*string); ok {
		*s = string(b)
		return nil
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// Download streams the body of GET path (with query) into w and returns
// the response's trailers (sent after the body).
func (c *Client) Download(ctx context.Context, path string, q url.Values, w io.Writer) (http.Header, error) {
	u := "http://fedrs" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.connErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, statusError(resp, b)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return nil, fmt.Errorf("transfer from the route server broke off: %w", err)
	}
	return resp.Trailer, nil
}

// StatusError is an error answer of the control API: its HTTP status
// (400 a malformed request, 404 an unknown member or route, 409 a reload
// of another file, 422 a configuration refused) and its message.
type StatusError struct {
	Status  int
	Message string
	Kind    string // Error.Kind: "unknown_member" or ""
}

func (e *StatusError) Error() string { return e.Message }

func statusError(resp *http.Response, body []byte) error {
	var e Error
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return &StatusError{Status: resp.StatusCode, Message: e.Error, Kind: e.Kind}
	}
	return &StatusError{Status: resp.StatusCode, Message: fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body))}
}

// connErr explains a failure to reach the control socket.
func (c *Client) connErr(err error) error {
	// "dial unix PATH: connect: no such file or directory", without the
	// request around it.
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = fmt.Errorf("%s: %w", op.Op, op.Err)
	}
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("cannot reach the route server's control socket %s: is fedrs running (fedrs run), and is this its [server] control path? (%w)", c.Socket, err)
	}
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("no permission on the control socket %s (mode 0660): join its group (fedrs for the admin socket, [server] control_readonly_group for the read-only one) or run as the user fedrs runs as: %w", c.Socket, err)
	}
	return fmt.Errorf("control socket %s: %w", c.Socket, err)
}
