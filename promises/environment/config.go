package environment

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/promisekit/promisekit/pkg/placement"

	"github.com/promisekit/promisekit/pkg/stage"

	"github.com/promisekit/promisekit/pkg/k8sname"
	"github.com/promisekit/promisekit/pkg/platformconfig"

	"github.com/promisekit/promisekit/pkg/kratix"
)

// Config is the platform's configuration of the promise: what each
// environment type means, and how environments reach Argo CD and AWS.
// Teams never set it; defaultConfig holds every field's default.
type Config struct {
	// Kratix is what the installed Kratix honours (workflow control).
	stage.Kratix `json:"kratix,omitempty"`
	// PlatformOverlays is `overlays:`, the platform's ytt overlays over every document.
	stage.PlatformOverlays
	// Timeout bounds the whole run (a Go duration; 5m by default).
	Timeout platformconfig.Duration `json:"timeout,omitempty"`
	// PlatformAPITimeout bounds each call to the platform's API server
	// (deleting an expired request; 15s by default).
	PlatformAPITimeout platformconfig.Duration `json:"platformAPITimeout,omitempty"`
	Types              map[string]TypeConfig   `json:"types"`
	Quotas             map[string]QuotaProfile `json:"quotas"`
	MaxTTL             string                  `json:"maxTTL"`
	Namespace          NamespaceConfig         `json:"namespace"`
	ArgoCD             ArgoCDConfig            `json:"argocd"`
	VCluster           ChartConfig             `json:"vcluster"`
	AppStack           AppStackConfig          `json:"appStack"`
	AWS                AWSConfig               `json:"aws"`
	// Destinations are the clusters environments are placed on, each with
	// what differs per cluster. Without them there is one implicit
	// destination with Namespace's and AWS's settings, and no destination
	// selector is written (Kratix schedules as the Promise says).
	Destinations []DestinationConfig `json:"destinations,omitempty"`
	// DefaultDestination names the destination of a request that names
	// none in spec.destination.
	DefaultDestination string `json:"defaultDestination,omitempty"`
}

// DestinationConfig is one cluster an environment may be placed on.
type DestinationConfig struct {
	// The name, labels and whether a request may choose it.
	placement.Destination
	Namespace DestinationNamespace `json:"namespace,omitempty"`
	AWS       DestinationAWS       `json:"aws,omitempty"`
}

// DestinationNamespace is what differs per cluster in config.namespace.
type DestinationNamespace struct {
	// IngressNamespaces are the cluster's ingress controllers'
	// namespaces; absent: config.namespace.ingressNamespaces ([] is none).
	IngressNamespaces []string `json:"ingressNamespaces,omitempty"`
}

// DestinationAWS is what differs per cluster in config.aws: the cluster's
// identity to IAM.
type DestinationAWS struct {
	// OIDCIssuer is the cluster's OIDC issuer URL (IRSA).
	OIDCIssuer  string                 `json:"oidcIssuer,omitempty"`
	PodIdentity DestinationPodIdentity `json:"podIdentity,omitempty"`
}

// DestinationPodIdentity names the cluster to EKS Pod Identity.
type DestinationPodIdentity struct {
	ClusterName string `json:"clusterName,omitempty"`
}

// TypeConfig is one environment type.
type TypeConfig struct {
	Description string `json:"description"`
	// Isolation is "namespace" or "vcluster".
	Isolation string `json:"isolation"`
	// Quota names a profile in Config.Quotas.
	Quota string `json:"quota"`
	// TeamRole is the ClusterRole the team's group gets in the namespace
	// (namespace isolation; in a vcluster the team is cluster-admin).
	TeamRole string `json:"teamRole,omitempty"`
	// DefaultTTL applies when a request sets no ttl; empty: no expiry.
	DefaultTTL string `json:"defaultTTL,omitempty"`
	// VClusterValues and AppValues are chart values this type starts from;
	// the values the promise computes are merged over them.
	VClusterValues map[string]any `json:"vclusterValues,omitempty"`
	AppValues      map[string]any `json:"appValues,omitempty"`
}

// QuotaProfile sizes an environment's namespace.
type QuotaProfile struct {
	// Hard is the ResourceQuota's spec.hard.
	Hard map[string]string `json:"hard"`
	// ContainerDefaults and ContainerRequests are the LimitRange's default
	// limits and requests for containers that set none.
	ContainerDefaults map[string]string `json:"containerDefaults"`
	ContainerRequests map[string]string `json:"containerRequests"`
}

