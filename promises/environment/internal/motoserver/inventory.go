package motoserver

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Inventory lists every ECR repository and IAM role in moto, with each
// role's inline and managed policies, sorted. Tests compare it before and
// after runs to show that nothing was duplicated or leaked.
func Inventory(ctx context.Context, ecrClient *ecr.Client, iamClient *iam.Client) ([]string, error) {
	var out []string
	repos, err := ecrClient.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	if err != nil {
		return nil, fmt.Errorf("listing repositories: %w", err)
	}
	for _, r := range repos.Repositories {
		out = append(out, "repository "+aws.ToString(r.RepositoryName))
	}
	roles, err := iamClient.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		return nil, fmt.Errorf("listing roles: %w", err)
	}
	for _, r := range roles.Roles {
		name := aws.ToString(r.RoleName)
		out = append(out, "role "+name)
		inline, err := iamClient.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: r.RoleName})
		if err != nil {
			return nil, fmt.Errorf("listing inline policies of %s: %w", name, err)
		}
		for _, p := range inline.PolicyNames {
			out = append(out, "role "+name+" inline policy "+p)
		}
		attached, err := iamClient.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: r.RoleName})
		if err != nil {
			return nil, fmt.Errorf("listing managed policies of %s: %w", name, err)
		}
		for _, p := range attached.AttachedPolicies {
			out = append(out, "role "+name+" managed policy "+aws.ToString(p.PolicyArn))
		}
	}
	slices.Sort(out)
	return out, nil
}
