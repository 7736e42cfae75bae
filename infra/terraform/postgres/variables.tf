# Inputs of the Postgres module. The store's own defaults: table leasehold_leases, in the connection's search_path.

variable "database" {
  description = "Database that holds the lease table."
  type        = string
  default     = "postgres"
}

variable "schema" {
  description = "Schema of the lease table; pass the same to the store's `schema` option unless it is on the app role's search_path."
  type        = string
  default     = "public"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,62}$", var.schema))
    error_message = "schema must be 1-63 letters, digits or _, not starting with a digit (the store's own rule)."
  }
}

variable "app_role" {
  description = "Login role the application connects as."
  type        = string
  default     = "leasehold_app"
}

variable "app_password" {
  description = "Password of the application role."
  type        = string
  sensitive   = true
}
