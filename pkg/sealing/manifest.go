package sealing

import (
	"errors"
	"maps"
)

// Annotations the sealed-secrets controller reads (pkg/apis/sealedsecrets/v1alpha1).
const (
	PatchAnnotation         = "sealedsecrets.bitnami.com/patch"
	NamespaceWideAnnotation = "sealedsecrets.bitnami.com/namespace-wide"
	ClusterWideAnnotation   = "sealedsecrets.bitnami.com/cluster-wide"
)

// SealedSecret is the bitnami.com/v1alpha1 manifest, reduced to what a
// pipeline writes.
type SealedSecret struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Metadata   Metadata         `json:"metadata"`
	Spec       SealedSecretSpec `json:"spec"`
}

// Metadata is object metadata as the manifest carries it.
type Metadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// SealedSecretSpec is the SealedSecret's spec.
type SealedSecretSpec struct {
	EncryptedData map[string]string `json:"encryptedData"`
	Template      SecretTemplate    `json:"template"`
}

// SecretTemplate is what the controller copies onto the Secret it creates.
type SecretTemplate struct {
	Metadata Metadata `json:"metadata"`
	Type     string   `json:"type,omitempty"`
}

// Template is the unsealed Secret's type, labels and annotations. None of it
// is bound into the ciphertext, so it can change without re-sealing.
type Template struct {
	Type        string // default Opaque
	Labels      map[string]string
	Annotations map[string]string
}

// Manifest renders the SealedSecret for a Record. The same Record and
// Template always give the same manifest.
//
// The patch annotation is set from the first write: the controller then
// merges into the live Secret instead of replacing it, and it checks the
// annotation on the Secret as it was before the update, so adding it later
// can wipe data. Top-level and template metadata are identical because the
// controller's re-encrypt copies one over the other when they differ.
func Manifest(r Record, t Template) (*SealedSecret, error) {
	if len(r.EncryptedData) == 0 {
		// An empty encryptedData with patch leaves the Secret empty if it is
		// ever recreated; refuse rather than ship that.
		return nil, errors.New("sealing: record has no encrypted data")
	}
	annotations := maps.Clone(t.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[PatchAnnotation] = "true"
	// The scope annotations decide the label the controller decrypts with;
	// only the Record's scope may set them, never the Template.
	delete(annotations, NamespaceWideAnnotation)
	delete(annotations, ClusterWideAnnotation)
	switch r.Scope {
	case NamespaceWide:
		annotations[NamespaceWideAnnotation] = "true"
	case ClusterWide:
		annotations[ClusterWideAnnotation] = "true"
	}
	// Top-level and template metadata are equal but must not share maps: a
	// caller editing one would silently edit the other.
	meta := func() Metadata {
		return Metadata{
			Name:        r.Name,
			Namespace:   r.Namespace,
			Labels:      maps.Clone(t.Labels),
			Annotations: maps.Clone(annotations),
		}
	}
	typ := t.Type
	if typ == "" {
		typ = "Opaque"
	}
	return &SealedSecret{
		APIVersion: "bitnami.com/v1alpha1",
		Kind:       "SealedSecret",
		Metadata:   meta(),
		Spec: SealedSecretSpec{
			EncryptedData: maps.Clone(r.EncryptedData),
			Template:      SecretTemplate{Metadata: meta(), Type: typ},
		},
	}, nil
}
