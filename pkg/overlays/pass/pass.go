// Package pass runs a platform's ytt overlays over the documents a stage
// writes (package overlays) and refuses what no overlay may do: a plain
// Secret, a SealedSecret's ciphertext or scope changed, a stage's document
// removed, renamed or duplicated, a label or annotation that is not a
// string. A refusal names the overlay file and line responsible.
//
// It links ytt: the apiaggregator stage runs it in process, the others in
// the promisekit-overlays sibling binary.
package pass

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/pkg/overlays"
	"github.com/promisekit/promisekit/pkg/render"
)

// Run is an overlays.Runner: one ytt run over docs with every file of set,
// then the rules.
func Run(set *overlays.Set, v overlays.Values, docs []json.RawMessage) ([]json.RawMessage, error) {
	p, err := render.NewOverlays(set).Apply(v, docs)
	if err != nil {
		return nil, &kratix.FieldError{Field: overlays.Field, Detail: kratix.OneLine(err)}
	}
	if err := checkPass(set, p, docs); err != nil {
		return nil, err
	}
	return p.Docs, nil
}

// identity is what a document's file is named after (pkg/kratix): a
// document whose identity an overlay changes is another object, and the
// old one is deleted from the destination.
type identity struct{ kind, namespace, name string }

func (id identity) String() string {
	if id.namespace == "" {
		return id.kind + " " + id.name
	}
	return id.kind + " " + id.namespace + "/" + id.name
}

