// Command fedrs is the fedrs route server: run it, check its configuration,
// try it on the embedded example federation, and query it.
package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/fedrs/fedrs/routeserver/api"

	"github.com/urfave/cli/v2"
)

func main() {
	app := newApp()
	if err := app.Run(interspersed(app, os.Args)); err != nil {
		fmt.Fprintln(os.Stderr, "fedrs:", err)
		os.Exit(exitCode(err))
	}
}

// newApp builds the command line.
func newApp() *cli.App {
	app := &cli.App{
		Name:  "fedrs",
		Usage: "BGP route server and routing-policy engine for federations and Internet Exchanges",
		Description: "fedrs joins the networks of a federation (hospital trusts, councils, public-sector\n" +
			"networks) or an IXP through one route server that decides, route by route, what each\n" +
			"member may see, stops leaks and hijacks, and records every routing event.",
		Commands: []*cli.Command{
			runCommand(),
			checkCommand(),
			demoCommand(),
			lgCommand(),
			reloadCommand(),
			restartCommand(),
			memberCommand(),
			maintenanceCommand(),
			rpkiCommand(),
			registryCommand(),
			historyCommand(),
			mrtCommand(),
			labCommand(),
			versionCommand(),
			helpCommand(),
			manCommand(),
			completionCommand(),
		},
		Flags:       []cli.Flag{&cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version"}},
		HideVersion: true,
		Action:      rootAction,
	}
	decorate(app)
	return app
}

// exitError carries an exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode is 2 for a usage error (the command line or a value in it is
// wrong: an unknown command, flag or member, a missing argument, a bad
// prefix, time or number, including those the route server rejects as a
// bad request or an unknown member) and 1 for any other failure (a file
// or the route server not there, a route not found, a change refused).
func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	var se *api.StatusError
	if errors.As(err, &se) && (se.Status == http.StatusBadRequest || se.Kind == "unknown_member") {
		return 2
	}
	return 1
}
