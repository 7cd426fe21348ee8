package localrun

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"strings"

	"sigs.k8s.io/yaml"
)

// promise is the part of a Kratix Promise the runner needs. The full,
// strict validation of Promise files is in the test/kratix module, against
// Kratix's own types.
type promise struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		API struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind   string `json:"kind"`
					Plural string `json:"plural"`
				} `json:"names"`
				Versions []struct {
					Name   string `json:"name"`
					Served bool   `json:"served"`
				} `json:"versions"`
			} `json:"spec"`
		} `json:"api"`
		Workflows struct {
			Resource struct {
				Configure []pipeline `json:"configure"`
				Delete    []pipeline `json:"delete"`
			} `json:"resource"`
		} `json:"workflows"`
		DestinationSelectors []struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"destinationSelectors"`
	} `json:"spec"`
}

type pipeline struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Containers []container `json:"containers"`
	} `json:"spec"`
}

type container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Env   []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"env"`
}

func readPromise(file string) (*promise, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading promise: %w", err)
	}
	var p promise
	if err := yaml.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("promise %s: %w", file, err)
	}
	if bytes.Contains(data, []byte("\n---\n")) {
		return nil, fmt.Errorf("promise %s: one Promise per file, please", file)
	}
	s := p.Spec.API.Spec
	if p.Metadata.Name == "" || s.Group == "" || s.Names.Kind == "" || s.Names.Plural == "" {
		return nil, fmt.Errorf("promise %s: metadata.name and spec.api group, kind and plural are required", file)
	}
	return &p, nil
}

// serves reports whether the promise's CRD serves apiVersion.
func (p *promise) serves(apiVersion string) bool {
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok || group != p.Spec.API.Spec.Group {
		return false
	}
	for _, v := range p.Spec.API.Spec.Versions {
		if v.Name == version && v.Served {
			return true
		}
	}
	return false
}

// binaryName maps an image to the binary the runner uses for it: the last
// element of the image's repository, without tag or digest
// (ghcr.io/promisekit/natsuser:v1 → natsuser).
func binaryName(image string) string {
	name := image
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	name = path.Base(name)
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	return name
}
