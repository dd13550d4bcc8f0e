package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// Caller is who sent a control request: the peer credentials of the unix
// socket connection (SO_PEERCRED). Known is false where they are not
// available (a test's in-memory server, another OS).
type Caller struct {
	Known         bool
	UID, GID, PID int
}

// String is "uid 1000 (alice) gid 1000 pid 4242", or "unknown".
func (c Caller) String() string {
	if !c.Known {
		return "unknown"
	}
	name := ""
	if u, err := user.LookupId(strconv.Itoa(c.UID)); err == nil {
		name = " (" + u.Username + ")"
	}
	return fmt.Sprintf("uid %d%s gid %d pid %d", c.UID, name, c.GID, c.PID)
}

type callerKey struct{}

// callerContext is the control sockets' http.Server ConnContext: it
// stashes the connection's peer credentials in every request's context.
func callerContext(ctx context.Context, c net.Conn) context.Context {
	if uc, ok := c.(*net.UnixConn); ok {
		if cr, ok := peerCred(uc); ok {
			return context.WithValue(ctx, callerKey{}, cr)
		}
	}
	return ctx
}

// CallerOf is the caller of a request on a control socket.
func CallerOf(r *http.Request) Caller {
	c, _ := r.Context().Value(callerKey{}).(Caller)
	return c
}

// ControlRequest is one state-changing request on a control socket, as
// the audit logs and records it.
type ControlRequest struct {
	Method, Path string
	Caller       Caller
	// Status is the HTTP status of the answer; Result is "ok" or the
	// error the caller was given.
	Status int
	Result string
	// ReadOnly: it came on the read-only socket and was refused there.
	ReadOnly bool
}

// Command is the request as an operator would name it ("POST /v1/reload").
func (cr ControlRequest) Command() string { return cr.Method + " " + cr.Path }

// statusRecorder keeps the status and (for errors) the body of an answer.
type statusRecorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	if s.status >= 400 && s.body.Len() < 4096 {
		s.body.Write(b)
	}
	return s.ResponseWriter.Write(b)
}

// audited wraps a state-changing endpoint: every request is logged with
// its caller and result (WARN when refused) and handed to Options.Audit.
func (a *API) audited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		a.audit(ControlRequest{Method: r.Method, Path: r.URL.Path, Caller: CallerOf(r), Status: rec.status, Result: resultOf(rec)})
	}
}

// resultOf is "ok", or the error of a refused request's JSON answer.
func resultOf(rec *statusRecorder) string {
	if rec.status < 400 {
		return "ok"
	}
	var e Error
	if json.Unmarshal(rec.body.Bytes(), &e) == nil && e.Error != "" {
		return e.Error
	}
	return http.StatusText(rec.status)
}

// audit logs cr and hands it to Options.Audit.
func (a *API) audit(cr ControlRequest) {
	args := []any{"request", cr.Command(), "caller", cr.Caller.String(), "status", cr.Status}
	if cr.Caller.Known {
		args = append(args, "uid", cr.Caller.UID, "gid", cr.Caller.GID, "pid", cr.Caller.PID)
	}
	// A refused reload is a refused request like any other here (WARN,
	// with the caller); the route server's reload observer logs the
	// reload itself.
	if cr.Status < 400 {
		a.opts.Log.Info("control request done", args...)
	} else {
		a.opts.Log.Warn("control request refused", append(args, "reason", cr.Result)...)
	}
	if a.opts.Audit != nil {
		a.opts.Audit(cr)
	}
}

// ErrReadOnly is the error of a state-changing request on the read-only
// control socket.
var ErrReadOnly = errors.New("this is the read-only control socket")

// ReadOnlyHandler serves the read-only control socket: the read-only
// endpoints (lg, history, rpki status, status); every endpoint that changes
// state (or reads a file the client names) answers 403 naming the admin
// socket, admin.
func (a *API) ReadOnlyHandler(admin string) http.Handler {
	mux := http.NewServeMux()
	for _, e := range a.endpoints() {
		if !e.Write {
			mux.HandleFunc(e.Method+" "+e.Path, e.h)
			continue
		}
		mux.HandleFunc(e.Method+" "+e.Path, func(w http.ResponseWriter, r *http.Request) {
			err := fmt.Errorf("%w: %s %s changes the route server's state; use the admin control socket %s (its group may change state)", ErrReadOnly, r.Method, r.URL.Path, admin)
			writeErr(w, http.StatusForbidden, err)
			a.audit(ControlRequest{Method: r.Method, Path: r.URL.Path, Caller: CallerOf(r), Status: http.StatusForbidden, Result: err.Error(), ReadOnly: true})
		})
	}
	mux.HandleFunc("/", noEndpoint)
	return mux
}

// ListenGroup is Listen with the socket handed to group (mode 0660): ""
// keeps the daemon's own group. The socket is chowned only when its group
// differs; a group that does not exist, or that the daemon may not hand
// the socket to (it is not a member), is an error naming it.
func ListenGroup(path, group string) (net.Listener, error) {
	gid := -1
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("control socket %s: group %q: %w", path, group, err)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return nil, fmt.Errorf("control socket %s: group %q: gid %q", path, group, g.Gid)
		}
	}
	ln, err := Listen(path)
	if err != nil {
		return nil, err
	}
	if gid >= 0 {
		st, err := os.Stat(path)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("control socket %s: %w", path, err)
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); !ok || int(sys.Gid) != gid {
			if err := os.Lchown(path, -1, gid); err != nil {
				ln.Close()
				return nil, fmt.Errorf("control socket %s: handing it to group %q: %w (the daemon must be a member of the group: SupplementaryGroups=%s in the unit)", path, group, err, group)
			}
		}
	}
	return ln, nil
}
