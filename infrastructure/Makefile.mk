# Infrastructure targets, included by the main Makefile (which defines VENV and PY).
#
#   make infra-check                 offline checks: terraform fmt, HCL parse, checkov
#   make tf-bootstrap-aws            state bucket + CI identity (once per account)
#   make deploy-aws                  cluster root, then platform root (Helm releases)
#   make status-aws | destroy-aws    (same for azure and gcp)
#   make port-forward-mlflow         (and -argocd, -grafana)
#
# Every target that talks to a cloud first checks for the tools and the login it needs and
# says what is missing. See docs/infrastructure.md for the walkthrough.

INFRA_DIR     := infrastructure
TF_DIR        := $(INFRA_DIR)/terraform
TF            ?= terraform
ENV           ?= dev
CLOUDS        := aws azure gcp
CHECKOV_VENV  ?= .venv-checkov
CHECKOV       := $(CHECKOV_VENV)/bin/checkov
CHECKOV_LOCK  := requirements/checkov-lock.txt
# checkov must not call home for its guideline mappings: the scan is offline.
CHECKOV_ENV   := BC_SKIP_MAPPING=TRUE

# Per-cloud tools and the command that proves a login.
TOOLS_aws     := $(TF) aws kubectl helm
TOOLS_azure   := $(TF) az kubectl kubelogin helm
TOOLS_gcp     := $(TF) gcloud gke-gcloud-auth-plugin kubectl helm
LOGIN_aws     := aws sts get-caller-identity --output text --query Arn
LOGIN_azure   := az account show --query user.name --output tsv
LOGIN_gcp     := gcloud auth print-access-token
LOGIN_HINT_aws   := run 'aws sso login' (or configure a profile / AWS_PROFILE)
LOGIN_HINT_azure := run 'az login' and 'az account set --subscription <id>'
LOGIN_HINT_gcp   := run 'gcloud auth login' and 'gcloud auth application-default login'
KUBECONFIG_aws   = aws eks update-kubeconfig --name $(CLUSTER_NAME) --region $$($(TF) -chdir=$(call root,aws,cluster) output -raw region)
KUBECONFIG_azure = az aks get-credentials --name $(CLUSTER_NAME) --resource-group $$($(TF) -chdir=$(call root,azure,cluster) output -raw resource_group_name) --overwrite-existing && kubelogin convert-kubeconfig -l azurecli
KUBECONFIG_gcp   = gcloud container clusters get-credentials $(CLUSTER_NAME) --region $$($(TF) -chdir=$(call root,gcp,cluster) output -raw cluster_location) --project $$($(TF) -chdir=$(call root,gcp,cluster) output -raw project_id)

CLUSTER_NAME   = $$($(TF) -chdir=$(call root,$*,cluster) output -raw cluster_name)

root = $(TF_DIR)/environments/$(1)/$(ENV)/$(2)

# $(call require-tools,cloud): fail with the list of missing commands.
define require-tools
	@missing=""; for tool in $(TOOLS_$(1)); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then echo "error: missing tools for $(1):$$missing (see docs/infrastructure.md, 'Tools')" >&2; exit 1; fi
endef

# $(call require-login,cloud): fail unless the cloud CLI has a usable login.
define require-login
	@$(LOGIN_$(1)) >/dev/null 2>&1 || { echo "error: not logged in to $(1): $(LOGIN_HINT_$(1))" >&2; exit 1; }
endef

CLOUD_TARGETS := tf-bootstrap tf-init tf-plan tf-apply deploy-platform deploy status destroy \
	terraform-init terraform-plan terraform-apply

.PHONY: infra-help infra-check infra-fmt infra-parse infra-checkov install-checkov \
	port-forward-mlflow port-forward-argocd port-forward-grafana \
	$(foreach target,$(CLOUD_TARGETS),$(addprefix $(target)-,$(CLOUDS)))

infra-help: ## List the infrastructure targets
	@grep -E '^[^#[:space:]].*:.*## ' $(INFRA_DIR)/Makefile.mk | sed -E 's/^\$$\(addprefix ([a-z-]+),\$$\(CLOUDS\)\): [a-z%-]+:/\1{aws,azure,gcp}:/' \
		| awk -F':.*## ' '{printf "  %-34s %s\n", $$1, $$2}'

##@ Offline checks (no cloud, no provider download)

$(CHECKOV): $(CHECKOV_LOCK) | $(VENV)/bin/uv
	$(VENV)/bin/uv venv --quiet --python 3.11 $(CHECKOV_VENV)
	$(VENV)/bin/uv pip install --quiet --python $(CHECKOV_VENV)/bin/python -r $(CHECKOV_LOCK)
	@touch $@

install-checkov: $(CHECKOV) ## Create .venv-checkov (checkov pins an old packaging; own venv)

infra-fmt: ## terraform fmt -check on every .tf file
	@command -v $(TF) >/dev/null 2>&1 || { echo "error: terraform not found (https://developer.hashicorp.com/terraform/install)" >&2; exit 1; }
	$(TF) fmt -check -recursive -diff $(TF_DIR)

infra-parse: ## Parse every .tf file with python-hcl2 and lint the Helm values (yamllint)
	$(VENV)/bin/yamllint --strict -c $(INFRA_DIR)/helm/.yamllint.yaml $(INFRA_DIR)/helm
	$(PY) -m pytest -q -p no:cacheprovider tests/infrastructure/test_layout.py tests/infrastructure/test_helm.py

