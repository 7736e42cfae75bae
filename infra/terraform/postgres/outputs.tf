output "table" {
  description = "The lease table (the store's default `table`), in var.schema."
  value       = "${var.schema}.${local.table}"
}

output "app_role" {
  description = "The role to connect as: SELECT, INSERT, UPDATE on the lease table, USAGE on its schema, nothing else."
  value       = postgresql_role.app.name
}
