################################################################################
# Karpenter controller resources (IAM, interruption queue, node role and access entry).
# The controller authenticates with EKS Pod Identity, the submodule's only mode since v21
# (ADR 0009); the platform module installs the chart and the NodePools gpu-workloads and
# training-workloads.
################################################################################

module "karpenter" {
  source  = "terraform-aws-modules/eks/aws//modules/karpenter"
  version = "21.25.0"

  cluster_name = module.eks.cluster_name
  namespace    = "kube-system"

  iam_role_name                 = "${var.name}-karpenter-controller"
  iam_role_use_name_prefix      = false
  iam_policy_name               = "${var.name}-karpenter-controller"
  iam_policy_use_name_prefix    = false
  node_iam_role_name            = "${var.name}-karpenter-node"
  node_iam_role_use_name_prefix = false

  create_pod_identity_association = true

  node_iam_role_additional_policies = {
    AmazonSSMManagedInstanceCore = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
  }

  tags = local.tags
}
