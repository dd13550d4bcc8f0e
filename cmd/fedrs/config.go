package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/fedrs/fedrs/conf"
	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/urfave/cli/v2"
)

// The one rule for finding the configuration, in every command: -c FILE,
// else $FEDRS_CONFIG, else /etc/fedrs/fedrs.toml. urfave/cli applies it
// (flag, then environment, then Value); configRule says it in the help.
const (
	defaultConfig = "/etc/fedrs/fedrs.toml"
	configEnv     = "FEDRS_CONFIG"
	configRule    = "The configuration file is -c FILE, else $FEDRS_CONFIG, else /etc/fedrs/fedrs.toml."
	socketRule    = "The route server is reached on --socket PATH, else on the [server] control socket of that\n" +
		"configuration (/run/fedrs/fedrs.sock when it sets none, or when no -c or $FEDRS_CONFIG is given\n" +
		"and /etc/fedrs/fedrs.toml does not exist)."
)

var configFlag = &cli.StringFlag{
	Name:    "config",
	Aliases: []string{"c"},
	Usage:   "configuration `FILE` (see CONFIGURATION below)",
	Value:   defaultConfig,
	EnvVars: []string{configEnv},
}

// configFlagNoDefault is the same flag: every command finds the
// configuration by the same rule (the name stays for the commands that
// use it).
var configFlagNoDefault = configFlag

var socketFlag = &cli.StringFlag{
	Name:  "socket",
	Usage: "control socket `PATH` of the running route server (else [server] control of the configuration)",
}

// configPath is the configuration file by the rule, and whether it was
// named (-c or $FEDRS_CONFIG) rather than the default.
func configPath(c *cli.Context) (string, bool) {
	p := c.String("config")
	if p == "" { // an empty $FEDRS_CONFIG counts as unset
		return defaultConfig, false
	}
	return p, c.IsSet("config")
}

// socketPath finds the running route server's control socket: --socket,
// else [server] control of the configuration (read without validating the
// rest of the file), else the default socket when the configuration is the
// default one and does not exist.
func socketPath(c *cli.Context) (string, error) {
	if s := c.String("socket"); s != "" {
		return s, nil
	}
	file, named := configPath(c)
	s, err := conf.ControlSocket(file)
	if err == nil {
		return s, nil
	}
	if !named && errors.Is(err, fs.ErrNotExist) {
		return conf.DefaultControl, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("configuration %s does not exist; name the route server's control socket with --socket PATH", file)
	}
	return "", fmt.Errorf("finding the control socket in %s: %w (or name it with --socket PATH)", file, err)
}

// client connects to the running route server found by socketPath.
func client(c *cli.Context) (*api.Client, error) {
	s, err := socketPath(c)
	if err != nil {
		return nil, err
	}
	return api.NewClient(s), nil
}

// loadConfig loads the configuration found by the rule, for the commands
// that read it themselves.
func loadConfig(c *cli.Context) (*conf.Config, error) {
	file, _ := configPath(c)
	return conf.Load(file)
}
