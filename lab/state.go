package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// stateFile is the name of the state file in a lab's run directory.
const stateFile = "state.json"

// Lab phases recorded in the state file.
const (
	PhaseStarting = "starting"
	PhaseUp       = "up"
	PhaseDown     = "down"
)

// State is what a lab's run directory records, so that status, exec and
// down work from another invocation. It is rewritten after every step of
// Up, so a crash midway still leaves a usable record (and Up/Down also
// find leftovers by their namespace prefix, state or not).
type State struct {
	Version     int         `json:"version"`
	Name        string      `json:"name"`
	Dir         string      `json:"dir"`
	Phase       string      `json:"phase"`
	Created     time.Time   `json:"created"`
	Updated     time.Time   `json:"updated"`
	FedrsBinary string      `json:"fedrs_binary,omitempty"`
	Topology    *Topology   `json:"topology"`
	Namespaces  []string    `json:"namespaces"`
	Links       []LinkState `json:"links"`
	Processes   []procInfo  `json:"processes"`
	Error       string      `json:"error,omitempty"`
}

// LinkState records one interface the lab created.
type LinkState struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Node      string `json:"node"`
}

func writeState(dir string, st *State) error {
	st.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// ErrNoLab is returned by Load when no state exists for the name.
var ErrNoLab = errors.New("no such lab")

func readState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no %s in %s", ErrNoLab, stateFile, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read lab state: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("lab state %s: %w", filepath.Join(dir, stateFile), err)
	}
	if st.Topology == nil {
		return nil, fmt.Errorf("lab state %s: no topology", filepath.Join(dir, stateFile))
	}
	if err := st.Topology.Normalize(); err != nil {
		return nil, fmt.Errorf("lab state %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &st, nil
}
