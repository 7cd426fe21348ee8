package awsinfra

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// policyDocument is an IAM policy. Fields are in the order AWS writes them,
// and maps marshal with sorted keys, so a document is the same bytes every run.
type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal,omitempty"`
	Action    any                          `json:"Action"`
	Resource  any                          `json:"Resource,omitempty"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

func (d policyDocument) String() string {
	js, err := json.Marshal(d)
	if err != nil {
		panic(err) // only strings, slices and maps of strings
	}
	return string(js)
}

// IRSATrustPolicy lets exactly one Kubernetes service account assume a role
// through the cluster's OIDC provider (IAM Roles for Service Accounts).
// issuer is the cluster's OIDC issuer URL, as DescribeCluster reports it.
func IRSATrustPolicy(accountID, issuer, namespace, serviceAccount string) string {
	host := strings.TrimPrefix(issuer, "https://")
	return policyDocument{
		Version: "2012-10-17",
		Statement: []policyStatement{{
			Effect:    "Allow",
			Principal: map[string]string{"Federated": "arn:aws:iam::" + accountID + ":oidc-provider/" + host},
			Action:    "sts:AssumeRoleWithWebIdentity",
			Condition: map[string]map[string]string{"StringEquals": {
				host + ":sub": "system:serviceaccount:" + namespace + ":" + serviceAccount,
				host + ":aud": "sts.amazonaws.com",
			}},
		}},
	}.String()
}

// PodIdentityTrustPolicy lets the EKS Pod Identity agent assume a role for
// exactly one service account: the agent tags the session with the Pod's
// namespace and service account, and the conditions require both.
func PodIdentityTrustPolicy(namespace, serviceAccount string) string {
	return policyDocument{
		Version: "2012-10-17",
		Statement: []policyStatement{{
			Effect:    "Allow",
			Principal: map[string]string{"Service": "pods.eks.amazonaws.com"},
			Action:    []string{"sts:AssumeRole", "sts:TagSession"},
			Condition: map[string]map[string]string{"StringEquals": {
				"aws:RequestTag/kubernetes-namespace":       namespace,
				"aws:RequestTag/kubernetes-service-account": serviceAccount,
			}},
		}},
	}.String()
}

// RepositoryAccessPolicy grants pull and push on one repository and nothing
// else. GetAuthorizationToken cannot be scoped to a repository: AWS only
// accepts "*" for it, and the token alone opens no repository.
func RepositoryAccessPolicy(repositoryARN string) string {
	return policyDocument{
		Version: "2012-10-17",
		Statement: []policyStatement{
			{
				Sid:      "Login",
				Effect:   "Allow",
				Action:   "ecr:GetAuthorizationToken",
				Resource: "*",
			},
			{
				Sid:    "PullAndPush",
				Effect: "Allow",
				Action: []string{
					"ecr:BatchCheckLayerAvailability",
					"ecr:BatchGetImage",
					"ecr:CompleteLayerUpload",
					"ecr:DescribeImages",
					"ecr:GetDownloadUrlForLayer",
					"ecr:InitiateLayerUpload",
					"ecr:ListImages",
					"ecr:PutImage",
					"ecr:UploadLayerPart",
				},
				Resource: repositoryARN,
			},
		},
	}.String()
}

// RepositoryARN, RepositoryURI and RoleARN are what AWS will call the
// resources; ack mode needs them before ACK has created anything.
func RepositoryARN(region, accountID, name string) string {
	return "arn:aws:ecr:" + region + ":" + accountID + ":repository/" + name
}

func RepositoryURI(region, accountID, name string) string {
	return accountID + ".dkr.ecr." + region + ".amazonaws.com/" + name
}

func RoleARN(accountID, path, name string) string {
	return "arn:aws:iam::" + accountID + ":role" + path + name
}

// SamePolicy compares two policy documents by meaning: IAM hands documents
// back URL-encoded and may re-space them.
func SamePolicy(current, desired string) bool {
	a, err1 := canonicalJSON(decodePolicy(current))
	b, err2 := canonicalJSON(desired)
	return err1 == nil && err2 == nil && a == b
}

// decodePolicy undoes the URL encoding IAM applies to documents it returns
// (GetRole, GetRolePolicy). A document that is already JSON is left alone.
func decodePolicy(doc string) string {
	if strings.HasPrefix(strings.TrimSpace(doc), "{") {
		return doc
	}
	if s, err := url.QueryUnescape(doc); err == nil {
		return s
	}
	return doc
}

func canonicalJSON(doc string) (string, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	out, err := json.Marshal(v)
	return string(out), err
}

// Limits AWS enforces and moto does not (moto 5.2.1 accepts a 66-character
// role name, a trust policy that is not JSON and a lifecycle policy of a few
// characters), so that a request fails here, naming the cause, before any
// call rather than against AWS halfway through.
const (
	maxRoleName        = 64
	maxTrustPolicy     = 2048  // IAM's default quota for a role trust policy
	maxInlinePolicies  = 10240 // IAM: all inline policies of a role together
	minLifecyclePolicy = 100
	maxLifecyclePolicy = 30720
	minRepositoryName  = 2
	maxRepositoryName  = 256
	maxTags            = 50
	maxTagKey          = 128
	maxTagValue        = 256
)

// awsPatterns are AWS's name syntax. They are compiled on first use: the
// manifest stage links this package for the documents and ARNs only, and
// compiling them at start-up would cost it more than its run.
var awsPatterns = sync.OnceValue(func() *patterns {
	return &patterns{
		repositoryName: regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`),
		roleName:       regexp.MustCompile(`^[\w+=,.@-]+$`),
		rolePath:       regexp.MustCompile(`^/([\x21-\x7E]*/)?$`),
		tag:            regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`),
	}
})

type patterns struct {
	repositoryName, roleName, rolePath, tag *regexp.Regexp
}

// Validate checks what AWS would refuse. Every problem is reported, each
// naming the field of Desired.
func Validate(d Desired) error {
	re := awsPatterns()
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	r := d.Repository
	switch n := len(r.Name); {
	case n < minRepositoryName || n > maxRepositoryName:
		add("repository name %q: must be %d to %d characters", r.Name, minRepositoryName, maxRepositoryName)
	case !re.repositoryName.MatchString(r.Name):
		add("repository name %q: must be lower-case letters and digits separated by '.', '_', '-' or '/'", r.Name)
	}
	switch r.ImageTagMutability {
	case "MUTABLE", "IMMUTABLE":
	default:
		add("repository image tag mutability %q: must be MUTABLE or IMMUTABLE", r.ImageTagMutability)
	}
	switch r.EncryptionType {
	case "AES256":
		if r.KMSKey != "" {
			add("repository KMS key: only with encryption type KMS or KMS_DSSE")
		}
	case "KMS", "KMS_DSSE":
	default:
		add("repository encryption type %q: must be AES256, KMS or KMS_DSSE", r.EncryptionType)
	}
	if p := r.LifecyclePolicy; p != "" {
		if n := len(p); n < minLifecyclePolicy || n > maxLifecyclePolicy {
			add("repository lifecycle policy: is %d characters; AWS accepts %d to %d", n, minLifecyclePolicy, maxLifecyclePolicy)
		}
		if err := checkJSONObject(p); err != nil {
			add("repository lifecycle policy: %v", err)
		}
	}

	role := d.Role
	switch n := len(role.Name); {
	case n == 0 || n > maxRoleName:
		add("role name %q: is %d characters; AWS accepts 1 to %d", role.Name, n, maxRoleName)
	case !re.roleName.MatchString(role.Name):
		add("role name %q: may hold only letters, digits and +=,.@_-", role.Name)
	}
	if !re.rolePath.MatchString(role.Path) || len(role.Path) > 512 {
		add("role path %q: must be / or begin and end with /", role.Path)
	}
	if err := checkJSONObject(role.TrustPolicy); err != nil {
		add("role trust policy: %v", err)
	} else if n := len(role.TrustPolicy); n > maxTrustPolicy {
		add("role trust policy: is %d characters; AWS accepts %d", n, maxTrustPolicy)
	}
	if role.InlinePolicyName != "" || role.InlinePolicy != "" {
		if !re.roleName.MatchString(role.InlinePolicyName) || len(role.InlinePolicyName) > 128 {
			add("role inline policy name %q: must be 1 to 128 letters, digits or +=,.@_-", role.InlinePolicyName)
		}
		if err := checkJSONObject(role.InlinePolicy); err != nil {
			add("role inline policy: %v", err)
		} else if n := len(compactJSON(role.InlinePolicy)); n > maxInlinePolicies {
			add("role inline policy: is %d characters without spaces; AWS accepts %d", n, maxInlinePolicies)
		}
	}
	for _, arn := range role.ManagedPolicyARNs {
		if !strings.HasPrefix(arn, "arn:aws") || !strings.Contains(arn, ":policy/") {
			add("role managed policy %q: not a policy ARN", arn)
		}
	}

	tags := d.AllTags()
	if len(tags) > maxTags {
		add("tags: %d tags; AWS accepts %d", len(tags), maxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > maxTagKey || !re.tag.MatchString(k) || strings.HasPrefix(strings.ToLower(k), "aws:") {
			add("tag key %q: must be 1 to %d letters, digits, spaces or _.:/=+-@, not starting with aws:", k, maxTagKey)
		}
		if len(v) > maxTagValue || !re.tag.MatchString(v) {
			add("tag %q: value must be at most %d letters, digits, spaces or _.:/=+-@", k, maxTagValue)
		}
	}
	if d.Owner == "" {
		add("owner: required (it tags every resource)")
	}
	for _, p := range []*PodIdentity{d.PodIdentity, d.RetiredPodIdentity} {
		if p != nil && (p.ClusterName == "" || p.Namespace == "" || p.ServiceAccount == "") {
			add("pod identity: cluster name, namespace and service account are required")
		}
	}
	if p, old := d.PodIdentity, d.RetiredPodIdentity; p != nil && old != nil && *p == *old {
		add("pod identity: the association to retire is the one to keep")
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("invalid AWS resources: %s", strings.Join(problems, "; "))
}

func checkJSONObject(doc string) error {
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil || m == nil {
		return fmt.Errorf("not a JSON object")
	}
	return nil
}

func compactJSON(doc string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(doc)); err != nil {
		return doc
	}
	return b.String()
}
