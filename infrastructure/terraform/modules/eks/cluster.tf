################################################################################
# EKS cluster with three managed node groups:
#   general   t3.large on-demand, platform services
#   training  c5.2xlarge spot, scale-to-zero, taint workload=training:NoSchedule
#   gpu       g4dn.xlarge spot, scale-to-zero, taint nvidia.com/gpu=true:NoSchedule
# Karpenter (karpenter.tf) adds capacity beyond these through its NodePools.
################################################################################

locals {
  node_groups = {
    general = {
      ami_type       = "AL2023_x86_64_STANDARD"
      instance_types = var.general_node_group.instance_types
      capacity_type  = "ON_DEMAND"
      min_size       = var.general_node_group.min_size
      max_size       = var.general_node_group.max_size
      desired_size   = var.general_node_group.desired_size
      labels         = { workload = "general" }
      taints         = {}
    }
    training = {
      ami_type       = "AL2023_x86_64_STANDARD"
      instance_types = var.training_node_group.instance_types
      capacity_type  = "SPOT"
      min_size       = 0
      max_size       = var.training_node_group.max_size
      desired_size   = 0
      labels         = { workload = "training" }
      taints = {
        workload = { key = "workload", value = "training", effect = "NO_SCHEDULE" }
      }
    }
    gpu = {
      ami_type       = "AL2023_x86_64_NVIDIA"
      instance_types = var.gpu_node_group.instance_types
      capacity_type  = "SPOT"
      min_size       = 0
      max_size       = var.gpu_node_group.max_size
      desired_size   = 0
      labels         = { workload = "gpu", "nvidia.com/gpu.present" = "true" }
      taints = {
        gpu = { key = "nvidia.com/gpu", value = "true", effect = "NO_SCHEDULE" }
      }
    }
  }
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "21.25.0"

  name               = var.name
  kubernetes_version = var.kubernetes_version

  endpoint_public_access       = true
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs

  enabled_log_types                      = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
  cloudwatch_log_group_retention_in_days = 90

  vpc_id     = module.vpc.vpc_id
  subnet_ids = module.vpc.private_subnets

  # One access entry per principal: EKS refuses a second entry for the same IAM role, and the
  # identity that applies (the CI apply role) is usually both the creator and listed in
  # cluster_admin_role_arns. So the creator's own entry exists only when no admin roles are
  # given (a first apply from a workstation); with admin roles, the applying role must be one
  # of them (docs/infrastructure.md, "Cluster access on EKS").
  enable_cluster_creator_admin_permissions = length(var.cluster_admin_role_arns) == 0
  access_entries = {
    for index, arn in var.cluster_admin_role_arns : "admin-${index}" => {
      principal_arn = arn
      policy_associations = {
        admin = {
          policy_arn   = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
          access_scope = { type = "cluster" }
        }
      }
    }
  }

  addons = {
    coredns                = {}
    eks-pod-identity-agent = { before_compute = true }
    kube-proxy             = {}
    vpc-cni                = { before_compute = true }
    aws-ebs-csi-driver     = { service_account_role_arn = module.irsa["ebs-csi"].arn }
  }

  eks_managed_node_groups = {
    for group, config in local.node_groups : group => merge(config, {
      name                     = "${var.name}-${group}"
      use_name_prefix          = true
      iam_role_name            = "${var.name}-${group}"
      iam_role_use_name_prefix = true
      subnet_ids               = module.vpc.private_subnets
      metadata_options = {
        http_endpoint               = "enabled"
        http_tokens                 = "required"
        http_put_response_hop_limit = 1
      }
    })
  }

  node_security_group_tags = {
    "karpenter.sh/discovery" = var.name
  }

  tags = local.tags
}
