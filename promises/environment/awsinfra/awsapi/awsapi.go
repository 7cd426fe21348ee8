// Package awsapi creates, repairs and deletes the AWS resources of one
// development environment (see package awsinfra) with the AWS SDK.
//
// Every operation is idempotent. Ensure creates what is missing, adopts what
// an interrupted earlier run created (a resource is adopted only when its
// owner tag names the same request), and repairs drift; when nothing has
// changed it makes read calls only. Delete removes the resources in the order
// AWS requires and treats "not found" as done.
package awsapi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/aws/smithy-go"
	"github.com/promisekit/promisekit/pkg/kratix"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/promisekit/promisekit/promises/environment/awsinfra"
)

// Client calls ECR, IAM and EKS.
type Client struct {
	ecr *ecr.Client
	iam *iam.Client
	eks *eks.Client
	// podIdentityRetry is the pause between attempts to create a Pod
	// Identity association while IAM is still propagating a new role.
	podIdentityRetry time.Duration
}

// DefaultAttemptTimeout limits each attempt of a call when New is given no
// limit. The AWS SDK's HTTP client has no time limit of its own, and
// nothing else bounds an attempt: without one, a connection on which no
// answer ever comes would hold the pipeline's Pod until the run's
// deadline. An attempt that runs out is retried as a lost connection is.
const DefaultAttemptTimeout = 30 * time.Second

// New returns a client for region. Credentials, endpoints and the retry
// limit come from getenv under the AWS SDK's own names: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_{ECR,IAM,EKS}; AWS_MAX_ATTEMPTS. Each attempt of a call
// ends after attemptTimeout (DefaultAttemptTimeout if it is not positive).
// Without static keys the SDK's default chain applies: in a Pod, the web
// identity IRSA provides.
func New(ctx context.Context, region string, attemptTimeout time.Duration, getenv func(string) string) (*Client, error) {
	timeout := attemptTimeout
	if timeout <= 0 {
		timeout = DefaultAttemptTimeout
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(region),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(timeout)),
	}
	if id := getenv("AWS_ACCESS_KEY_ID"); id != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			id, getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))))
	}
	if v := getenv("AWS_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("AWS_MAX_ATTEMPTS: %q is not a positive integer", v)
		}
		opts = append(opts, config.WithRetryMaxAttempts(n))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	endpoint := func(service string) *string {
		if v := getenv("AWS_ENDPOINT_URL_" + service); v != "" {
			return aws.String(v)
		}
		if v := getenv("AWS_ENDPOINT_URL"); v != "" {
			return aws.String(v)
		}
		return nil
	}
	return &Client{
		ecr:              ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = endpoint("ECR") }),
		iam:              iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = endpoint("IAM") }),
		eks:              eks.NewFromConfig(cfg, func(o *eks.Options) { o.BaseEndpoint = endpoint("EKS") }),
		podIdentityRetry: 2 * time.Second,
	}, nil
}

// Ensure brings the resources to d. In a dry run it makes read calls only
// and reports in awsinfra.Result.Changes what it would have changed.
func (c *Client) Ensure(ctx context.Context, d awsinfra.Desired, known awsinfra.Known, dryRun bool) (*awsinfra.Result, error) {
	res, err := c.ensure(ctx, d, known, dryRun)
	return res, throttled(err)
}

func (c *Client) ensure(ctx context.Context, d awsinfra.Desired, known awsinfra.Known, dryRun bool) (*awsinfra.Result, error) {
	if err := awsinfra.Validate(d); err != nil {
		return nil, err
	}
	r := &run{c: c, d: d, dryRun: dryRun, res: &awsinfra.Result{}}
	if err := r.repository(ctx, known.Repository); err != nil {
		return nil, err
	}
	if err := r.role(ctx, known.Role); err != nil {
		return nil, err
	}
	if d.PodIdentity != nil {
		if err := r.podIdentity(ctx); err != nil {
			return nil, err
		}
	}
	if d.RetiredPodIdentity != nil {
		if err := r.deleteAssociations(ctx, d.RetiredPodIdentity); err != nil {
			return nil, err
		}
	}
	return r.res, nil
}

