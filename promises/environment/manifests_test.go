package environment

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"text/template"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
	"sigs.k8s.io/yaml"

	"github.com/promisekit/promisekit/internal/crdcheck"
	"github.com/promisekit/promisekit/internal/overlaytest"
)

// Third-party schemas, pinned. The modules are not in go.mod: crdcheck
// downloads them into the module cache (go mod download) and nothing is
// copied into the repository.
const (
	argoCDModule          = "github.com/argoproj/argo-cd/v3@v3.1.0"
	externalSecretsModule = "github.com/external-secrets/external-secrets@v1.3.2"
	// vclusterModule is the source of the vcluster chart at the version
	// the defaults pin (config vcluster.version 0.36.1).
	vclusterModule = "github.com/loft-sh/vcluster@v0.36.1"
)

// validationCases cover every kind of document the stage writes: both
// isolations, ACK mode with IRSA, and ACK mode with Pod Identity.
var validationCases = []struct {
	name, request, config string
}{
	{"preview-ack", "examples/preview.yaml", "examples/platform/ack.yaml"},
	{"development-ack", "examples/development.yaml", "examples/platform/ack.yaml"},
	{"development-pod-identity", "examples/development.yaml", ""},
	{"preview-defaults", "examples/preview.yaml", ""},
}

const podIdentityConfig = `
aws:
  mode: ack
  accountID: "111122223333"
  podIdentity: {enabled: true, clusterName: platform}
`

