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
	"context"
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
// then the rules. ytt cannot be stopped midway, so ctx is not consulted: a
// pass is milliseconds.
func Run(_ context.Context, set *overlays.Set, v overlays.Values, docs []json.RawMessage) ([]json.RawMessage, error) {
	p, err := render.NewOverlays(set).Apply(v, docs)
	if err != nil {
		return nil, &kratix.FieldError{Field: overlays.Field, Detail: kratix.OneLine(err)}
	}
	before := headers(docs)
	for i, h := range before {
		if !h.object() {
			return nil, fmt.Errorf("the stage's document %d is not a Kubernetes object with apiVersion, kind and metadata.name", i)
		}
	}
	if err := check(set, p, before); err != nil {
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

	decoded bool // the document is a JSON object of this shape
}

// object reports whether the document is a Kubernetes object: an object
// with apiVersion, kind and metadata.name.
func (h *header) object() bool {
	return h.decoded && h.APIVersion != "" && h.Kind != "" && h.Metadata.Name != ""
}

func (h *header) identity() identity {
	return identity{h.Kind, h.Metadata.Namespace, h.Metadata.Name}
}

func (h *header) sealedSecret() bool {
	return h.APIVersion == "bitnami.com/v1alpha1" && h.Kind == "SealedSecret"
}

// headers reads the rules' part of each document; a document that does
// not decode is kept, undecoded, for the rule that refuses it.
func headers(docs []json.RawMessage) []header {
	hs := make([]header, len(docs))
	for i, d := range docs {
		hs[i].decoded = json.Unmarshal(d, &hs[i]) == nil
	}
	return hs
}

// A breach is a rule broken by the documents after a pass: what is wrong,
// where to look for the overlay line responsible, most precise first (a
// document and a path of map keys in it; no place for a document that is
// gone), and the test of this breach alone, for Blame: whether a cut-down
// pass's documents break the rule the same way, for the same document.
type breach struct {
	what   string
	places []place
	again  func(after []header) bool
}

type place struct {
	doc  int
	path []string
}

// A rule checks the documents after a pass against the stage's own
// (before) and returns its first breach, or nil.
type rule func(before, after []header) *breach

// rules are every rule of a pass, in the order they are reported: every
// document is an object with apiVersion, kind and metadata.name whose
// labels and annotations are strings; none is a plain v1 Secret; every
// document the stage wrote is still there under its identity, once
// (documents an overlay adds are the platform's to add); a SealedSecret
// keeps its apiVersion, encryptedData and scope.
var rules = []rule{notObject, nonString, plainSecret, duplicate, removed, sealedAPIVersion, sealedData, sealedScope}

func notObject(_, after []header) *breach {
	for i := range after {
		if !after[i].object() {
			return &breach{"writes a document that is not a Kubernetes object with apiVersion, kind and metadata.name", []place{{i, nil}},
				func(after []header) bool {
					return slices.ContainsFunc(after, func(h header) bool { return !h.object() })
				}}
		}
	}
	return nil
}

// nonString refuses a label or annotation whose value is not a string:
// the API server refuses such an object, and a value an overlay left
// unquoted (a sync wave of -1) is a number.
func nonString(_, after []header) *breach {
	for i, h := range after {
		for _, f := range []struct {
			name string
			m    map[string]any
		}{{"labels", h.Metadata.Labels}, {"annotations", h.Metadata.Annotations}} {
			for _, k := range slices.Sorted(maps.Keys(f.m)) {
				if _, ok := f.m[k].(string); !ok {
					js, _ := json.Marshal(f.m[k])
					return &breach{
						fmt.Sprintf("sets metadata.%s[%s] of %s to %s, which is not a string: quote it", f.name, k, h.identity(), js),
						[]place{{i, []string{"metadata", f.name, k}}, {i, []string{"metadata", f.name}}},
						func(after []header) bool { return nonString(nil, after) != nil },
					}
				}
			}
		}
	}
	return nil
}

func plainSecret(_, after []header) *breach {
	for i, h := range after {
		if h.APIVersion == "v1" && h.Kind == "Secret" {
			return &breach{
				fmt.Sprintf("writes Secret %q in plain text to the state store: seal it (SealedSecret) instead", h.Metadata.Name),
				[]place{{i, []string{"kind"}}, {i, []string{"apiVersion"}}, {i, nil}},
				func(after []header) bool { return plainSecret(nil, after) != nil },
			}
		}
	}
	return nil
}

func duplicate(_, after []header) *breach {
	index := make(map[identity]int, len(after))
	for i, h := range after {
		id := h.identity()
		if j, dup := index[id]; dup {
			return &breach{fmt.Sprintf("writes %s twice", id), []place{{i, nil}, {j, nil}},
				func(after []header) bool { return count(after, id) > 1 }}
		}
		index[id] = i
	}
	return nil
}

func removed(before, after []header) *breach {
	for _, b := range before {
		id := b.identity()
		if count(after, id) == 0 {
			return &breach{fmt.Sprintf("removes or renames %s, which Kratix would then delete from the destination", id), nil,
				func(after []header) bool { return count(after, id) == 0 }}
		}
	}
	return nil
}

// sealed calls changed with each SealedSecret of the stage and the
// document after the pass with its identity, if there is one, and returns
// the first breach; Blame tests that SealedSecret alone.
func sealed(before, after []header, changed func(b, a *header, i int) *breach) *breach {
	for _, b := range before {
		if !b.sealedSecret() {
			continue
		}
		i := slices.IndexFunc(after, func(a header) bool { return a.identity() == b.identity() })
		if i < 0 {
			continue
		}
		if br := changed(&b, &after[i], i); br != nil {
			br.again = func(after []header) bool {
				j := slices.IndexFunc(after, func(a header) bool { return a.identity() == b.identity() })
				return j >= 0 && changed(&b, &after[j], j) != nil
			}
			return br
		}
	}
	return nil
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

func sealedAPIVersion(before, after []header) *breach {
	return sealed(before, after, func(b, a *header, i int) *breach {
		if a.APIVersion == b.APIVersion {
			return nil
		}
		return &breach{what: fmt.Sprintf("changes the apiVersion of %s", b.identity()), places: []place{{i, []string{"apiVersion"}}}}
	})
}

// sealedData refuses a SealedSecret whose ciphertext an overlay changed:
// its data would no longer decrypt.
func sealedData(before, after []header) *breach {
	return sealed(before, after, func(b, a *header, i int) *breach {
		key, changed := changedKey(b.Spec.EncryptedData, a.Spec.EncryptedData)
		if !changed {
			return nil
		}
		return &breach{
			what:   fmt.Sprintf("changes spec.encryptedData of %s (key %q): only its stage seals", b.identity(), key),
			places: []place{{i, []string{"spec", "encryptedData", key}}, {i, []string{"spec", "encryptedData"}}, {i, []string{"spec"}}},
		}
	})
}

// sealingScope are the annotations that choose a SealedSecret's scope
// (the label its data was encrypted with): changing one makes every key
// undecryptable, or widens where the Secret may be unsealed.
var sealingScope = []string{"sealedsecrets.bitnami.com/cluster-wide", "sealedsecrets.bitnami.com/namespace-wide"}

func sealedScope(before, after []header) *breach {
	return sealed(before, after, func(b, a *header, i int) *breach {
		for _, ann := range sealingScope {
			what := fmt.Sprintf("changes the sealing scope of %s (annotation %s)", b.identity(), ann)
			if !reflect.DeepEqual(b.Metadata.Annotations[ann], a.Metadata.Annotations[ann]) {
				return &breach{what: what, places: []place{{i, []string{"metadata", "annotations", ann}}, {i, []string{"metadata", "annotations"}}}}
			}
			if !reflect.DeepEqual(b.Spec.Template.Metadata.Annotations[ann], a.Spec.Template.Metadata.Annotations[ann]) {
				return &breach{what: what, places: []place{{i, []string{"spec", "template", "metadata", "annotations", ann}}, {i, []string{"spec", "template", "metadata", "annotations"}}}}
			}
		}
		return nil
	})
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

// check enforces the rules on a pass, as a configuration error: with
// workflow control the request is suspended with its one line. The line
// names the overlay file and line: where ytt positioned the offending node
// in an overlay file; else the first overlay document after which the
// rule breaks (render.Pass.Blame); else, when no single document breaks
// it (two overlays together do), the set.
func check(set *overlays.Set, pass *render.Pass, before []header) error {
	after := headers(pass.Docs)
	for _, r := range rules {
		b := r(before, after)
		if b == nil {
			continue
		}
		where := ""
		for _, pl := range b.places {
			if where = pass.Origin(pl.doc, pl.path...); where != "" {
				break
			}
		}
		if where == "" {
			where = pass.Blame(func(docs []json.RawMessage) bool { return b.again(headers(docs)) })
		}
		if where == "" {
			where = fmt.Sprintf("the overlays in %s together (%s)", set.Dir, strings.Join(set.Names(), ", "))
		}
		return &kratix.FieldError{Field: overlays.Field, Detail: where + ": " + b.what}
	}
	return nil
}