// run carries one Ensure or Delete.
type run struct {
	c      *Client
	d      awsinfra.Desired
	dryRun bool
	res    *awsinfra.Result
}

// change makes one mutating call, or in a dry run only records it.
func (r *run) change(what string, call func() error) error {
	if r.dryRun {
		r.res.Changes = append(r.res.Changes, "would have "+what)
		return nil
	}
	if err := call(); err != nil {
		return err
	}
	r.res.Changes = append(r.res.Changes, what)
	return nil
}

func (r *run) repository(ctx context.Context, known bool) error {
	want := r.d.Repository
	label := fmt.Sprintf("ECR repository %q", want.Name)
	if !known && !r.dryRun {
		created, err := r.createRepository(ctx)
		if err != nil || created {
			return err
		}
	}
	out, err := r.c.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{want.Name}})
	if errors.As(err, new(*ecrtypes.RepositoryNotFoundException)) {
		// Deleted behind our back, or (dry run) not yet created.
		if r.dryRun {
			r.res.Changes = append(r.res.Changes, "would have created "+label)
			return nil
		}
		if created, err := r.createRepository(ctx); err != nil || created {
			return err
		}
		return fmt.Errorf("creating %s: it appeared while this run created it; the next run adopts it", label)
	}
	if err != nil {
		return fmt.Errorf("describing %s: %w", label, err)
	}
	if len(out.Repositories) != 1 {
		return fmt.Errorf("describing %s: AWS returned %d repositories", label, len(out.Repositories))
	}
	current := out.Repositories[0]
	arn := aws.ToString(current.RepositoryArn)
	r.res.RepositoryARN, r.res.RepositoryURI = arn, aws.ToString(current.RepositoryUri)

	tagsOut, err := r.c.ecr.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("listing tags of %s: %w", label, err)
	}
	have := map[string]string{}
	for _, t := range tagsOut.Tags {
		have[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if have[awsinfra.OwnerTag] != r.d.Owner {
		return &awsinfra.NotOwnedError{Resource: label, Owner: have[awsinfra.OwnerTag]}
	}

	if string(current.ImageTagMutability) != want.ImageTagMutability {
		err := r.change(fmt.Sprintf("set image tag mutability of %s to %s", label, want.ImageTagMutability), func() error {
			_, err := r.c.ecr.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{
				RepositoryName: aws.String(want.Name), ImageTagMutability: ecrtypes.ImageTagMutability(want.ImageTagMutability),
			})
			return err
		})
		if err != nil {
			return fmt.Errorf("setting image tag mutability of %s: %w", label, err)
		}
	}
	if scan := current.ImageScanningConfiguration; scan == nil || scan.ScanOnPush != want.ScanOnPush {
		err := r.change(fmt.Sprintf("set scan on push of %s to %t", label, want.ScanOnPush), func() error {
			_, err := r.c.ecr.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{
				RepositoryName: aws.String(want.Name), ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: want.ScanOnPush},
			})
			return err
		})
		if err != nil {
			return fmt.Errorf("setting image scanning of %s: %w", label, err)
		}
	}
	if enc := current.EncryptionConfiguration; enc != nil && (string(enc.EncryptionType) != want.EncryptionType ||
		(want.KMSKey != "" && aws.ToString(enc.KmsKey) != want.KMSKey)) {
		r.res.Unrepaired = append(r.res.Unrepaired, fmt.Sprintf("%s is encrypted with %s, not %s; AWS fixes encryption at creation", label, enc.EncryptionType, want.EncryptionType))
	}
	if missing := missingTags(have, r.d.AllTags()); len(missing) > 0 {
		err := r.change(fmt.Sprintf("tagged %s", label), func() error {
			_, err := r.c.ecr.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String(arn), Tags: ecrTags(missing)})
			return err
		})
		if err != nil {
			return fmt.Errorf("tagging %s: %w", label, err)
		}
	}
	return r.lifecyclePolicy(ctx, label)
}

