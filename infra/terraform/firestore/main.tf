# The Firestore side of leasehold/firestore and leasehold/firestore-rest: a Native-mode database and a service account
# that may read, create and update documents in it, and nothing else. The stores' names (the lease collection,
# default "leasehold_leases") are checked against src/stores by test/system/infra.test.ts.

terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0"
    }
  }
}

resource "google_project_service" "firestore" {
  project            = var.project_id
  service            = "firestore.googleapis.com"
  disable_on_destroy = false
}

# Native mode: the stores speak the Firestore API (documents, preconditions, commit and read times). A multi-region
# location (nam5, eur3) replicates synchronously and is as safe as a regional one (README, "one linearizable home").
resource "google_firestore_database" "leases" {
  project     = var.project_id
  name        = var.database_id
  location_id = var.location_id
  type        = "FIRESTORE_NATIVE"

  # Deleting the database would lose the fencing tokens' history.
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"

  depends_on = [google_project_service.firestore]
}

# No google_firestore_field TTL policy on the lease collection, on purpose: Firestore would delete lease documents,
# and a recreated document restarts its fencing token at 1 (README safety: "Fencing tokens"). Leases are never deleted.

resource "google_service_account" "leases" {
  project      = var.project_id
  account_id   = var.service_account_id
  display_name = "leasehold leases"
  description  = "Reads, creates and updates lease documents in the Firestore database ${var.database_id}."
}

# Exactly what the stores call (docs/firestore.md, "Required IAM role"): batchGet/get needs datastore.entities.get,
# a commit with exists:false datastore.entities.create, a commit with an updateTime precondition
# datastore.entities.update. Smaller than roles/datastore.user, which adds delete, list, allocateIds, indexes and more.
resource "google_project_iam_custom_role" "leases" {
  project     = var.project_id
  role_id     = var.custom_role_id
  title       = "leasehold leases"
  description = "Read, create and update lease documents (leasehold/firestore, leasehold/firestore-rest)."
  permissions = [
    "datastore.entities.create",
    "datastore.entities.get",
    "datastore.entities.update",
  ]
}

# Bound on the project, but only for this database (an IAM condition on the database's resource name).
resource "google_project_iam_member" "leases" {
  project = var.project_id
  role    = google_project_iam_custom_role.leases.id
  member  = "serviceAccount:${google_service_account.leases.email}"

  condition {
    title       = "leasehold database only"
    description = "Only the Firestore database that holds the leases."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${google_firestore_database.leases.name}\""
  }
}
