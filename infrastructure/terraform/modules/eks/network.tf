################################################################################
# VPC over three AZs: public subnets (load balancers), private subnets (nodes, pods),
# database subnets (RDS); one NAT gateway in dev.
################################################################################

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "6.7.2"

  name = var.name
  cidr = var.vpc_cidr
  azs  = local.azs

  private_subnets  = [for index, _ in local.azs : cidrsubnet(var.vpc_cidr, 4, index)]
  public_subnets   = [for index, _ in local.azs : cidrsubnet(var.vpc_cidr, 8, 48 + index)]
  database_subnets = [for index, _ in local.azs : cidrsubnet(var.vpc_cidr, 8, 52 + index)]

  create_database_subnet_group = true
  enable_nat_gateway           = true
  single_nat_gateway           = var.single_nat_gateway
  one_nat_gateway_per_az       = !var.single_nat_gateway
  enable_dns_hostnames         = true
  enable_dns_support           = true
  map_public_ip_on_launch      = false

  # The default security group denies everything; every workload gets its own group.
  manage_default_security_group  = true
  default_security_group_ingress = []
  default_security_group_egress  = []

  public_subnet_tags = {
    "kubernetes.io/role/elb" = 1
  }

  private_subnet_tags = {
    "kubernetes.io/role/internal-elb" = 1
    "karpenter.sh/discovery"          = var.name
  }

  tags = local.tags
}

################################################################################
# VPC flow logs to CloudWatch Logs: 60 s aggregation, 30-day retention, KMS-encrypted.
################################################################################

module "flow_log" {
  source  = "terraform-aws-modules/vpc/aws//modules/flow-log"
  version = "6.7.2"

  name         = "${var.name}-vpc"
  vpc_id       = module.vpc.vpc_id
  traffic_type = "ALL"

  log_destination_type                   = "cloud-watch-logs"
  max_aggregation_interval               = var.flow_log_aggregation_interval
  cloudwatch_log_group_retention_in_days = var.flow_log_retention_days
  cloudwatch_log_group_kms_key_id        = aws_kms_key.this.arn
  cloudwatch_log_group_use_name_prefix   = false
  cloudwatch_log_group_name              = "/aws/vpc-flow-log/${var.name}"
  iam_role_name                          = "${var.name}-vpc-flow-log"

  tags = local.tags
}