// createRepository creates the repository. created is false when it
// already exists, which the caller then describes and adopts.
func (r *run) createRepository(ctx context.Context) (created bool, err error) {
	want := r.d.Repository
	label := fmt.Sprintf("ECR repository %q", want.Name)
	in := &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String(want.Name),
		ImageTagMutability:         ecrtypes.ImageTagMutability(want.ImageTagMutability),
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: want.ScanOnPush},
		EncryptionConfiguration:    &ecrtypes.EncryptionConfiguration{EncryptionType: ecrtypes.EncryptionType(want.EncryptionType)},
		Tags:                       ecrTags(r.d.AllTags()),
	}
	if want.KMSKey != "" {
		in.EncryptionConfiguration.KmsKey = aws.String(want.KMSKey)
	}
	out, err := r.c.ecr.CreateRepository(ctx, in)
	if errors.As(err, new(*ecrtypes.RepositoryAlreadyExistsException)) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("creating %s: %w", label, err)
	}
	r.res.Changes = append(r.res.Changes, "created "+label)
	r.res.RepositoryARN = aws.ToString(out.Repository.RepositoryArn)
	r.res.RepositoryURI = aws.ToString(out.Repository.RepositoryUri)
	if want.LifecyclePolicy != "" {
		err := r.change("set lifecycle policy of "+label, func() error {
			_, err := r.c.ecr.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{
				RepositoryName: aws.String(want.Name), LifecyclePolicyText: aws.String(want.LifecyclePolicy),
			})
			return err
		})
		if err != nil {
			return true, fmt.Errorf("setting lifecycle policy of %s: %w", label, err)
		}
	}
	return true, nil
}

func (r *run) lifecyclePolicy(ctx context.Context, label string) error {
	want := r.d.Repository
	out, err := r.c.ecr.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(want.Name)})
	current := ""
	switch {
	case errors.As(err, new(*ecrtypes.LifecyclePolicyNotFoundException)):
	case err != nil:
		return fmt.Errorf("reading lifecycle policy of %s: %w", label, err)
	default:
		current = aws.ToString(out.LifecyclePolicyText)
	}
	switch {
	case want.LifecyclePolicy == "" && current == "":
		return nil
	case want.LifecyclePolicy == "":
		err = r.change("removed lifecycle policy of "+label, func() error {
			_, err := r.c.ecr.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: aws.String(want.Name)})
			if errors.As(err, new(*ecrtypes.LifecyclePolicyNotFoundException)) {
				return nil
			}
			return err
		})
	case !awsinfra.SamePolicy(current, want.LifecyclePolicy):
		err = r.change("set lifecycle policy of "+label, func() error {
			_, err := r.c.ecr.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{
				RepositoryName: aws.String(want.Name), LifecyclePolicyText: aws.String(want.LifecyclePolicy),
			})
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("setting lifecycle policy of %s: %w", label, err)
	}
	return nil
}

func (r *run) role(ctx context.Context, known bool) error {
	want := r.d.Role
	label := fmt.Sprintf("IAM role %q", want.Name)
	if !known && !r.dryRun {
		created, err := r.createRole(ctx)
		if err != nil || created {
			return err
		}
	}
	out, err := r.c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(want.Name)})
	if errors.As(err, new(*iamtypes.NoSuchEntityException)) {
		if r.dryRun {
			r.res.Changes = append(r.res.Changes, "would have created "+label)
			return nil
		}
		if created, err := r.createRole(ctx); err != nil || created {
			return err
		}
		return fmt.Errorf("creating %s: it appeared while this run created it; the next run adopts it", label)
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", label, err)
	}
	current := out.Role
	r.res.RoleARN = aws.ToString(current.Arn)
	have := map[string]string{}
	for _, t := range current.Tags {
		have[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if have[awsinfra.OwnerTag] != r.d.Owner {
		return &awsinfra.NotOwnedError{Resource: label, Owner: have[awsinfra.OwnerTag]}
	}
	if aws.ToString(current.Path) != want.Path {
		r.res.Unrepaired = append(r.res.Unrepaired, fmt.Sprintf("%s has path %s, not %s; AWS fixes a role's path at creation", label, aws.ToString(current.Path), want.Path))
	}
	if !awsinfra.SamePolicy(aws.ToString(current.AssumeRolePolicyDocument), want.TrustPolicy) {
		err := r.change("replaced trust policy of "+label, func() error {
			_, err := r.c.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{
				RoleName: aws.String(want.Name), PolicyDocument: aws.String(want.TrustPolicy),
			})
			return err
		})
		if err != nil {
			return fmt.Errorf("replacing trust policy of %s: %w", label, err)
		}
	}
	if missing := missingTags(have, r.d.AllTags()); len(missing) > 0 {
		err := r.change("tagged "+label, func() error {
			_, err := r.c.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(want.Name), Tags: iamTags(missing)})
			return err
		})
		if err != nil {
			return fmt.Errorf("tagging %s: %w", label, err)
		}
	}
	if err := r.inlinePolicies(ctx, label); err != nil {
		return err
	}
	return r.managedPolicies(ctx, label)
}

