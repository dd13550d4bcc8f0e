package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver"
	"github.com/fedrs/fedrs/routeserver/sdnotify"
)

// service is fedrs run's side of the service manager (systemd Type=notify):
// READY=1 once the listeners are bound, STATUS= with the sessions
// established (and a refused reload), RELOADING=1 around a reload,
// WATCHDOG=1, STOPPING=1. It also logs every reload from the file, however
// it was asked for (SIGHUP, the control API). Without $NOTIFY_SOCKET it
// only logs.
type service struct {
	n        *sdnotify.Notifier
	watchdog time.Duration
	log      *slog.Logger

	mu      sync.Mutex
	srv     *routeserver.Server
	refused string // the last reload's refusal; "" after one that was applied
	status  string // the last STATUS= sent
	stopped bool
}

// statusEvery is how often the status line is recomputed (and sent when
// it changed): at most one STATUS= a second however many sessions flap.
const statusEvery = time.Second

func newService(log *slog.Logger) (*service, error) {
	n, err := sdnotify.FromEnv()
	if err != nil {
		return nil, err
	}
	wd, err := sdnotify.WatchdogInterval()
	if err != nil {
		return nil, err
	}
	return &service{n: n, watchdog: wd, log: log}, nil
}

// Reloading implements routeserver.ReloadObserver.
func (s *service) Reloading() {
	if err := s.n.Reloading(); err != nil {
		s.log.Warn("service manager notification", "err", err)
	}
}

// Reloaded implements routeserver.ReloadObserver: the reload is logged
// and, when refused, stays in the status line until one is applied.
func (s *service) Reloaded(res routeserver.ReloadResult, err error) {
	s.mu.Lock()
	if err != nil {
		s.log.Error("reload refused; the running configuration stays", "err", err)
		s.refused = fmt.Sprintf("reload refused at %s, running configuration kept: %v", time.Now().UTC().Format("2006-01-02 15:04:05 UTC"), err)
	} else {
		s.log.Info("reload done", "result", strings.ReplaceAll(res.String(), "\n", "; "))
		s.refused = ""
	}
	s.status = s.statusLine()
	status := s.status
	s.mu.Unlock()
	if err := s.n.Ready(status); err != nil {
		s.log.Warn("service manager notification", "err", err)
	}
}

// statusLine is "N of M sessions established", with the last refused
// reload. s.mu is held.
func (s *service) statusLine() string {
	if s.srv == nil {
		return ""
	}
	up, all := 0, 0
	for _, n := range s.srv.Neighbors() {
		all++
		if n.Peer != nil && n.Peer.Info().State.String() == "Established" {
			up++
		}
	}
	line := fmt.Sprintf("%d of %d sessions established", up, all)
	if s.srv.InMaintenance() {
		line += "; in maintenance"
	}
	if s.refused != "" {
		line += "; " + s.refused
	}
	return line
}

