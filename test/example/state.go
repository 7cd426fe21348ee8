package example

import "github.com/promisekit/promisekit/pkg/state"

// StateKey is the top-level status key that holds State.
const StateKey = "greeting"

// State is what the stage remembers between runs, under status.greeting.
type State struct {
	// FirstGreeting is the greeting of the first run.
	FirstGreeting string `json:"firstGreeting"`
	// LastGreeting is the greeting of the latest run.
	LastGreeting string `json:"lastGreeting"`
	// Changes counts the runs whose greeting differed from the run before.
	Changes int `json:"changes"`
}

var stateCodec = state.Codec[State]{Key: StateKey, Version: 1}

// next is the state after a run with greeting.
func next(prev State, found bool, greeting string) State {
	s := State{FirstGreeting: greeting, LastGreeting: greeting}
	if found {
		s.FirstGreeting = prev.FirstGreeting
		s.Changes = prev.Changes
		if prev.LastGreeting != greeting {
			s.Changes++
		}
	}
	return s
}