// NamespaceConfig shapes every environment's host namespace.
type NamespaceConfig struct {
	// PodSecurity is the Pod Security Standard enforced: privileged,
	// baseline or restricted.
	PodSecurity string `json:"podSecurity"`
	// IngressNamespaces may reach every Pod of an environment.
	IngressNamespaces []string `json:"ingressNamespaces"`
	// ServiceAccount is the workloads' service account, the one the IAM
	// role trusts.
	ServiceAccount string `json:"serviceAccount"`
}

// ArgoCDConfig says where Argo CD runs on the destination.
type ArgoCDConfig struct {
	Namespace string `json:"namespace"`
	Project   string `json:"project"`
}

// ChartConfig pins a Helm chart.
type ChartConfig struct {
	RepoURL string `json:"repoURL"`
	Chart   string `json:"chart"`
	Version string `json:"version"`
}

// AppStackConfig is the application stack installed into every environment.
type AppStackConfig struct {
	ChartConfig `json:",inline"`
	ReleaseName string `json:"releaseName"`
	// Namespace is where the stack goes inside a vcluster.
	Namespace string `json:"namespace"`
}

// AWS modes.
const (
	AWSNone = "none" // no AWS resources
	AWSAPI  = "api"  // the stage calls AWS
	AWSACK  = "ack"  // the stage emits ACK resources
)

// AWSConfig configures the repository and role of each environment.
type AWSConfig struct {
	Mode string `json:"mode"`
	// AttemptTimeout bounds each attempt of an AWS call (30s by default):
	// the AWS SDK's HTTP client has no limit of its own, and a connection
	// on which no answer comes would hold the pipeline's Pod. An attempt
	// that runs out is retried as a lost connection is.
	AttemptTimeout platformconfig.Duration `json:"attemptTimeout,omitempty"`
	Region         string                  `json:"region"`
	AccountID      string                  `json:"accountID,omitempty"`
	// OIDCIssuer is the EKS cluster's OIDC issuer URL (IRSA).
	OIDCIssuer  string            `json:"oidcIssuer,omitempty"`
	PodIdentity PodIdentityConfig `json:"podIdentity"`
	Repository  RepositoryConfig  `json:"repository"`
	Role        RoleConfig        `json:"role"`
	ACK         ACKConfig         `json:"ack"`
}

// PodIdentityConfig switches from IRSA to EKS Pod Identity.
type PodIdentityConfig struct {
	Enabled     bool   `json:"enabled"`
	ClusterName string `json:"clusterName,omitempty"`
}

// RepositoryConfig shapes every environment's ECR repository.
type RepositoryConfig struct {
	Prefix             string `json:"prefix"`
	ImageTagMutability string `json:"imageTagMutability"`
	ScanOnPush         bool   `json:"scanOnPush"`
	Encryption         string `json:"encryption"`
	KMSKey             string `json:"kmsKey,omitempty"`
	LifecyclePolicy    string `json:"lifecyclePolicy,omitempty"`
	// Retention is "delete" (the repository goes with the environment,
	// images included) or "retain".
	Retention string `json:"retention"`
}

// RoleConfig shapes every environment's IAM role.
type RoleConfig struct {
	Prefix          string   `json:"prefix"`
	Path            string   `json:"path"`
	ManagedPolicies []string `json:"managedPolicies,omitempty"`
}

// ACKConfig places ACK resources in ack mode.
type ACKConfig struct {
	// Namespace holds the ACK resources: a platform namespace, so that a
	// team's edit rights in its own namespace cannot widen its IAM role.
	Namespace string `json:"namespace"`
}

// Time limits unless the configuration says otherwise.
const (
	defaultTimeout            = 5 * time.Minute
	defaultPlatformAPITimeout = 15 * time.Second
	defaultAWSAttemptTimeout  = 30 * time.Second
)

// deadline is the whole run's time limit.
func (c *Config) deadline() time.Duration { return c.Timeout.Or(defaultTimeout) }

