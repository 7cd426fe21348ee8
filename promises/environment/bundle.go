package environment

import (
	"maps"

	"github.com/promisekit/promisekit/pkg/kratix"
	"github.com/promisekit/promisekit/promises/environment/awsinfra"
)

// documents are the environment's manifests, in the order a reader follows
// them: the namespace and its limits, access, the vcluster, the
// application stack, and the AWS resources for ACK.
func (p *plan) documents() []kratix.Document {
	objs := []any{p.namespaceObject(), p.resourceQuota(), p.limitRange()}
	objs = append(objs, p.networkPolicies()...)
	if p.typ.Isolation == IsolationVCluster {
		objs = append(objs, p.vclusterAccess()...)
		objs = append(objs, p.vclusterApplication())
	} else {
		objs = append(objs, p.workloadServiceAccount(), p.teamRoleBinding())
	}
	objs = append(objs, p.appStackApplication())
	if p.aws != nil && p.aws.mode == AWSACK {
		objs = append(objs, p.ackDocuments()...)
	}
	docs := documents(objs...)
	// A destination's documents go in a directory of its name, with a
	// selector of their own (result): Kratix moves a workload group to
	// another destination only when the group changes (another directory),
	// and leaves a group whose selector changed where it is, "misplaced".
	for i := range docs {
		docs[i].Directory = p.dest.name
	}
	return docs
}

// labels mark every object with the environment it belongs to. Label
// values are at most 63 characters, which the host namespace name is.
func (p *plan) labels() map[string]string {
	return map[string]string{
		"app.kubernetes.io/managed-by": "kratix",
		"kratix.io/promise-name":       "environment",
		"promisekit.dev/environment":   p.namespace,
	}
}

func (p *plan) objectMeta(name, namespace string) meta {
	return meta{Name: name, Namespace: namespace, Labels: p.labels()}
}

func (p *plan) namespaceObject() bare {
	m := p.objectMeta(p.namespace, "")
	// Pod Security Admission enforces the platform's standard; the type
	// is a label so that policies can tell environment kinds apart.
	maps.Copy(m.Labels, map[string]string{
		"pod-security.kubernetes.io/enforce": p.cfg.Namespace.PodSecurity,
		"promisekit.dev/environment-type":    p.spec.Type,
	})
	return bare{APIVersion: "v1", Kind: "Namespace", Metadata: m}
}

func (p *plan) resourceQuota() object[quotaSpec] {
	return object[quotaSpec]{
		APIVersion: "v1", Kind: "ResourceQuota", Metadata: p.objectMeta("environment", p.namespace),
		Spec: quotaSpec{Hard: p.cfg.Quotas[p.typ.Quota].Hard},
	}
}

// limitRange gives containers that set no resources the profile's
// defaults: a quota on limits otherwise refuses every such Pod.
func (p *plan) limitRange() object[limitRangeSpec] {
	q := p.cfg.Quotas[p.typ.Quota]
	return object[limitRangeSpec]{
		APIVersion: "v1", Kind: "LimitRange", Metadata: p.objectMeta("environment", p.namespace),
		Spec: limitRangeSpec{Limits: []limitRangeItem{{Type: "Container", Default: q.ContainerDefaults, DefaultRequest: q.ContainerRequests}}},
	}
}

// networkPolicies deny all ingress except from the environment's own Pods
// and the platform's ingress controllers; a vcluster's API server is also
// open to Argo CD, which installs the application stack through it.
func (p *plan) networkPolicies() []any {
	deny := object[networkPolicySpec]{
		APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Metadata: p.objectMeta("default-deny-ingress", p.namespace),
		Spec: networkPolicySpec{PolicyTypes: []string{"Ingress"}},
	}
	from := []networkPeer{{PodSelector: &labelSelector{}}}
	if ns := p.dest.ingressNamespaces; len(ns) > 0 {
		from = append(from, networkPeer{NamespaceSelector: &labelSelector{MatchExpressions: []selectorExpr{
			{Key: "kubernetes.io/metadata.name", Operator: "In", Values: ns},
		}}})
	}
	allow := object[networkPolicySpec]{
		APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Metadata: p.objectMeta("allow-environment-and-ingress", p.namespace),
		Spec: networkPolicySpec{PolicyTypes: []string{"Ingress"}, Ingress: []ingressRule{{From: from}}},
	}
	if p.typ.Isolation != IsolationVCluster {
		return []any{deny, allow}
	}
	argocd := object[networkPolicySpec]{
		APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Metadata: p.objectMeta("allow-argocd-to-vcluster", p.namespace),
		Spec: networkPolicySpec{
			PodSelector: labelSelector{MatchLabels: map[string]string{"app": "vcluster", "release": p.release}},
			PolicyTypes: []string{"Ingress"},
			Ingress: []ingressRule{{
				From: []networkPeer{{NamespaceSelector: &labelSelector{MatchLabels: map[string]string{
					"kubernetes.io/metadata.name": p.cfg.ArgoCD.Namespace,
				}}}},
				Ports: []networkPort{{Protocol: "TCP", Port: vclusterPort}},
			}},
		},
	}
	return []any{deny, allow, argocd}
}