func (r *run) createRole(ctx context.Context) (created bool, err error) {
	want := r.d.Role
	label := fmt.Sprintf("IAM role %q", want.Name)
	in := &iam.CreateRoleInput{
		RoleName:                 aws.String(want.Name),
		Path:                     aws.String(want.Path),
		AssumeRolePolicyDocument: aws.String(want.TrustPolicy),
		Tags:                     iamTags(r.d.AllTags()),
	}
	if want.Description != "" {
		in.Description = aws.String(want.Description)
	}
	out, err := r.c.iam.CreateRole(ctx, in)
	if errors.As(err, new(*iamtypes.EntityAlreadyExistsException)) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("creating %s: %w", label, err)
	}
	r.res.Changes = append(r.res.Changes, "created "+label)
	r.res.RoleARN = aws.ToString(out.Role.Arn)
	if want.InlinePolicyName != "" {
		if err := r.putInlinePolicy(ctx, label); err != nil {
			return true, err
		}
	}
	for _, arn := range want.ManagedPolicyARNs {
		if err := r.attach(ctx, label, arn); err != nil {
			return true, err
		}
	}
	return true, nil
}

func (r *run) putInlinePolicy(ctx context.Context, label string) error {
	want := r.d.Role
	err := r.change(fmt.Sprintf("put inline policy %q on %s", want.InlinePolicyName, label), func() error {
		_, err := r.c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
			RoleName: aws.String(want.Name), PolicyName: aws.String(want.InlinePolicyName), PolicyDocument: aws.String(want.InlinePolicy),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("putting inline policy %q on %s: %w", want.InlinePolicyName, label, err)
	}
	return nil
}

func (r *run) attach(ctx context.Context, label, arn string) error {
	err := r.change(fmt.Sprintf("attached %s to %s", arn, label), func() error {
		_, err := r.c.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(r.d.Role.Name), PolicyArn: aws.String(arn)})
		return err
	})
	if err != nil {
		return fmt.Errorf("attaching %s to %s: %w", arn, label, err)
	}
	return nil
}

// inlinePolicies makes the role's inline policies exactly the desired one:
// the role is ours, so a policy someone added by hand is drift.
func (r *run) inlinePolicies(ctx context.Context, label string) error {
	want := r.d.Role
	names, err := r.listInlinePolicies(ctx, label)
	if err != nil {
		return err
	}
	for _, name := range names {
		if name == want.InlinePolicyName {
			continue
		}
		if err := r.deleteInlinePolicy(ctx, label, name); err != nil {
			return err
		}
	}
	if want.InlinePolicyName == "" {
		return nil
	}
	if slices.Contains(names, want.InlinePolicyName) {
		out, err := r.c.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(want.Name), PolicyName: aws.String(want.InlinePolicyName)})
		if err != nil {
			return fmt.Errorf("reading inline policy %q of %s: %w", want.InlinePolicyName, label, err)
		}
		if awsinfra.SamePolicy(aws.ToString(out.PolicyDocument), want.InlinePolicy) {
			return nil
		}
	}
	return r.putInlinePolicy(ctx, label)
}

