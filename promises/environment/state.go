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