// renderAll runs each validation case and returns its documents by case;
// with overlays not "", the platform's overlays in that directory run over
// them.
func renderAll(t *testing.T, overlays string) map[string]map[string][]byte {
	t.Helper()
	out := map[string]map[string][]byte{}
	for _, tc := range validationCases {
		config := tc.config
		if tc.name == "development-pod-identity" {
			config = writeConfig(t, podIdentityConfig)
		}
		if overlays != "" {
			base := ""
			if config != "" {
				data, err := os.ReadFile(config)
				if err != nil {
					t.Fatal(err)
				}
				base = string(data)
			}
			config = writeConfig(t, overlaytest.Config(base, overlays))
		}
		h := newPipeline(t, request(t, tc.request, nil), config, nil)
		o := h.Configure(context.Background())
		if o.Err != nil {
			t.Fatalf("%s: %v", tc.name, o.Err)
		}
		out[tc.name] = o.Files
	}
	return out
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// manifestValidators are the CRDs, with their CEL rules, of the documents
// the stage writes that are neither core Kubernetes nor ACK objects.
func manifestValidators(t *testing.T) map[string]*crdcheck.Validator {
	return map[string]*crdcheck.Validator{
		"argoproj.io/v1alpha1/Application":      loadCRD(t, argoCDModule, "manifests/crds/application-crd.yaml"),
		"external-secrets.io/v1/SecretStore":    loadCRD(t, externalSecretsModule, "config/crds/bases/external-secrets.io_secretstores.yaml"),
		"external-secrets.io/v1/ExternalSecret": loadCRD(t, externalSecretsModule, "config/crds/bases/external-secrets.io_externalsecrets.yaml"),
	}
}

// validateDocument checks one document against the real schema of its
// kind (see TestManifestsValidate) and returns the problems found.
func validateDocument(t *testing.T, validators map[string]*crdcheck.Validator, data []byte) []string {
	t.Helper()
	var h header
	if err := yaml.Unmarshal(data, &h); err != nil {
		return []string{err.Error()}
	}
	kind := h.APIVersion + "/" + h.Kind
	if v, ok := validators[kind]; ok {
		return v.Validate(data)
	}
	typed, ok := coreTypes[kind]
	if !ok {
		typed, ok = ackTypes[kind]
	}
	if !ok {
		return []string{"no schema to check a " + kind + " against"}
	}
	if err := yaml.UnmarshalStrict(data, typed()); err != nil {
		return []string{err.Error()}
	}
	return nil
}

// TestManifestsValidate checks every document against the real schema of
// its kind: core Kubernetes objects by strict decoding into k8s.io/api
// types, Argo CD and External Secrets objects against their projects' CRDs
// (with CEL rules), ACK objects against declared types (see ackTypes).
func TestManifestsValidate(t *testing.T) {
	validators := manifestValidators(t)
	seen := map[string]bool{}
	for name, files := range renderAll(t, "") {
		for _, file := range slices.Sorted(maps.Keys(files)) {
			data := files[file]
			if problems := validateDocument(t, validators, data); len(problems) > 0 {
				t.Errorf("%s/%s:\n  %s", name, file, strings.Join(problems, "\n  "))
			}
			// Once per kind, a misspelt field must be refused, or the
			// check proves nothing.
			var h header
			if err := yaml.Unmarshal(data, &h); err != nil {
				t.Fatalf("%s/%s: %v", name, file, err)
			}
			if kind := h.APIVersion + "/" + h.Kind; !seen[kind] {
				seen[kind] = true
				if len(validateDocument(t, validators, withUnknownField(t, data))) == 0 {
					t.Errorf("%s: the %s schema accepted an unknown field", file, kind)
				}
			}
		}
	}
}

func withUnknownField(t *testing.T, data []byte) []byte {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	obj["metadata"].(map[string]any)["labelz"] = map[string]any{"a": "b"}
	out, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func loadCRD(t *testing.T, module, path string) *crdcheck.Validator {
	t.Helper()
	data, err := crdcheck.ModuleFile(module, path)
	if err != nil {
		t.Fatalf("reading %s from %s: %v", path, module, err)
	}
	v, err := crdcheck.Load(data)
	if err != nil {
		t.Fatalf("%s %s: %v", module, path, err)
	}
	return v
}

// coreTypes are the Kubernetes kinds the stage writes. Strict decoding
// rejects unknown and misspelled fields and parses every quantity.
var coreTypes = map[string]func() any{
	"v1/Namespace":                             func() any { return new(corev1.Namespace) },
	"v1/ResourceQuota":                         func() any { return new(corev1.ResourceQuota) },
	"v1/LimitRange":                            func() any { return new(corev1.LimitRange) },
	"v1/ServiceAccount":                        func() any { return new(corev1.ServiceAccount) },
	"networking.k8s.io/v1/NetworkPolicy":       func() any { return new(networkingv1.NetworkPolicy) },
	"rbac.authorization.k8s.io/v1/Role":        func() any { return new(rbacv1.Role) },
	"rbac.authorization.k8s.io/v1/RoleBinding": func() any { return new(rbacv1.RoleBinding) },
}

// ackTypes declare the spec fields of the ACK CRDs the stage writes. The
// controllers' modules (github.com/aws-controllers-k8s/ecr-controller,
// iam-controller, eks-controller) cannot be downloaded through the module
// proxy here (403), so their CRDs cannot be read at test time; these types
// follow config/crd/bases of ecr-controller @0bd365e3
// (repositories.ecr.services.k8s.aws) and iam-controller @31393b86
// (roles.iam.services.k8s.aws), field for field for what we set, and
// eks-controller's PodIdentityAssociation documentation.
var ackTypes = map[string]func() any{
	"ecr.services.k8s.aws/v1alpha1/Repository": func() any {
		return new(struct {
			header
			Metadata ackMeta `json:"metadata"`
			Spec     struct {
				Name                       string `json:"name"`
				RegistryID                 string `json:"registryID"`
				ImageTagMutability         string `json:"imageTagMutability"`
				ImageScanningConfiguration struct {
					ScanOnPush bool `json:"scanOnPush"`
				} `json:"imageScanningConfiguration"`
				EncryptionConfiguration struct {
					EncryptionType string `json:"encryptionType"`
					KMSKey         string `json:"kmsKey"`
				} `json:"encryptionConfiguration"`
				LifecyclePolicy string `json:"lifecyclePolicy"`
				Policy          string `json:"policy"`
				Tags            []struct {
					Key   string `json:"key"`
					Value string `json:"value"`
				} `json:"tags"`
			} `json:"spec"`
		})
	},
	"iam.services.k8s.aws/v1alpha1/Role": func() any {
		return new(struct {
			header
			Metadata ackMeta `json:"metadata"`
			Spec     struct {
				Name                     string            `json:"name"`
				Path                     string            `json:"path"`
				Description              string            `json:"description"`
				AssumeRolePolicyDocument string            `json:"assumeRolePolicyDocument"`
				InlinePolicies           map[string]string `json:"inlinePolicies"`
				MaxSessionDuration       int64             `json:"maxSessionDuration"`
				PermissionsBoundary      string            `json:"permissionsBoundary"`
				Policies                 []string          `json:"policies"`
				Tags                     []struct {
					Key   string `json:"key"`
					Value string `json:"value"`
				} `json:"tags"`
			} `json:"spec"`
		})
	},
	"eks.services.k8s.aws/v1alpha1/PodIdentityAssociation": func() any {
		return new(struct {
			header
			Metadata ackMeta `json:"metadata"`
			Spec     struct {
				ClusterName    string `json:"clusterName"`
				Namespace      string `json:"namespace"`
				ServiceAccount string `json:"serviceAccount"`
				RoleARN        string `json:"roleARN"`
			} `json:"spec"`
		})
	},
}

type ackMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// TestVClusterValuesMatchChartSchema validates the values the stage gives
// the vcluster chart against the chart's own values.schema.json at the
// pinned version, which refuses unknown keys at every level.
func TestVClusterValuesMatchChartSchema(t *testing.T) {
	raw, err := crdcheck.ModuleFile(vclusterModule, "chart/values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	schema := compileJSONSchema(t, raw)
	for name, files := range renderAll(t, "") {
		for file, data := range files {
			var app struct {
				Spec struct {
					Source struct {
						Chart string `json:"chart"`
						Helm  struct {
							ValuesObject map[string]any `json:"valuesObject"`
						} `json:"helm"`
					} `json:"source"`
				} `json:"spec"`
			}
			if !strings.HasPrefix(file, "application_") {
				continue
			}
			if err := yaml.Unmarshal(data, &app); err != nil {
				t.Fatal(err)
			}
			if app.Spec.Source.Chart != "vcluster" {
				continue
			}
			values := app.Spec.Source.Helm.ValuesObject
			if res := schema.Validate(values); len(res.Errors) > 0 {
				t.Errorf("%s/%s: values refused by the chart's schema: %v", name, file, res.Errors)
			}
			// The manifests vcluster applies inside are core objects too.
			stream := values["experimental"].(map[string]any)["deploy"].(map[string]any)["vcluster"].(map[string]any)["manifests"].(string)
			for _, doc := range strings.Split(stream, "---\n") {
				var h header
				if err := yaml.Unmarshal([]byte(doc), &h); err != nil {
					t.Fatalf("%s/%s: manifests: %v", name, file, err)
				}
				typed, ok := coreTypes[h.APIVersion+"/"+h.Kind]
				if !ok {
					t.Errorf("%s/%s: manifests hold a %s/%s", name, file, h.APIVersion, h.Kind)
				} else if err := yaml.UnmarshalStrict([]byte(doc), typed()); err != nil {
					t.Errorf("%s/%s: manifests: %v", name, file, err)
				}
			}
			// A misspelt key must fail, or the check proves nothing.
			values["controlPlane"].(map[string]any)["proxxy"] = map[string]any{}
			if res := schema.Validate(values); len(res.Errors) == 0 {
				t.Errorf("%s/%s: the schema accepted an unknown key", name, file)
			}
		}
	}
}

// compileJSONSchema turns a JSON Schema (draft 2020-12, as Helm charts
// ship) into kube-openapi's validator, which does not follow $ref: every
// reference into $defs is inlined first.
func compileJSONSchema(t *testing.T, raw []byte) *validate.SchemaValidator {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	defs, _ := doc["$defs"].(map[string]any)
	var inline func(v any, expanding map[string]bool) any
	inline = func(v any, expanding map[string]bool) any {
		switch v := v.(type) {
		case map[string]any:
			out := map[string]any{}
			if ref, ok := v["$ref"].(string); ok {
				name, found := strings.CutPrefix(ref, "#/$defs/")
				if !found || defs[name] == nil {
					t.Fatalf("unsupported $ref %q", ref)
				}
				if expanding[name] {
					return map[string]any{} // a recursive definition: accept anything below
				}
				expanding[name] = true
				maps.Copy(out, inline(defs[name], expanding).(map[string]any))
				delete(expanding, name)
			}
			for k, val := range v {
				if k != "$ref" && k != "$defs" && k != "$schema" && k != "$id" {
					out[k] = inline(val, expanding)
				}
			}
			return out
		case []any:
			out := make([]any, len(v))
			for i, e := range v {
				out[i] = inline(e, expanding)
			}
			return out
		}
		return v
	}
	flat, err := json.Marshal(inline(doc, map[string]bool{}))
	if err != nil {
		t.Fatal(err)
	}
	var s spec.Schema
	if err := json.Unmarshal(flat, &s); err != nil {
		t.Fatal(err)
	}
	return validate.NewSchemaValidator(&s, nil, "values", strfmt.Default)
}

// TestClusterSecretTemplate renders the ExternalSecret's template the way
// External Secrets does (Go templates with sprig's b64enc) on a kubeconfig
// Secret shaped as vcluster writes it, and checks that the result is an
// Argo CD cluster Secret: config decodes, TLS data round-trips.
func TestClusterSecretTemplate(t *testing.T) {
	files := renderAll(t, "")["development-ack"]
	var es struct {
		Spec struct {
			Target struct {
				Template struct {
					Data map[string]string `json:"data"`
				} `json:"template"`
			} `json:"target"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(files["externalsecret_argocd_default-team-a-dev-vcluster.yaml"], &es); err != nil {
		t.Fatal(err)
	}
	secret := map[string]string{ // generated test data, not credentials
		"certificate-authority": "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
		"client-certificate":    "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n",
		"client-key":            generatedECKey(t),
		"config":                "apiVersion: v1\nkind: Config\n",
	}
	funcs := template.FuncMap{"b64enc": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }}
	rendered := map[string]string{}
	for key, text := range es.Spec.Target.Template.Data {
		tmpl, err := template.New(key).Funcs(funcs).Parse(text)
		if err != nil {
			t.Fatalf("template %s: %v", key, err)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, secret); err != nil {
			t.Fatalf("template %s: %v", key, err)
		}
		rendered[key] = b.String()
	}
	if rendered["name"] != "default-team-a-dev" || rendered["server"] != "https://team-a-dev.default-team-a-dev.svc" {
		t.Errorf("name, server = %q, %q", rendered["name"], rendered["server"])
	}
	var config struct {
		TLSClientConfig struct {
			CAData   []byte `json:"caData"`
			CertData []byte `json:"certData"`
			KeyData  []byte `json:"keyData"`
		} `json:"tlsClientConfig"`
	}
	if err := json.Unmarshal([]byte(rendered["config"]), &config); err != nil {
		t.Fatalf("config is not Argo CD's cluster config: %v\n%s", err, rendered["config"])
	}
	tls := config.TLSClientConfig
	for key, got := range map[string][]byte{"certificate-authority": tls.CAData, "client-certificate": tls.CertData, "client-key": tls.KeyData} {
		if string(got) != secret[key] {
			t.Errorf("%s does not round-trip: %q", key, got)
		}
	}
}

// generatedECKey is a PEM private key made for this test run, so that no key
// sits in the repository.
func generatedECKey(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}
