// Package apiaggregator implements the pipeline stages of two Promises that
// put many teams' APIs behind one public hostname with the Kubernetes
// Gateway API.
//
// An ApiAggregator, created by the platform team, becomes a Gateway for its
// hostname: an HTTPS listener whose certificate comes from cert-manager or a
// named Secret, an HTTP listener that redirects to HTTPS, and an optional
// request-body limit for the whole hostname. An ApiAggregatorTarget, created
// by a team in its own namespace, becomes HTTPRoutes attached to that
// Gateway: one rule per path prefix, sent to one of the team's Services.
//
// Gateway API gives a path claimed by two routes to the older route and says
// nothing to the newer one. A target's stage therefore reads its sibling
// targets from the platform cluster and fails, naming the older target, when
// it claims a prefix that an older target of the same aggregator holds. The
// order is Gateway API's own (creation time, then namespace/name), so what a
// failed run reports is what the gateway would do.
//
// Both kinds are served by one binary: the stage dispatches on the input
// object's kind. The aggregator's Gateway is rendered with ytt from
// templates embedded in the binary; a target's documents are built from Go
// structs, for speed (see manifests.go). A request-body limit is a separate
// policy per gateway implementation, so routes know nothing about
// implementations.
package apiaggregator

import (
	"context"
	"fmt"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/platformapi"
)

// Group is the API group of both kinds.
const Group = "apiaggregator.promisekit.io"

// The two kinds and their APIs.
const (
	KindAggregator = "ApiAggregator"
	KindTarget     = "ApiAggregatorTarget"
)

var (
	aggregatorsAPI = platformapi.Resource{Group: Group, Version: "v1alpha1", Plural: "apiaggregators"}
	targetsAPI     = platformapi.Resource{Group: Group, Version: "v1alpha1", Plural: "apiaggregatortargets"}
)

// Labels set on every rendered object, so that a platform engineer can find
// what an aggregator or a target produced on a destination.
const (
	labelAggregator = Group + "/aggregator"
	labelTarget     = Group + "/target"
)

// Connect returns the platform API client a target's stage reads its
// aggregator and sibling targets with. platformapi.New is the one used in
// production; tests pass a client for an httptest server.
type Connect func(getenv func(string) string) (*platformapi.Client, error)

// Workflows returns the stage functions of the apiaggregator binary, for
// both Promises.
func Workflows(connect Connect) kratix.Workflows {
	return kratix.Workflows{
		ResourceConfigure: func(ctx context.Context, req *kratix.Request) (*kratix.Result, error) {
			switch err := checkKind(req); {
			case err != nil:
				return nil, err
			case req.Object.Kind == KindAggregator:
				return configureAggregator(ctx, req)
			default:
				return configureTarget(ctx, req, connect)
			}
		},
		ResourceDelete: func(ctx context.Context, req *kratix.Request) (*kratix.Result, error) {
			if err := checkKind(req); err != nil {
				return nil, err
			}
			// Kratix removes everything the configure workflow wrote from
			// the destination; there is nothing outside it to undo.
			o := req.Object
			return &kratix.Result{
				Message: fmt.Sprintf("%s %s/%s deleted; Kratix removes its manifests from the destination", o.Kind, o.Metadata.Namespace, o.Metadata.Name),
			}, nil
		},
	}
}

// checkKind makes sure the object is one of the two kinds this binary
// serves, in this group: a Promise that points the image at another kind is
// a mistake that must not render anything.
func checkKind(req *kratix.Request) error {
	o := req.Object
	if err := o.CheckKind(Group+"/v1alpha1", KindAggregator, KindTarget); err != nil {
		return err
	}
	if o.Metadata.Namespace == "" {
		return fmt.Errorf("input object %s %q: metadata.namespace is required", o.Kind, o.Metadata.Name)
	}
	return nil
}
