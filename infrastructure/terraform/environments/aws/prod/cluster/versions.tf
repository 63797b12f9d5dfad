terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  # Partial configuration: bucket and region come from bootstrap/aws (make tf-init-aws).
  backend "s3" {
    key          = "mlplatform/aws/prod/cluster.tfstate"
    encrypt      = true
    use_lockfile = true
  }

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.64.0"
    }
    # Needed by module.eks (its _user_data submodule: cloudinit >= 2.0, null >= 3.0).
    cloudinit = {
      source  = "hashicorp/cloudinit"
      version = "2.4.0"
    }
    null = {
      source  = "hashicorp/null"
      version = "3.3.1"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.9.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "0.14.2"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "4.4.1"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}