func (r *run) listInlinePolicies(ctx context.Context, label string) ([]string, error) {
	var names []string
	pages := iam.NewListRolePoliciesPaginator(r.c.iam, &iam.ListRolePoliciesInput{RoleName: aws.String(r.d.Role.Name)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing inline policies of %s: %w", label, err)
		}
		names = append(names, page.PolicyNames...)
	}
	return names, nil
}

func (r *run) deleteInlinePolicy(ctx context.Context, label, name string) error {
	err := r.change(fmt.Sprintf("deleted inline policy %q of %s", name, label), func() error {
		_, err := r.c.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(r.d.Role.Name), PolicyName: aws.String(name)})
		if errors.As(err, new(*iamtypes.NoSuchEntityException)) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("deleting inline policy %q of %s: %w", name, label, err)
	}
	return nil
}

func (r *run) managedPolicies(ctx context.Context, label string) error {
	attached, err := r.listAttached(ctx, label)
	if err != nil {
		return err
	}
	for _, arn := range attached {
		if !slices.Contains(r.d.Role.ManagedPolicyARNs, arn) {
			if err := r.detach(ctx, label, arn); err != nil {
				return err
			}
		}
	}
	for _, arn := range r.d.Role.ManagedPolicyARNs {
		if !slices.Contains(attached, arn) {
			if err := r.attach(ctx, label, arn); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *run) listAttached(ctx context.Context, label string) ([]string, error) {
	var arns []string
	pages := iam.NewListAttachedRolePoliciesPaginator(r.c.iam, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(r.d.Role.Name)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing managed policies of %s: %w", label, err)
		}
		for _, p := range page.AttachedPolicies {
			arns = append(arns, aws.ToString(p.PolicyArn))
		}
	}
	return arns, nil
}

func (r *run) detach(ctx context.Context, label, arn string) error {
	err := r.change(fmt.Sprintf("detached %s from %s", arn, label), func() error {
		_, err := r.c.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(r.d.Role.Name), PolicyArn: aws.String(arn)})
		if errors.As(err, new(*iamtypes.NoSuchEntityException)) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("detaching %s from %s: %w", arn, label, err)
	}
	return nil
}

