terraform {
  # Bootstrap creates the remote state backend, so its own state starts local (see README).
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.64.0"
    }
  }
}
