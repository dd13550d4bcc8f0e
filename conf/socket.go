package conf

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
)

// ControlSocket reads only the control socket path ([server] control,
// relative to the file's directory, default DefaultControl) from the
// configuration file at path. Unlike Load it does not validate the rest,
// so that the commands that talk to the running route server find it while
// the file is being edited (and a reload of a broken file is refused by the
// server, with every error, rather than by the client).
func ControlSocket(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read configuration: %w", err)
	}
	var raw struct {
		Server struct {
			Control string `toml:"control"`
		} `toml:"server"`
	}
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return "", syntaxError(path, err)
	}
	c := &Config{File: path}
	if raw.Server.Control == "" {
		return DefaultControl, nil
	}
	return c.Path(raw.Server.Control), nil
}

// ControlPath is the control socket of a loaded configuration, resolved
// against the file's directory like every path in it ("" when it has none).
func (c *Config) ControlPath() string { return c.Path(c.Server.Control) }

// ControlReadonlyPath is the read-only control socket, resolved like
// ControlPath ("" when none is configured).
func (c *Config) ControlReadonlyPath() string {
	if c.Server.ControlReadonly == "" {
		return ""
	}
	return c.Path(c.Server.ControlReadonly)
}

// ReadonlyGroup is the group of the read-only control socket in effect.
func (s *Server) ReadonlyGroup() string {
	if s.ControlReadonlyGroup == "" {
		return DefaultControlReadonlyGroup
	}
	return s.ControlReadonlyGroup
}

// AbsFile is the configuration file's absolute path ("" for a
// configuration built in code).
func (c *Config) AbsFile() string {
	if c.File == "" {
		return ""
	}
	if p, err := filepath.Abs(c.File); err == nil {
		return p
	}
	return c.File
}