// podIdentity makes one association bind the service account to the role.
// EKS allows one association per service account, and its create token is
// random per call, so the association is found by listing, never by token.
func (r *run) podIdentity(ctx context.Context) error {
	p := r.d.PodIdentity
	label := fmt.Sprintf("EKS Pod Identity association for %s/%s in cluster %q", p.Namespace, p.ServiceAccount, p.ClusterName)
	ids, err := r.listAssociations(ctx, p, label)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		if r.dryRun || r.res.RoleARN == "" {
			r.res.Changes = append(r.res.Changes, "would have created "+label)
			return nil
		}
		return r.createAssociation(ctx, label)
	}
	id := ids[0]
	out, err := r.c.eks.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{
		ClusterName: aws.String(p.ClusterName), AssociationId: aws.String(id),
	})
	if err != nil {
		return fmt.Errorf("describing %s: %w", label, err)
	}
	if owner := out.Association.Tags[awsinfra.OwnerTag]; owner != r.d.Owner {
		return &awsinfra.NotOwnedError{Resource: label, Owner: owner}
	}
	r.res.PodIdentityAssociationID = id
	if aws.ToString(out.Association.RoleArn) == r.res.RoleARN {
		return nil
	}
	err = r.change("pointed "+label+" at "+r.res.RoleARN, func() error {
		_, err := r.c.eks.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{
			ClusterName: aws.String(p.ClusterName), AssociationId: aws.String(id), RoleArn: aws.String(r.res.RoleARN),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("updating %s: %w", label, err)
	}
	return nil
}

func (r *run) listAssociations(ctx context.Context, p *awsinfra.PodIdentity, label string) ([]string, error) {
	var ids []string
	pages := eks.NewListPodIdentityAssociationsPaginator(r.c.eks, &eks.ListPodIdentityAssociationsInput{
		ClusterName: aws.String(p.ClusterName), Namespace: aws.String(p.Namespace), ServiceAccount: aws.String(p.ServiceAccount),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", label, err)
		}
		for _, a := range page.Associations {
			ids = append(ids, aws.ToString(a.AssociationId))
		}
	}
	return ids, nil
}

// createAssociation creates the association. A role created moments ago
// may not be visible to EKS yet (IAM is eventually consistent), which EKS
// answers with InvalidParameterException: retry that a few times.
func (r *run) createAssociation(ctx context.Context, label string) error {
	p := r.d.PodIdentity
	const attempts = 5
	for attempt := 1; ; attempt++ {
		out, err := r.c.eks.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
			ClusterName: aws.String(p.ClusterName), Namespace: aws.String(p.Namespace), ServiceAccount: aws.String(p.ServiceAccount),
			RoleArn: aws.String(r.res.RoleARN), Tags: r.d.AllTags(),
		})
		switch {
		case err == nil:
			r.res.Changes = append(r.res.Changes, "created "+label)
			r.res.PodIdentityAssociationID = aws.ToString(out.Association.AssociationId)
			return nil
		case errors.As(err, new(*ekstypes.ResourceInUseException)):
			// Created concurrently, or by an attempt whose answer was lost.
			return r.podIdentity(ctx)
		case errors.As(err, new(*ekstypes.InvalidParameterException)) && attempt < attempts:
			select {
			case <-ctx.Done():
				return fmt.Errorf("creating %s: %w", label, ctx.Err())
			case <-time.After(r.c.podIdentityRetry):
			}
		default:
			return fmt.Errorf("creating %s: %w", label, err)
		}
	}
}

// Delete removes the resources in the order AWS requires: the Pod Identity
// association, the role's policies, the role, then the repository (unless
// it is retained). Resources already gone count as deleted; resources that
// belong to another request are left alone and reported in
// awsinfra.Result.Unrepaired.
func (c *Client) Delete(ctx context.Context, d awsinfra.Desired, dryRun bool) (*awsinfra.Result, error) {
	res, err := c.delete(ctx, d, dryRun)
	return res, throttled(err)
}

func (c *Client) delete(ctx context.Context, d awsinfra.Desired, dryRun bool) (*awsinfra.Result, error) {
	if err := awsinfra.Validate(d); err != nil {
		return nil, err
	}
	r := &run{c: c, d: d, dryRun: dryRun, res: &awsinfra.Result{}}
	for _, p := range []*awsinfra.PodIdentity{d.PodIdentity, d.RetiredPodIdentity} {
		if p == nil {
			continue
		}
		if err := r.deleteAssociations(ctx, p); err != nil {
			return nil, err
		}
	}
	if err := r.deleteRole(ctx); err != nil {
		return nil, err
	}
	if err := r.deleteRepository(ctx); err != nil {
		return nil, err
	}
	return r.res, nil
}

func (r *run) leftAlone(err error) bool {
	var notOwned *awsinfra.NotOwnedError
	if errors.As(err, &notOwned) {
		r.res.Unrepaired = append(r.res.Unrepaired, notOwned.Error())
		return true
	}
	return false
}

// deleteAssociations deletes the owner's associations for p's service
// account.
func (r *run) deleteAssociations(ctx context.Context, p *awsinfra.PodIdentity) error {
	label := fmt.Sprintf("EKS Pod Identity association for %s/%s in cluster %q", p.Namespace, p.ServiceAccount, p.ClusterName)
	ids, err := r.listAssociations(ctx, p, label)
	if err != nil {
		return err
	}
	for _, id := range ids {
		out, err := r.c.eks.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{
			ClusterName: aws.String(p.ClusterName), AssociationId: aws.String(id),
		})
		if errors.As(err, new(*ekstypes.ResourceNotFoundException)) {
			continue
		}
		if err != nil {
			return fmt.Errorf("describing %s: %w", label, err)
		}
		if owner := out.Association.Tags[awsinfra.OwnerTag]; owner != r.d.Owner {
			r.leftAlone(&awsinfra.NotOwnedError{Resource: label, Owner: owner})
			continue
		}
		err = r.change("deleted "+label, func() error {
			_, err := r.c.eks.DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{
				ClusterName: aws.String(p.ClusterName), AssociationId: aws.String(id),
			})
			if errors.As(err, new(*ekstypes.ResourceNotFoundException)) {
				return nil
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("deleting %s: %w", label, err)
		}
	}
	return nil
}

