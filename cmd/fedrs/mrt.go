package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fedrs/fedrs/routeserver/api"
	"github.com/fedrs/fedrs/routeserver/mrt"
	"github.com/urfave/cli/v2"
)

func mrtCommand() *cli.Command {
	return &cli.Command{
		Name:  "mrt",
		Usage: "MRT dumps of the running route server's RIB",
		Subcommands: []*cli.Command{{
			Name:  "dump",
			Usage: "write an MRT TABLE_DUMP_V2 dump (RFC 6396) of the RIB to a file",
			Description: "Asks the running route server for a dump of every member's routes (accepted and\n" +
				"filtered, attributes as received) and writes it to FILE, which bgpdump, bgpreader and\n" +
				"pybgpstream read (bgpdump -m FILE). \"-o -\" writes to standard output.",
			Flags: []cli.Flag{socketFlag, configFlagNoDefault,
				&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the dump to `FILE` (- for standard output)"},
			},
			Action: mrtDump,
		}},
	}
}

func mrtDump(c *cli.Context) error {
	out := c.String("output")
	if out == "" {
		return &exitError{2, errors.New("usage: fedrs mrt dump -o FILE (or -o - for standard output)")}
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	if out == "-" {
		_, err := cl.Download(c.Context, "/v1/mrt", nil, c.App.Writer)
		return err
	}
	// Into a temporary file next to FILE, renamed when complete.
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("-o %s: cannot write in %s: %w", out, filepath.Dir(out), err)
	}
	tmp := f.Name()
	trailer, err := cl.Download(c.Context, "/v1/mrt", nil, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	var st mrt.Stats
	if err := json.Unmarshal([]byte(trailer.Get(api.MRTStatsTrailer)), &st); err != nil {
		return fmt.Errorf("%s written, but the route server did not confirm the dump was complete", out)
	}
	fmt.Fprintf(c.App.Writer, "%s: %d peers, %d prefixes, %d routes, %d bytes\n", out, st.Peers, st.Prefixes, st.Routes, st.Bytes)
	return nil
}
