package environment

import "github.com/promisekit/promisekit/pkg/state"

// record is what the stage remembers between runs, in status.environment.
type record struct {
	// Namespace is the host namespace, fixed at the first run.
	Namespace string `json:"namespace"`
	// TTLFrom is when the lifetime started (the request's creation): the
	// expiry is always TTLFrom + ttl, never computed from "now".
	TTLFrom   string     `json:"ttlFrom"`
	ExpiresAt string     `json:"expiresAt,omitempty"`
	AWS       *awsRecord `json:"aws,omitempty"`
}

var stateCodec = state.Codec[record]{Key: "environment", Version: 1}

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
