# Values that depend on the cluster's outputs (bucket names, identities, database host).
# Everything static lives in infrastructure/helm/{common,<cloud>}/<release>.yaml.

locals {
  annotations = var.service_account_annotations

  artifact_uri = {
    s3    = "s3://${var.artifact_store.bucket}"
    gs    = "gs://${var.artifact_store.bucket}"
    wasbs = "wasbs://${coalesce(var.artifact_store.container, var.artifact_store.bucket)}@${coalesce(var.artifact_store.account, "unset")}.blob.core.windows.net"
  }[var.artifact_store.scheme]

  mlflow_artifact_root = {
    s3    = { s3 = { enabled = true, bucket = var.artifact_store.bucket, path = "mlflow" } }
    gs    = { gcs = { enabled = true, bucket = var.artifact_store.bucket, path = "mlflow" } }
    wasbs = { azureBlob = { enabled = true, container = coalesce(var.artifact_store.container, var.artifact_store.bucket), storageAccount = coalesce(var.artifact_store.account, "unset"), path = "mlflow" } }
  }[var.artifact_store.scheme]

  argo_key_format = "argo/{{workflow.namespace}}/{{workflow.name}}/{{pod.name}}"

  argo_artifact_repository = {
    s3    = { s3 = { bucket = var.artifact_store.bucket, endpoint = "s3.${var.region}.amazonaws.com", region = var.region, useSDKCreds = true, keyFormat = local.argo_key_format } }
    gs    = { gcs = { bucket = var.artifact_store.bucket, keyFormat = local.argo_key_format } }
    wasbs = { azure = { endpoint = "https://${coalesce(var.artifact_store.account, "unset")}.blob.core.windows.net", container = coalesce(var.artifact_store.container, var.artifact_store.bucket), useSDKCreds = true, blobNameFormat = local.argo_key_format } }
  }[var.artifact_store.scheme]

  generated_values = {
    mlflow = {
      serviceAccount = { create = true, name = "mlflow", annotations = lookup(local.annotations, "mlflow", {}) }
      backendStore = {
        postgres = {
          enabled  = true
          host     = var.database.host
          port     = var.database.port
          database = var.database.name
          user     = var.database.username
        }
        existingDatabaseSecret = { name = "mlflow-database", usernameKey = "username", passwordKey = "password" }
      }
      artifactRoot = merge({ proxiedArtifactStorage = true }, local.mlflow_artifact_root)
      extraEnvVars = { MLFLOW_DEFAULT_ARTIFACT_ROOT = "${local.artifact_uri}/mlflow" }
    }

    argo-workflows = {
      useStaticCredentials = false
      artifactRepository   = merge({ archiveLogs = true }, local.argo_artifact_repository)
      workflow = {
        serviceAccount = { create = true, name = "argo-workflow", annotations = lookup(local.annotations, "argo-workflows", {}) }
      }
      server = {
        serviceAccount = { create = true, name = "argo-workflows-server", annotations = lookup(local.annotations, "argo-workflows", {}) }
      }
    }

    kserve = {
      kserve = {
        controller = {
          gateway = { domain = "models.${var.domain}" }
        }
      }
    }

    feast-feature-server = {
      feature_store_yaml_base64 = base64encode(file("${local.helm_dir}/files/feast-feature-server/feature_store.yaml"))
    }

    external-secrets = {
      serviceAccount = { create = true, name = "external-secrets", annotations = lookup(local.annotations, "external-secrets", {}) }
    }

    aws-load-balancer-controller = {
      clusterName    = var.cluster_name
      region         = var.region
      vpcId          = var.aws_vpc_id
      serviceAccount = { create = true, name = "aws-load-balancer-controller", annotations = lookup(local.annotations, "aws-load-balancer-controller", {}) }
    }

    karpenter = {
      settings = {
        clusterName       = var.cluster_name
        clusterEndpoint   = try(var.karpenter.cluster_endpoint, null)
        interruptionQueue = try(var.karpenter.interruption_queue, null)
      }
    }

    platform-config = {
      cloud       = var.cloud
      clusterName = var.cluster_name
      domain      = var.domain
      acmeEmail   = var.acme_email
      secretStore = { provider = var.secret_store_provider }
      secrets     = var.remote_secrets
      database    = { username = var.database.username, host = var.database.host, port = var.database.port, name = var.database.name }
      # the same feature_store.yaml as the feature server's, for pipeline steps and model servers
      featureStore = { configBase64 = base64encode(file("${local.helm_dir}/files/feast-feature-server/feature_store.yaml")) }
      karpenter = {
        enabled  = var.karpenter != null
        nodeRole = try(var.karpenter.node_role_name, "")
      }
      serving = {
        serviceAccountAnnotations = lookup(local.annotations, "kserve", {})
      }
      pipelines = {
        serviceAccountAnnotations = lookup(local.annotations, "argo-workflows", {})
      }
    }
  }
}
