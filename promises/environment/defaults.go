package environment

// defaultConfig is what a platform gets without a configuration file. It
// is safe: no AWS (mode none), and quotas that forbid load balancers and
// node ports. It is Go rather than embedded YAML because decoding YAML on
// every run would cost more than the rest of an ack-mode run.
//
// A platform's file is decoded over it (see package stage): a type or quota
// profile the file names replaces the default of that name whole, and any
// other field the file sets replaces that field alone.
func defaultConfig() *Config {
	return &Config{
		Types: map[string]TypeConfig{
			"preview": {
				Description: "An isolated namespace for a short-lived preview; it expires after three days unless the request says otherwise.",
				Isolation:   IsolationNamespace,
				Quota:       "small",
				TeamRole:    "edit",
				DefaultTTL:  "72h",
			},
			"development": {
				Description: "A virtual cluster of the team's own, for work that needs its own Kubernetes API.",
				Isolation:   IsolationVCluster,
				Quota:       "large",
			},
		},
		Quotas: map[string]QuotaProfile{
			"small": {
				Hard: map[string]string{
					"requests.cpu": "2", "requests.memory": "4Gi", "limits.cpu": "4", "limits.memory": "8Gi",
					"pods": "20", "persistentvolumeclaims": "4", "requests.storage": "20Gi",
					"services.loadbalancers": "0", "services.nodeports": "0",
				},
				ContainerDefaults: map[string]string{"cpu": "500m", "memory": "512Mi"},
				ContainerRequests: map[string]string{"cpu": "100m", "memory": "128Mi"},
			},
			"large": {
				Hard: map[string]string{
					"requests.cpu": "8", "requests.memory": "16Gi", "limits.cpu": "16", "limits.memory": "32Gi",
					"pods": "100", "persistentvolumeclaims": "20", "requests.storage": "100Gi",
					"services.loadbalancers": "0", "services.nodeports": "0",
				},
				ContainerDefaults: map[string]string{"cpu": "1", "memory": "1Gi"},
				ContainerRequests: map[string]string{"cpu": "200m", "memory": "256Mi"},
			},
		},
		MaxTTL: "720h",
		Namespace: NamespaceConfig{
			PodSecurity:       "baseline",
			IngressNamespaces: []string{"ingress-nginx"},
			ServiceAccount:    "app",
		},
		ArgoCD: ArgoCDConfig{Namespace: "argocd", Project: "default"},
		// The vcluster chart's version pins its values schema too (tests
		// validate against chart/values.schema.json of loft-sh/vcluster
		// at this version).
		VCluster: ChartConfig{RepoURL: "https://charts.loft.sh", Chart: "vcluster", Version: "0.36.1"},
		// The book's application stack (salaboy/platforms-on-k8s), an OCI
		// Helm chart: Argo CD needs the repository registered with
		// enableOCI.
		AppStack: AppStackConfig{
			ChartConfig: ChartConfig{RepoURL: "registry-1.docker.io/salaboy", Chart: "conference-app", Version: "v1.0.0"},
			ReleaseName: "conference",
			Namespace:   "conference",
		},
		AWS: AWSConfig{
			Mode:   AWSNone,
			Region: "us-east-1",
			Repository: RepositoryConfig{
				Prefix:             "environments",
				ImageTagMutability: "IMMUTABLE",
				ScanOnPush:         true,
				Encryption:         "AES256",
				Retention:          "delete",
				LifecyclePolicy: `{"rules":[{"rulePriority":1,"description":"Expire untagged images after 14 days",` +
					`"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},` +
					`"action":{"type":"expire"}}]}`,
			},
			Role: RoleConfig{Prefix: "env-", Path: "/promisekit/"},
			ACK:  ACKConfig{Namespace: "ack-system"},
		},
	}
}
