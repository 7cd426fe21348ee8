package apiserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// Admit creates the object in objYAML as `kubectl create
// --validate=strict` would, and returns the server's problems with it as
// "field.path: message", sorted; none means the server admitted it. With
// dryRun the server checks the object without storing it.
//
// What kubectl does before it sends anything is done here too, with
// kubectl's outcome: YAML it cannot decode, or a document that is not an
// object, is "<object>: <why>"; an apiVersion or kind the server does not
// serve is "apiVersion: …" or "kind: …". Everything else is the server's
// answer: each cause of its Invalid status as "field: message", and a
// strict-decoding refusal as "field: unknown field".
func (s *Server) Admit(ctx context.Context, objYAML []byte, dryRun bool) []string {
	_, err := s.create(ctx, objYAML, dryRun)
	var p problem
	if errors.As(err, &p) {
		return []string{string(p)}
	}
	return Problems(err)
}

// Create creates the object in objYAML, as Admit does, and returns it as
// stored. When the object has a status and its CRD a status subresource,
// the status is written after, as a pipeline's status writer would.
func (s *Server) Create(ctx context.Context, objYAML []byte) (*unstructured.Unstructured, error) {
	return s.create(ctx, objYAML, false)
}

// problem is what kubectl would say before sending anything.
type problem string

func (p problem) Error() string { return string(p) }