// vclusterPort is the vcluster API server's container port (chart value
// controlPlane.proxy.port); its Service maps 443 to it.
const vclusterPort = 8443

func (p *plan) workloadServiceAccount() bare {
	m := p.objectMeta(p.serviceAccount, p.namespace)
	m.Annotations = p.irsaAnnotations()
	return bare{APIVersion: "v1", Kind: "ServiceAccount", Metadata: m}
}

func (p *plan) teamRoleBinding() roleBinding {
	return roleBinding{
		APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding", Metadata: p.objectMeta("team", p.namespace),
		RoleRef:  roleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: p.typ.TeamRole},
		Subjects: []subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: p.spec.TeamGroup}},
	}
}

// syncPolicy is every Application's: automated, pruning, self-healing, and
// retrying, since objects it needs (the namespace, the cluster Secret)
// arrive through other syncs.
func syncPolicyWith(options ...string) syncPolicy {
	return syncPolicy{
		Automated:   syncAutomated{Prune: true, SelfHeal: true},
		SyncOptions: options,
		Retry:       syncRetry{Limit: 10, Backoff: retryBackoff{Duration: "10s", Factor: 2, MaxDuration: "5m"}},
	}
}

// appStackApplication installs the application stack. In namespace
// isolation it goes into the host namespace; in a vcluster, into the
// vcluster through the Argo CD cluster that vclusterAccess declares.
func (p *plan) appStackApplication() object[applicationSpec] {
	s := p.cfg.AppStack
	services := map[string]any{}
	for name, params := range p.spec.services() {
		services[name] = map[string]any{"debug": params != nil && params.Debug}
	}
	values := mergeValues(p.typ.AppValues, map[string]any{
		"install":  map[string]any{"infrastructure": p.spec.InstallInfra},
		"services": services,
	})
	m := p.objectMeta(shortName(p.namespace+"-app", 63), p.cfg.ArgoCD.Namespace)
	dest := appDestination{Server: "https://kubernetes.default.svc", Namespace: p.namespace}
	policy := syncPolicyWith()
	if p.typ.Isolation == IsolationVCluster {
		dest = appDestination{Name: p.namespace, Namespace: s.Namespace}
		policy = syncPolicyWith("CreateNamespace=true")
	} else {
		// Argo CD deletes what the stack made (cluster-scoped objects
		// included) when the Application goes. Not in a vcluster: the
		// vcluster goes at the same time, and the finalizer would wait
		// for a cluster that no longer answers.
		m.Finalizers = []string{"resources-finalizer.argocd.argoproj.io"}
	}
	return object[applicationSpec]{
		APIVersion: "argoproj.io/v1alpha1", Kind: "Application", Metadata: m,
		Spec: applicationSpec{
			Project: p.cfg.ArgoCD.Project,
			Source: appSource{
				RepoURL: s.RepoURL, Chart: s.Chart, TargetRevision: s.Version,
				Helm: appHelm{ReleaseName: s.ReleaseName, ValuesObject: values},
			},
			Destination: dest,
			SyncPolicy:  policy,
		},
	}
}

// vclusterApplication installs the vcluster chart into the host namespace.
func (p *plan) vclusterApplication() object[applicationSpec] {
	v := p.cfg.VCluster
	m := p.objectMeta(shortName(p.namespace+"-vcluster", 63), p.cfg.ArgoCD.Namespace)
	m.Finalizers = []string{"resources-finalizer.argocd.argoproj.io"}
	return object[applicationSpec]{
		APIVersion: "argoproj.io/v1alpha1", Kind: "Application", Metadata: m,
		Spec: applicationSpec{
			Project: p.cfg.ArgoCD.Project,
			Source: appSource{
				RepoURL: v.RepoURL, Chart: v.Chart, TargetRevision: v.Version,
				Helm: appHelm{ReleaseName: p.release, ValuesObject: p.vclusterValues()},
			},
			Destination: appDestination{Server: "https://kubernetes.default.svc", Namespace: p.namespace},
			SyncPolicy:  syncPolicyWith(),
		},
	}
}

