output "database_name" {
  description = "The database id, for the stores' `database` option (the REST store) or `new Firestore({ databaseId })`."
  value       = google_firestore_database.leases.name
}

output "collection" {
  description = "The lease collection, for the stores' `collection` option."
  value       = var.collection
}

output "service_account_email" {
  description = "Run the workers as this account, or create a key for it (the Worker's GCP_SERVICE_ACCOUNT secret)."
  value       = google_service_account.leases.email
}

output "role_id" {
  description = "The custom role granted to the service account, on this database only."
  value       = google_project_iam_custom_role.leases.id
}