func (r *run) deleteRole(ctx context.Context) error {
	want := r.d.Role
	label := fmt.Sprintf("IAM role %q", want.Name)
	out, err := r.c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(want.Name)})
	if errors.As(err, new(*iamtypes.NoSuchEntityException)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", label, err)
	}
	owner := ""
	for _, t := range out.Role.Tags {
		if aws.ToString(t.Key) == awsinfra.OwnerTag {
			owner = aws.ToString(t.Value)
		}
	}
	if owner != r.d.Owner {
		r.leftAlone(&awsinfra.NotOwnedError{Resource: label, Owner: owner})
		return nil
	}
	// IAM refuses to delete a role that still has policies (DeleteConflict).
	attached, err := r.listAttached(ctx, label)
	if err != nil {
		return err
	}
	for _, arn := range attached {
		if err := r.detach(ctx, label, arn); err != nil {
			return err
		}
	}
	inline, err := r.listInlinePolicies(ctx, label)
	if err != nil {
		return err
	}
	for _, name := range inline {
		if err := r.deleteInlinePolicy(ctx, label, name); err != nil {
			return err
		}
	}
	err = r.change("deleted "+label, func() error {
		_, err := r.c.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(want.Name)})
		if errors.As(err, new(*iamtypes.NoSuchEntityException)) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("deleting %s: %w", label, err)
	}
	return nil
}

func (r *run) deleteRepository(ctx context.Context) error {
	want := r.d.Repository
	label := fmt.Sprintf("ECR repository %q", want.Name)
	if want.Retain {
		return nil
	}
	out, err := r.c.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{want.Name}})
	if errors.As(err, new(*ecrtypes.RepositoryNotFoundException)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describing %s: %w", label, err)
	}
	if len(out.Repositories) != 1 {
		return fmt.Errorf("describing %s: AWS returned %d repositories", label, len(out.Repositories))
	}
	tags, err := r.c.ecr.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: out.Repositories[0].RepositoryArn})
	if err != nil {
		return fmt.Errorf("listing tags of %s: %w", label, err)
	}
	owner := ""
	for _, t := range tags.Tags {
		if aws.ToString(t.Key) == awsinfra.OwnerTag {
			owner = aws.ToString(t.Value)
		}
	}
	if owner != r.d.Owner {
		r.leftAlone(&awsinfra.NotOwnedError{Resource: label, Owner: owner})
		return nil
	}
	err = r.change("deleted "+label+" with its images", func() error {
		_, err := r.c.ecr.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(want.Name), Force: true})
		if errors.As(err, new(*ecrtypes.RepositoryNotFoundException)) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("deleting %s: %w", label, err)
	}
	return nil
}

// missingTags returns the desired tags that are absent or different.
func missingTags(have, want map[string]string) map[string]string {
	missing := map[string]string{}
	for k, v := range want {
		if cur, ok := have[k]; !ok || cur != v {
			missing[k] = v
		}
	}
	return missing
}

func ecrTags(tags map[string]string) []ecrtypes.Tag {
	out := make([]ecrtypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, ecrtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

func iamTags(tags map[string]string) []iamtypes.Tag {
	out := make([]iamtypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, iamtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

// throttled marks err as one that clears by itself when AWS still throttled
// the call after the SDK's attempts, or no answer came: a later run may get
// through (see pkg/stage).
func throttled(err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "ServiceUnavailable", "ServiceUnavailableException":
			return kratix.Transient(err)
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return kratix.Transient(err)
	}
	return err
}
