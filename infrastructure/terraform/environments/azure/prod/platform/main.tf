# Prod platform root for Azure: the platform's Helm releases on the AKS cluster created by
# ../cluster, whose outputs it reads from remote state. KEDA is the AKS add-on, so the
# KEDA chart is not installed here (versions.yaml clouds).

data "terraform_remote_state" "cluster" {
  backend = "azurerm"

  config = {
    resource_group_name  = var.state_resource_group_name
    storage_account_name = var.state_storage_account_name
    container_name       = "tfstate"
    key                  = "mlplatform/azure/prod/cluster.tfstate"
    use_azuread_auth     = true
  }
}

locals {
  cluster = data.terraform_remote_state.cluster.outputs
}

module "platform" {
  source = "../../../../modules/platform"

  cloud        = "azure"
  cluster_name = local.cluster.cluster_name
  region       = var.location
  domain       = var.domain
  acme_email   = var.acme_email
  enable_minio = var.enable_minio

  service_account_annotations = {
    for component, client_id in local.cluster.workload_identity_client_ids : component => { "azure.workload.identity/client-id" = client_id }
  }

  artifact_store = {
    scheme    = "wasbs"
    bucket    = local.cluster.artifact_storage.container
    account   = local.cluster.artifact_storage.account
    container = local.cluster.artifact_storage.container
  }

  database = {
    host     = local.cluster.database.host
    port     = local.cluster.database.port
    name     = local.cluster.database.name
    username = local.cluster.database.username
  }

  remote_secrets = {
    database-password      = { key = local.cluster.database.secret_name }
    grafana-admin-password = { key = local.cluster.grafana_admin_secret_name }
  }

  secret_store_provider = {
    azurekv = {
      authType = "WorkloadIdentity"
      vaultUrl = local.cluster.key_vault_uri
      tenantId = local.cluster.tenant_id
      serviceAccountRef = {
        name      = "external-secrets"
        namespace = "external-secrets"
      }
    }
  }
}
