package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
		// A syntax error elsewhere in the file: find the key by lines.
		ctl, ok := scanControl(string(data))
		if !ok {
			return "", syntaxError(path, err)
		}
		raw.Server.Control = ctl
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

// scanControl finds `control = "PATH"` in the [server] table of a file
// that is not valid TOML, line by line: ok is false when the [server]
// table, or its control line, cannot be read so.
func scanControl(data string) (string, bool) {
	inServer, found := false, false
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			name := strings.TrimSpace(strings.Trim(strings.SplitN(line, "#", 2)[0], " \t[]"))
			inServer = name == "server"
			found = found || inServer
			continue
		}
		if !inServer {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(key) != "control" {
			continue
		}
		var v struct {
			C string `toml:"c"`
		}
		if _, err := toml.Decode("c = "+strings.TrimSpace(val), &v); err != nil {
			return "", false
		}
		return v.C, true
	}
	// A [server] table without control: the default socket.
	return "", found
}