// vclusterServer is the vcluster's API server inside the host cluster.
func (p *plan) vclusterServer() string {
	return "https://" + p.release + "." + p.namespace + ".svc"
}

// vclusterValues are the chart values (vcluster.yaml format): the API
// server's certificate and exported kubeconfig name the in-cluster Service,
// which Argo CD uses; service accounts sync to the host, so that IRSA and
// Pod Identity see the workload's; and the workload namespace and service
// account are created inside at start.
func (p *plan) vclusterValues() map[string]any {
	inside := []any{
		bare{APIVersion: "v1", Kind: "Namespace", Metadata: meta{Name: p.cfg.AppStack.Namespace}},
		bare{APIVersion: "v1", Kind: "ServiceAccount", Metadata: meta{
			Name: p.cfg.Namespace.ServiceAccount, Namespace: p.cfg.AppStack.Namespace, Annotations: p.irsaAnnotations(),
		}},
	}
	return mergeValues(p.typ.VClusterValues, map[string]any{
		"controlPlane": map[string]any{
			"proxy": map[string]any{"extraSANs": []any{p.release + "." + p.namespace + ".svc"}},
		},
		"exportKubeConfig": map[string]any{"server": p.vclusterServer()},
		"sync": map[string]any{
			"toHost": map[string]any{"serviceAccounts": map[string]any{"enabled": true}},
		},
		"experimental": map[string]any{
			"deploy": map[string]any{"vcluster": map[string]any{"manifests": manifestStream(inside...)}},
		},
	})
}

// vclusterAccess gives the team and Argo CD the vcluster, without a
// credential ever passing through the state store. vcluster writes its
// kubeconfig to the Secret vc-<release> in the host namespace. The team's
// group may read that Secret. For Argo CD, an External Secrets Operator
// ExternalSecret turns it into an Argo CD cluster Secret in Argo CD's
// namespace, read through a SecretStore whose service account may get that
// one Secret and nothing else.
func (p *plan) vclusterAccess() []any {
	kubeconfig := "vc-" + p.release
	argocdNS := p.cfg.ArgoCD.Namespace
	store := shortName(p.namespace+"-vcluster", 63)
	rbac := "rbac.authorization.k8s.io"
	read := role{
		APIVersion: rbac + "/v1", Kind: "Role", Metadata: p.objectMeta("vcluster-kubeconfig", p.namespace),
		Rules: []policyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{kubeconfig}, Verbs: []string{"get"}}},
	}
	readers := roleBinding{
		APIVersion: rbac + "/v1", Kind: "RoleBinding", Metadata: p.objectMeta("vcluster-kubeconfig", p.namespace),
		RoleRef: roleRef{APIGroup: rbac, Kind: "Role", Name: read.Metadata.Name},
		Subjects: []subject{
			{APIGroup: rbac, Kind: "Group", Name: p.spec.TeamGroup},
			{Kind: "ServiceAccount", Name: store, Namespace: argocdNS},
		},
	}
	reader := bare{APIVersion: "v1", Kind: "ServiceAccount", Metadata: p.objectMeta(store, argocdNS)}

	var ss secretStoreSpec
	k := &ss.Provider.Kubernetes
	k.RemoteNamespace = p.namespace
	k.Server.URL = "https://kubernetes.default.svc"
	k.Server.CAProvider.Type, k.Server.CAProvider.Name, k.Server.CAProvider.Key = "ConfigMap", "kube-root-ca.crt", "ca.crt"
	k.Auth.ServiceAccount.Name = store
	secretStore := object[secretStoreSpec]{
		APIVersion: "external-secrets.io/v1", Kind: "SecretStore", Metadata: p.objectMeta(store, argocdNS), Spec: ss,
	}

	var es externalSecretSpec
	es.RefreshInterval = "1h"
	es.SecretStoreRef.Kind, es.SecretStoreRef.Name = "SecretStore", store
	es.Target.Name, es.Target.CreationPolicy = store, "Owner"
	es.Target.Template.EngineVersion = "v2"
	es.Target.Template.Metadata.Labels = map[string]string{"argocd.argoproj.io/secret-type": "cluster"}
	// Argo CD's cluster Secret: name, server, and a config whose TLS
	// client data is the kubeconfig Secret's PEM, base64-encoded.
	es.Target.Template.Data = map[string]string{
		"name":   p.namespace,
		"server": p.vclusterServer(),
		"config": `{"tlsClientConfig":{"caData":"{{ index . "certificate-authority" | b64enc }}",` +
			`"certData":"{{ index . "client-certificate" | b64enc }}","keyData":"{{ index . "client-key" | b64enc }}"}}`,
	}
	var source dataFromSource
	source.Extract.Key = kubeconfig
	es.DataFrom = []dataFromSource{source}
	externalSecret := object[externalSecretSpec]{
		APIVersion: "external-secrets.io/v1", Kind: "ExternalSecret", Metadata: p.objectMeta(store, argocdNS), Spec: es,
	}
	return []any{read, readers, reader, secretStore, externalSecret}
}