// header is the part of a document the rules read.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		// Labels and Annotations are read as any value, so that a number
		// an overlay left unquoted is refused by name, not as a document
		// that does not decode.
		Labels      map[string]any `json:"labels"`
		Annotations map[string]any `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		EncryptedData map[string]json.RawMessage `json:"encryptedData"`
		Template      struct {
			Metadata struct {
				Annotations map[string]any `json:"annotations"`
			} `json:"metadata"`
		} `json:"template"`
	} `json:"spec"`
}

// nonString returns the first label or annotation of h, in order, whose
// value is not a string ("labels", its key, the value as JSON), or "" for
// none: the API server refuses such an object, and a value an overlay left
// unquoted (a sync wave of -1) is a number.
func (h *header) nonString() (field, key, value string) {
	for _, f := range []struct {
		name string
		m    map[string]any
	}{{"labels", h.Metadata.Labels}, {"annotations", h.Metadata.Annotations}} {
		for _, k := range slices.Sorted(maps.Keys(f.m)) {
			if _, ok := f.m[k].(string); !ok {
				js, _ := json.Marshal(f.m[k])
				return f.name, k, string(js)
			}
		}
	}
	return "", "", ""
}

func (h *header) identity() identity {
	return identity{h.Kind, h.Metadata.Namespace, h.Metadata.Name}
}

func (h *header) sealedSecret() bool {
	return h.APIVersion == "bitnami.com/v1alpha1" && h.Kind == "SealedSecret"
}

// sealingScope are the annotations that choose a SealedSecret's scope
// (the label its data was encrypted with): changing one makes every key
// undecryptable, or widens where the Secret may be unsealed.
var sealingScope = []string{"sealedsecrets.bitnami.com/cluster-wide", "sealedsecrets.bitnami.com/namespace-wide"}

func headers(docs []json.RawMessage) ([]header, error) {
	hs := make([]header, len(docs))
	for i, d := range docs {
		if err := json.Unmarshal(d, &hs[i]); err != nil {
			return nil, fmt.Errorf("document %d is not a Kubernetes object: %w", i, err)
		}
	}
	return hs, nil
}

// checkPass enforces the rules of an overlay pass: every document is an
// object with apiVersion, kind and metadata.name; none is a plain v1
// Secret; every document the stage wrote is still there under its
// identity, once (documents an overlay adds are the platform's to add);
// a SealedSecret keeps its apiVersion, encryptedData and scope. The error
// names the overlay file and line responsible (see refuse).
func checkPass(set *overlays.Set, pass *render.Pass, in []json.RawMessage) error {
	before, err := headers(in)
	if err != nil {
		return err
	}
	after := make([]header, len(pass.Docs))
	for i, d := range pass.Docs {
		if err := json.Unmarshal(d, &after[i]); err != nil || after[i].APIVersion == "" || after[i].Kind == "" || after[i].Metadata.Name == "" {
			return refuse(set, pass, pass.Origin(i), func(docs []json.RawMessage) bool {
				hs, err := headers(docs)
				return err != nil || slices.ContainsFunc(hs, func(h header) bool { return h.APIVersion == "" || h.Kind == "" || h.Metadata.Name == "" })
			}, "writes a document that is not a Kubernetes object with apiVersion, kind and metadata.name")
		}
		if field, key, value := after[i].nonString(); field != "" {
			return refuse(set, pass, cmp.Or(pass.Origin(i, "metadata", field, key), pass.Origin(i, "metadata", field)), func(docs []json.RawMessage) bool {
				hs, err := headers(docs)
				return err == nil && slices.ContainsFunc(hs, func(h header) bool { f, _, _ := h.nonString(); return f != "" })
			}, fmt.Sprintf("sets metadata.%s[%s] of %s to %s, which is not a string: quote it", field, key, after[i].identity(), value))
		}
		if after[i].APIVersion == "v1" && after[i].Kind == "Secret" {
			return refuse(set, pass, cmp.Or(pass.Origin(i, "kind"), pass.Origin(i, "apiVersion"), pass.Origin(i)), func(docs []json.RawMessage) bool {
				hs, err := headers(docs)
				return err == nil && slices.ContainsFunc(hs, func(h header) bool { return h.APIVersion == "v1" && h.Kind == "Secret" })
			}, fmt.Sprintf("writes Secret %q in plain text to the state store: seal it (SealedSecret) instead", after[i].Metadata.Name))
		}
	}
	index := make(map[identity]int, len(after))
	for i, h := range after {
		id := h.identity()
		if j, dup := index[id]; dup {
			return refuse(set, pass, cmp.Or(pass.Origin(i), pass.Origin(j)), func(docs []json.RawMessage) bool {
				hs, err := headers(docs)
				return err == nil && count(hs, id) > 1
			}, fmt.Sprintf("writes %s twice", id))
		}
		index[id] = i
	}
	for _, b := range before {
		id := b.identity()
		i, ok := index[id]
		if !ok {
			return refuse(set, pass, "", func(docs []json.RawMessage) bool {
				hs, err := headers(docs)
				return err == nil && count(hs, id) == 0
			}, fmt.Sprintf("removes or renames %s, which Kratix would then delete from the destination", id))
		}
		if b.sealedSecret() {
			if err := checkSealed(set, pass, i, &b, &after[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkSealed refuses a SealedSecret whose ciphertext or scope an overlay
// changed: its data would no longer decrypt, or would decrypt in places
// its stage did not choose.
func checkSealed(set *overlays.Set, pass *render.Pass, i int, b, a *header) error {
	id := b.identity()
	same := func(docs []json.RawMessage) func(func(b, a *header) bool) bool {
		return func(changed func(b, a *header) bool) bool {
			hs, err := headers(docs)
			if err != nil {
				return false
			}
			for j := range hs {
				if hs[j].identity() == id {
					return changed(b, &hs[j])
				}
			}
			return false
		}
	}
	if a.APIVersion != b.APIVersion {
		return refuse(set, pass, pass.Origin(i, "apiVersion"), func(docs []json.RawMessage) bool {
			return same(docs)(func(b, a *header) bool { return a.APIVersion != b.APIVersion })
		}, fmt.Sprintf("changes the apiVersion of %s", id))
	}
	if key, changed := changedKey(b.Spec.EncryptedData, a.Spec.EncryptedData); changed {
		return refuse(set, pass, cmp.Or(pass.Origin(i, "spec", "encryptedData", key), pass.Origin(i, "spec", "encryptedData"), pass.Origin(i, "spec")), func(docs []json.RawMessage) bool {
			return same(docs)(func(b, a *header) bool {
				_, changed := changedKey(b.Spec.EncryptedData, a.Spec.EncryptedData)
				return changed
			})
		}, fmt.Sprintf("changes spec.encryptedData of %s (key %q): only its stage seals", id, key))
	}
	for _, ann := range sealingScope {
		top := !reflect.DeepEqual(b.Metadata.Annotations[ann], a.Metadata.Annotations[ann])
		tmpl := !reflect.DeepEqual(b.Spec.Template.Metadata.Annotations[ann], a.Spec.Template.Metadata.Annotations[ann])
		if !top && !tmpl {
			continue
		}
		origin := cmp.Or(pass.Origin(i, "metadata", "annotations", ann), pass.Origin(i, "metadata", "annotations"))
		if !top {
			origin = cmp.Or(pass.Origin(i, "spec", "template", "metadata", "annotations", ann), pass.Origin(i, "spec", "template", "metadata", "annotations"))
		}
		return refuse(set, pass, origin, func(docs []json.RawMessage) bool {
			return same(docs)(func(b, a *header) bool {
				return !reflect.DeepEqual(b.Metadata.Annotations[ann], a.Metadata.Annotations[ann]) ||
					!reflect.DeepEqual(b.Spec.Template.Metadata.Annotations[ann], a.Spec.Template.Metadata.Annotations[ann])
			})
		}, fmt.Sprintf("changes the sealing scope of %s (annotation %s)", id, ann))
	}
	return nil
}

// changedKey returns the first key, in order, whose value differs between
// a and b, or whether one is nil and the other not.
func changedKey(b, a map[string]json.RawMessage) (string, bool) {
	if (a == nil) != (b == nil) {
		return "", true
	}
	keys := slices.Sorted(maps.Keys(b))
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !bytes.Equal(compact(b[k]), compact(a[k])) {
			return k, true
		}
	}
	return "", false
}

func compact(js json.RawMessage) []byte {
	var buf bytes.Buffer
	if len(js) == 0 || json.Compact(&buf, js) != nil {
		return js
	}
	return buf.Bytes()
}

func count(hs []header, id identity) int {
	n := 0
	for _, h := range hs {
		if h.identity() == id {
			n++
		}
	}
	return n
}

// refuse is a rule broken by the overlays, as a configuration error:
// with workflow control the request is suspended with its one line. It
// names the overlay file and line: origin when ytt positioned the
// offending node in an overlay file; else the first overlay document
// after which the rule breaks (render.Pass.Blame). When no single
// document breaks it (two overlays together do), it names the set.
func refuse(set *overlays.Set, pass *render.Pass, origin string, broken func([]json.RawMessage) bool, what string) error {
	where := origin
	if where == "" {
		where = pass.Blame(broken)
	}
	if where == "" {
		where = fmt.Sprintf("the overlays in %s together (%s)", set.Dir, strings.Join(set.Names(), ", "))
	}
	return &kratix.FieldError{Field: overlays.Field, Detail: where + ": " + what}
}