// ready tells the service manager that fedrs runs (its listeners bound)
// and keeps the status line and the watchdog going until ctx ends.
func (s *service) ready(ctx context.Context, srv *routeserver.Server) {
	s.mu.Lock()
	s.srv = srv
	s.status = s.statusLine()
	status := s.status
	s.mu.Unlock()
	if !s.n.Enabled() {
		return
	}
	if err := s.n.Ready(status); err != nil {
		s.log.Warn("service manager notification", "err", err)
	}
	go func() {
		t := time.NewTicker(statusEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s.mu.Lock()
			line, changed := s.statusLine(), false
			if line != s.status && !s.stopped {
				s.status, changed = line, true
			}
			s.mu.Unlock()
			if changed {
				s.n.Status(line)
			}
		}
	}()
	if s.watchdog > 0 {
		s.log.Info("service manager watchdog", "every", s.watchdog/2)
		go func() {
			t := time.NewTicker(s.watchdog / 2)
			defer t.Stop()
			for {
				// Only while the route server answers: its neighbour
				// table and every session's state are read first, so a
				// route server stuck on one of their locks stops pinging
				// and systemd restarts it.
				s.mu.Lock()
				s.statusLine()
				s.mu.Unlock()
				s.n.Watchdog()
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
}

// stopping tells the service manager that fedrs is shutting down (once).
func (s *service) stopping() {
	s.mu.Lock()
	already := s.stopped
	s.stopped = true
	s.mu.Unlock()
	if !already {
		s.n.Stopping()
	}
}

// ---- logs under journald ----

// underJournal reports whether stderr is the journal's stream
// ($JOURNAL_STREAM names its device and inode, systemd.exec(5)).
func underJournal() bool {
	js := os.Getenv("JOURNAL_STREAM")
	dev, ino, ok := strings.Cut(js, ":")
	if !ok {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(2, &st); err != nil {
		return false
	}
	return strconv.FormatUint(uint64(st.Dev), 10) == dev && strconv.FormatUint(st.Ino, 10) == ino
}

// journalHandler writes text log lines without a time (journald stamps
// each line) and with the sd-daemon(3) priority prefix journald reads
// the level from: <3> error, <4> warning, <6> info, <7> debug.
type journalHandler struct {
	inner slog.Handler // a text handler writing into *buf
	out   *journalOut
}

type journalOut struct {
	mu  sync.Mutex
	buf bytes.Buffer
	w   io.Writer
}

func newJournalHandler(w io.Writer, opts *slog.HandlerOptions) *journalHandler {
	o := *opts
	o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	out := &journalOut{w: w}
	return &journalHandler{inner: slog.NewTextHandler(&out.buf, &o), out: out}
}

func priority(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "<3>"
	case l >= slog.LevelWarn:
		return "<4>"
	case l >= slog.LevelInfo:
		return "<6>"
	}
	return "<7>"
}

func (h *journalHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	h.out.buf.Reset()
	h.out.buf.WriteString(priority(r.Level))
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	_, err := h.out.w.Write(h.out.buf.Bytes())
	return err
}

func (h *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &journalHandler{inner: h.inner.WithAttrs(as), out: h.out}
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{inner: h.inner.WithGroup(name), out: h.out}
}

// ---- dropping to [server] user without a service manager ----

// lookupIdentity resolves [server] user and group: uid, gid and the
// user's supplementary groups.
func lookupIdentity(s conf.Server) (uid, gid int, groups []int, err error) {
	u, err := user.Lookup(s.User)
	if err != nil {
		if _, nerr := strconv.Atoi(s.User); nerr == nil {
			u, err = user.LookupId(s.User)
		}
	}
	if err != nil {
		return 0, 0, nil, fmt.Errorf("[server] user = %q: %w", s.User, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	if s.Group != "" {
		g, err := user.LookupGroup(s.Group)
		if err != nil {
			if _, nerr := strconv.Atoi(s.Group); nerr == nil {
				g, err = user.LookupGroupId(s.Group)
			}
		}
		if err != nil {
			return 0, 0, nil, fmt.Errorf("[server] group = %q: %w", s.Group, err)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	ids, err := u.GroupIds()
	if err != nil {
		return 0, 0, nil, fmt.Errorf("[server] user = %q: its groups: %w", s.User, err)
	}
	groups = []int{gid}
	for _, id := range ids {
		if n, err := strconv.Atoi(id); err == nil && n != gid {
			groups = append(groups, n)
		}
	}
	return uid, gid, groups, nil
}

// checkIdentity refuses, before anything is started, a [server] user that
// fedrs cannot become: unknown, or another user while not root.
func checkIdentity(s conf.Server) error {
	if s.User == "" {
		return nil
	}
	uid, gid, _, err := lookupIdentity(s)
	if err != nil {
		return err
	}
	if os.Geteuid() == 0 || (os.Geteuid() == uid && (s.Group == "" || os.Getegid() == gid)) {
		return nil
	}
	return fmt.Errorf("[server] user = %q (uid %d, gid %d): fedrs runs as uid %d gid %d, not root, and cannot change to it; start fedrs run as root (it drops to the user after binding its ports) or as that user",
		s.User, uid, gid, os.Geteuid(), os.Getegid())
}

// dropPrivileges changes to [server] user and group (with the user's
// supplementary groups) once the listeners are bound and the files open;
// files (the history database, the control socket) are handed to the user
// first, so that it can go on using them. Not root and already the user:
// nothing to do.
func dropPrivileges(s conf.Server, files []string, log *slog.Logger) error {
	if s.User == "" || os.Geteuid() != 0 {
		return checkIdentity(s)
	}
	uid, gid, groups, err := lookupIdentity(s)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.Lchown(f, uid, gid); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("[server] user = %q: handing %s to it: %w", s.User, f, err)
		}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("[server] user = %q: setgroups %v: %w", s.User, groups, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("[server] user = %q: setgid %d: %w", s.User, gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("[server] user = %q: setuid %d: %w", s.User, uid, err)
	}
	if os.Getuid() != uid || os.Geteuid() != uid || os.Getgid() != gid || os.Getegid() != gid {
		return fmt.Errorf("[server] user = %q: still uid %d/%d gid %d/%d after changing to uid %d gid %d", s.User, os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid(), uid, gid)
	}
	if uid != 0 {
		if err := syscall.Setuid(0); err == nil {
			return fmt.Errorf("[server] user = %q: root could be regained after the change; stopping", s.User)
		}
	}
	log.Info("privileges dropped", "user", s.User, "uid", uid, "gid", gid, "groups", groups)
	return nil
}

// ownedFiles are the files fedrs run opens as root that [server] user
// goes on using: the history database (with its WAL files, and its
// directory when fedrs is about to create it) and the control socket.
// Called before they are created.
func ownedFiles(cfg *conf.Config) []string {
	var fs []string
	if cfg.Server.History != "" {
		db := cfg.Path(cfg.Server.History)
		if _, err := os.Stat(filepath.Dir(db)); errors.Is(err, os.ErrNotExist) {
			fs = append(fs, filepath.Dir(db))
		}
		fs = append(fs, db, db+"-wal", db+"-shm", db+"-journal")
	}
	if sock := cfg.ControlPath(); sock != "" {
		fs = append(fs, sock)
	}
	return fs
}
