package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/endpoints/request"
	"sigs.k8s.io/yaml"
)

// Rule is one of a Kratix pipeline's rbac.permissions: an RBAC policy rule
// and where Kratix binds it. ResourceNamespace "" is the pipeline's own
// namespace (a Role there), "*" every namespace and the cluster scope (a
// ClusterRole), a name that namespace (Kratix at ae170e22,
// api/v1alpha1/pipeline_factory.go).
type Rule struct {
	ResourceNamespace string   `json:"resourceNamespace,omitempty"`
	APIGroups         []string `json:"apiGroups,omitempty"`
	Resources         []string `json:"resources,omitempty"`
	Verbs             []string `json:"verbs,omitempty"`
	ResourceNames     []string `json:"resourceNames,omitempty"`
}

// PromiseRules returns the permissions of every pipeline of a Promise's
// resource workflow for action ("configure" or "delete"), and the
// namespace its pipelines run in: workflows.config.pipelineNamespace, or
// requestNamespace when the Promise sets none (Kratix runs the pipeline
// beside the request).
func PromiseRules(promiseYAML []byte, action, requestNamespace string) ([]Rule, string, error) {
	var p struct {
		Spec struct {
			Workflows struct {
				Config struct {
					PipelineNamespace string `json:"pipelineNamespace"`
				} `json:"config"`
				Resource map[string][]struct {
					Spec struct {
						RBAC struct {
							Permissions []Rule `json:"permissions"`
						} `json:"rbac"`
					} `json:"spec"`
				} `json:"resource"`
			} `json:"workflows"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(promiseYAML, &p); err != nil {
		return nil, "", fmt.Errorf("decoding Promise: %w", err)
	}
	var rules []Rule
	for _, pl := range p.Spec.Workflows.Resource[action] {
		rules = append(rules, pl.Spec.RBAC.Permissions...)
	}
	ns := p.Spec.Workflows.Config.PipelineNamespace
	if ns == "" {
		ns = requestNamespace
	}
	return rules, ns, nil
}

// allows reports whether r lets a pipeline in pipelineNamespace make the
// call, as RBAC's rule matching does (k8s.io/component-helpers'
// RuleAllows): verb, group and resource (with its subresource) each
// listed, or "*"; resource names, when listed, include the call's.
func (r Rule) allows(call *request.RequestInfo, pipelineNamespace string) bool {
	switch r.ResourceNamespace {
	case "*":
	case "":
		if call.Namespace == "" || call.Namespace != pipelineNamespace {
			return false
		}
	default:
		if call.Namespace != r.ResourceNamespace {
			return false
		}
	}
	resource := call.Resource
	if call.Subresource != "" {
		resource += "/" + call.Subresource
	}
	has := func(list []string, v string) bool { return slices.Contains(list, "*") || slices.Contains(list, v) }
	if !has(r.Verbs, call.Verb) || !has(r.APIGroups, call.APIGroup) || !has(r.Resources, resource) {
		return false
	}
	return len(r.ResourceNames) == 0 || (call.Name != "" && slices.Contains(r.ResourceNames, call.Name))
}

// Denied is a call RuleTransport refused.
type Denied struct {
	Verb, Group, Resource, Namespace, Name string
}

func (d Denied) String() string {
	where := "at the cluster scope"
	if d.Namespace != "" {
		where = fmt.Sprintf("in the namespace %q", d.Namespace)
	}
	what := d.Resource
	if d.Name != "" {
		what += " " + d.Name
	}
	return fmt.Sprintf("%s %s in API group %q %s", d.Verb, what, d.Group, where)
}

// RuleTransport authorizes every call a client makes against rules, as
// RBAC would authorize a pipeline's ServiceAccount holding exactly those
// rules in pipelineNamespace: an allowed call goes to next, a refused one
// never reaches the server and is answered 403 Forbidden with the API
// server's wording, and denied (if not nil) is told of it, so that a test
// fails on a call outside the rules.
func RuleTransport(rules []Rule, pipelineNamespace string, denied func(Denied), next http.RoundTripper) http.RoundTripper {
	return &ruleTransport{
		rules:     rules,
		namespace: pipelineNamespace,
		denied:    denied,
		next:      next,
		infos:     &request.RequestInfoFactory{APIPrefixes: sets.NewString("api", "apis"), GrouplessAPIPrefixes: sets.NewString("api")},
	}
}

type ruleTransport struct {
	rules     []Rule
	namespace string
	denied    func(Denied)
	next      http.RoundTripper
	infos     *request.RequestInfoFactory
}

func (t *ruleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	info, err := t.infos.NewRequestInfo(req)
	if err != nil {
		return nil, fmt.Errorf("reading the request's verb and resource: %w", err)
	}
	if !info.IsResourceRequest {
		// Discovery and health paths: RBAC's system:discovery role lets
		// every authenticated identity read them.
		return t.next.RoundTrip(req)
	}
	for _, r := range t.rules {
		if r.allows(info, t.namespace) {
			return t.next.RoundTrip(req)
		}
	}
	d := Denied{Verb: info.Verb, Group: info.APIGroup, Resource: info.Resource, Namespace: info.Namespace, Name: info.Name}
	if info.Subresource != "" {
		d.Resource += "/" + info.Subresource
	}
	if t.denied != nil {
		t.denied(d)
	}
	if req.Body != nil {
		req.Body.Close()
	}
	msg := fmt.Sprintf("%s is forbidden: the pipeline's rules do not allow %s", info.Resource, d)
	body, _ := json.Marshal(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: metav1.StatusReasonForbidden, Code: http.StatusForbidden,
	})
	return &http.Response{
		StatusCode: http.StatusForbidden,
		Status:     "403 Forbidden",
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(body)),
		Request:    req,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		ContentLength: int64(len(body)),
	}, nil
}

// Denials collects the calls a RuleTransport refused, for a test to
// check; safe for concurrent use.
type Denials struct {
	mu    sync.Mutex
	calls []string
}

// Add records x.
func (d *Denials) Add(x Denied) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, x.String())
}

// All returns the refused calls, in order.
func (d *Denials) All() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}
