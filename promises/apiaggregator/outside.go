package apiaggregator

import (
	"context"
	"fmt"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
)

// Outside is what the stages reach beyond their own object: the platform
// API, for a target's aggregator and siblings (an aggregator reaches
// nothing). The binary's main chooses it (the cluster's API server, or the
// local runner's directory); tests pass a client for a fake server.
type Outside platformapi.Connect

// Act renders the aggregator's documents: an aggregator reaches nothing
// outside.
func (p *aggregatorPlan) Act(context.Context, Outside) (*kratix.Result, error) {
	return p.result()
}

// Act reads the aggregator's published settings, then the prefixes of the
// targets that precede this one (two list calls, nothing else), checks
// the target against them and renders its routes.
func (p *targetPlan) Act(ctx context.Context, o Outside) (*kratix.Result, error) {
	var agg aggregatorState
	var client platformapi.API
	var err error
	if p.cfg.PlatformAPI == APIOff {
		agg = aggregatorFromConfig(*p.cfg, p.ref)
	} else {
		if client, err = o(p.req.Getenv, platformapi.WithTimeout(p.cfg.PlatformAPITimeout.Or(defaultPlatformAPITimeout))); err != nil {
			return nil, fmt.Errorf("connecting to the platform API: %w", err)
		}
		if agg, err = readAggregator(ctx, client, p.ref); err != nil {
			return nil, err
		}
		if err := checkPublished(*p.cfg, p.ref, agg); err != nil {
			return nil, err
		}
	}
	if err := p.spec.checkPlacement(p.me.Namespace, p.ref, agg); err != nil {
		return nil, err
	}
	conflictCheck := "skipped: the platform API is off"
	if client != nil {
		// Only the targets naming the aggregator's name are read: the
		// API server selects them (selectableFields in the target's CRD).
		// Not by namespace: a target that leaves it to default has none.
		mine := platformapi.Where(client, platformapi.Field{Path: "spec.aggregatorRef.name", Value: p.ref.Name})
		siblings, err := readSiblings(ctx, mine, p.ref, p.me)
		if err != nil {
			return nil, err
		}
		if err := checkConflicts(p.spec.Paths, p.me, p.ref, siblings); err != nil {
			return nil, err
		}
		conflictCheck = fmt.Sprintf("checked against %d other targets of %s", len(siblings), p.ref)
	}
	return p.result(agg, conflictCheck)
}
