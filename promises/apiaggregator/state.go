package apiaggregator

import "github.com/promisekit/promisekit/pkg/state"

// noState is the state both stages read back: none. What they keep in
// status is for their readers (a target reads its aggregator's, people
// read both), and each run writes it whole from the request and the
// configuration; status a stage would not read cannot fail its run.
type noState = struct{}

// aggregatorState is what an aggregator publishes in its status for its
// targets' stages, which run in the teams' namespaces where the platform
// configuration is not mounted: where to attach, which implementation
// renders policies, and which destination to land on.
type aggregatorState struct {
	Hostname            string            `json:"hostname"`
	Parent              parentRef         `json:"parent"`
	Implementation      string            `json:"implementation"`
	RouteNamespaces     routeNamespaces   `json:"routeNamespaces,omitzero"`
	DestinationSelector map[string]string `json:"destinationSelector,omitempty"`
	MaxRequestBodySize  string            `json:"maxRequestBodySize,omitempty"`
	// CrossNamespaceBackends is Config.CrossNamespaceBackends.
	CrossNamespaceBackends bool `json:"crossNamespaceBackends,omitempty"`
}

// parentRef is the listener, of a Gateway or of a ListenerSet, that
// targets' HTTPRoutes attach to.
type parentRef struct {
	Kind        string `json:"kind"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	SectionName string `json:"sectionName"`
}

func (p parentRef) String() string { return p.Kind + " " + p.Namespace + "/" + p.Name }

var aggregatorStateCodec = state.Codec[aggregatorState]{Key: "apiAggregator", Version: 1}

// targetState is what a target reports in its status. Paths is one string
// so that `kubectl get` can show it in a column.
type targetState struct {
	Aggregator string   `json:"aggregator"`
	Paths      string   `json:"paths"`
	Routes     []string `json:"routes"`
	// ConflictCheck says what the prefixes were checked against.
	ConflictCheck string `json:"conflictCheck"`
}

var targetStateCodec = state.Codec[targetState]{Key: "apiAggregatorTarget", Version: 1}
