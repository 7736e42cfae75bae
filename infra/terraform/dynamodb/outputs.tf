output "table_name" {
  description = "Lease table name (the function's LEASE_TABLE)."
  value       = aws_dynamodb_table.leases.name
}

output "table_arn" {
  description = "Lease table ARN (the only resource the function's DynamoDB statement names)."
  value       = aws_dynamodb_table.leases.arn
}

output "function_name" {
  description = "The scheduled function."
  value       = aws_lambda_function.job.function_name
}

output "schedule_rule_arn" {
  description = "The EventBridge rule that invokes the function."
  value       = aws_cloudwatch_event_rule.schedule.arn
}