// mergeValues returns base with over merged in: maps merge key by key,
// anything else in over replaces what base holds. Neither is modified.
func mergeValues(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	maps.Copy(out, base)
	for k, v := range over {
		if vm, ok := v.(map[string]any); ok {
			if bm, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(bm, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// ackDocuments are the ACK resources of ack mode, in the platform's ACK
// namespace: ACK creates, repairs and (per the deletion policy) deletes the
// AWS resources, the way the api mode does from the stage.
func (p *plan) ackDocuments() []any {
	a := p.cfg.AWS
	d := p.aws.desired
	var tags []ackTag
	for _, k := range sortedKeys(d.Tags) {
		tags = append(tags, ackTag{Key: k, Value: d.Tags[k]})
	}
	tags = append(tags, ackTag{Key: awsinfra.OwnerTag, Value: d.Owner})
	policy := "delete"
	annotations := map[string]string{"services.k8s.aws/region": p.aws.record.Region}
	if d.Repository.Retain {
		policy = "retain"
	} else {
		annotations["ecr.services.k8s.aws/force-delete"] = "true"
	}
	annotations["services.k8s.aws/deletion-policy"] = policy

	repo := object[ackRepositorySpec]{
		APIVersion: "ecr.services.k8s.aws/v1alpha1", Kind: "Repository",
		Metadata: meta{Name: p.namespace, Namespace: a.ACK.Namespace, Labels: p.labels(), Annotations: annotations},
		Spec: ackRepositorySpec{
			Name: d.Repository.Name, ImageTagMutability: d.Repository.ImageTagMutability,
			LifecyclePolicy: d.Repository.LifecyclePolicy, Tags: tags,
		},
	}
	repo.Spec.ImageScanningConfiguration.ScanOnPush = d.Repository.ScanOnPush
	repo.Spec.EncryptionConfiguration.EncryptionType = d.Repository.EncryptionType
	repo.Spec.EncryptionConfiguration.KMSKey = d.Repository.KMSKey

	iamRole := object[ackRoleSpec]{
		APIVersion: "iam.services.k8s.aws/v1alpha1", Kind: "Role",
		Metadata: meta{Name: p.namespace, Namespace: a.ACK.Namespace, Labels: p.labels(), Annotations: map[string]string{
			"services.k8s.aws/region": p.aws.record.Region, "services.k8s.aws/deletion-policy": "delete",
		}},
		Spec: ackRoleSpec{
			Name: d.Role.Name, Path: d.Role.Path, Description: d.Role.Description,
			AssumeRolePolicyDocument: d.Role.TrustPolicy,
			InlinePolicies:           map[string]string{d.Role.InlinePolicyName: d.Role.InlinePolicy},
			Policies:                 d.Role.ManagedPolicyARNs,
			Tags:                     tags,
		},
	}
	docs := []any{repo, iamRole}
	if pi := d.PodIdentity; pi != nil {
		docs = append(docs, object[ackPodIdentitySpec]{
			APIVersion: "eks.services.k8s.aws/v1alpha1", Kind: "PodIdentityAssociation",
			Metadata: meta{Name: p.namespace, Namespace: a.ACK.Namespace, Labels: p.labels(), Annotations: map[string]string{
				"services.k8s.aws/region": p.aws.record.Region,
			}},
			Spec: ackPodIdentitySpec{ClusterName: pi.ClusterName, Namespace: pi.Namespace, ServiceAccount: pi.ServiceAccount, RoleARN: p.aws.roleARN},
		})
	}
	return docs
}

// irsaAnnotations annotate the workload service account with its role
// (IRSA). Pod Identity needs no annotation.
func (p *plan) irsaAnnotations() map[string]string {
	if p.aws == nil || p.aws.desired.PodIdentity != nil {
		return nil
	}
	return map[string]string{"eks.amazonaws.com/role-arn": p.aws.roleARN}
}