infra-checkov: install-checkov ## checkov on infrastructure/terraform (skip list: .checkov.yaml)
	$(CHECKOV_ENV) $(CHECKOV) --config-file .checkov.yaml --quiet

infra-check: infra-fmt infra-parse infra-checkov ## fmt + HCL parse + checkov (what CI runs offline)

##@ Cloud lifecycle (per cloud: aws, azure, gcp)

$(addprefix tf-bootstrap-,$(CLOUDS)): tf-bootstrap-%: ## Create the state backend and CI identity: make tf-bootstrap-aws GITHUB_REPOSITORY=owner/repo
	$(call require-tools,$*)
	$(call require-login,$*)
	@test -n "$(GITHUB_REPOSITORY)" || { echo "error: set GITHUB_REPOSITORY=owner/name (the repository whose CI may deploy)" >&2; exit 1; }
	$(TF) -chdir=$(TF_DIR)/bootstrap/$* init
	$(TF) -chdir=$(TF_DIR)/bootstrap/$* apply -var github_repository=$(GITHUB_REPOSITORY) $(BOOTSTRAP_ARGS)
	$(TF) -chdir=$(TF_DIR)/bootstrap/$* output -json | $(PY) $(TF_DIR)/scripts/bootstrap_outputs.py $* $(ENV)

$(addprefix tf-init-,$(CLOUDS)): tf-init-%: ## terraform init of the cluster and platform roots against the bootstrap backend
	$(call require-tools,$*)
	@test -f $(TF_DIR)/environments/$*/$(ENV)/backend.hcl || { echo "error: no backend.hcl for $*/$(ENV): run make tf-bootstrap-$* first" >&2; exit 1; }
	$(TF) -chdir=$(call root,$*,cluster) init -backend-config=../backend.hcl
	$(TF) -chdir=$(call root,$*,platform) init -backend-config=../backend.hcl

$(addprefix tf-plan-,$(CLOUDS)): tf-plan-%: tf-init-% ## Plan the cluster root (the platform root plans once the cluster exists)
	$(call require-login,$*)
	$(TF) -chdir=$(call root,$*,cluster) plan -out=cluster.tfplan

$(addprefix tf-apply-,$(CLOUDS)): tf-apply-%: tf-init-% ## Apply the cluster root (EKS/AKS/GKE and its data services)
	$(call require-login,$*)
	$(TF) -chdir=$(call root,$*,cluster) apply

$(addprefix deploy-platform-,$(CLOUDS)): deploy-platform-%: tf-init-% ## Apply the platform root (Helm releases) on an existing cluster
	$(call require-login,$*)
	$(TF) -chdir=$(call root,$*,platform) apply

$(addprefix deploy-,$(CLOUDS)): deploy-%: ## Deploy everything: cluster root, then platform root, then show the status
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) tf-apply-$*
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) deploy-platform-$*
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) status-$*

$(addprefix status-,$(CLOUDS)): status-%: ## Nodes, Helm releases and endpoints of the deployed environment
	$(call require-tools,$*)
	$(call require-login,$*)
	$(KUBECONFIG_$*)
	kubectl get nodes -L workload,karpenter.sh/nodepool
	helm list --all-namespaces
	$(TF) -chdir=$(call root,$*,platform) output endpoints

$(addprefix destroy-,$(CLOUDS)): destroy-%: ## Destroy platform then cluster (asks you to type the cluster name)
	$(call require-tools,$*)
	$(call require-login,$*)
	@name=$(CLUSTER_NAME); \
	printf 'This destroys every resource of %s/%s, data included. Type the cluster name (%s) to go on: ' "$*" "$(ENV)" "$$name"; \
	read answer; [ "$$answer" = "$$name" ] || { echo "aborted: nothing destroyed" >&2; exit 1; }
	$(TF) -chdir=$(call root,$*,platform) destroy -auto-approve
	$(TF) -chdir=$(call root,$*,cluster) destroy -auto-approve

# The names the issue tracker uses.
$(addprefix terraform-init-,$(CLOUDS)): terraform-init-%: tf-init-% ; @:
$(addprefix terraform-plan-,$(CLOUDS)): terraform-plan-%: tf-plan-% ; @:
$(addprefix terraform-apply-,$(CLOUDS)): terraform-apply-%: tf-apply-% ; @:

##@ Environments (dev follows main; staging and prod follow a promoted revision)

.PHONY: promote
promote: ## Move staging or prod to a revision: make promote ENV=staging REV=v1.4.0 (prod: only what ran in staging)
	$(PY) scripts/promote.py $(ENV) $(REV)

##@ Reach the platform's UIs without DNS (current kubectl context)

define port-forward
	@command -v kubectl >/dev/null 2>&1 || { echo "error: kubectl not found" >&2; exit 1; }
	@kubectl config current-context >/dev/null 2>&1 || { echo "error: no kubectl context: run make status-<cloud> once" >&2; exit 1; }
	@echo "$(1) on http://localhost:$(4) (Ctrl-C to stop)"
	kubectl --namespace $(2) port-forward service/$(3) $(4):$(5)
endef

port-forward-mlflow: ## MLflow UI on localhost:5000
	$(call port-forward,MLflow,mlflow,mlflow,5000,5000)

port-forward-argocd: ## Argo CD UI on localhost:8080 (admin password: argocd-initial-admin-secret)
	$(call port-forward,Argo CD,argocd,argo-cd-argocd-server,8080,80)

port-forward-grafana: ## Grafana on localhost:3000 (admin password: secret monitoring/grafana-admin)
	$(call port-forward,Grafana,monitoring,kube-prometheus-stack-grafana,3000,80)
