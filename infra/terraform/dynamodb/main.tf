# The scheduled singleton job of examples/lambda-scheduled: lease table, function, schedule, least-privilege role.
# Same resources as infra/cdk/stack.ts (whose LeaseTable construct reads the key from leasehold/dynamodb itself;
# test/system/infra.test.ts checks that this table has the same key).

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4"
    }
  }
}

locals {
  table_name = coalesce(var.table_name, "${var.name_prefix}-leases")
}

# One item per election name. A plain single-region table: no replica blocks (a global table with eventually
# consistent replicas could elect two leaders; store.checkTable() refuses it).
resource "aws_dynamodb_table" "leases" {
  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  dynamic "ttl" {
    for_each = var.ttl_attribute == null ? [] : [var.ttl_attribute]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  # Deleting the table would lose the fencing tokens' history.
  lifecycle {
    prevent_destroy = true
  }
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "job" {
  name               = "${var.name_prefix}-job"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

# CloudWatch Logs only (the same managed policy CDK attaches to a function's role).
resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.job.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

# What leasehold needs at run time (tryLead, release, getLeader), on the lease table only: no Scan, Query,
# DeleteItem or batch calls (what a dynamodb:*Item wildcard or a "read/write data" grant would add).
data "aws_iam_policy_document" "leases" {
  statement {
    effect    = "Allow"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.leases.arn]
  }
}

resource "aws_iam_role_policy" "leases" {
  name   = "${var.name_prefix}-leases"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.leases.json
}

data "archive_file" "handler" {
  type        = "zip"
  source_dir  = "${path.module}/${var.handler_dir}"
  output_path = "${path.module}/dist/handler.zip" # dist/ is git-ignored
}

resource "aws_lambda_function" "job" {
  function_name    = "${var.name_prefix}-job"
  role             = aws_iam_role.job.arn
  runtime          = var.lambda_runtime
  handler          = "handler.handler"
  filename         = data.archive_file.handler.output_path
  source_code_hash = data.archive_file.handler.output_base64sha256
  # A leader cannot outlive its invocation: the timeout covers the whole lease.
  timeout = ceil(var.job_ttl_ms / 1000)

  environment {
    # LEASE_TABLE_REGION: the table's region (from its ARN), the lease's one home; the handler pins its client to it.
    variables = {
      LEASE_TABLE        = aws_dynamodb_table.leases.name
      LEASE_TABLE_REGION = split(":", aws_dynamodb_table.leases.arn)[3]
      JOB_NAME           = var.job_name
      JOB_TTL_MS         = tostring(var.job_ttl_ms)
    }
  }
}

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = "${var.name_prefix}-schedule"
  schedule_expression = var.schedule_expression
}

resource "aws_cloudwatch_event_target" "job" {
  rule = aws_cloudwatch_event_rule.schedule.name
  arn  = aws_lambda_function.job.arn
}

resource "aws_lambda_permission" "events" {
  statement_id  = "AllowEventBridgeInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.job.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}
