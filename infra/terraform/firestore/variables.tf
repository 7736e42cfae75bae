# Inputs of the Firestore module. The stores' own defaults: database "(default)", collection "leasehold_leases".

variable "project_id" {
  description = "Google Cloud project that holds the database."
  type        = string
}

variable "database_id" {
  description = "Firestore database id; \"(default)\" is the stores' default (their `database` option)."
  type        = string
  default     = "(default)"
}

variable "location_id" {
  description = "Database location: a region (us-east1) or a multi-region (nam5, eur3); both are strongly consistent."
  type        = string
  default     = "nam5"
}

variable "collection" {
  description = "The lease collection, as the stores' `collection` option (default leasehold_leases). Output only: Firestore creates collections on first write, and this module puts no TTL policy on it."
  type        = string
  default     = "leasehold_leases"
}

variable "service_account_id" {
  description = "Account id of the service account the workers run as (Cloud Run, Cloud Functions) or whose key the Worker holds."
  type        = string
  default     = "leasehold-leases"
}

variable "custom_role_id" {
  description = "Id of the custom role with exactly the three permissions the stores need."
  type        = string
  default     = "leaseholdLeases"
}
