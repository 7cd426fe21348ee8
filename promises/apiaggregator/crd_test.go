package apiaggregator

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/apiserver"
	"github.com/promisekit/promisekit/internal/crdcheck"
)

// api is the package's API server (internal/apiserver), started by the
// first test that asks for it.
var api apiserver.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	api.Close()
	os.Exit(code)
}

// admission is the API server's own admission, both Promises' CRDs
// installed, with no objects.
func admission(t *testing.T) apiserver.DryRun {
	t.Helper()
	return apiserver.DryRun{Server: api.For(t, promiseFile(KindAggregator), promiseFile(KindTarget)), Ctx: t.Context()}
}

// promiseValidators compiles each Promise's own CRD once per test binary.
var promiseValidators = sync.OnceValues(func() (map[string]*crdcheck.Validator, error) {
	out := map[string]*crdcheck.Validator{}
	for _, kind := range []string{KindAggregator, KindTarget} {
		data, err := readPromiseFile(kind)
		if err != nil {
			return nil, err
		}
		crd, err := crdcheck.PromiseCRD(data)
		if err != nil {
			return nil, err
		}
		if out[kind], err = crdcheck.Load(crd); err != nil {
			return nil, err
		}
	}
	return out, nil
})

func promiseValidator(t testing.TB, kind string) *crdcheck.Validator {
	t.Helper()
	vs, err := promiseValidators()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := vs[kind]
	if !ok {
		t.Fatalf("no Promise offers kind %q", kind)
	}
	return v
}

func kindOf(t testing.TB, objectYAML []byte) string {
	t.Helper()
	var head struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(objectYAML, &head); err != nil {
		t.Fatal(err)
	}
	return head.Kind
}

// TestPrinterColumns shows `kubectl get` output for configured objects,
// computed by the API server's own table convertor from the CRDs' columns.
func TestPrinterColumns(t *testing.T) {
	p := newPlatform(t, "")
	agg := p.request(readFile(t, "examples/portal.yaml"))
	p.configure(agg)
	target := p.request(readFile(t, "examples/orders.yaml"))
	p.configure(target)

	tests := []struct {
		obj  map[string]any
		want map[string]string
	}{
		{agg.Object, map[string]string{
			"Hostname": "api.example.com",
			"Gateway":  "portal",
			"Message":  "Gateway platform/portal serves https://api.example.com (class eg, certificate from ClusterIssuer letsencrypt)",
		}},
		{target.Object, map[string]string{
			"Aggregator": "platform/portal",
			"Paths":      "/orders /v1/orders",
			"Message":    "2 paths routed to Service team-orders/orders port 8080 through Gateway platform/portal",
		}},
	}
	for _, tt := range tests {
		kind := tt.obj["kind"].(string)
		data, err := readPromiseFile(kind)
		if err != nil {
			t.Fatal(err)
		}
		crdYAML, err := crdcheck.PromiseCRD(data)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(crdYAML, &crd); err != nil {
			t.Fatal(err)
		}
		convertor, err := tableconvertor.New(crd.Spec.Versions[0].AdditionalPrinterColumns)
		if err != nil {
			t.Fatal(err)
		}
		table, err := convertor.ConvertToTable(context.Background(), &unstructured.Unstructured{Object: tt.obj}, nil)
		if err != nil {
			t.Fatal(err)
		}
		cells := map[string]string{}
		for i, col := range table.ColumnDefinitions {
			if s, ok := table.Rows[0].Cells[i].(string); ok {
				cells[col.Name] = s
			}
		}
		for name, want := range tt.want {
			if cells[name] != want {
				t.Errorf("%s column %s = %q, want %q", kind, name, cells[name], want)
			}
		}
		if cells["Age"] == "" {
			t.Errorf("%s has no Age column", kind)
		}
	}
}

// TestPromises checks what the code assumes about the Promise files, and
// the Kratix webhook rules that the strict decoding in test/kratix does not
// cover: names, images and pipeline lengths.
func TestPromises(t *testing.T) {
	for _, kind := range []string{KindAggregator, KindTarget} {
		p := readPromise(t, kind)
		api := p.Spec.API.Spec
		if api.Group != Group || api.Names.Kind != kind || api.Names.Plural != resourceOf(kind).Plural {
			t.Errorf("%s: CRD %s/%s (%s) does not match the code's %s/%s", promiseFile(kind), api.Group, api.Names.Kind, api.Names.Plural, Group, kind)
		}
		for action, pipelines := range map[string][]pipeline{"configure": p.Spec.Workflows.Resource.Configure, "delete": p.Spec.Workflows.Resource.Delete} {
			if len(pipelines) != 1 {
				t.Errorf("%s: %d %s pipelines, want 1", promiseFile(kind), len(pipelines), action)
			}
			for _, pl := range pipelines {
				if id := p.Metadata.Name + "-resource-" + action + "-" + pl.Metadata.Name; len(id) > 60 {
					t.Errorf("%s: pipeline id %q is longer than Kratix's 60", promiseFile(kind), id)
				}
				for _, c := range pl.Spec.Containers {
					if base, _, _ := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":"); base != "apiaggregator" {
						t.Errorf("%s: container %s runs %s, not the apiaggregator binary", promiseFile(kind), c.Name, c.Image)
					}
				}
				if perms := pl.Spec.RBAC.Permissions; len(perms) > 0 && (kind != KindTarget || action != "configure") {
					t.Errorf("%s: the %s pipeline asks for permissions it does not use: %+v", promiseFile(kind), action, perms)
				}
			}
		}
	}
}