// validate checks what the stage relies on. Errors name config fields.
func (c *Config) validate() error {
	var errs kratix.FieldErrors
	for field, d := range map[string]platformconfig.Duration{"config.timeout": c.Timeout, "config.platformAPITimeout": c.PlatformAPITimeout, "config.aws.attemptTimeout": c.AWS.AttemptTimeout} {
		if err := d.Check(); err != nil {
			errs.Add(field, err.Error())
		}
	}
	if len(c.Types) == 0 {
		errs.Add("config.types", "at least one environment type is required")
	}
	for _, name := range sortedKeys(c.Types) {
		t := c.Types[name]
		field := "config.types." + name
		if !isTypeName(name) {
			errs.Add(field, "a type name must be lower-case letters, digits and '-', starting with a letter, at most 32 characters")
		}
		switch t.Isolation {
		case IsolationNamespace:
			if t.TeamRole == "" {
				errs.Add(field+".teamRole", "required for namespace isolation")
			}
		case IsolationVCluster:
		default:
			errs.Add(field+".isolation", fmt.Sprintf("%q: want namespace or vcluster", t.Isolation))
		}
		if _, ok := c.Quotas[t.Quota]; !ok {
			errs.Add(field+".quota", fmt.Sprintf("no quota profile %q", t.Quota))
		}
		if t.DefaultTTL != "" {
			if _, err := parseTTL(t.DefaultTTL); err != nil {
				errs.Add(field+".defaultTTL", err.Error())
			}
		}
	}
	for _, name := range sortedKeys(c.Quotas) {
		q := c.Quotas[name]
		field := "config.quotas." + name
		if len(q.Hard) == 0 {
			errs.Add(field+".hard", "required")
		}
		for key, m := range map[string]map[string]string{"hard": q.Hard, "containerDefaults": q.ContainerDefaults, "containerRequests": q.ContainerRequests} {
			for _, res := range sortedKeys(m) {
				if !isResourceName(res) {
					errs.Add(field+"."+key, fmt.Sprintf("%q is not a resource name", res))
				}
				if !isQuantity(m[res]) {
					errs.Add(field+"."+key+"."+res, fmt.Sprintf("%q is not a quantity", m[res]))
				}
			}
		}
	}
	if _, err := parseTTL(c.MaxTTL); err != nil {
		errs.Add("config.maxTTL", err.Error())
	}
	if !slices.Contains([]string{"privileged", "baseline", "restricted"}, c.Namespace.PodSecurity) {
		errs.Add("config.namespace.podSecurity", fmt.Sprintf("%q: want privileged, baseline or restricted", c.Namespace.PodSecurity))
	}
	for i, ns := range c.Namespace.IngressNamespaces {
		if !k8sname.IsDNSLabel(ns) {
			errs.Add(fmt.Sprintf("config.namespace.ingressNamespaces[%d]", i), fmt.Sprintf("%q is not a namespace name", ns))
		}
	}
	for field, v := range map[string]string{
		"config.namespace.serviceAccount": c.Namespace.ServiceAccount,
		"config.argocd.namespace":         c.ArgoCD.Namespace,
		"config.appStack.namespace":       c.AppStack.Namespace,
	} {
		if !k8sname.IsDNSLabel(v) {
			errs.Add(field, fmt.Sprintf("%q is not a valid name", v))
		}
	}
	for field, v := range map[string]string{
		"config.argocd.project": c.ArgoCD.Project, "config.vcluster.repoURL": c.VCluster.RepoURL,
		"config.vcluster.chart": c.VCluster.Chart, "config.vcluster.version": c.VCluster.Version,
		"config.appStack.repoURL": c.AppStack.RepoURL, "config.appStack.chart": c.AppStack.Chart,
		"config.appStack.version": c.AppStack.Version, "config.appStack.releaseName": c.AppStack.ReleaseName,
	} {
		if strings.TrimSpace(v) == "" {
			errs.Add(field, "required")
		}
	}
	c.validateAWS(&errs)
	c.validateDestinations(&errs)
	slices.SortStableFunc(errs, func(a, b *kratix.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return errs.Err()
}

func (c *Config) validateAWS(errs *kratix.FieldErrors) {
	a := c.AWS
	switch a.Mode {
	case AWSNone:
		return
	case AWSAPI, AWSACK:
	default:
		errs.Add("config.aws.mode", fmt.Sprintf("%q: want none, api or ack", a.Mode))
		return
	}
	if a.Region == "" {
		errs.Add("config.aws.region", "required")
	}
	if !(len(a.AccountID) == 12 && isDigits(a.AccountID)) {
		errs.Add("config.aws.accountID", "required: the 12-digit account that holds the environments' resources")
	}
	switch {
	case len(c.Destinations) > 0:
		// Each destination names its cluster (validateDestinations).
	case a.PodIdentity.Enabled:
		if a.PodIdentity.ClusterName == "" {
			errs.Add("config.aws.podIdentity.clusterName", "required when Pod Identity is enabled")
		}
	case !strings.HasPrefix(a.OIDCIssuer, "https://"):
		errs.Add("config.aws.oidcIssuer", "required for IRSA: the cluster's OIDC issuer URL, https://…")
	}
	if a.Repository.Prefix == "" {
		errs.Add("config.aws.repository.prefix", "required")
	}
	if r := a.Repository.Retention; r != "delete" && r != "retain" {
		errs.Add("config.aws.repository.retention", fmt.Sprintf("%q: want delete or retain", r))
	}
	if !k8sname.IsDNSLabel(a.ACK.Namespace) {
		errs.Add("config.aws.ack.namespace", fmt.Sprintf("%q is not a namespace name", a.ACK.Namespace))
	}
}

// parseTTL reads a lifetime: a whole number of minutes, hours or days
// ("90m", "12h", "7d"), at most six digits. Go's durations have no days,
// which is the unit people use for environments. A lifetime longer than a
// Duration holds (about 292 years) is the longest Duration.
func parseTTL(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q: want a whole number of minutes, hours or days, such as 90m, 12h or 7d", s)
	if len(s) < 2 || len(s) > 7 {
		return 0, bad
	}
	digits, unit := s[:len(s)-1], s[len(s)-1]
	if !isDigits(digits) || digits[0] == '0' {
		return 0, bad
	}
	n, _ := strconv.Atoi(digits)
	switch unit {
	case 'm':
		return time.Duration(n) * time.Minute, nil
	case 'h':
		return time.Duration(n) * time.Hour, nil
	case 'd':
		// Six digits of days overflow a Duration, which holds 106,751
		// days: 213505d would wrap around to a day, and pass for it.
		if longest := time.Duration(1<<63 - 1); n > int(longest/(24*time.Hour)) {
			return longest, nil
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return 0, bad
}

// validateDestinations checks config.destinations and
// config.defaultDestination.
func (c *Config) validateDestinations(errs *kratix.FieldErrors) {
	placement.Validate(errs, placement.Of(c.Destinations), c.DefaultDestination)
	if len(c.Destinations) == 0 {
		return
	}
	a := c.AWS
	if a.Mode != AWSNone {
		// What names one cluster cannot be set for all of them.
		if a.PodIdentity.ClusterName != "" {
			errs.Add("config.aws.podIdentity.clusterName", "with config.destinations, each destination names its cluster in config.destinations[i].aws.podIdentity.clusterName")
		}
		if a.OIDCIssuer != "" {
			errs.Add("config.aws.oidcIssuer", "with config.destinations, each destination names its cluster's issuer in config.destinations[i].aws.oidcIssuer")
		}
	}
	for i, d := range c.Destinations {
		field := fmt.Sprintf("config.destinations[%d]", i)
		for j, ns := range d.Namespace.IngressNamespaces {
			if !k8sname.IsDNSLabel(ns) {
				errs.Add(fmt.Sprintf("%s.namespace.ingressNamespaces[%d]", field, j), fmt.Sprintf("%q is not a namespace name", ns))
			}
		}
		switch {
		case a.Mode == AWSNone:
		case a.PodIdentity.Enabled && d.AWS.PodIdentity.ClusterName == "":
			errs.Add(field+".aws.podIdentity.clusterName", "required when Pod Identity is enabled: the destination's EKS cluster")
		case !a.PodIdentity.Enabled && !strings.HasPrefix(d.AWS.OIDCIssuer, "https://"):
			errs.Add(field+".aws.oidcIssuer", "required for IRSA: the destination cluster's OIDC issuer URL, https://…")
		}
	}
}

// destinationSettings is the destination an environment is placed on,
// with what its manifests and AWS resources need of that cluster.
type destinationSettings struct {
	// name is the destination's; "" is the implicit destination of a
	// configuration that lists none: no selector, and config.namespace's
	// and config.aws's settings.
	name                   string
	labels                 map[string]string
	ingressNamespaces      []string
	oidcIssuer             string
	podIdentityClusterName string
}

// place returns the destination of a request that names requested in
// spec.destination ("" for none).
func (c *Config) place(requested string) (destinationSettings, error) {
	i, err := placement.Choose(placement.Of(c.Destinations), c.DefaultDestination, requested, "environment")
	switch {
	case err != nil:
		return destinationSettings{}, err
	case i < 0:
		return destinationSettings{ingressNamespaces: c.Namespace.IngressNamespaces, oidcIssuer: c.AWS.OIDCIssuer, podIdentityClusterName: c.AWS.PodIdentity.ClusterName}, nil
	}
	d := c.Destinations[i]
	ingress := d.Namespace.IngressNamespaces
	if ingress == nil {
		ingress = c.Namespace.IngressNamespaces
	}
	return destinationSettings{
		name:                   d.Name,
		labels:                 d.MatchLabels,
		ingressNamespaces:      ingress,
		oidcIssuer:             d.AWS.OIDCIssuer,
		podIdentityClusterName: d.AWS.PodIdentity.ClusterName,
	}, nil
}
