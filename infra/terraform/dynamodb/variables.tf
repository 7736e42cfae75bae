# Inputs of the scheduled-singleton stack (examples/lambda-scheduled). The provider's region is the lease
# table's one home region: workers in every other region must use a client for this region.

variable "name_prefix" {
  description = "Prefix of every resource name (table, role, function, rule)."
  type        = string
  default     = "leasehold"
}

variable "table_name" {
  description = "Lease table name; null means \"<name_prefix>-leases\". The function receives it in LEASE_TABLE."
  type        = string
  default     = null
}

variable "schedule_expression" {
  description = "EventBridge schedule, e.g. rate(5 minutes) or cron(0 3 * * ? *)."
  type        = string
  default     = "rate(5 minutes)"
}

variable "ttl_attribute" {
  description = "Enables DynamoDB TTL on this attribute; set it only together with the store's ttlAttribute option of the same name. null: no TTL."
  type        = string
  default     = null
}

variable "job_name" {
  description = "Election name, passed as JOB_NAME."
  type        = string
  default     = "nightly-report"
}

variable "job_ttl_ms" {
  description = "Lease length in ms, passed as JOB_TTL_MS and used (rounded up to seconds) as the function timeout. Keep it shorter than the schedule period."
  type        = number
  default     = 240000

  validation {
    condition     = var.job_ttl_ms >= 1000 && var.job_ttl_ms <= 900000
    error_message = "job_ttl_ms must be from 1000 to 900000 (Lambda's longest timeout)."
  }
}

variable "handler_dir" {
  description = "Directory holding the bundled handler (handler.cjs exporting handler; see infra/README.md), relative to this module."
  type        = string
  default     = "../../../examples/lambda-scheduled/dist"
}

variable "lambda_runtime" {
  description = "The function's runtime. The handler bundle targets it (npm run build:lambda targets node22); leasehold itself runs on Node 20 and later."
  type        = string
  default     = "nodejs22.x"
}
