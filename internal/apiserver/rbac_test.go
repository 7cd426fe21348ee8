package apiserver

import (
	"testing"

	"k8s.io/apiserver/pkg/endpoints/request"
)

// TestRuleAllows is RBAC's matching of one rule against one call, branch
// by branch: where the rule applies (the pipeline's namespace, every
// namespace and the cluster scope, or one named namespace), then verb,
// group, resource with its subresource, and resource names.
func TestRuleAllows(t *testing.T) {
	const pipelineNS = "platform"
	list := &request.RequestInfo{Verb: "list", APIGroup: "example.com", Resource: "widgets", Namespace: "team-a"}
	get := func(ns, name string) *request.RequestInfo {
		return &request.RequestInfo{Verb: "get", APIGroup: "example.com", Resource: "widgets", Namespace: ns, Name: name}
	}
	widgets := func(ns string, verbs ...string) Rule {
		return Rule{ResourceNamespace: ns, APIGroups: []string{"example.com"}, Resources: []string{"widgets"}, Verbs: verbs}
	}
	tests := []struct {
		name string
		rule Rule
		call *request.RequestInfo
		want bool
	}{
		{"every namespace", widgets("*", "list"), list, true},
		{"every namespace covers the cluster scope", widgets("*", "get"), get("", "w"), true},
		{"the pipeline's namespace: a call there", widgets("", "get"), get(pipelineNS, "w"), true},
		{"the pipeline's namespace: a call elsewhere", widgets("", "list"), list, false},
		{"the pipeline's namespace: a cluster-scoped call", widgets("", "get"), get("", "w"), false},
		{"a named namespace: a call there", widgets("team-a", "list"), list, true},
		{"a named namespace: a call elsewhere", widgets("team-b", "list"), list, false},
		{"another verb", widgets("*", "get"), list, false},
		{"any verb", widgets("*", "*"), list, true},
		{"another group", Rule{ResourceNamespace: "*", APIGroups: []string{"other.com"}, Resources: []string{"widgets"}, Verbs: []string{"list"}}, list, false},
		{"any group", Rule{ResourceNamespace: "*", APIGroups: []string{"*"}, Resources: []string{"widgets"}, Verbs: []string{"list"}}, list, true},
		{"another resource", Rule{ResourceNamespace: "*", APIGroups: []string{"example.com"}, Resources: []string{"gadgets"}, Verbs: []string{"list"}}, list, false},
		{"a subresource is not its resource", widgets("*", "get"), &request.RequestInfo{Verb: "get", APIGroup: "example.com", Resource: "widgets", Subresource: "status", Namespace: "team-a", Name: "w"}, false},
		{"a subresource named", Rule{ResourceNamespace: "*", APIGroups: []string{"example.com"}, Resources: []string{"widgets/status"}, Verbs: []string{"get"}}, &request.RequestInfo{Verb: "get", APIGroup: "example.com", Resource: "widgets", Subresource: "status", Namespace: "team-a", Name: "w"}, true},
		{"a resource name listed", Rule{ResourceNamespace: "*", APIGroups: []string{"example.com"}, Resources: []string{"widgets"}, Verbs: []string{"get"}, ResourceNames: []string{"w"}}, get("team-a", "w"), true},
		{"another resource name", Rule{ResourceNamespace: "*", APIGroups: []string{"example.com"}, Resources: []string{"widgets"}, Verbs: []string{"get"}, ResourceNames: []string{"w"}}, get("team-a", "v"), false},
		{"resource names do not allow a list", Rule{ResourceNamespace: "*", APIGroups: []string{"example.com"}, Resources: []string{"widgets"}, Verbs: []string{"list"}, ResourceNames: []string{"w"}}, list, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.allows(tt.call, pipelineNS); got != tt.want {
				t.Errorf("%+v allows %+v: %v, want %v", tt.rule, tt.call, got, tt.want)
			}
		})
	}
}
