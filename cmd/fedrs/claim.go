package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/instance"
)

// claimed is what fedrs run takes before anything else.
type claimed struct {
	control  net.Listener // the control socket (nil when none is configured)
	readonly net.Listener // the read-only control socket (nil when none is configured)
	locks    []*instance.Lock
}

// release closes the control socket (removing its file; the control API
// has usually closed it already) and gives the locks up.
func (c *claimed) release() {
	if c.control != nil {
		c.control.Close()
	}
	if c.readonly != nil {
		c.readonly.Close()
	}
	for _, l := range c.locks {
		l.Release()
	}
}

// claim takes what only one route server may use, before any BGP listener,
// outgoing connection or database: the lock beside the control socket and
// the one beside the history database (creating their directories), then
// the control socket itself, replacing a stale socket file. A second
// fedrs with the same configuration stops here, naming the running one,
// and disturbs nothing.
func claim(cfg *conf.Config, log *slog.Logger) (*claimed, error) {
	c := &claimed{}
	take := func(what, path string, mode os.FileMode) error {
		if err := os.MkdirAll(filepath.Dir(path), mode); err != nil {
			return fmt.Errorf("%s %s: creating its directory: %w", what, path, err)
		}
		l, err := instance.Acquire(path)
		var held *instance.HeldError
		if errors.As(err, &held) {
			who := "another fedrs"
			if held.PID > 0 {
				who = fmt.Sprintf("another fedrs (pid %d)", held.PID)
			}
			return fmt.Errorf("%s is running with the %s %s (its lock %s is held); nothing was started: stop it first, or give this configuration its own [server] control and history",
				who, what, path, held.Lock)
		}
		if err != nil {
			return err
		}
		c.locks = append(c.locks, l)
		return nil
	}
	sock := cfg.ControlPath()
	if sock != "" {
		if err := take("control socket", sock, 0o755); err != nil {
			return nil, err
		}
	}
	if cfg.Server.History != "" {
		if err := take("history database", cfg.Path(cfg.Server.History), 0o750); err != nil {
			c.release()
			return nil, err
		}
	}
	if sock != "" {
		_, statErr := os.Lstat(sock)
		ln, err := api.ListenGroup(sock, cfg.Server.ControlGroup)
		if err != nil {
			c.release()
			return nil, err
		}
		if statErr == nil {
			log.Warn("control socket: replaced a socket file that no process answered on (left by a run that was killed)", "socket", sock)
		}
		c.control = ln
	}
	if ro := cfg.ControlReadonlyPath(); ro != "" {
		ln, err := api.ListenGroup(ro, cfg.Server.ReadonlyGroup())
		if err != nil {
			c.release()
			return nil, fmt.Errorf("[server] control_readonly: %w", err)
		}
		c.readonly = ln
	}
	return c, nil
}
