package example

import (
	"fmt"

	"github.com/promisekit/promisekit/pkg/stage"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// DefaultReplicas is the replica count of a request that names none, unless
// the platform configuration says otherwise.
const DefaultReplicas = 1

// Config is the example's platform configuration (the file the Promise
// mounts; package platformconfig).
type Config struct {
	// Kratix is what the installed Kratix honours (workflow control).
	stage.Kratix `json:"kratix,omitempty"`
	// PlatformOverlays is `overlays:`, the platform's ytt overlays over every document.
	stage.PlatformOverlays
	// DefaultReplicas applies to requests that leave spec.replicas out.
	DefaultReplicas int `json:"defaultReplicas,omitempty"`
}

func defaultConfig() *Config {
	return &Config{DefaultReplicas: DefaultReplicas}
}

func (c *Config) validate() error {
	if c.DefaultReplicas < MinReplicas || c.DefaultReplicas > MaxReplicas {
		return &kratix.FieldError{Field: "config.defaultReplicas", Detail: fmt.Sprintf("must be between %d and %d", MinReplicas, MaxReplicas)}
	}
	return nil
}
