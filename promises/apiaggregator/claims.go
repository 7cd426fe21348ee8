package apiaggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
)

// The platform API is read with pkg/platformapi rather than client-go, to
// keep a stage that runs for every target small and quick to start
// (docs/decisions.md). The Promise grants exactly the calls made (list on
// the two resources, in every namespace) in its pipeline's
// rbac.permissions.

// claimant is a target as Gateway API orders routes that claim the same
// match: the oldest first, then by "{namespace}/{name}" (HTTPRoute rule
// precedence, "Conflicts"). A target's creation time stands in for its
// routes': they are created when it is first configured.
type claimant struct {
	Namespace string
	Name      string
	// Created is the creation timestamp; zero when the object has none,
	// which orders it after every object that has one.
	Created time.Time
}

func claimantOf(o *kratix.Object) claimant {
	c := claimant{Namespace: o.Metadata.Namespace, Name: o.Metadata.Name}
	if t, err := time.Parse(time.RFC3339, o.Metadata.CreationTimestamp); err == nil {
		c.Created = t
	}
	return c
}

// precedes reports whether a's claim wins over b's.
func (a claimant) precedes(b claimant) bool {
	switch {
	case a.Created.IsZero() != b.Created.IsZero():
		return !a.Created.IsZero()
	case !a.Created.Equal(b.Created):
		return a.Created.Before(b.Created)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

func (a claimant) String() string { return a.Namespace + "/" + a.Name }

// sibling is another target of the same aggregator and the prefixes it
// claims.
type sibling struct {
	claimant
	Prefixes []string
}

// readAggregator reads what the aggregator ref names has published. A
// target cannot render before its aggregator has: it would not know where
// to attach or which destination to land on.
func readAggregator(ctx context.Context, client platformapi.API, ref objectRef) (aggregatorState, error) {
	objs, err := client.List(ctx, aggregatorsAPI, ref.Namespace)
	if err != nil {
		return aggregatorState{}, fmt.Errorf("reading ApiAggregator %s: %w", ref, err)
	}
	for _, o := range objs {
		if o.Metadata.Name != ref.Name {
			continue
		}
		st, found, err := aggregatorStateCodec.Load(o)
		if err != nil {
			return aggregatorState{}, fmt.Errorf("reading ApiAggregator %s: %w", ref, err)
		}
		if !found {
			return aggregatorState{}, kratix.Transient(fmt.Errorf("ApiAggregator %s has not been configured yet; Kratix retries this request", ref))
		}
		return st, nil
	}
	// It may be created later: a target may be applied before its
	// aggregator, and only has to wait.
	return aggregatorState{}, kratix.Transient(&kratix.FieldError{Field: "spec.aggregatorRef", Detail: fmt.Sprintf("ApiAggregator %s does not exist (yet)", ref)})
}

// readSiblings lists every other target attached to the aggregator ref.
func readSiblings(ctx context.Context, client platformapi.API, ref objectRef, me claimant) ([]sibling, error) {
	objs, err := client.List(ctx, targetsAPI, "")
	if err != nil {
		return nil, fmt.Errorf("reading the targets of ApiAggregator %s: %w", ref, err)
	}
	var siblings []sibling
	for _, o := range objs {
		c := claimantOf(o)
		if c.Namespace == me.Namespace && c.Name == me.Name {
			continue
		}
		// Only the two fields that matter are decoded, leniently: a
		// sibling whose spec this release would refuse still claims
		// its prefixes once its own stage accepts it.
		var spec struct {
			AggregatorRef objectRef `json:"aggregatorRef"`
			Paths         []struct {
				Prefix string `json:"prefix"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(o.Spec, &spec); err != nil {
			continue
		}
		if spec.AggregatorRef.resolve(c.Namespace) != ref {
			continue
		}
		s := sibling{claimant: c, Prefixes: make([]string, len(spec.Paths))}
		for i, p := range spec.Paths {
			s.Prefixes[i] = p.Prefix
		}
		siblings = append(siblings, s)
	}
	return siblings, nil
}

// checkConflicts fails with one error per prefix of paths that a sibling
// preceding me claims: the gateway would route it there, so rendering it
// here would only hide the problem.
func checkConflicts(paths []pathRule, me claimant, ref objectRef, siblings []sibling) error {
	owners := make(map[string]claimant)
	for _, s := range siblings {
		if !s.precedes(me) {
			continue
		}
		for _, p := range s.Prefixes {
			if owner, ok := owners[p]; !ok || s.precedes(owner) {
				owners[p] = s.claimant
			}
		}
	}
	var errs kratix.FieldErrors
	for i, p := range paths {
		owner, ok := owners[p.Prefix]
		if !ok {
			continue
		}
		when := "created earlier, at " + owner.Created.UTC().Format(time.RFC3339)
		if owner.Created.Equal(me.Created) {
			when = "created at the same second and first by namespace/name"
		}
		errs.Add(fmt.Sprintf("spec.paths[%d].prefix", i), fmt.Sprintf("%q is already routed through ApiAggregator %s by ApiAggregatorTarget %s (%s); the gateway keeps it there, so remove it from this target or agree on another prefix", p.Prefix, ref, owner, when))
	}
	return errs.Err()
}
