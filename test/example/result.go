package example

import (
	"fmt"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// DevDirectory is the output directory sent only to destinations labelled
// environment=dev.
const DevDirectory = "dev"

// result is the run's output, status and message.
func (p *plan) result() (*kratix.Result, error) {
	labels := map[string]string{
		"app.kubernetes.io/name":       "greeting",
		"app.kubernetes.io/instance":   p.name,
		"app.kubernetes.io/managed-by": "promisekit",
	}
	res := &kratix.Result{
		Message: fmt.Sprintf("greeting %q with %d %s", p.greeting, p.replicas, plural(p.replicas, "replica", "replicas")),
		Documents: []kratix.Document{
			{Object: configMap{
				APIVersion: "v1",
				Kind:       "ConfigMap",
				Metadata:   objectMeta{Name: p.name, Namespace: p.namespace, Labels: labels},
				Data:       map[string]string{"greeting": p.greeting, "replicas": fmt.Sprint(p.replicas)},
			}},
			{Directory: DevDirectory, Object: serviceAccount{
				APIVersion: "v1",
				Kind:       "ServiceAccount",
				Metadata:   objectMeta{Name: p.name, Namespace: p.namespace, Labels: labels},
			}},
		},
		DestinationSelectors: []kratix.DestinationSelector{
			{Directory: DevDirectory, MatchLabels: map[string]string{"environment": "dev"}},
		},
	}
	if err := stateCodec.Store(res, p.state); err != nil {
		return nil, err
	}
	return res, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// objectMeta, configMap and serviceAccount are the parts of the Kubernetes
// types the stage writes; k8s.io/api would add megabytes to the binary.
type objectMeta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

type configMap struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   objectMeta        `json:"metadata"`
	Data       map[string]string `json:"data"`
}

type serviceAccount struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
}
