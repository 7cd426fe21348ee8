// Package placement puts each request on exactly one of the platform's
// destinations: clusters that a Kratix Destination selects by its labels.
//
// A promise's platform configuration lists its destinations (what differs
// per cluster is the promise's own) and names a default; a request may
// name a destination the platform marks requestable. Without any listed,
// there is one implicit destination and no destination selector is
// written: Kratix schedules as the Promise says.
//
// The stage writes each destination's documents to a directory named
// after it, selected by the destination's labels. Kratix moves a request's
// output only when its directory changes (a WorkPlacement whose selector
// changed is updated where it is and marked Misplaced), so the directory
// is what moves a request between clusters.
package placement

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/promisekit/promisekit/pkg/k8sname"
	"github.com/promisekit/promisekit/pkg/kratix"
)

// Destination is what every promise's destination has: embed it (without
// a JSON name) in the promise's own destination type.
type Destination struct {
	// Name is what spec.destination and status name, and the output
	// directory the destination's documents go to.
	Name string `json:"name"`
	// MatchLabels select the one Kratix Destination of the cluster.
	MatchLabels map[string]string `json:"matchLabels"`
	// Requestable lets a request name this destination in
	// spec.destination; the default destination may always be named.
	Requestable bool `json:"requestable,omitempty"`
}

// Validate checks config.destinations, given by their common part, and
// config.defaultDestination, adding errors that name each field.
func Validate(errs *kratix.FieldErrors, dests []Destination, defaultName string) {
	if len(dests) == 0 {
		if defaultName != "" {
			errs.Add("config.defaultDestination", "names a destination, but config.destinations lists none")
		}
		return
	}
	names := map[string]int{}
	requestable := false
	for i, d := range dests {
		field := fmt.Sprintf("config.destinations[%d]", i)
		if j, seen := names[d.Name]; seen {
			errs.Add(field+".name", fmt.Sprintf("repeats config.destinations[%d].name", j))
		} else if !k8sname.IsDNSLabel(d.Name) {
			errs.Add(field+".name", "must be a DNS label (lower-case letters, digits and '-', at most 63): spec.destination names it")
		} else {
			names[d.Name] = i
		}
		validateMatchLabels(errs, field+".matchLabels", d.MatchLabels)
		for j, other := range dests[:i] {
			if len(d.MatchLabels) > 0 && len(other.MatchLabels) > 0 && (subset(d.MatchLabels, other.MatchLabels) || subset(other.MatchLabels, d.MatchLabels)) {
				errs.Add(field+".matchLabels", fmt.Sprintf("a cluster that config.destinations[%d].matchLabels selects would match both: Kratix could place either destination's requests on it", j))
			}
		}
		requestable = requestable || d.Requestable
	}
	if _, ok := names[defaultName]; defaultName != "" && !ok {
		errs.Add("config.defaultDestination", fmt.Sprintf("config.destinations has no destination %q", defaultName))
	}
	if defaultName == "" && !requestable {
		errs.Add("config.defaultDestination", "required: no destination is requestable, so a request could be placed nowhere")
	}
}

// validateMatchLabels checks labels as Kratix's destination selectors need
// them: at least one, each a valid label.
func validateMatchLabels(errs *kratix.FieldErrors, field string, labels map[string]string) {
	if len(labels) == 0 {
		errs.Add(field, "must hold at least one label: Kratix refuses an empty selector")
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if !k8sname.IsLabelKey(k) {
			errs.Add(field, fmt.Sprintf("%q is not a label key", k))
		} else if !k8sname.IsLabelValue(labels[k]) {
			errs.Add(field+"."+k, fmt.Sprintf("%q is not a label value", labels[k]))
		}
	}
}

// subset reports whether every label of a is in b.
func subset(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Choose returns the index in dests of the destination a request that
// names requested in spec.destination ("" for none) is placed on, or -1
// for the implicit destination of a configuration that lists none. what
// names the requests, for messages ("NATS user", "environment"). dests
// and defaultName must have passed Validate.
func Choose(dests []Destination, defaultName, requested, what string) (int, error) {
	if len(dests) == 0 {
		if requested != "" {
			return -1, &kratix.FieldError{Field: "spec.destination", Detail: fmt.Sprintf("this platform has one destination for every %s: leave it out", what)}
		}
		return -1, nil
	}
	var choices []string
	for _, d := range dests {
		if d.Requestable || d.Name == defaultName {
			choices = append(choices, d.Name)
		}
	}
	name := cmp.Or(requested, defaultName)
	switch {
	case name == "":
		return -1, &kratix.FieldError{Field: "spec.destination", Detail: "required: this platform has no default destination; choose one of " + strings.Join(choices, ", ")}
	case !k8sname.IsDNSLabel(name):
		return -1, &kratix.FieldError{Field: "spec.destination", Detail: "must be a DNS label (lower-case letters, digits and '-', at most 63)"}
	case !slices.Contains(choices, name):
		return -1, &kratix.FieldError{Field: "spec.destination", Detail: fmt.Sprintf("%q is not a destination a request may choose on this platform (choose one of %s)", name, strings.Join(choices, ", "))}
	}
	return slices.IndexFunc(dests, func(d Destination) bool { return d.Name == name }), nil
}

func (d Destination) destination() Destination { return d }

// embedsDestination is a promise's destination type, which embeds
// Destination.
type embedsDestination interface{ destination() Destination }

// Of returns the common parts of a promise's destinations.
func Of[D embedsDestination](dests []D) []Destination {
	out := make([]Destination, len(dests))
	for i, d := range dests {
		out[i] = d.destination()
	}
	return out
}
