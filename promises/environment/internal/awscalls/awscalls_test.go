package awscalls

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestIdentify(t *testing.T) {
	auth := func(service string) string {
		return "AWS4-HMAC-SHA256 Credential=AKID/20261101/us-east-1/" + service + "/aws4_request, SignedHeaders=host, Signature=0"
	}
	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		want    Call
		mutates bool
	}{
		{"awsJson", "POST", "/", map[string]string{"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.CreateRepository", "Authorization": auth("ecr")}, "{}", Call{"ecr", "CreateRepository"}, true},
		{"awsQuery", "POST", "/", map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Authorization": auth("iam")}, "Action=GetRole&RoleName=r&Version=2010-05-08", Call{"iam", "GetRole"}, false},
		{"restJson list", "GET", "/clusters/c/pod-identity-associations", map[string]string{"Authorization": auth("eks")}, "", Call{"eks", "ListPodIdentityAssociations"}, false},
		{"restJson update", "POST", "/clusters/c/pod-identity-associations/a-1", map[string]string{"Authorization": auth("eks")}, "{}", Call{"eks", "UpdatePodIdentityAssociation"}, true},
		{"unknown route", "PUT", "/other/x", nil, "", Call{"", "PUT /other/*"}, true},
		{"batch read", "POST", "/", map[string]string{"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.BatchGetImage", "Authorization": auth("ecr")}, "{}", Call{"ecr", "BatchGetImage"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			got := Identify(r, []byte(tt.body))
			if got != tt.want || got.Mutating() != tt.mutates {
				t.Errorf("Identify = %v (mutating %t), want %v (mutating %t)", got, got.Mutating(), tt.want, tt.mutates)
			}
		})
	}
}

// TestProxyRecordsAndFails forwards to an upstream, records the call, and
// drops the calls a fault function selects without reaching upstream.
func TestProxyRecordsAndFails(t *testing.T) {
	var reached []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reached = append(reached, string(body))
		w.Write([]byte("ok"))
	}))
	defer upstream.Close()
	p, err := New(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	call := func(op string) (*http.Response, error) {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("Action="+op))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return http.DefaultClient.Do(req)
	}
	if resp, err := call("GetRole"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GetRole: %v %v", resp, err)
	}
	p.FailWhen(func(c Call) bool { return c.Operation == "CreateRole" })
	if _, err := call("CreateRole"); err == nil {
		t.Error("the dropped call got an answer")
	}
	if len(reached) != 1 || reached[0] != "Action=GetRole" {
		t.Errorf("upstream saw %q", reached)
	}
	if got := Summary(p.Counts()); got != ":CreateRole=1 :GetRole=1" {
		t.Errorf("counts %q", got)
	}
	if m := p.Mutating(); len(m) != 1 || m[0].Operation != "CreateRole" {
		t.Errorf("mutating %v", m)
	}
}
