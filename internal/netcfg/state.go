package netcfg

// The state file records what links cannot carry themselves: which
// namespaces an apply created (a namespace has no alias) and which link
// emulators it started, by PID, so destroy ends exactly those.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// state is one topology's state file.
type state struct {
	Owner      string     `json:"owner"`
	Namespaces []string   `json:"namespaces,omitempty"` // file names, created by us
	Emulators  []emuState `json:"emulators,omitempty"`
}

// emuState is a running link emulator.
type emuState struct {
	ID   string   `json:"id"` // which veth it serves
	PID  int      `json:"pid"`
	Args []string `json:"args"`
}

func statePath(o Options, owner string) string {
	return filepath.Join(o.stateDir(), owner+".json")
}

func loadState(o Options, owner string) (*state, error) {
	data, err := os.ReadFile(statePath(o, owner))
	if errors.Is(err, fs.ErrNotExist) {
		return &state{Owner: owner}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read state %s: %w", statePath(o, owner), err)
	}
	s.Owner = owner
	return &s, nil
}

// save writes the state atomically, or removes the file when the state is
// empty.
func (s *state) save(o Options) error {
	p := statePath(o, s.Owner)
	if len(s.Namespaces) == 0 && len(s.Emulators) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove state: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(o.stateDir(), 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

func (s *state) ownsNamespace(ns string) bool { return slices.Contains(s.Namespaces, ns) }

func (s *state) emulator(id string) *emuState {
	for i := range s.Emulators {
		if s.Emulators[i].ID == id {
			return &s.Emulators[i]
		}
	}
	return nil
}

func (s *state) dropEmulator(id string) {
	s.Emulators = slices.DeleteFunc(s.Emulators, func(e emuState) bool { return e.ID == id })
}