func (s *Server) create(ctx context.Context, objYAML []byte, dryRun bool) (*unstructured.Unstructured, error) {
	js, err := yaml.YAMLToJSONStrict(objYAML)
	if err != nil {
		return nil, problem("<object>: " + err.Error())
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(js, &obj); err != nil {
		return nil, problem("<object>: not an object: " + err.Error())
	}
	if obj == nil {
		return nil, problem("<object>: empty document")
	}
	u := &unstructured.Unstructured{Object: obj}
	res, gvr, err := s.resourceClient(u)
	if err != nil {
		return nil, err
	}
	opts := metav1.CreateOptions{FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	status, hasStatus := obj["status"]
	created, err := res.Create(ctx, u, opts)
	if err != nil || dryRun || !hasStatus || !s.hasStatus(gvr) {
		return created, err
	}
	return writeStatus(ctx, res, created, status)
}

// resourceClient is the client of u's resource, in u's namespace when the
// resource is namespaced ("default" when u names none, as kubectl does).
// What kubectl would refuse before sending anything is a problem.
func (s *Server) resourceClient(u *unstructured.Unstructured) (dynamic.ResourceInterface, schema.GroupVersionResource, error) {
	gvr, namespaced, why := s.resourceFor(u)
	if why != "" {
		return nil, gvr, problem(why)
	}
	dyn, err := s.Dynamic()
	if err != nil {
		return nil, gvr, err
	}
	if !namespaced {
		return dyn.Resource(gvr), gvr, nil
	}
	ns := u.GetNamespace()
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	// The namespace is a segment of the request's path: kubectl and
	// client-go refuse one that cannot be, before sending anything.
	if bad := content.IsPathSegmentName(ns); len(bad) > 0 {
		return nil, gvr, problem(fmt.Sprintf("metadata.namespace: Invalid value: %q: %s (refused by the client: it cannot be a segment of the request's path)", ns, strings.Join(bad, ", ")))
	}
	return dyn.Resource(gvr).Namespace(ns), gvr, nil
}

// writeStatus writes status into stored through the status subresource,
// which ignores status on create and update.
func writeStatus(ctx context.Context, res dynamic.ResourceInterface, stored *unstructured.Unstructured, status any) (*unstructured.Unstructured, error) {
	stored.Object["status"] = status
	updated, err := res.UpdateStatus(ctx, stored, metav1.UpdateOptions{FieldValidation: "Strict"})
	if err != nil {
		return nil, fmt.Errorf("writing the status of %s: %w", stored.GetName(), err)
	}
	return updated, nil
}

// resourceFor finds the installed CRD serving the object's apiVersion and
// kind, as kubectl's REST mapping does, or says why there is none.
func (s *Server) resourceFor(u *unstructured.Unstructured) (schema.GroupVersionResource, bool, string) {
	gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
	if err != nil {
		return schema.GroupVersionResource{}, false, "apiVersion: " + err.Error()
	}
	var groupServed bool
	for _, r := range s.crds {
		if r.gvr.Group != gv.Group {
			continue
		}
		groupServed = true
		if r.kind == u.GetKind() && slices.Contains(r.served, gv.Version) {
			return gv.WithResource(r.gvr.Resource), r.namespaced, ""
		}
	}
	if !groupServed {
		return schema.GroupVersionResource{}, false, fmt.Sprintf("apiVersion: the server does not serve group %q", gv.Group)
	}
	for _, r := range s.crds {
		if r.gvr.Group == gv.Group && r.kind == u.GetKind() {
			return schema.GroupVersionResource{}, false, fmt.Sprintf("apiVersion: the server does not serve version %q of %s", gv.Version, u.GetKind())
		}
	}
	return schema.GroupVersionResource{}, false, fmt.Sprintf("kind: the server serves no kind %q in %s", u.GetKind(), gv)
}

// Problems renders an API error as "field.path: message" lines, sorted:
// one per cause of an Invalid status (the server's field errors), one per
// unknown field of a strict-decoding refusal, else the error's message.
// nil for nil.
func Problems(err error) []string {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return []string{"<request>: " + err.Error()}
	}
	st := status.Status()
	var out []string
	if st.Details != nil {
		for _, c := range st.Details.Causes {
			switch {
			case c.Type == metav1.CauseTypeFieldValueInvalid && c.Field == "" && strings.HasPrefix(c.Message, "unknown field "):
				// Strict decoding: `unknown field "spec.paths[1].prefx"`.
				out = append(out, strings.Trim(strings.TrimPrefix(c.Message, "unknown field "), `"`)+": unknown field")
			case c.Field != "" && c.Field != "<nil>": // (*field.Path)(nil) is a rule on the whole object
				out = append(out, c.Field+": "+c.Message)
			default:
				out = append(out, "<object>: "+c.Message)
			}
		}
	}
	if len(out) == 0 {
		// A strict-decoding refusal is a BadRequest whose message lists
		// the fields: `Kind in version "v1" cannot be handled as a Kind:
		// strict decoding error: unknown field "a", unknown field "b"`.
		if _, msg, ok := strings.Cut(st.Message, "strict decoding error: "); ok {
			for f := range strings.SplitSeq(msg, ", ") {
				if name, ok := strings.CutPrefix(f, "unknown field "); ok {
					out = append(out, strings.Trim(name, `"`)+": unknown field")
				} else {
					out = append(out, "<object>: "+f)
				}
			}
		} else {
			out = append(out, "<object>: "+st.Message)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// DryRun is the server's admission of an object, checked without storing
// it: Validate is Admit with dryRun. It is what internal/hostile asks.
type DryRun struct {
	Server *Server
	// Ctx bounds each call; nil is context.Background().
	Ctx context.Context
}

// Validate returns the server's problems with objYAML; see Admit.
func (d DryRun) Validate(objYAML []byte) []string {
	ctx := d.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	return d.Server.Admit(ctx, objYAML, true)
}

// Apply stores obj as a pipeline run leaves it: created if absent, else
// its spec (and labels and annotations) replaced; then its status written
// through the status subresource. It returns the object as stored, with
// the server's UID and creationTimestamp.
func (s *Server) Apply(ctx context.Context, obj map[string]any) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{Object: obj}
	res, gvr, err := s.resourceClient(u)
	if err != nil {
		return nil, err
	}
	// Without a status subresource, status is written with the rest.
	subresource := s.hasStatus(gvr)
	status, hasStatus := obj["status"]
	stored, err := res.Get(ctx, u.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		fresh := u.DeepCopy()
		if subresource {
			delete(fresh.Object, "status")
		}
		fresh.SetUID("")
		fresh.SetResourceVersion("")
		fresh.SetCreationTimestamp(metav1.Time{})
		if stored, err = res.Create(ctx, fresh, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
			return nil, fmt.Errorf("creating %s: %w", u.GetName(), err)
		}
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", u.GetName(), err)
	default:
		stored.Object["spec"] = obj["spec"]
		if !subresource {
			stored.Object["status"] = obj["status"]
		}
		stored.SetLabels(u.GetLabels())
		stored.SetAnnotations(u.GetAnnotations())
		if stored, err = res.Update(ctx, stored, metav1.UpdateOptions{FieldValidation: "Strict"}); err != nil {
			return nil, fmt.Errorf("updating %s: %w", u.GetName(), err)
		}
	}
	if !hasStatus || !subresource {
		return stored, nil
	}
	return writeStatus(ctx, res, stored, status)
}

func (s *Server) hasStatus(gvr schema.GroupVersionResource) bool {
	for _, r := range s.crds {
		if r.gvr.Group == gvr.Group && r.gvr.Resource == gvr.Resource {
			return r.status
		}
	}
	return false
}
