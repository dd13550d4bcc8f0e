package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/fedrs/fedrs/lab"
	"github.com/urfave/cli/v2"
)

// labClabCommand is "fedrs lab clab FILE": the topology (or scenario) as a
// containerlab topology with the nodes' configs and start scripts.
func labClabCommand() *cli.Command {
	return &cli.Command{
		Name:      "clab",
		Usage:     "write an equivalent containerlab topology (NAME.clab.yml) with every node's configs, to run the lab under Docker",
		ArgsUsage: "FILE",
		Description: "FILE is a topology or a scenario file (its expectations are not used). The output directory gets\n" +
			"NAME.clab.yml and one directory per node (mounted at /lab in its container) with its configs and\n" +
			"start.sh; \"lan\" is the peering LAN (a bridge in its own container). Deploy it with\n" +
			"\"cd DIR && sudo containerlab deploy -t NAME.clab.yml\". The fedrs image and the member-daemons image\n" +
			"are built from lab/Dockerfile (the command prints how). See lab/README.md, containerlab.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "`DIR` to write into (default ./clab-NAME)"},
			&cli.StringSliceFlag{Name: "image", Usage: "`KIND=IMAGE`: the image of the nodes of a kind (fedrs, bird, frr, openbgpd, gobgp, exabgp, lan); repeatable"},
			&cli.StringFlag{Name: "fedrs-image", Usage: "`IMAGE` of a fedrs route server (same as --image fedrs=IMAGE)"},
		},
		Action: labClab,
	}
}

func labClab(c *cli.Context) error {
	file, err := oneArg(c, "FILE")
	if err != nil {
		return err
	}
	topo, what, err := readTopologyOrScenario(file)
	if err != nil {
		return err // a failure (exit status 1), as fedrs check
	}
	opts := lab.ClabOptions{Images: map[string]string{}}
	for _, kv := range c.StringSlice("image") {
		kind, img, ok := strings.Cut(kv, "=")
		if !ok || kind == "" || img == "" {
			return &exitError{2, fmt.Errorf("--image %q: want KIND=IMAGE, e.g. --image bird=fedrs-lab-daemons:latest", kv)}
		}
		if _, known := lab.DefaultClabImages[kind]; !known {
			kinds := make([]string, 0, len(lab.DefaultClabImages))
			for k := range lab.DefaultClabImages {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			return &exitError{2, fmt.Errorf("--image %q: no node kind %q (kinds: %s)", kv, kind, strings.Join(kinds, ", "))}
		}
		opts.Images[kind] = img
	}
	if img := c.String("fedrs-image"); img != "" {
		opts.Images[lab.KindFedrs] = img
	}
	dir := c.String("output")
	if dir == "" {
		dir = "clab-" + topo.Name
	}
	files, err := lab.WriteClab(topo, dir, opts)
	if err != nil {
		return fmt.Errorf("containerlab export of %s: %w", file, err)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "containerlab topology of %s %s (%s): %d nodes and the peering LAN, written to %s:\n",
		what, topo.Name, file, len(topo.Members)+1, dir)
	for _, f := range files {
		fmt.Fprintf(w, "  %s\n", filepath.Join(dir, f))
	}
	fmt.Fprintln(w, "\nimages:")
	for _, img := range lab.ClabImages(topo, opts) {
		how := "pulled by containerlab"
		if img.Build != "" {
			how = "build it from the fedrs repository's top directory: " + img.Build
		}
		fmt.Fprintf(w, "  %s (%s): %s\n", img.Image, strings.Join(img.Kinds, ", "), how)
	}
	fmt.Fprintf(w, "\ndeploy with:\n  cd %s && sudo containerlab deploy -t %s\n", shellArg(dir), lab.ClabFile(topo))
	fmt.Fprintf(w, "remove with:\n  cd %s && sudo containerlab destroy -t %s --cleanup\n", shellArg(dir), lab.ClabFile(topo))
	return nil
}

// readTopologyOrScenario reads a topology file, or a scenario file (a
// topology with settle and [[expect]]); what says which it was.
func readTopologyOrScenario(file string) (*lab.Topology, string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("read topology: %w", err)
	}
	var raw map[string]any
	if _, err := toml.Decode(string(b), &raw); err == nil {
		_, expect := raw["expect"]
		_, settle := raw["settle"]
		if expect || settle {
			sc, err := lab.ParseScenario(b, file)
			if err != nil {
				return nil, "", err
			}
			return &sc.Topology, "scenario", nil
		}
	}
	topo, err := lab.ParseTopology(b, file)
	if err != nil {
		return nil, "", err
	}
	return topo, "lab", nil
}

// shellArg quotes a path for a command line shown to the user.
func shellArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
