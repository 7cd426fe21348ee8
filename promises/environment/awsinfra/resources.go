// Package awsinfra describes the AWS resources of one development
// environment (an ECR repository, and an IAM role that only the
// environment's workload service account can assume, with access to that
// repository alone): their names, policy documents and ARNs, and the limits
// AWS enforces on them.
//
// It has no AWS SDK in it, so that the promise's manifest stage can name
// the resources (for ACK, and in IRSA annotations) without the SDK's start-up
// cost; package awsapi creates, repairs and deletes them.
package awsinfra

import (
	"fmt"
	"maps"
)

// OwnerTag is the tag that names the request a resource belongs to, as
// "<namespace>/<name>". A resource whose owner tag is missing or names
// another request is never adopted, changed or deleted.
const OwnerTag = "kratix.io/resource"

// Desired is what one environment needs in AWS.
type Desired struct {
	// Owner is the request, "<namespace>/<name>"; it is the OwnerTag value.
	Owner string
	// Tags go on every resource, next to OwnerTag.
	Tags        map[string]string
	Repository  Repository
	Role        Role
	PodIdentity *PodIdentity // nil: the role is for IRSA only
	// RetiredPodIdentity is an association an earlier run made that no
	// longer applies (Pod Identity turned off, or another cluster,
	// namespace or service account): Ensure deletes it if it is the
	// owner's. Nil: none.
	RetiredPodIdentity *PodIdentity
}

// Repository is an ECR repository.
type Repository struct {
	Name               string
	ImageTagMutability string // MUTABLE or IMMUTABLE
	ScanOnPush         bool
	EncryptionType     string // AES256, KMS or KMS_DSSE; fixed once created
	KMSKey             string
	LifecyclePolicy    string // JSON; empty for none
	// Retain keeps the repository and its images when the environment is
	// deleted; otherwise it is deleted with its images.
	Retain bool
}

// Role is an IAM role with one inline policy and optional managed policies.
type Role struct {
	Name              string
	Path              string
	Description       string
	TrustPolicy       string // JSON
	InlinePolicyName  string
	InlinePolicy      string // JSON
	ManagedPolicyARNs []string
}

// PodIdentity binds the role to a service account through EKS Pod Identity.
type PodIdentity struct {
	ClusterName    string
	Namespace      string
	ServiceAccount string
}

// Known is what an earlier successful run recorded. A resource known to
// exist is described first; an unknown one is created first, so that two
// runs cannot both find it missing and race to create it, and so that a run
// interrupted after creating it adopts it by its "already exists" answer.
type Known struct {
	Repository bool
	Role       bool
}

// Result is what awsapi.Client.Ensure or Delete found, made or changed.
type Result struct {
	RepositoryARN            string
	RepositoryURI            string
	RoleARN                  string
	PodIdentityAssociationID string
	// Changes lists each mutating call made (in a dry run: that would be
	// made), in order, e.g. `created ECR repository "x"`.
	Changes []string
	// Unrepaired lists drift that cannot be repaired in place, such as a
	// repository's encryption, which AWS fixes at creation.
	Unrepaired []string
}

// AllTags returns every tag the resources carry: d.Tags and the owner tag.
func (d Desired) AllTags() map[string]string {
	t := maps.Clone(d.Tags)
	if t == nil {
		t = map[string]string{}
	}
	t[OwnerTag] = d.Owner
	return t
}

// NotOwnedError is a resource that exists under the desired name but
// belongs to another request, or to no request: its owner tag is checked
// before anything is changed or deleted.
type NotOwnedError struct {
	Resource string // e.g. `ECR repository "team-a/dev"`
	Owner    string // the owner tag found; empty when there is none
}

func (e *NotOwnedError) Error() string {
	if e.Owner == "" {
		return fmt.Sprintf("%s exists but has no %s tag: it was not created by this platform, so it is left alone", e.Resource, OwnerTag)
	}
	return fmt.Sprintf("%s belongs to %s, not to this request, so it is left alone", e.Resource, e.Owner)
}
