package environment

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// The manifests are small local types rather than k8s.io/api's: those
// packages' initialisation alone would triple the run time of this stage,
// whose whole job is a few milliseconds. Tests decode every core object
// strictly into the k8s.io/api types, and the Argo CD and External Secrets
// objects against their projects' CRDs.

type meta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Finalizers  []string          `json:"finalizers,omitempty"`
}

// object is a Kubernetes object with a spec of type S.
type object[S any] struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
	Spec       S      `json:"spec"`
}

// bare is an object without a spec (Namespace, ServiceAccount).
type bare struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
}

type quotaSpec struct {
	Hard map[string]string `json:"hard"`
}

type limitRangeSpec struct {
	Limits []limitRangeItem `json:"limits"`
}

type limitRangeItem struct {
	Type           string            `json:"type"`
	Default        map[string]string `json:"default,omitempty"`
	DefaultRequest map[string]string `json:"defaultRequest,omitempty"`
}

type networkPolicySpec struct {
	PodSelector labelSelector `json:"podSelector"`
	PolicyTypes []string      `json:"policyTypes"`
	Ingress     []ingressRule `json:"ingress,omitempty"`
}

type ingressRule struct {
	From  []networkPeer `json:"from"`
	Ports []networkPort `json:"ports,omitempty"`
}

type networkPeer struct {
	PodSelector       *labelSelector `json:"podSelector,omitempty"`
	NamespaceSelector *labelSelector `json:"namespaceSelector,omitempty"`
}

type networkPort struct {
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
}

// labelSelector marshals as {} when empty: "every Pod".
type labelSelector struct {
	MatchLabels      map[string]string `json:"matchLabels,omitempty"`
	MatchExpressions []selectorExpr    `json:"matchExpressions,omitempty"`
}

type selectorExpr struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

type role struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Metadata   meta         `json:"metadata"`
	Rules      []policyRule `json:"rules"`
}

type policyRule struct {
	APIGroups     []string `json:"apiGroups"`
	Resources     []string `json:"resources"`
	ResourceNames []string `json:"resourceNames,omitempty"`
	Verbs         []string `json:"verbs"`
}

type roleBinding struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Metadata   meta      `json:"metadata"`
	RoleRef    roleRef   `json:"roleRef"`
	Subjects   []subject `json:"subjects"`
}

type roleRef struct {
	APIGroup string `json:"apiGroup"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
}

type subject struct {
	APIGroup  string `json:"apiGroup,omitempty"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// Argo CD Application (argoproj.io/v1alpha1).
type applicationSpec struct {
	Project     string         `json:"project"`
	Source      appSource      `json:"source"`
	Destination appDestination `json:"destination"`
	SyncPolicy  syncPolicy     `json:"syncPolicy"`
}

type appSource struct {
	RepoURL        string  `json:"repoURL"`
	Chart          string  `json:"chart"`
	TargetRevision string  `json:"targetRevision"`
	Helm           appHelm `json:"helm"`
}

type appHelm struct {
	ReleaseName  string         `json:"releaseName"`
	ValuesObject map[string]any `json:"valuesObject"`
}

type appDestination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace"`
}

type syncPolicy struct {
	Automated   syncAutomated `json:"automated"`
	SyncOptions []string      `json:"syncOptions,omitempty"`
	Retry       syncRetry     `json:"retry"`
}

type syncAutomated struct {
	Prune    bool `json:"prune"`
	SelfHeal bool `json:"selfHeal"`
}

type syncRetry struct {
	Limit   int64        `json:"limit"`
	Backoff retryBackoff `json:"backoff"`
}

type retryBackoff struct {
	Duration    string `json:"duration"`
	Factor      int64  `json:"factor"`
	MaxDuration string `json:"maxDuration"`
}

// External Secrets Operator (external-secrets.io/v1).
type secretStoreSpec struct {
	Provider struct {
		Kubernetes kubernetesProvider `json:"kubernetes"`
	} `json:"provider"`
}

type kubernetesProvider struct {
	RemoteNamespace string `json:"remoteNamespace"`
	Server          struct {
		URL        string `json:"url"`
		CAProvider struct {
			Type string `json:"type"`
			Name string `json:"name"`
			Key  string `json:"key"`
		} `json:"caProvider"`
	} `json:"server"`
	Auth struct {
		ServiceAccount struct {
			Name string `json:"name"`
		} `json:"serviceAccount"`
	} `json:"auth"`
}

type externalSecretSpec struct {
	RefreshInterval string `json:"refreshInterval"`
	SecretStoreRef  struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"secretStoreRef"`
	Target struct {
		Name           string `json:"name"`
		CreationPolicy string `json:"creationPolicy"`
		Template       struct {
			EngineVersion string `json:"engineVersion"`
			Metadata      struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Data map[string]string `json:"data"`
		} `json:"template"`
	} `json:"target"`
	DataFrom []dataFromSource `json:"dataFrom"`
}

type dataFromSource struct {
	Extract struct {
		Key string `json:"key"`
	} `json:"extract"`
}

// ACK (AWS Controllers for Kubernetes) resources.
type ackRepositorySpec struct {
	Name                       string `json:"name"`
	ImageTagMutability         string `json:"imageTagMutability"`
	ImageScanningConfiguration struct {
		ScanOnPush bool `json:"scanOnPush"`
	} `json:"imageScanningConfiguration"`
	EncryptionConfiguration struct {
		EncryptionType string `json:"encryptionType"`
		KMSKey         string `json:"kmsKey,omitempty"`
	} `json:"encryptionConfiguration"`
	LifecyclePolicy string   `json:"lifecyclePolicy,omitempty"`
	Tags            []ackTag `json:"tags"`
}

type ackRoleSpec struct {
	Name                     string            `json:"name"`
	Path                     string            `json:"path"`
	Description              string            `json:"description"`
	AssumeRolePolicyDocument string            `json:"assumeRolePolicyDocument"`
	InlinePolicies           map[string]string `json:"inlinePolicies"`
	Policies                 []string          `json:"policies,omitempty"`
	Tags                     []ackTag          `json:"tags"`
}

type ackPodIdentitySpec struct {
	ClusterName    string `json:"clusterName"`
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	RoleARN        string `json:"roleARN"`
}

type ackTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// manifestStream joins objects into one multi-document text for vcluster's
// experimental.deploy.vcluster.manifests. Each document is JSON, which is
// YAML too: a YAML encoder would cost this stage more than the rest of it.
func manifestStream(objs ...any) string {
	var b bytes.Buffer
	for i, o := range objs {
		js, err := json.Marshal(o)
		if err != nil {
			panic(fmt.Sprintf("encoding manifest %d: %v", i, err)) // plain structs of strings
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(js)
		b.WriteByte('\n')
	}
	return b.String()
}

// documents wraps objects for the state store's default directory.
func documents(objs ...any) []kratix.Document {
	out := make([]kratix.Document, len(objs))
	for i, o := range objs {
		out[i] = kratix.Document{Object: o}
	}
	return out
}
