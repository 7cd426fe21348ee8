package environment

import (
	"fmt"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/state"
)

// record is what the stage remembers between runs, in status.environment.
type record struct {
	// Namespace is the host namespace, fixed at the first run.
	Namespace string `json:"namespace"`
	// TTLFrom is when the lifetime started (the request's creation): the
	// expiry is always TTLFrom + ttl, never computed from "now".
	TTLFrom   string     `json:"ttlFrom"`
	ExpiresAt string     `json:"expiresAt,omitempty"`
	AWS       *awsRecord `json:"aws,omitempty"`
	// Destination is where the manifests were placed (a name in
	// config.destinations; empty for the implicit one).
	Destination string `json:"destination,omitempty"`
}

var stateCodec = state.Codec[record]{Key: "environment", Version: 1}

// bindState refuses state that names another request's namespace: the
// manifests would land there. A request's status is not trusted to name an
// outside object; the AWS resources it names are checked by their owner
// tag before any change (package awsinfra/awsapi).
func bindState(in *input) error {
	if want := hostNamespace(in.Object); in.State.Namespace != "" && in.State.Namespace != want {
		return &kratix.FieldError{Field: "status." + stateCodec.Key + ".namespace", Detail: fmt.Sprintf("is %q, not this request's namespace %q", in.State.Namespace, want)}
	}
	return nil
}

// awsRecord remembers the environment's AWS resources. Their names are
// fixed at the first run, so that a later change of the configured prefixes
// never orphans them.
type awsRecord struct {
	Mode           string             `json:"mode"`
	Region         string             `json:"region"`
	RepositoryName string             `json:"repositoryName"`
	RoleName       string             `json:"roleName"`
	PodIdentity    *podIdentityRecord `json:"podIdentity,omitempty"`
	// Ensured is set once the stage has created or adopted the
	// resources in api mode: later runs describe them first instead of
	// creating them first.
	Ensured bool `json:"ensured,omitempty"`
}

type podIdentityRecord struct {
	ClusterName    string `json:"clusterName"`
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	AssociationID  string `json:"associationID,omitempty"`
}
